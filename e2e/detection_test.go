package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/quantize"
	"github.com/mnconv/mnconv/refrt"
	rt "github.com/mnconv/mnconv/runtime"
)

// The pets SSD (TFLite_Detection_PostProcess, fast NMS, 10 detections) and
// its three pre-made 300x300 inputs (whole image stretched, uint8 RGB).
const petsSSD = "apps/models/ssd_mobilenet_v1_0.75_depth_pets_quant_detect.tflite"

var ssdInputs = []string{"ssd300_cat_bilinear.bin", "ssd300_imagenet_pug_bilinear.bin", "ssd300_imagenet_siamese_cat_bilinear.bin"}

// ssdPixels reads the three pre-made inputs.
func ssdPixels(t *testing.T) [][]uint8 {
	t.Helper()
	var out [][]uint8
	for _, f := range ssdInputs {
		b, err := os.ReadFile(testutil.Shared(t, "apps/inputs/"+f))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// ssdTensors maps pixels to g's input as the source's quantization reads
// them (preprocess.Auto: raw uint8, or scale*(q-zp) for a dequantized model).
func ssdTensors(t *testing.T, g *ir.Graph, pix [][]uint8) []*rt.Tensor {
	t.Helper()
	target, err := preprocess.TargetFor(g, 0, preprocess.Full, preprocess.Auto)
	if err != nil {
		t.Fatal(err)
	}
	var out []*rt.Tensor
	for _, p := range pix {
		x, err := preprocess.ToTensor([][]uint8{p}, target)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
	}
	return out
}

// detections runs g on each input and returns its four outputs (boxes,
// classes, scores, count), all float32.
func detections(t *testing.T, g *ir.Graph, inputs []*rt.Tensor) [][][]float32 {
	t.Helper()
	it, err := rt.New(g)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out [][][]float32
	for _, x := range inputs {
		if err := it.SetInput(0, x); err != nil {
			t.Fatal(err)
		}
		if err := it.Run(); err != nil {
			t.Fatal(err)
		}
		var d [][]float32
		for o := range len(g.Outputs) {
			d = append(d, append([]float32(nil), it.Output(o).F32...))
		}
		out = append(out, d)
	}
	return out
}

// referenceAll runs a file in a reference runtime and returns every output.
func referenceAll(t *testing.T, r refrt.Runtime, path string, inputs []*rt.Tensor) [][][]float32 {
	t.Helper()
	var samples [][]refrt.Input
	for _, x := range inputs {
		switch x.DType {
		case ir.Float32:
			samples = append(samples, []refrt.Input{refrt.F32(x.Shape, x.F32)})
		case ir.Uint8:
			samples = append(samples, []refrt.Input{refrt.U8(x.Shape, x.U8)})
		default:
			t.Fatalf("input dtype %v", x.DType)
		}
	}
	res, err := refrt.Run(r, path, samples, refrt.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return res.Values
}

// sameDetections says how two runs' detections differ ("" when they do
// not): the count, then each detection's class exactly, its box and score
// within tol; slots past the count as well (TFLite writes zeros there).
func sameDetections(want, got [][]float32, tol float64) string {
	if len(want) != 4 || len(got) != 4 {
		return fmt.Sprintf("%d outputs, want 4", len(got))
	}
	if want[3][0] != got[3][0] {
		return fmt.Sprintf("count %v, want %v", got[3][0], want[3][0])
	}
	for o, name := range []string{"boxes", "classes", "scores"} {
		if len(want[o]) != len(got[o]) {
			return fmt.Sprintf("%s: %d values, want %d", name, len(got[o]), len(want[o]))
		}
		for i := range want[o] {
			d := math.Abs(float64(want[o][i] - got[o][i]))
			if o == 1 && d != 0 || d > tol {
				return fmt.Sprintf("%s[%d] = %v, want %v", name, i, got[o][i], want[o][i])
			}
		}
	}
	return ""
}

// TestQuantizedDetectorInTFLite: the pets SSD dequantized (convert
// --dequantize), calibrated on ImageNet calibration images (stretched, as
// the SSD's inputs are; none of them is an evaluated image) and quantized
// to int8 with the post-processing left float behind a DEQUANTIZE, as
// TFLite's converter does. TFLite runs the int8 file with our detections on
// the three pre-made inputs.
func TestQuantizedDetectorInTFLite(t *testing.T) {
	refrt.Need(t, refrt.TFLite)
	src := testutil.Shared(t, petsSSD)
	calibDir := testutil.Shared(t, "images/imagenet/calib")
	g, err := importers.Load(src, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, []passes.Pass{passes.Dequantize}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	if err := quantize.PrepareGraph(g); err != nil {
		t.Fatal(err)
	}
	files := petImages(t, calibDir, 16)
	imgs, err := quantize.NewImageSource(g, files, preprocess.Full, preprocess.Auto)
	if err != nil {
		t.Fatal(err)
	}
	st, err := quantize.Calibrate(context.Background(), g, imgs, quantize.CalibrateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := quantize.Quantize(g, st, quantize.Config{})
	if err != nil {
		t.Fatal(err)
	}
	last := res.Graph.Nodes[len(res.Graph.Nodes)-1]
	if last.Op != ir.OpDetectionPostProcess {
		t.Fatalf("last node is %v, want DetectionPostProcess", last.Op)
	}
	for _, x := range last.Inputs {
		if x.DType != ir.Float32 {
			t.Errorf("post-processing input %q is %v, want float32 (after a Dequantize)", x.Name, x.DType)
		}
	}
	path := write(t, res.Graph, t.TempDir(), "pets_int8.tflite", exporters.Options{})
	back, err := importers.Load(path, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inputs := ssdTensors(t, back, ssdPixels(t))
	ours := detections(t, back, inputs)
	theirs := referenceAll(t, refrt.TFLite, path, inputs)
	for s := range inputs {
		// TFLite's XNNPACK kernels requantize otherwise than TFLite's
		// reference ones (which we follow) by a few quanta: scores move by
		// 1/256 steps, and among the many low, nearly tied detections the
		// order and the last few places change. The confident detections
		// must be the same.
		if why := matchDetections(theirs[s], ours[s], 0.1, 3.0/256); why != "" {
			t.Errorf("%s: TFLite and mnconv differ on the int8 file: %s", ssdInputs[s], why)
		}
		if theirs[s][3][0] != ours[s][3][0] {
			t.Errorf("%s: %v detections, TFLite %v", ssdInputs[s], ours[s][3][0], theirs[s][3][0])
		}
		t.Logf("%s: %v detections, best class %v score %.4f; %s", ssdInputs[s], ours[s][3][0], ours[s][1][0], ours[s][2][0], maxDiffs(theirs[s], ours[s]))
	}
}

// maxDiffs describes the largest difference per output and the classes that differ.
func maxDiffs(want, got [][]float32) string {
	var d [4]float64
	classes := 0
	for o := range min(len(want), len(got)) {
		for i := range min(len(want[o]), len(got[o])) {
			d[o] = max(d[o], math.Abs(float64(want[o][i]-got[o][i])))
			if o == 1 && want[o][i] != got[o][i] {
				classes++
			}
		}
	}
	return fmt.Sprintf("max |diff| boxes %.3g scores %.3g count %v; %d classes differ by rank", d[0], d[2], d[3], classes)
}

// petImages lists up to n images of dir (an ImageNet folder with
// labels.csv) whose class is a dog or a cat (class indices 151 to 285), the
// animals the pets SSD detects: on other images it finds nothing, and a
// range calibrated there clips its confident scores.
func petImages(t *testing.T, dir string, n int) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows[1:] {
		if c, err := strconv.Atoi(r[1]); err == nil && c >= 151 && c <= 285 && len(out) < n {
			out = append(out, filepath.Join(dir, r[0]))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no dog or cat images in %s", dir)
	}
	return out
}

// matchDetections says ("" when none) which detection of one run scoring at
// least minScore has no partner in the other: the same class, a score within
// scoreTol and a box of IoU at least 0.8. It checks both directions.
func matchDetections(a, b [][]float32, minScore, scoreTol float32) string {
	for dir, p := range [2][2][][]float32{{a, b}, {b, a}} {
		x, y := p[0], p[1]
		used := make([]bool, int(y[3][0]))
		for i := range int(x[3][0]) {
			if x[2][i] < minScore {
				continue
			}
			found := false
			for j := range used {
				if !used[j] && x[1][i] == y[1][j] && abs32(x[2][i]-y[2][j]) <= scoreTol && boxIoU(x[0][4*i:4*i+4], y[0][4*j:4*j+4]) >= 0.8 {
					used[j], found = true, true
					break
				}
			}
			if !found {
				return fmt.Sprintf("detection %d of run %d (class %v score %v box %v) has no partner", i, dir, x[1][i], x[2][i], x[0][4*i:4*i+4])
			}
		}
	}
	return ""
}

func abs32(x float32) float32 { return float32(math.Abs(float64(x))) }

// boxIoU is the IoU of two (ymin, xmin, ymax, xmax) boxes.
func boxIoU(a, b []float32) float64 {
	area := func(r []float32) float64 { return math.Max(float64(r[2]-r[0]), 0) * math.Max(float64(r[3]-r[1]), 0) }
	in := []float32{max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])}
	i := area(in)
	u := area(a) + area(b) - i
	if u <= 0 {
		return 0
	}
	return i / u
}

// TestDetectorONNXInORT: the pets SSD dequantized (float) is exported to
// ONNX with its post-processing as standard ops (box decoding in double,
// NonMaxSuppression, Gather); ONNX Runtime gives our detections on the three
// pre-made inputs: the same count and classes, boxes and scores within 1e-5.
// The uint8 model written as QDQ loads at ORT's default optimization level
// (its ReLU6 output scale 0.0235297, just above 6/255, once made ORT's QDQ
// Conv fusion fail with "two nodes with same node name"; the exporter now
// writes no Clip the quantization implies) and gives our detections too.
func TestDetectorONNXInORT(t *testing.T) {
	refrt.Need(t, refrt.ONNX)
	src := testutil.Shared(t, petsSSD)
	pix := ssdPixels(t)
	for _, dequantize := range []bool{false, true} {
		name := map[bool]string{false: "pets_qdq.onnx", true: "pets_float.onnx"}[dequantize]
		t.Run(name, func(t *testing.T) {
			g, err := importers.Load(src, importers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ps := passes.Default
			if dequantize {
				ps = append([]passes.Pass{passes.Dequantize}, ps...)
			}
			if _, err := passes.Run(g, ps, nil); err != nil {
				t.Fatal(err)
			}
			inputs := ssdTensors(t, g, pix)
			ours := detections(t, g, inputs)
			path := write(t, g, t.TempDir(), name, exporters.Options{})
			theirs := referenceAll(t, refrt.ONNX, path, inputs)
			for s := range inputs {
				if !dequantize {
					// ORT fuses the QDQ groups into its own integer kernels
					// (requantizing in float, not TFLite's fixed point) and runs
					// the rest in float between Q/DQ pairs: over 28 layers the
					// drift moves scores by a few quanta and changes weak
					// detections (scores 0.12-0.31 on these inputs find no
					// partner). The confident detections must be the same.
					if why := matchDetections(theirs[s], ours[s], 0.5, 8.0/256); why != "" {
						t.Errorf("%s: ONNX Runtime and mnconv differ on the QDQ file: %s", ssdInputs[s], why)
					}
					t.Logf("%s: %v detections, best class %v score %.4f; %s", ssdInputs[s], ours[s][3][0], ours[s][1][0], ours[s][2][0], maxDiffs(ours[s], theirs[s]))
					continue
				}
				if why := sameDetections(ours[s], theirs[s], 1e-5); why != "" {
					t.Errorf("%s: ONNX Runtime differs from mnconv: %s (%s)", ssdInputs[s], why, maxDiffs(ours[s], theirs[s]))
				}
			}
		})
	}
}

// appsReference reads one of shared/apps/reference's JSON files: per input
// file, each output's values.
func appsReference(t *testing.T, name string) [][][]float64 {
	t.Helper()
	b, err := os.ReadFile(testutil.Shared(t, "apps/reference/"+name))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Results []struct {
			InputFile string `json:"input_file"`
			Outputs   []struct {
				Data []float64 `json:"data"`
			} `json:"outputs"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	var out [][][]float64
	for i, r := range ref.Results {
		if i >= len(ssdInputs) || r.InputFile != ssdInputs[i] {
			t.Fatalf("%s: result %d is for %q, want %q", name, i, r.InputFile, ssdInputs[min(i, len(ssdInputs)-1)])
		}
		var outs [][]float64
		for _, o := range r.Outputs {
			outs = append(outs, o.Data)
		}
		out = append(out, outs)
	}
	return out
}

// TestDetectionPostProcessQDQInORT: the pets SSD's post-processing alone,
// on its uint8 inputs as TFLite computed them (box encodings and class
// scores; the anchors a uint8 constant), exported with DequantizeLinear in
// front: ONNX Runtime and our kernel give the same detections, which for
// the file's own options are TFLite's outputs of the whole model. Variants
// of the options cover regular NMS (per class, then the best by score),
// more detections, and a score threshold that leaves slots empty.
func TestDetectionPostProcessQDQInORT(t *testing.T) {
	refrt.Need(t, refrt.ONNX)
	g, err := importers.Load(testutil.Shared(t, petsSSD), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	last := g.Nodes[len(g.Nodes)-1]
	if last.Op != ir.OpDetectionPostProcess {
		t.Fatalf("last node is %v", last.Op)
	}
	feeds := appsReference(t, "ssd_mobilenet_v1_0.75_depth_pets_quant__no_postprocess.json")
	want := appsReference(t, "ssd_mobilenet_v1_0.75_depth_pets_quant__detect.json")
	var samples [][]refrt.Input
	var inputs [][]*rt.Tensor
	for _, f := range feeds {
		var row []*rt.Tensor
		var feed []refrt.Input
		for k, in := range last.Inputs[:2] {
			x := rt.NewTensor(ir.Uint8, in.Shape)
			for i, v := range f[k] {
				x.U8[i] = uint8(v)
			}
			row = append(row, x)
			feed = append(feed, refrt.U8(x.Shape, x.U8))
		}
		inputs, samples = append(inputs, row), append(samples, feed)
	}
	for _, c := range []struct {
		name string
		mod  func(a *ir.DetectionPostProcessAttrs)
	}{
		{"as_in_the_file", func(a *ir.DetectionPostProcessAttrs) {}},
		{"fast_20_score_0.3", func(a *ir.DetectionPostProcessAttrs) { a.MaxDetections, a.ScoreThreshold = 20, 0.3 }},
		{"regular_100_per_class", func(a *ir.DetectionPostProcessAttrs) { a.UseRegularNMS, a.DetectionsPerClass = true, 100 }},
		{"regular_3_per_class_25", func(a *ir.DetectionPostProcessAttrs) {
			a.UseRegularNMS, a.DetectionsPerClass, a.MaxDetections, a.IoUThreshold = true, 3, 25, 0.4
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := *last.Attrs.(*ir.DetectionPostProcessAttrs)
			c.mod(&a)
			outs := make([]*ir.Tensor, 4)
			for i, o := range last.Outputs {
				outs[i] = &ir.Tensor{Name: o.Name, DType: ir.Float32}
			}
			n := ir.NewNode(last.Name, ir.OpDetectionPostProcess, last.Inputs, outs...)
			n.Attrs = &a
			head := &ir.Graph{Name: "pets_postprocess", Inputs: last.Inputs[:2], Nodes: []*ir.Node{n}, Outputs: outs}
			if err := head.InferShapes(); err != nil {
				t.Fatal(err)
			}
			if err := head.Validate(); err != nil {
				t.Fatal(err)
			}
			path := write(t, head, t.TempDir(), "pets_postprocess_qdq.onnx", exporters.Options{})
			res, err := refrt.Run(refrt.ONNX, path, samples, refrt.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			it, err := rt.New(head)
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			for s := range feeds {
				for k := range 2 {
					if err := it.SetInput(k, inputs[s][k]); err != nil {
						t.Fatal(err)
					}
				}
				if err := it.Run(); err != nil {
					t.Fatal(err)
				}
				var ours, tfl [][]float32
				for o := range 4 {
					ours = append(ours, append([]float32(nil), it.Output(o).F32...))
					var w []float32
					for _, v := range want[s][o] {
						w = append(w, float32(v))
					}
					tfl = append(tfl, w)
				}
				if why := sameDetections(ours, res.Values[s], 1e-5); why != "" {
					t.Errorf("%s: ONNX Runtime differs from mnconv: %s", ssdInputs[s], why)
				}
				if c.name == "as_in_the_file" {
					if why := sameDetections(tfl, ours, 1e-5); why != "" {
						t.Errorf("%s: mnconv differs from TFLite: %s", ssdInputs[s], why)
					}
				}
				t.Logf("%s: %v detections, classes %v", ssdInputs[s], ours[3][0], ours[1][:min(len(ours[1]), 12)])
			}
		})
	}
}

// TestDetectionUnusedSlotsInTFLite: with a score threshold that leaves
// slots empty, TFLite writes zeros past the count (boxes, classes and
// scores), as our kernel and the ONNX export do.
func TestDetectionUnusedSlotsInTFLite(t *testing.T) {
	refrt.Need(t, refrt.TFLite)
	g, err := importers.Load(testutil.Shared(t, petsSSD), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	last := g.Nodes[len(g.Nodes)-1]
	a := last.Attrs.(*ir.DetectionPostProcessAttrs)
	a.ScoreThreshold = 0.5
	path := write(t, g, t.TempDir(), "pets_threshold.tflite", exporters.Options{})
	inputs := ssdTensors(t, g, ssdPixels(t))
	ours := detections(t, g, inputs)
	theirs := referenceAll(t, refrt.TFLite, path, inputs)
	for s := range inputs {
		n := int(theirs[s][3][0])
		if n >= 10 || float32(n) != ours[s][3][0] {
			t.Fatalf("%s: TFLite %d detections, ours %v; want the same, fewer than 10", ssdInputs[s], n, ours[s][3][0])
		}
		for o, per := range []int{4, 1, 1} {
			for i := n * per; i < len(theirs[s][o]); i++ {
				if theirs[s][o][i] != 0 || ours[s][o][i] != 0 {
					t.Errorf("%s: output %d [%d] past the count: TFLite %v, ours %v", ssdInputs[s], o, i, theirs[s][o][i], ours[s][o][i])
				}
			}
		}
		if theirs[s][1][0] != ours[s][1][0] {
			t.Errorf("%s: best class %v, TFLite %v", ssdInputs[s], ours[s][1][0], theirs[s][1][0])
		}
		t.Logf("%s: %d detection(s), slots %d..9 zero in TFLite and ours", ssdInputs[s], n, n)
	}
}
