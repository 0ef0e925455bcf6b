// Command detsweep compares the pets SSD's detections across runtimes on the
// 128 COCO images (whole image stretched to 300x300, as the SSD's pre-made
// inputs and the segmentation eval's preset) and on the three pre-made
// ssd300 inputs:
//
//   - ONNX: the dequantized (float) SSD exported to ONNX, run in ONNX
//     Runtime, against our runtime on the float graph; and the uint8
//     post-processing alone exported as QDQ (DequantizeLinear in front),
//     fed the uint8 tensors our runtime computes on the uint8 SSD.
//   - int8: the dequantized SSD calibrated on ImageNet calibration images
//     (stretched; never an evaluated image) and quantized by each range
//     method, the .tflite file run in TFLite against our runtime on the same
//     file.
//
// An image counts as equal when the count, every class and every box and
// score (within 1e-5) are the same; "confident equal" asks that only of the
// detections scoring at least 0.1 (matched as sets: same class, score within
// 3/256, box IoU >= 0.8).
//
//	go run ./bench/detsweep [-shared ../shared] [-methods minmax,mse] [-calib N]
//
// It is a benchmark, not a test: a run takes several minutes on 2 cores.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mnconv/mnconv/exporters"
	_ "github.com/mnconv/mnconv/exporters/onnx"
	_ "github.com/mnconv/mnconv/exporters/tflite"
	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/quantize"
	"github.com/mnconv/mnconv/refrt"
	rt "github.com/mnconv/mnconv/runtime"
)

const petsSSD = "apps/models/ssd_mobilenet_v1_0.75_depth_pets_quant_detect.tflite"

var ssdInputs = []string{"ssd300_cat_bilinear.bin", "ssd300_imagenet_pug_bilinear.bin", "ssd300_imagenet_siamese_cat_bilinear.bin"}

func main() {
	shared := flag.String("shared", "../shared", "the shared data folder")
	methodList := flag.String("methods", "minmax,percentile,entropy,mse", "range methods for the int8 models (empty: none)")
	calibCount := flag.Int("calib", 0, "calibration images from images/imagenet/calib (0 = all)")
	withONNX := flag.Bool("onnx", true, "run the ONNX comparisons")
	flag.Parse()
	tmp, err := os.MkdirTemp("", "detsweep-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)
	pix, names, err := images(*shared)
	if err != nil {
		fail(err)
	}
	if *withONNX {
		if err := onnxSweep(*shared, tmp, pix, names); err != nil {
			fail(err)
		}
	}
	if *methodList != "" {
		if err := int8Sweep(*shared, tmp, pix, names, strings.Split(*methodList, ","), *calibCount); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "detsweep:", err)
	os.Exit(1)
}

// images returns the three pre-made inputs, then the 128 COCO images
// stretched to 300x300 (uint8 RGB).
func images(shared string) ([][]uint8, []string, error) {
	var pix [][]uint8
	var names []string
	for _, f := range ssdInputs {
		b, err := os.ReadFile(filepath.Join(shared, "apps/inputs", f))
		if err != nil {
			return nil, nil, err
		}
		pix, names = append(pix, b), append(names, f)
	}
	dir := filepath.Join(shared, "datasets/coco-val128/images")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".jpg") {
			continue
		}
		m, err := preprocess.Load(filepath.Join(dir, e.Name()), preprocess.Full, 300, 300)
		if err != nil {
			return nil, nil, err
		}
		pix, names = append(pix, m.Pix), append(names, e.Name())
	}
	return pix, names, nil
}

func load(shared string, dequantize bool) (*ir.Graph, error) {
	g, err := importers.Load(filepath.Join(shared, petsSSD), importers.Options{})
	if err != nil {
		return nil, err
	}
	ps := passes.Default
	if dequantize {
		ps = append([]passes.Pass{passes.Dequantize}, ps...)
	}
	_, err = passes.Run(g, ps, nil)
	return g, err
}

