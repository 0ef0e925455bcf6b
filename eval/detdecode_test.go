package eval

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/refrt"
	"github.com/mnconv/mnconv/runtime"
)

const petsSSD = "apps/models/ssd_mobilenet_v1_0.75_depth_pets_quant_detect.tflite"

// cocoDetItems are the first n annotated COCO images.
func cocoDetItems(t *testing.T, n int) ([]DetItem, *Annotations) {
	t.Helper()
	ann, err := ReadAnnotations(testutil.Shared(t, "datasets/coco-val128/detection_labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	items := DetItems(testutil.Shared(t, "datasets/coco-val128/images"), ann)
	return items[:min(n, len(items))], ann
}

// The pets SSD read through its DetectionPostProcess outputs, and the same
// model cut before post-processing (raw box encodings, class scores with a
// background column and its constant anchors, all uint8) decoded with the
// center coding, give the same detections: the center coding runs the
// runtime's DetectionPostProcess kernel on the raw outputs.
func TestDetectionPetsPostProcessAndCenter(t *testing.T) {
	g, err := importers.Load(testutil.Shared(t, petsSSD), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	items, _ := cocoDetItems(t, 3)
	cfg := Config{Preset: preprocess.Full, Workers: 2}
	post, err := EvaluateDetection(context.Background(), []*ir.Graph{g}, items, DefaultDetSpec(), nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(post.Decoding, "DetectionPostProcess") || post.N != 3 {
		t.Fatalf("decoding %q, %d images", post.Decoding, post.N)
	}
	var node *ir.Node
	for _, n := range g.Nodes {
		if n.Op == ir.OpDetectionPostProcess {
			node = n
		}
	}
	a := node.Attrs.(*ir.DetectionPostProcessAttrs)
	// the anchors are a constant, which a graph cannot output: they come
	// as a file would give them, dequantized as the kernel does
	raw, err := g.Cut(nil, []string{node.Inputs[0].Name, node.Inputs[1].Name})
	if err != nil {
		t.Fatal(err)
	}
	anc := node.Inputs[2]
	spec := DefaultDetSpec()
	for i := range anc.Len() {
		q := float32(runtime.FromConst(anc).Float(i))
		spec.Anchors = append(spec.Anchors, (q-float32(anc.Quant.ZeroPoint[0]))*anc.Quant.Scale[0])
	}
	spec.Coding = CodingCenter
	spec.Classes = a.NumClasses // 37 names for 38 columns: background first
	spec.Scales = [4]float32{a.YScale, a.XScale, a.HScale, a.WScale}
	spec.IoU, spec.ScoreThreshold, spec.MaxDetections = a.IoUThreshold, a.ScoreThreshold, a.MaxDetections
	center, err := EvaluateDetection(context.Background(), []*ir.Graph{raw}, items, spec, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(center.Decoding, "center coding") || !strings.Contains(center.Decoding, "column 0 background") {
		t.Errorf("decoding %q", center.Decoding)
	}
	total := 0
	for i := range post.PerImage {
		p, c := post.PerImage[i], center.PerImage[i]
		total += len(p.Detections)
		if p.Width < 1 || !slices.Equal(p.Detections, c.Detections) {
			t.Errorf("%s (%dx%d): post-processed %v\ncenter %v", p.File, p.Width, p.Height, p.Detections, c.Detections)
		}
	}
	if total == 0 {
		t.Error("no detections")
	}
	// without the coding, the error names the flag
	spec.Coding = CodingAuto
	if _, err := spec.resolve(raw); err == nil || !strings.Contains(err.Error(), "--box-coding") {
		t.Errorf("auto on raw outputs: %v", err)
	}
}

// rawTensor is a float32 runtime tensor.
func rawTensor(shape []int, v ...float32) *runtime.Tensor {
	return &runtime.Tensor{DType: ir.Float32, Shape: shape, F32: v}
}

// A synthetic raw-output model: three anchors, a background column and two
// classes; the corner coding decodes x1,y1,x2,y2 offsets of the anchors'
// corners, fast NMS keeps the best of two overlapping boxes whatever their
// class, per-class NMS keeps both.
func TestDetectionCornersSynthetic(t *testing.T) {
	x := &ir.Tensor{Name: "image", DType: ir.Float32, Shape: []int{1, 4}}
	scores := &ir.Tensor{Name: "scores", DType: ir.Float32, Shape: []int{1, 3, 3}}
	boxes := &ir.Tensor{Name: "boxes", DType: ir.Float32, Shape: []int{1, 3, 4}}
	anchors := &ir.Tensor{Name: "anchors", DType: ir.Float32, Shape: []int{1, 3, 4}}
	g := &ir.Graph{Name: "ssd", Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{scores, boxes, anchors},
		Nodes: []*ir.Node{{Name: "head", Op: ir.OpConcat, Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{scores, boxes, anchors}}}}
	spec := DefaultDetSpec()
	spec.Coding = CodingCorners
	spec.Classes = 2
	if _, err := spec.resolve(g); err == nil || !strings.Contains(err.Error(), "--det-outputs") {
		t.Fatalf("two computed [1,N,4] outputs: %v", err)
	}
	spec.Outputs = []string{"scores", "1", "anchors"}
	d, err := spec.resolve(g)
	if err != nil {
		t.Fatal(err)
	}
	outs := []*runtime.Tensor{
		rawTensor([]int{1, 3, 3},
			0.1, 0.2, 0.7, // anchor 0: class 1 at 0.7
			0.1, 0.6, 0.3, // anchor 1: class 0 at 0.6, overlapping anchor 0
			0.5, 0.25, 0.25), // anchor 2: a tie, to the lower class
		rawTensor([]int{1, 3, 4},
			0, 0, 0, 0,
			0.1, 0, 0, 0, // x1 moves right by 0.1 of the width
			-0.5, 0, 0.5, 0), // twice as wide
		rawTensor([]int{1, 3, 4},
			0, 0, 0.5, 0.5,
			0, 0, 0.5, 0.5,
			0.5, 0.5, 0.7, 1),
	}
	output := func(i int) *runtime.Tensor { return outs[i] }
	dw, err := d.newWorker()
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.decode(dw, output, 200, 100)
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b Box) bool {
		return math.Abs(a.XMin-b.XMin)+math.Abs(a.YMin-b.YMin)+math.Abs(a.XMax-b.XMax)+math.Abs(a.YMax-b.YMax) < 1e-5
	}
	want := []Detection{
		{Class: 1, Score: 0.7, Box: Box{0, 0, 100, 50}},
		{Class: 0, Score: 0.25, Box: Box{80, 50, 160, 100}},
	}
	if len(got) != len(want) {
		t.Fatalf("fast NMS: %v, want %v", got, want)
	}
	for k := range want {
		if got[k].Class != want[k].Class || math.Abs(got[k].Score-want[k].Score) > 1e-6 || !near(got[k].Box, want[k].Box) {
			t.Errorf("fast NMS detection %d: %v, want %v", k, got[k], want[k])
		}
	}
	// IoU of anchors 0 and 1: 0.4*0.5 / 0.25 = 0.8 > 0.6. Per class:
	// class 0 keeps anchors 1 and 2 (0 suppressed by 1), class 1 anchors 0
	// and 2 (1 suppressed by 0); merged by score, ties to the lower class
	d.spec.NMS = NMSPerClass
	got, err = d.decode(dw, output, 200, 100)
	if err != nil {
		t.Fatal(err)
	}
	var classes []int
	for _, x := range got {
		classes = append(classes, x.Class)
	}
	if want := []int{1, 0, 0, 1}; !slices.Equal(classes, want) {
		t.Errorf("per-class NMS classes %v, want %v (%v)", classes, want, got)
	}
}

func TestDetSpecErrors(t *testing.T) {
	x := &ir.Tensor{Name: "image", DType: ir.Float32, Shape: []int{1, 4}}
	scores := &ir.Tensor{Name: "scores", DType: ir.Float32, Shape: []int{1, 5, 3}}
	boxes := &ir.Tensor{Name: "boxes", DType: ir.Float32, Shape: []int{1, 5, 4}}
	g := &ir.Graph{Name: "ssd", Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{scores, boxes},
		Nodes: []*ir.Node{{Name: "head", Op: ir.OpConcat, Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{scores, boxes}}}}
	base := DefaultDetSpec()
	base.Coding = CodingCorners
	for _, c := range []struct {
		name string
		edit func(s *DetSpec)
		want string
	}{
		{"no anchors", func(s *DetSpec) {}, "--det-outputs"},
		{"anchors count", func(s *DetSpec) { s.Anchors = make([]float32, 8) }, "--anchors has 2 anchors, the model 5"},
		{"background unknown", func(s *DetSpec) { s.Anchors = make([]float32, 20) }, "--det-background"},
		{"postprocess", func(s *DetSpec) { s.Coding = CodingPostProcess }, "does not end in DetectionPostProcess"},
		{"bad output", func(s *DetSpec) { s.Outputs = []string{"scores", "nope"} }, `no output "nope"`},
		{"iou", func(s *DetSpec) { s.IoU = 0 }, "IoU"},
	} {
		s := base
		c.edit(&s)
		if _, err := s.resolve(g); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
	s := base
	s.Anchors, s.Classes = make([]float32, 20), 2
	if d, err := s.resolve(g); err != nil || d.offset != 1 || d.anchors != -1 {
		t.Errorf("anchors from a file, 3 columns for 2 names: %v %+v", err, d)
	}
}

const stSSD = "apps/models/st_ssd_mobilenet_v2_fpnlite_100_256_coco80_int8.tflite"

// The ST SSD (raw outputs: scores with a background column, corner-offset
// boxes, anchors as an output) through EvaluateDetection on its first
// images: each image's best detection is TFLite's (class, score within
// 0.05, IoU >= 0.8) and the mAP of those images is near that of TFLite's
// detections. Not closer: our runtime's raw outputs of this model differ
// from TFLite's WebAssembly build by a few quanta (the decoding itself is
// checked exactly on TFLite's outputs below). The 128-image figure is
// scripts/benchmarks/detection_st_ssd.sh. Skips while the model does not
// import (its SHAPE/STRIDED_SLICE/PACK/TILE ops).
func TestDetectionSTSSD(t *testing.T) {
	path := testutil.Shared(t, stSSD)
	ref := readDetReference(t, "st_ssd_mobilenet_v2_fpnlite_100_256_coco80_int8")
	g, err := importers.Load(path, importers.Options{})
	if err != nil {
		t.Skipf("skipping: the ST SSD does not import yet: %v", err)
	}
	n := 4
	items, ann := cocoDetItems(t, n)
	names, err := os.ReadFile(testutil.Shared(t, "datasets/coco-val128/coco80_names.txt"))
	if err != nil {
		t.Fatal(err)
	}
	spec := DefaultDetSpec()
	spec.Coding, spec.Outputs, spec.Classes = CodingCorners, []string{"0", "1", "2"}, len(strings.Split(strings.TrimSpace(string(names)), "\n"))
	res, err := EvaluateDetection(context.Background(), []*ir.Graph{g}, items, spec, ann.Names, Config{Preset: preprocess.Full, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	refByFile := map[string]int{}
	for i, im := range ref.Images {
		refByFile[im.File] = i
	}
	var gt []GroundTruth
	var refDets [][]Detection
	for i, im := range res.PerImage {
		r := ref.Images[refByFile[im.File]]
		gt = append(gt, items[i].Truth)
		var rd []Detection
		for _, d := range r.Detections {
			b := d.BoxNorm
			w, h := float64(r.Width), float64(r.Height)
			rd = append(rd, Detection{Class: d.Class, Score: d.Score, Box: Box{b[0] * w, b[1] * h, b[2] * w, b[3] * h}})
		}
		refDets = append(refDets, rd)
		if len(im.Detections) == 0 || len(rd) == 0 {
			t.Fatalf("%s: %d detections, TFLite %d", im.File, len(im.Detections), len(rd))
		}
		got, want := im.Detections[0], rd[0]
		if got.Class != want.Class || math.Abs(got.Score-want.Score) > 0.05 || got.Box.IoU(want.Box) < 0.8 {
			t.Errorf("%s best detection: %+v, TFLite %+v", im.File, got, want)
		}
	}
	want, err := ScoreDetections(gt, refDets, ann.Names)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.MAP50-want.MAP50) > 0.1 {
		t.Errorf("mAP@0.5 of %d images %.4f, TFLite's detections %.4f", n, res.MAP50, want.MAP50)
	}
	t.Logf("%d images: mAP@0.5 %.4f (TFLite's detections %.4f), %.2f images/s", n, res.MAP50, want.MAP50, res.ImagesPerSecond)
}

// The corner coding and fast NMS on TFLite's own raw outputs of the ST SSD
// (run here through the reference runtime on the shared preprocessed
// images) give the shared reference's detections: the decoding is the
// reference's, independent of our importer and runtime.
func TestDetectionCornersOnTFLiteOutputs(t *testing.T) {
	refrt.Need(t, refrt.TFLite)
	model := testutil.Shared(t, stSSD)
	ref := readDetReference(t, "st_ssd_mobilenet_v2_fpnlite_100_256_coco80_int8")
	pix, err := os.ReadFile(testutil.Shared(t, "apps/inputs/coco_val128_first8_stretch256_u8_nhwc.bin"))
	if err != nil {
		t.Fatal(err)
	}
	const size, images = 256 * 256 * 3, 1
	in := func(i int) []refrt.Input {
		return []refrt.Input{refrt.U8([]int{1, 256, 256, 3}, pix[i*size:(i+1)*size])}
	}
	// a warm-up run first: the WASM build's first outputs of this model
	// are garbage (REFERENCE.md, Surprises)
	samples := [][]refrt.Input{in(0)}
	for i := range images {
		samples = append(samples, in(i))
	}
	res, err := refrt.Run(refrt.TFLite, model, samples, refrt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := &ir.Tensor{Name: "image", DType: ir.Uint8, Shape: []int{1, 256, 256, 3}}
	g := &ir.Graph{Name: "st_ssd", Inputs: []*ir.Tensor{x}}
	for k, o := range res.Outputs {
		g.Outputs = append(g.Outputs, &ir.Tensor{Name: fmt.Sprint(k), DType: ir.Float32, Shape: o.Shape})
	}
	spec := DefaultDetSpec()
	spec.Coding, spec.Outputs, spec.Classes = CodingCorners, []string{"0", "1", "2"}, 80
	d, err := spec.resolve(g)
	if err != nil {
		t.Fatal(err)
	}
	dw, err := d.newWorker()
	if err != nil {
		t.Fatal(err)
	}
	for i := range images {
		vals := res.Values[i+1]
		output := func(k int) *runtime.Tensor {
			return &runtime.Tensor{DType: ir.Float32, Shape: res.Outputs[k].Shape, F32: vals[k]}
		}
		r := ref.Images[i]
		got, err := d.decode(dw, output, r.Width, r.Height)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(r.Detections) {
			t.Errorf("%s: %d detections, the reference %d", r.File, len(got), len(r.Detections))
		}
		for k := range min(len(got), len(r.Detections)) {
			w := r.Detections[k]
			b := got[k].Box
			norm := [4]float64{b.XMin / float64(r.Width), b.YMin / float64(r.Height), b.XMax / float64(r.Width), b.YMax / float64(r.Height)}
			off := 0.0
			for c := range norm {
				off = max(off, math.Abs(norm[c]-w.BoxNorm[c]))
			}
			if got[k].Class != w.Class || got[k].Score != w.Score || off > 1e-6 {
				t.Errorf("%s detection %d: class %d score %v box %v; reference class %d score %v box %v", r.File, k, got[k].Class, got[k].Score, norm, w.Class, w.Score, w.BoxNorm)
				break
			}
		}
	}
}

// The whole detection path on TFLite's raw outputs of the ST SSD for the
// 128 COCO images (our preprocessing, corner decoding, NMS and scoring):
// the reference's mAP@0.5, 0.2878 / 0.2894. A sweep of several minutes of
// TFLite WebAssembly: it runs with MNCONV_SWEEP=1
// (scripts/benchmarks/detection_st_ssd.sh tflite).
func TestDetectionSTSSDTFLiteSweep(t *testing.T) {
	if os.Getenv("MNCONV_SWEEP") != "1" {
		t.Skip("skipping: a sweep of the 128 images through TFLite; set MNCONV_SWEEP=1")
	}
	refrt.Need(t, refrt.TFLite)
	model := testutil.Shared(t, stSSD)
	items, ann := cocoDetItems(t, 1<<30)
	var samples [][]refrt.Input
	for i, it := range items {
		m, err := preprocess.Load(it.Path, preprocess.Full, 256, 256)
		if err != nil {
			t.Fatal(err)
		}
		in := []refrt.Input{refrt.U8([]int{1, 256, 256, 3}, m.Pix)}
		if i == 0 { // warm-up (REFERENCE.md, Surprises)
			samples = append(samples, in)
		}
		samples = append(samples, in)
	}
	res, err := refrt.Run(refrt.TFLite, model, samples, refrt.Options{Timeout: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	x := &ir.Tensor{Name: "image", DType: ir.Uint8, Shape: []int{1, 256, 256, 3}}
	g := &ir.Graph{Name: "st_ssd", Inputs: []*ir.Tensor{x}}
	for k, o := range res.Outputs {
		g.Outputs = append(g.Outputs, &ir.Tensor{Name: fmt.Sprint(k), DType: ir.Float32, Shape: o.Shape})
	}
	spec := DefaultDetSpec()
	spec.Coding, spec.Outputs, spec.Classes = CodingCorners, []string{"0", "1", "2"}, 80
	d, err := spec.resolve(g)
	if err != nil {
		t.Fatal(err)
	}
	dw, err := d.newWorker()
	if err != nil {
		t.Fatal(err)
	}
	var gt []GroundTruth
	var dets [][]Detection
	for i, it := range items {
		src, err := preprocess.DecodeFile(it.Path)
		if err != nil {
			t.Fatal(err)
		}
		vals := res.Values[i+1]
		output := func(k int) *runtime.Tensor {
			return &runtime.Tensor{DType: ir.Float32, Shape: res.Outputs[k].Shape, F32: vals[k]}
		}
		ds, err := d.decode(dw, output, src.W, src.H)
		if err != nil {
			t.Fatal(err)
		}
		gt = append(gt, it.Truth)
		dets = append(dets, ds)
	}
	m, err := ScoreDetections(gt, dets, ann.Names)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("TFLite's outputs, our decoding and scoring: mAP@0.5 %.4f (VOC) %.4f (COCO 101), mAP@[.5:.95] %.4f, %d detections",
		m.MAP50, m.MAP50COCO, m.MAP, m.Detections)
	if math.Abs(m.MAP50-0.2878) > 1e-4 || math.Abs(m.MAP50COCO-0.2894) > 1e-4 {
		t.Errorf("mAP@0.5 %.4f / %.4f, the reference 0.2878 / 0.2894", m.MAP50, m.MAP50COCO)
	}
}
