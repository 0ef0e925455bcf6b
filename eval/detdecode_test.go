package eval

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/preprocess"
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
