package runtime

import (
	"fmt"
	"math"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// DetectionPostProcess: TFLite's TFLite_Detection_PostProcess (the facts
// from tensorflow/lite/kernels/detection_postprocess.cc):
//
//   - Inputs of uint8 (or int8) are dequantized first: box encodings and
//     anchors as (float32(q) - zero point) * scale in float32, class scores
//     as float32(scale * (q - zero point)) computed in double.
//   - Decoding (center-size) in double, rounded to float32:
//     ycenter = y / y_scale * anchor.h + anchor.y, half_h = 0.5 *
//     exp(h / h_scale) * anchor.h (x and w alike); the box is ycenter -/+
//     half_h, xcenter -/+ half_w as ymin, xmin, ymax, xmax. A decoded box
//     with ymin > ymax or xmin > xmax fails the node, as TFLite's does.
//   - One NMS: the scores >= the score threshold, stably sorted by score
//     descending (ties keep the anchor order); each kept box in turn, while
//     fewer than the limit are selected, drops the later boxes whose IoU
//     with it (float32, 0 when either area is <= 0) exceeds the threshold.
//   - Fast NMS (UseRegularNMS false): each anchor's best
//     min(MaxClassesPerDetection, NumClasses) classes over the columns after
//     the background column (the first maximum for one class), one NMS on
//     each anchor's best score with MaxDetections; detection k's classes go
//     to slots MaxClassesPerDetection*k + col.
//   - Regular NMS: an NMS per class with DetectionsPerClass, merged after
//     each class into the MaxDetections best by score.
//   - Classes are reported without the background column (0 is the first
//     real class); slots past the count are zero.
//
// Where TFLite's order is unspecified (std::partial_sort's ties: several
// classes per anchor, the regular NMS's merge), ties here keep the lower
// class index and the earlier-merged detection.

func init() {
	Register(ir.OpDetectionPostProcess, Float, checked(prepareDetectionPostProcess))
	Register(ir.OpDetectionPostProcess, Quantized, checked(prepareDetectionPostProcess))
}

type detectionKernel struct {
	a                    ir.DetectionPostProcessAttrs
	anchors, stride, cls int // box encodings [1,anchors,stride], scores [1,anchors,cls]
	boxQ, scoreQ, ancQ   *ir.Quant
}

var _ Kernel = (*detectionKernel)(nil)

func prepareDetectionPostProcess(n *ir.Node) (Kernel, error) {
	a := n.Attrs.(*ir.DetectionPostProcessAttrs)
	if err := a.Check(); err != nil {
		return nil, n.Errorf("%v", err)
	}
	box, cls, anc := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	if box.Rank() != 3 || box.Shape[0] != 1 || box.Shape[2] < 4 {
		return nil, n.Errorf("box encodings %q are %v, want [1,anchors,>=4]", box.Name, box.Shape)
	}
	na := box.Shape[1]
	if cls.Rank() != 3 || cls.Shape[0] != 1 || cls.Shape[1] != na || (cls.Shape[2] != a.NumClasses && cls.Shape[2] != a.NumClasses+1) {
		return nil, n.Errorf("class scores %q are %v, want [1,%d,%d or %d]", cls.Name, cls.Shape, na, a.NumClasses, a.NumClasses+1)
	}
	if anc.Rank() != 2 || anc.Shape[0] != na || anc.Shape[1] != 4 {
		return nil, n.Errorf("anchors %q are %v, want [%d,4]", anc.Name, anc.Shape, na)
	}
	k := &detectionKernel{a: *a, anchors: na, stride: box.Shape[2], cls: cls.Shape[2]}
	for i, p := range []**ir.Quant{&k.boxQ, &k.scoreQ, &k.ancQ} {
		t := n.Inputs[i]
		switch {
		case t.DType == ir.Float32:
		case t.DType.IsQuantized() && t.Quant != nil && !t.Quant.PerAxis() && len(t.Quant.Scale) == 1 && len(t.Quant.ZeroPoint) == 1:
			*p = t.Quant
		default:
			return nil, n.Errorf("input %q is %v (quant %v); want float32 or per-tensor quantized uint8/int8", t.Name, t.DType, t.Quant)
		}
	}
	d := a.MaxDetections * a.MaxClassesPerDetection
	want := [4][]int{{1, d, 4}, {1, d}, {1, d}, {1}}
	for i, o := range n.Outputs {
		if o.DType != ir.Float32 || !slices.Equal(o.Shape, want[i]) {
			return nil, n.Errorf("output %q is %v%v, want float32%v", o.Name, o.DType, o.Shape, want[i])
		}
	}
	return k, nil
}

// dequantBoxes returns t's values as float32, dequantized as TFLite's
// DequantizeBoxEncodings does.
func dequantBoxes(t *Tensor, q *ir.Quant) []float32 {
	if q == nil {
		return t.F32
	}
	out := make([]float32, t.Len())
	s, zp := q.Scale[0], float32(q.ZeroPoint[0])
	for i := range out {
		out[i] = (float32(t.Float(i)) - zp) * s
	}
	return out
}

// dequantScores returns t's values as float32, dequantized as TFLite's
// Dequantize does (in double).
func dequantScores(t *Tensor, q *ir.Quant) []float32 {
	if q == nil {
		return t.F32
	}
	out := make([]float32, t.Len())
	s, zp := float64(q.Scale[0]), q.ZeroPoint[0]
	for i := range out {
		out[i] = float32(s * float64(int64(t.Float(i))-zp))
	}
	return out
}

// cornerBox is ymin, xmin, ymax, xmax.
type cornerBox [4]float32

// iou is TFLite's ComputeIntersectionOverUnion in float32.
func iou(a, b *cornerBox) float32 {
	areaA := float32((a[2] - a[0]) * (a[3] - a[1]))
	areaB := float32((b[2] - b[0]) * (b[3] - b[1]))
	if areaA <= 0 || areaB <= 0 {
		return 0
	}
	h := max(min(a[2], b[2])-max(a[0], b[0]), 0)
	w := max(min(a[3], b[3])-max(a[1], b[1]), 0)
	inter := float32(h * w)
	return inter / (areaA + areaB - inter)
}

func (k *detectionKernel) decode(in []*Tensor) ([]cornerBox, error) {
	enc, anc := dequantBoxes(in[0], k.boxQ), dequantBoxes(in[2], k.ancQ)
	a := &k.a
	ys, xs, hs, ws := float64(a.YScale), float64(a.XScale), float64(a.HScale), float64(a.WScale)
	boxes := make([]cornerBox, k.anchors)
	for i := range boxes {
		e, an := enc[i*k.stride:i*k.stride+4], anc[i*4:i*4+4]
		ay, ax, ah, aw := float64(an[0]), float64(an[1]), float64(an[2]), float64(an[3])
		// Explicit conversions keep each product rounded (no fused
		// multiply-add), as TFLite's compiled C++ computes it.
		yc := float32(float64(float64(e[0])/ys*ah) + ay)
		xc := float32(float64(float64(e[1])/xs*aw) + ax)
		hh := float32(float64(0.5*math.Exp(float64(e[2])/hs)) * ah)
		hw := float32(float64(0.5*math.Exp(float64(e[3])/ws)) * aw)
		boxes[i] = cornerBox{yc - hh, xc - hw, yc + hh, xc + hw}
		if b := &boxes[i]; b[0] > b[2] || b[1] > b[3] {
			return nil, fmt.Errorf("decoded box %d is %v: ymin > ymax or xmin > xmax (negative anchor size?)", i, *b)
		}
	}
	return boxes, nil
}

// nms is TFLite's NonMaxSuppressionSingleClassHelper: the indices of the
// selected boxes, best first.
func (k *detectionKernel) nms(boxes []cornerBox, scores []float32, limit int) []int {
	var keep []int
	for i, s := range scores {
		if s >= k.a.ScoreThreshold {
			keep = append(keep, i)
		}
	}
	slices.SortStableFunc(keep, func(i, j int) int {
		switch {
		case scores[i] > scores[j]:
			return -1
		case scores[j] > scores[i]:
			return 1
		}
		return 0
	})
	limit = min(limit, len(keep))
	active := make([]bool, len(keep))
	for i := range active {
		active[i] = true
	}
	nActive := len(keep)
	var sel []int
	for i := range keep {
		if nActive == 0 || len(sel) >= limit {
			break
		}
		if !active[i] {
			continue
		}
		sel = append(sel, keep[i])
		active[i] = false
		nActive--
		for j := i + 1; j < len(keep); j++ {
			if active[j] && iou(&boxes[keep[i]], &boxes[keep[j]]) > k.a.IoUThreshold {
				active[j] = false
				nActive--
			}
		}
	}
	return sel
}

// topClasses sets idx to the indices of the len(idx) largest of s, best
// first: the first maximum for one, a stable sort for more.
func topClasses(s []float32, idx []int) {
	if len(idx) == 1 {
		best := 0
		for c := 1; c < len(s); c++ {
			if s[c] > s[best] {
				best = c
			}
		}
		idx[0] = best
		return
	}
	all := make([]int, len(s))
	for i := range all {
		all[i] = i
	}
	slices.SortStableFunc(all, func(i, j int) int {
		switch {
		case s[i] > s[j]:
			return -1
		case s[j] > s[i]:
			return 1
		}
		return 0
	})
	copy(idx, all)
}

func (k *detectionKernel) Eval(in, out []*Tensor) error {
	boxes, err := k.decode(in)
	if err != nil {
		return err
	}
	scores := dequantScores(in[1], k.scoreQ)
	ob, oc, os, on := out[0].F32, out[1].F32, out[2].F32, out[3].F32
	clear(ob)
	clear(oc)
	clear(os)
	a := &k.a
	offset := k.cls - a.NumClasses
	put := func(slot, anchor, class int, score float32) {
		copy(ob[4*slot:4*slot+4], boxes[anchor][:])
		oc[slot] = float32(class)
		os[slot] = score
	}
	if !a.UseRegularNMS {
		per := min(a.MaxClassesPerDetection, a.NumClasses)
		best := make([]int, k.anchors*per)
		maxScores := make([]float32, k.anchors)
		for r := range k.anchors {
			row := scores[r*k.cls+offset : (r+1)*k.cls]
			ci := best[r*per : (r+1)*per]
			topClasses(row, ci)
			maxScores[r] = row[ci[0]]
		}
		sel := k.nms(boxes, maxScores, a.MaxDetections)
		for d, r := range sel {
			row := scores[r*k.cls+offset : (r+1)*k.cls]
			for col, c := range best[r*per : (r+1)*per] {
				put(a.MaxClassesPerDetection*d+col, r, c, row[c])
			}
		}
		on[0] = float32(len(sel))
		return nil
	}
	type det struct {
		anchor, class int
		score         float32
	}
	var kept []det
	classScores := make([]float32, k.anchors)
	for c := range a.NumClasses {
		for r := range k.anchors {
			classScores[r] = scores[r*k.cls+offset+c]
		}
		for _, r := range k.nms(boxes, classScores, a.DetectionsPerClass) {
			kept = append(kept, det{r, c, classScores[r]})
		}
		slices.SortStableFunc(kept, func(x, y det) int {
			switch {
			case x.score > y.score:
				return -1
			case y.score > x.score:
				return 1
			}
			return 0
		})
		kept = kept[:min(len(kept), a.MaxDetections)]
	}
	for d, x := range kept {
		put(d, x.anchor, x.class, x.score)
	}
	on[0] = float32(len(kept))
	return nil
}
