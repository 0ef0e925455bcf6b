package ir

import (
	"fmt"
	"math"
)

// MaxDetectionsLimit bounds DetectionPostProcess's MaxDetections (and
// DetectionsPerClass): the outputs and the NMS's work grow with it, and
// real SSDs ask for 10 to 300.
const MaxDetectionsLimit = 1 << 16

// Check validates the options as TFLite's kernel needs them, with limits
// that keep a hostile file from sizing huge outputs.
func (a *DetectionPostProcessAttrs) Check() error {
	switch {
	case a.MaxDetections < 0 || a.MaxDetections > MaxDetectionsLimit:
		return fmt.Errorf("max_detections %d, want 0 to %d", a.MaxDetections, MaxDetectionsLimit)
	case a.MaxClassesPerDetection < 1 || a.MaxClassesPerDetection > MaxDetectionsLimit:
		return fmt.Errorf("max_classes_per_detection %d, want 1 to %d", a.MaxClassesPerDetection, MaxDetectionsLimit)
	case int64(a.MaxDetections)*int64(a.MaxClassesPerDetection) > MaxDetectionsLimit:
		return fmt.Errorf("max_detections %d x max_classes_per_detection %d exceeds %d detections", a.MaxDetections, a.MaxClassesPerDetection, MaxDetectionsLimit)
	case a.UseRegularNMS && (a.DetectionsPerClass < 1 || a.DetectionsPerClass > MaxDetectionsLimit):
		return fmt.Errorf("detections_per_class %d, want 1 to %d", a.DetectionsPerClass, MaxDetectionsLimit)
	case a.NumClasses < 1:
		return fmt.Errorf("num_classes %d, want at least 1", a.NumClasses)
	case !(a.IoUThreshold > 0 && a.IoUThreshold <= 1):
		return fmt.Errorf("nms_iou_threshold %v, want in (0, 1]", a.IoUThreshold)
	case math.IsNaN(float64(a.ScoreThreshold)):
		return fmt.Errorf("nms_score_threshold is NaN")
	}
	for _, s := range []struct {
		name string
		v    float32
	}{{"y_scale", a.YScale}, {"x_scale", a.XScale}, {"h_scale", a.HScale}, {"w_scale", a.WScale}} {
		if f := float64(s.v); math.IsNaN(f) || math.IsInf(f, 0) || f == 0 {
			return fmt.Errorf("%s %v, want a finite non-zero scale", s.name, s.v)
		}
	}
	return nil
}

// inferDetectionPostProcess checks the three inputs (box encodings
// [1,N,>=4], class scores [1,N,C] with C = NumClasses or NumClasses+1,
// anchors [N,4]) and sets the four float32 outputs: boxes [1,D,4],
// classes [1,D], scores [1,D], count [1], D = MaxDetections *
// MaxClassesPerDetection (TFLite's shapes whatever the file declares).
func inferDetectionPostProcess(n *Node) error {
	a := n.Attrs.(*DetectionPostProcessAttrs)
	if err := a.Check(); err != nil {
		return n.Errorf("%v", err)
	}
	box, cls, anc := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	if box.Rank() != 3 || box.Shape[0] != 1 || box.Shape[2] < 4 {
		return n.Errorf("box encodings %q are %v, want [1,anchors,>=4]", box.Name, box.Shape)
	}
	na := box.Shape[1]
	if cls.Rank() != 3 || cls.Shape[0] != 1 || cls.Shape[1] != na {
		return n.Errorf("class scores %q are %v, want [1,%d,classes]", cls.Name, cls.Shape, na)
	}
	if c := cls.Shape[2]; c != a.NumClasses && c != a.NumClasses+1 {
		return n.Errorf("class scores %q have %d columns; num_classes %d needs %d or %d (with a background column)", cls.Name, c, a.NumClasses, a.NumClasses, a.NumClasses+1)
	}
	if anc.Rank() != 2 || anc.Shape[0] != na || anc.Shape[1] != 4 {
		return n.Errorf("anchors %q are %v, want [%d,4]", anc.Name, anc.Shape, na)
	}
	d := a.MaxDetections * a.MaxClassesPerDetection
	shapes := [4][]int{{1, d, 4}, {1, d}, {1, d}, {1}}
	for i, o := range n.Outputs {
		if o.DType != Invalid && o.DType != Float32 {
			return n.Errorf("output %q is %v, want float32", o.Name, o.DType)
		}
		o.Shape, o.DType = shapes[i], Float32
	}
	return nil
}