func tensors(g *ir.Graph, pix [][]uint8) ([]*rt.Tensor, error) {
	target, err := preprocess.TargetFor(g, 0, preprocess.Full, preprocess.Auto)
	if err != nil {
		return nil, err
	}
	var out []*rt.Tensor
	for _, p := range pix {
		x, err := preprocess.ToTensor([][]uint8{p}, target)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func export(g *ir.Graph, path string) error {
	f, err := exporters.ForPath(path)
	if err != nil {
		return err
	}
	b, err := f.Export(g, exporters.Options{})
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func feed(x *rt.Tensor) refrt.Input {
	switch x.DType {
	case ir.Uint8:
		return refrt.U8(x.Shape, x.U8)
	case ir.Int8:
		return refrt.I8(x.Shape, x.I8)
	}
	return refrt.F32(x.Shape, x.F32)
}

// run runs g on each input; capture, when set, also returns the values of
// those tensors (the post-processing's inputs).
func run(g *ir.Graph, inputs []*rt.Tensor, capture []*ir.Tensor) (dets [][][]float32, captured [][]*rt.Tensor, err error) {
	it, err := rt.New(g)
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	var cur []*rt.Tensor
	it.Observe = func(n *ir.Node, outs []*rt.Tensor) {
		for i, t := range n.Outputs {
			for k, c := range capture {
				if t == c {
					cur[k] = clone(outs[i])
				}
			}
		}
	}
	for _, x := range inputs {
		cur = make([]*rt.Tensor, len(capture))
		if err := it.SetInput(0, x); err != nil {
			return nil, nil, err
		}
		if err := it.Run(); err != nil {
			return nil, nil, err
		}
		var d [][]float32
		for o := range len(g.Outputs) {
			// integer outputs as their raw values, as refrt reports them
			y := it.Output(o)
			v := make([]float32, y.Len())
			for i := range v {
				v[i] = float32(y.Float(i))
			}
			d = append(d, v)
		}
		dets = append(dets, d)
		captured = append(captured, cur)
	}
	return dets, captured, nil
}

// clone copies a tensor the interpreter may reuse after its last reader.
func clone(t *rt.Tensor) *rt.Tensor {
	c := rt.NewTensor(t.DType, t.Shape)
	copy(c.F32, t.F32)
	copy(c.I8, t.I8)
	copy(c.U8, t.U8)
	return c
}

// tally counts equal images and collects what differs.
type tally struct {
	name             string
	equal, confident int
	total            int
	reasons          map[string]int
	firstDiff        []string
}

func (t *tally) add(name string, want, got [][]float32) {
	if t.reasons == nil {
		t.reasons = map[string]int{}
	}
	t.total++
	why := same(want, got, 1e-5)
	if why == "" {
		t.equal++
	} else {
		t.reasons[why]++
		if len(t.firstDiff) < 5 {
			t.firstDiff = append(t.firstDiff, name+": "+describe(want, got))
		}
	}
	if match(want, got, 0.1, 3.0/256) {
		t.confident++
	}
}

func (t *tally) print() {
	fmt.Printf("| %s | %d / %d | %d / %d |", t.name, t.equal, t.total, t.confident, t.total)
	var rs []string
	for r, n := range t.reasons {
		rs = append(rs, fmt.Sprintf("%s: %d", r, n))
	}
	sort.Strings(rs)
	fmt.Printf(" %s |\n", strings.Join(rs, "; "))
	for _, d := range t.firstDiff {
		fmt.Printf("|   | e.g. %s | | |\n", d)
	}
}

// same says which part first differs: "" (none), "count", "class" (an
// order or class change), "box" or "score" (values beyond tol).
func same(want, got [][]float32, tol float64) string {
	if want[3][0] != got[3][0] {
		return "count"
	}
	for i := range want[1] {
		if want[1][i] != got[1][i] {
			return "class or order"
		}
	}
	for o, part := range map[int]string{0: "box", 2: "score"} {
		for i := range want[o] {
			if math.Abs(float64(want[o][i]-got[o][i])) > tol {
				return part
			}
		}
	}
	return ""
}

func describe(want, got [][]float32) string {
	var db, ds float64
	for i := range want[0] {
		db = max(db, math.Abs(float64(want[0][i]-got[0][i])))
	}
	for i := range want[2] {
		ds = max(ds, math.Abs(float64(want[2][i]-got[2][i])))
	}
	return fmt.Sprintf("classes %v vs %v, scores %v vs %v, max |box diff| %.3g, max |score diff| %.3g", want[1], got[1], want[2], got[2], db, ds)
}

// match reports whether every detection scoring at least minScore in either
// run has a partner in the other: same class, score within scoreTol, box
// IoU >= 0.8.
func match(a, b [][]float32, minScore, scoreTol float32) bool {
	for _, p := range [2][2][][]float32{{a, b}, {b, a}} {
		x, y := p[0], p[1]
		used := make([]bool, int(y[3][0]))
		for i := range int(x[3][0]) {
			if x[2][i] < minScore {
				continue
			}
			found := false
			for j := range used {
				if !used[j] && x[1][i] == y[1][j] && float32(math.Abs(float64(x[2][i]-y[2][j]))) <= scoreTol && iou(x[0][4*i:4*i+4], y[0][4*j:4*j+4]) >= 0.8 {
					used[j], found = true, true
					break
				}
			}
			if !found {
				return false
			}
		}
	}
	return true
}

func iou(a, b []float32) float64 {
	area := func(r []float32) float64 { return math.Max(float64(r[2]-r[0]), 0) * math.Max(float64(r[3]-r[1]), 0) }
	i := area([]float32{max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])})
	u := area(a) + area(b) - i
	if u <= 0 {
		return 0
	}
	return i / u
}

func header(what string) {
	fmt.Printf("\n%s\n\n| comparison | images equal (1e-5) | confident detections equal | what differs (images) |\n|---|---|---|---|\n", what)
}

func split(t *tally, names []string, want, got [][][]float32) (premade, coco *tally) {
	premade, coco = &tally{name: t.name + ", 3 pre-made inputs"}, &tally{name: t.name + ", 128 COCO images"}
	for i := range want {
		if i < len(ssdInputs) {
			premade.add(names[i], want[i], got[i])
		} else {
			coco.add(names[i], want[i], got[i])
		}
	}
	return premade, coco
}

func onnxSweep(shared, tmp string, pix [][]uint8, names []string) error {
	header("ONNX export in ONNX Runtime 1.30 (CPU, 1 thread) vs mnconv")
	// The float SSD, whole.
	g, err := load(shared, true)
	if err != nil {
		return err
	}
	inputs, err := tensors(g, pix)
	if err != nil {
		return err
	}
	ours, _, err := run(g, inputs, nil)
	if err != nil {
		return err
	}
	path := filepath.Join(tmp, "pets_float.onnx")
	if err := export(g, path); err != nil {
		return err
	}
	var samples [][]refrt.Input
	for _, x := range inputs {
		samples = append(samples, []refrt.Input{feed(x)})
	}
	res, err := refrt.Run(refrt.ONNX, path, samples, refrt.Options{Threads: 1})
	if err != nil {
		return err
	}
	a, b := split(&tally{name: "float SSD"}, names, ours, res.Values)
	a.print()
	b.print()

	// The uint8 SSD: our runtime gives the post-processing's uint8 inputs,
	// which feed the QDQ export of the post-processing alone.
	q, err := load(shared, false)
	if err != nil {
		return err
	}
	last := q.Nodes[len(q.Nodes)-1]
	if last.Op != ir.OpDetectionPostProcess {
		return fmt.Errorf("the last node is %v", last.Op)
	}
	qin, err := tensors(q, pix)
	if err != nil {
		return err
	}
	qours, caps, err := run(q, qin, last.Inputs[:2])
	if err != nil {
		return err
	}
	head := &ir.Graph{Name: "pets_postprocess", Inputs: last.Inputs[:2], Nodes: []*ir.Node{last}, Outputs: last.Outputs}
	hpath := filepath.Join(tmp, "pets_postprocess_qdq.onnx")
	if err := export(head, hpath); err != nil {
		return err
	}
	samples = samples[:0]
	for _, c := range caps {
		samples = append(samples, []refrt.Input{feed(c[0]), feed(c[1])})
	}
	if res, err = refrt.Run(refrt.ONNX, hpath, samples, refrt.Options{Threads: 1}); err != nil {
		return err
	}
	a, b = split(&tally{name: "uint8 SSD, post-processing as QDQ"}, names, qours, res.Values)
	a.print()
	b.print()
	return nil
}

func int8Sweep(shared, tmp string, pix [][]uint8, names []string, methods []string, count int) error {
	header("int8 (mnconv quantize of the dequantized SSD) in TFLite (WASM, XNNPACK, 1 thread) vs mnconv on the same file")
	g, err := load(shared, true)
	if err != nil {
		return err
	}
	if err := quantize.PrepareGraph(g); err != nil {
		return err
	}
	files, err := quantize.ListImages(filepath.Join(shared, "images/imagenet/calib"), count, 1)
	if err != nil {
		return err
	}
	src, err := quantize.NewImageSource(g, files, preprocess.Full, preprocess.Auto)
	if err != nil {
		return err
	}
	st, err := quantize.Calibrate(context.Background(), g, src, quantize.CalibrateOptions{})
	if err != nil {
		return err
	}
	// inTFLite runs the .tflite at path in ours and in TFLite on the
	// pre-made inputs and prints how their detections and the
	// post-processing's inputs compare.
	inTFLite := func(path, label, tag string) error {
		back, err := importers.Load(path, importers.Options{})
		if err != nil {
			return err
		}
		inputs, err := tensors(back, pix)
		if err != nil {
			return err
		}
		ours, _, err := run(back, inputs, nil)
		if err != nil {
			return err
		}
		var samples [][]refrt.Input
		for _, x := range inputs {
			samples = append(samples, []refrt.Input{feed(x)})
		}
		r, err := refrt.Run(refrt.TFLite, path, samples, refrt.Options{Threads: 1})
		if err != nil {
			return err
		}
		a, b := split(&tally{name: label}, names, r.Values, ours)
		a.print()
		b.print()
		return headInputs(back, tmp, samples, inputs, tag)
	}
	// Baseline: the original uint8 file (TFLite's converter), as it is.
	if err := inTFLite(filepath.Join(shared, petsSSD), "original uint8 file (baseline)", "original"); err != nil {
		return err
	}
	for _, name := range methods {
		m, err := quantize.ParseMethod(name)
		if err != nil {
			return err
		}
		res, err := quantize.Quantize(g, st, quantize.Config{Method: m})
		if err != nil {
			return err
		}
		path := filepath.Join(tmp, "pets_int8_"+name+".tflite")
		if err := export(res.Graph, path); err != nil {
			return err
		}
		if err := inTFLite(path, fmt.Sprintf("int8 %s (%d calib images)", name, len(files)), name); err != nil {
			return err
		}
	}
	return nil
}

// headInputs measures, in quanta, how far TFLite's and our int8 box
// encodings and class scores (the post-processing's inputs, as the
// Dequantize before it writes them) are apart.
func headInputs(g *ir.Graph, tmp string, samples [][]refrt.Input, inputs []*rt.Tensor, name string) error {
	last := g.Nodes[len(g.Nodes)-1]
	if last.Op != ir.OpDetectionPostProcess {
		return fmt.Errorf("the last node is %v", last.Op)
	}
	prod := g.Producers()
	var scales []float64
	for _, t := range last.Inputs[:2] {
		switch p := prod[t]; {
		case t.Quant != nil:
			scales = append(scales, 1) // raw integers on both sides
		case p != nil && p.Op == ir.OpDequantize:
			scales = append(scales, float64(p.In(0).Quant.Scale[0]))
		default:
			return fmt.Errorf("post-processing input %q is neither quantized nor a Dequantize's", t.Name)
		}
	}
	body := &ir.Graph{Name: g.Name, Inputs: g.Inputs, Nodes: g.Nodes[:len(g.Nodes)-1], Outputs: last.Inputs[:2]}
	if err := body.Validate(); err != nil {
		return err
	}
	path := filepath.Join(tmp, "pets_int8_body_"+name+".tflite")
	if err := export(body, path); err != nil {
		return err
	}
	ours, _, err := run(body, inputs, nil)
	if err != nil {
		return err
	}
	r, err := refrt.Run(refrt.TFLite, path, samples, refrt.Options{Threads: 1})
	if err != nil {
		return err
	}
	for k, what := range []string{"box encodings", "class scores"} {
		var hist [4]int // 0, 1, 2, >2 quanta
		worst, n := 0.0, 0
		for s := range ours {
			for i, v := range ours[s][k] {
				d := math.Round(math.Abs(float64(v-r.Values[s][k][i])) / scales[k])
				worst = max(worst, d)
				hist[min(int(d), 3)]++
				n++
			}
		}
		fmt.Printf("|   | %s: TFLite vs mnconv %s on %d images: %.2f%% equal, %.2f%% 1 quantum apart, %.2f%% 2, %.3f%% more (max %v) | | |\n",
			name, what, len(ours), 100*float64(hist[0])/float64(n), 100*float64(hist[1])/float64(n), 100*float64(hist[2])/float64(n), 100*float64(hist[3])/float64(n), worst)
	}
	return nil
}
