package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/ir"
)

// detectionPostProcess writes TFLite_Detection_PostProcess as standard ONNX
// ops (opset 11 and later: NonMaxSuppression, TopK with K as an input):
//
//	DetectionPostProcess(enc [1,A,S], scores [1,A,C], anchors [A,4])
//	  => boxes = decode(enc[:, :, 0:4], anchors) in double, as float32 corners
//	     s = scores[:, :, C-N:]                      (the background column dropped)
//	     fast:    c = ArgMax(s), m = s[c]; sel = NMS(boxes, m as one class, MaxDetections)
//	     regular: sel = NMS(boxes, s per class, DetectionsPerClass), then TopK(MaxDetections) by score
//	     outputs = Gather(boxes, classes, scores) at sel, zero-padded to MaxDetections; count = |sel|
//
// Where the translation is exact (see the notes in the code): ONNX
// Runtime's NonMaxSuppression orders candidates by score with ties to the
// lower index, as TFLite's stable sort, suppresses a box whose float32 IoU
// with a kept one exceeds the threshold, computed in the same order as
// TFLite, and lists a class's boxes in selection order; TopK's ties go to
// the lower index, which keeps the class-major order of a regular NMS's
// merge. The score threshold is moved one float32 step down because ONNX
// keeps scores above it and TFLite scores at or above. What differs: a
// decoded box with ymin > ymax fails TFLite's node but not the ONNX graph,
// and exp in double may differ in its last bit between runtimes (rounded to
// float32 afterwards). Fast NMS with several classes per detection has no
// exact form here and is refused.
func (w *writer) detectionPostProcess(n *ir.Node) error {
	a := n.Attrs.(*ir.DetectionPostProcessAttrs)
	if err := a.Check(); err != nil {
		return err
	}
	if !a.UseRegularNMS && a.MaxClassesPerDetection != 1 && a.NumClasses > 1 {
		return fmt.Errorf("fast NMS with %d classes per detection has no ONNX translation (one class per detection, or regular NMS, have)", a.MaxClassesPerDetection)
	}
	box, cls, anc := n.In(0), n.In(1), n.In(2)
	if box.Rank() != 3 || box.Shape[0] != 1 || box.Shape[2] < 4 || cls.Rank() != 3 || anc.Rank() != 2 {
		return fmt.Errorf("inputs %v, %v, %v: want [1,anchors,>=4], [1,anchors,classes], [anchors,4]", box.Shape, cls.Shape, anc.Shape)
	}
	na, nc := box.Shape[1], cls.Shape[2]
	d := a.MaxDetections * a.MaxClassesPerDetection
	base := n.Name
	val := func(s string) string { return w.uniq(base + "/" + s) }
	node := func(op, name string, ins []string, attrs ...*pb.AttributeProto) string {
		out := val(name)
		w.node(op, w.nodeName(name), ins, []string{out}, attrs...)
		return out
	}
	ints := func(name string, v ...int) (string, error) { return w.int64s(base+"/"+name, v) }

	encs, err := w.read(box, false)
	if err != nil {
		return err
	}
	ancs, err := w.read(anc, false)
	if err != nil {
		return err
	}
	scs, err := w.read(cls, false)
	if err != nil {
		return err
	}
	if box.Shape[2] > 4 {
		st, err := ints("enc_starts", 0)
		if err != nil {
			return err
		}
		en, err := ints("enc_ends", 4)
		if err != nil {
			return err
		}
		ax, err := ints("enc_axes", 2)
		if err != nil {
			return err
		}
		encs = node("Slice", "enc4", []string{encs, st, en, ax})
	}

	// Decoding in double, as TFLite's kernel (and ours) computes it:
	// yc = y / y_scale * ha + ya; half_h = 0.5 * exp(h / h_scale) * ha.
	double := int64(pb.TensorProto_DOUBLE)
	encD := node("Cast", "enc_f64", []string{encs}, intAttr("to", double))
	ancD := node("Cast", "anchors_f64", []string{ancs}, intAttr("to", double))
	e := make([]string, 4)
	an := make([]string, 4)
	for i, s := range []string{"y", "x", "h", "w"} {
		e[i] = val("enc_" + s)
		an[i] = val("anchor_" + s)
	}
	var four *pb.AttributeProto
	if w.opset >= 18 {
		four = intAttr("num_outputs", 4) // required from opset 18 without a split input
	}
	w.node("Split", w.nodeName("split_enc"), []string{encD}, e, intAttr("axis", 2), four)
	w.node("Split", w.nodeName("split_anchors"), []string{ancD}, an, intAttr("axis", 1), four)
	half, err := w.doubleScalar(base+"/half", 0.5)
	if err != nil {
		return err
	}
	scales := []float32{a.YScale, a.XScale, a.HScale, a.WScale}
	sc := make([]string, 4)
	for i, s := range []string{"y", "x", "h", "w"} {
		if sc[i], err = w.doubleScalar(base+"/"+s+"_scale", float64(scales[i])); err != nil {
			return err
		}
	}
	toFloat := intAttr("to", int64(pb.TensorProto_FLOAT))
	var centre, halfSize [2]string
	for k, s := range []string{"y", "x"} {
		c := node("Div", s+"_rel", []string{e[k], sc[k]})
		c = node("Mul", s+"_scaled", []string{c, an[2+k]})
		c = node("Add", s+"_centre_f64", []string{c, an[k]})
		centre[k] = node("Cast", s+"_centre", []string{c}, toFloat)
		h := node("Div", s+"_log_size", []string{e[2+k], sc[2+k]})
		h = node("Exp", s+"_size_rel", []string{h})
		h = node("Mul", s+"_half_rel", []string{half, h})
		h = node("Mul", s+"_half_f64", []string{h, an[2+k]})
		halfSize[k] = node("Cast", s+"_half", []string{h}, toFloat)
	}
	ymin := node("Sub", "ymin", []string{centre[0], halfSize[0]})
	xmin := node("Sub", "xmin", []string{centre[1], halfSize[1]})
	ymax := node("Add", "ymax", []string{centre[0], halfSize[0]})
	xmax := node("Add", "xmax", []string{centre[1], halfSize[1]})
	boxes := node("Concat", "boxes", []string{ymin, xmin, ymax, xmax}, intAttr("axis", 2)) // [1,A,4]
	shapeA4, err := ints("boxes_shape", na, 4)
	if err != nil {
		return err
	}
	boxesA := node("Reshape", "boxes_2d", []string{boxes, shapeA4})

	if off := nc - a.NumClasses; off > 0 {
		st, err := ints("cls_starts", off)
		if err != nil {
			return err
		}
		en, err := ints("cls_ends", nc)
		if err != nil {
			return err
		}
		ax, err := ints("cls_axes", 2)
		if err != nil {
			return err
		}
		scs = node("Slice", "class_scores", []string{scs, st, en, ax})
	}

	maxOut, err := ints("max_output", a.MaxDetections)
	if err != nil {
		return err
	}
	if a.UseRegularNMS {
		if maxOut, err = ints("detections_per_class", a.DetectionsPerClass); err != nil {
			return err
		}
	}
	iouT, err := w.scalar(ir.Float32, a.IoUThreshold)
	if err != nil {
		return err
	}
	// TFLite keeps scores >= threshold, ONNX scores > threshold: one
	// float32 step down makes them the same on float32 scores.
	scoreT, err := w.scalar(ir.Float32, math.Nextafter32(a.ScoreThreshold, float32(math.Inf(-1))))
	if err != nil {
		return err
	}
	two, err := w.scalar(ir.Int64, 2)
	if err != nil {
		return err
	}
	gatherCol := func(name, src, col string) string {
		return node("Gather", name, []string{src, col}, intAttr("axis", 1))
	}
	var selBoxes, selScores, selClasses string
	if !a.UseRegularNMS {
		// Fast NMS: one NMS over each anchor's best class score (the first
		// maximum, as ArgMax's default), treated as one class.
		best := node("ArgMax", "best_class", []string{scs}, intAttr("axis", 2), intAttr("keepdims", 1)) // [1,A,1]
		bestScore := node("GatherElements", "best_score", []string{scs, best}, intAttr("axis", 2))      // [1,A,1]
		shape11A, err := ints("nms_scores_shape", 1, 1, na)
		if err != nil {
			return err
		}
		shapeA, err := ints("flat_shape", na)
		if err != nil {
			return err
		}
		nmsScores := node("Reshape", "nms_scores", []string{bestScore, shape11A})
		sel := node("NonMaxSuppression", "selected", []string{boxes, nmsScores, maxOut, iouT, scoreT}, intAttr("center_point_box", 0))
		idx := gatherCol("anchor", sel, two)
		selBoxes = node("Gather", "det_boxes", []string{boxesA, idx}, intAttr("axis", 0))
		selScores = node("Gather", "det_scores", []string{node("Reshape", "best_score_flat", []string{bestScore, shapeA}), idx}, intAttr("axis", 0))
		selClasses = node("Gather", "det_classes_i64", []string{node("Reshape", "best_class_flat", []string{best, shapeA}), idx}, intAttr("axis", 0))
	} else {
		// Regular NMS: one NMS per class, then the best MaxDetections by
		// score over the class-major list (TopK's ties to the lower index
		// keep the earlier class first, as the merge after each class does).
		perClass := node("Transpose", "scores_per_class", []string{scs}, intsAttr("perm", 0, 2, 1)) // [1,N,A]
		sel := node("NonMaxSuppression", "selected", []string{boxes, perClass, maxOut, iouT, scoreT}, intAttr("center_point_box", 0))
		all := node("GatherND", "selected_scores", []string{perClass, sel}) // [K]
		dmax, err := ints("max_detections", a.MaxDetections)
		if err != nil {
			return err
		}
		k := node("Min", "k", []string{node("Shape", "selected_count", []string{all}), dmax})
		top, order := val("det_scores"), val("order")
		w.node("TopK", w.nodeName("top"), []string{all, k}, []string{top, order}, intAttr("axis", 0), intAttr("largest", 1), intAttr("sorted", 1))
		rows := node("Gather", "det_rows", []string{sel, order}, intAttr("axis", 0))
		idx := gatherCol("anchor", rows, two)
		selBoxes = node("Gather", "det_boxes", []string{boxesA, idx}, intAttr("axis", 0))
		selScores = top
		c1, err := w.scalar(ir.Int64, 1)
		if err != nil {
			return err
		}
		selClasses = gatherCol("det_classes_i64", rows, c1)
	}
	selClasses = node("Cast", "det_classes", []string{selClasses}, toFloat)
	count := node("Shape", "count_i64", []string{selScores})

	// Unused slots are zero, as TFLite writes them: append MaxDetections
	// zeros, keep the first MaxDetections.
	zero, err := ints("zero", 0)
	if err != nil {
		return err
	}
	dEnd, err := ints("slots", d)
	if err != nil {
		return err
	}
	axis0, err := ints("axis0", 0)
	if err != nil {
		return err
	}
	zeros := func(name string, shape ...int) (string, error) {
		nm := w.uniq(base + "/" + name)
		return nm, w.addInit(nm, ir.Float32, shape, &ir.Data{F32: make([]float32, ir.NumElements(shape))})
	}
	pad := func(name, src string, out *ir.Tensor, shape ...int) error {
		z, err := zeros(name+"_zeros", shape...)
		if err != nil {
			return err
		}
		c := node("Concat", name+"_padded", []string{src, z}, intAttr("axis", 0))
		c = node("Slice", name+"_slots", []string{c, zero, dEnd, axis0})
		s, err := ints(name+"_shape", out.Shape...)
		if err != nil {
			return err
		}
		w.node("Reshape", w.nodeName(name), []string{c, s}, []string{w.out(out, false)})
		return nil
	}
	if err := pad("boxes", selBoxes, n.Outputs[0], d, 4); err != nil {
		return err
	}
	if err := pad("classes", selClasses, n.Outputs[1], d); err != nil {
		return err
	}
	if err := pad("scores", selScores, n.Outputs[2], d); err != nil {
		return err
	}
	w.node("Cast", w.nodeName("count"), []string{count}, []string{w.out(n.Outputs[3], false)}, toFloat)
	return nil
}

// doubleScalar makes a float64 scalar initializer (the ir has no float64
// tensors; only this translation computes in double).
func (w *writer) doubleScalar(base string, v float64) (string, error) {
	name := w.uniq(base)
	raw := binary.LittleEndian.AppendUint64(nil, math.Float64bits(v))
	w.bytes += int64(len(raw))
	w.inits = append(w.inits, &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(pb.TensorProto_DOUBLE)), RawData: raw})
	return name, nil
}
