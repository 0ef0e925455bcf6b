package onnx

import (
	"strings"
	"testing"

	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/refrt"
	"github.com/mnconv/mnconv/runtime"
)

// detectionGraph is a small TFLite_Detection_PostProcess: 6 anchors, a
// background column and 3 classes, boxes that overlap in pairs and scores
// with ties (across anchors and across classes).
func detectionGraph(a ir.DetectionPostProcessAttrs) (*ir.Graph, []*runtime.Tensor) {
	const anchors = 6
	box := &ir.Tensor{Name: "box_encodings", DType: ir.Float32, Shape: []int{1, anchors, 4}}
	cls := &ir.Tensor{Name: "class_scores", DType: ir.Float32, Shape: []int{1, anchors, 4}}
	anc := &ir.Tensor{Name: "anchors", DType: ir.Float32, Shape: []int{anchors, 4}, Data: &ir.Data{F32: []float32{
		0.2, 0.2, 0.2, 0.2, 0.22, 0.21, 0.2, 0.2, 0.7, 0.7, 0.3, 0.3,
		0.72, 0.7, 0.3, 0.3, 0.5, 0.1, 0.1, 0.4, 0.3, 0.8, 0.2, 0.2,
	}}}
	var outs []*ir.Tensor
	for _, s := range []string{"boxes", "classes", "scores", "count"} {
		outs = append(outs, &ir.Tensor{Name: s, DType: ir.Float32})
	}
	n := ir.NewNode("postprocess", ir.OpDetectionPostProcess, []*ir.Tensor{box, cls, anc}, outs...)
	n.Attrs = &a
	g := &ir.Graph{Name: "detection", Inputs: []*ir.Tensor{box, cls}, Nodes: []*ir.Node{n}, Outputs: outs}
	bx := runtime.NewTensor(ir.Float32, box.Shape)
	copy(bx.F32, []float32{
		0.1, -0.2, 0.3, 0.1, 0.5, 0.4, -0.2, 0.2, -1, 0.3, 0.1, -0.4,
		0.2, 0.2, 0.2, 0.2, 3, -2, 1, 0.5, 0, 0, -1, -1,
	})
	sc := runtime.NewTensor(ir.Float32, cls.Shape)
	copy(sc.F32, []float32{
		0.9, 0.6, 0.3, 0.6, // a tie between classes 0 and 2: the first wins
		0.1, 0.6, 0.2, 0.1, // ties anchor 0's best score
		0.5, 0.2, 0.7, 0.1,
		0.4, 0.1, 0.7, 0.7,
		0.3, 0.05, 0.01, 0.02,
		0.2, 0.3, 0.3, 0.25,
	})
	return g, []*runtime.Tensor{bx, sc}
}

// TestDetectionPostProcessExport writes the post-processing as standard ops
// (one NonMaxSuppression, no custom op) and, where ONNX Runtime is
// installed, runs it against our kernel: the same detections, bit for bit.
func TestDetectionPostProcessExport(t *testing.T) {
	ort := refrtAvailable(t)
	base := ir.DetectionPostProcessAttrs{MaxDetections: 4, MaxClassesPerDetection: 1, DetectionsPerClass: 100,
		ScoreThreshold: 0.1, IoUThreshold: 0.5, NumClasses: 3, YScale: 10, XScale: 10, HScale: 5, WScale: 5}
	for _, c := range []struct {
		name string
		mod  func(a *ir.DetectionPostProcessAttrs)
	}{
		{"fast", func(a *ir.DetectionPostProcessAttrs) {}},
		{"fast_threshold_at_a_score", func(a *ir.DetectionPostProcessAttrs) { a.ScoreThreshold, a.MaxDetections = 0.6, 6 }},
		{"regular", func(a *ir.DetectionPostProcessAttrs) { a.UseRegularNMS = true }},
		{"regular_2_per_class", func(a *ir.DetectionPostProcessAttrs) {
			a.UseRegularNMS, a.DetectionsPerClass, a.MaxDetections = true, 2, 10
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := base
			c.mod(&a)
			g, inputs := detectionGraph(a)
			if err := g.InferShapes(); err != nil {
				t.Fatal(err)
			}
			b, warns := export(t, g, "")
			if len(warns) > 0 {
				t.Errorf("warnings: %v", warns)
			}
			ops := opCounts(decode(t, b))
			if ops["NonMaxSuppression"] != 1 {
				t.Errorf("ops %v, want one NonMaxSuppression", ops)
			}
			ours := runMulti(t, g, inputs)
			t.Logf("ours: classes %v scores %v count %v", ours[1], ours[2], ours[3])
			if !ort {
				return
			}
			r, err := refrt.Run(refrt.ONNX, writeTemp(t, "detection.onnx", b),
				[][]refrt.Input{{refrt.F32(inputs[0].Shape, inputs[0].F32), refrt.F32(inputs[1].Shape, inputs[1].F32)}}, refrt.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			for o := range ours {
				for i, v := range ours[o] {
					if got := r.Values[0][o][i]; got != v {
						t.Errorf("output %d [%d]: ONNX Runtime %v, ours %v", o, i, got, v)
					}
				}
			}
		})
	}
}

// TestDetectionPostProcessRefused: fast NMS with several classes per
// detection has no exact ONNX form; the error names the node.
func TestDetectionPostProcessRefused(t *testing.T) {
	g, _ := detectionGraph(ir.DetectionPostProcessAttrs{MaxDetections: 3, MaxClassesPerDetection: 2, DetectionsPerClass: 100,
		ScoreThreshold: 0.1, IoUThreshold: 0.5, NumClasses: 3, YScale: 10, XScale: 10, HScale: 5, WScale: 5})
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	_, err := Export(g, exporters.Options{})
	if err == nil || !strings.Contains(err.Error(), `node "postprocess"`) || !strings.Contains(err.Error(), "2 classes per detection") {
		t.Fatalf("error %v, want one naming the node and the 2 classes per detection", err)
	}
}

// runMulti runs g once on one tensor per graph input and returns every
// output (float32).
func runMulti(t *testing.T, g *ir.Graph, inputs []*runtime.Tensor) [][]float32 {
	t.Helper()
	it, err := runtime.New(g)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for i, x := range inputs {
		if err := it.SetInput(i, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := it.Run(); err != nil {
		t.Fatal(err)
	}
	var outs [][]float32
	for o := range g.Outputs {
		outs = append(outs, append([]float32(nil), it.Output(o).F32...))
	}
	return outs
}
