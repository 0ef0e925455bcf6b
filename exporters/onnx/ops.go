package onnx

import (
	"fmt"
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"math"
	"slices"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/ir"
)

// lower writes one ir node as ONNX nodes. Errors name the node.
func (w *writer) lower(n *ir.Node) error {
	if w.opts.QOperator {
		done, err := w.qop(n)
		if err != nil {
			return n.Errorf("%v", err)
		}
		if done {
			return nil
		}
	}
	var err error
	switch n.Op {
	case ir.OpConv:
		err = w.conv(n)
	case ir.OpGemm:
		err = w.gemm(n)
	case ir.OpMatMul:
		err = w.simple(n, "MatMul", false)
	case ir.OpBatchNorm:
		err = w.batchNorm(n)
	case ir.OpRelu, ir.OpSigmoid, ir.OpHardSwish:
		opType, _ := onnxfmt.OpType(n.Op)
		err = w.unary(n, opType)
	case ir.OpIdentity:
		err = w.unary(n, "Identity")
	case ir.OpHardSigmoid:
		a := n.Attrs.(*ir.HardSigmoidAttrs)
		err = w.unary(n, "HardSigmoid", floatAttr("alpha", a.Alpha), floatAttr("beta", a.Beta))
	case ir.OpClip:
		err = w.clip(n)
	case ir.OpAdd, ir.OpSub, ir.OpMul, ir.OpDiv, ir.OpMax, ir.OpMin:
		err = w.binary(n)
	case ir.OpAvgPool, ir.OpMaxPool:
		err = w.pool(n)
	case ir.OpMean, ir.OpReduceMax:
		err = w.reduce(n)
	case ir.OpReshape:
		err = w.reshape(n)
	case ir.OpTranspose:
		err = w.transpose(n)
	case ir.OpConcat:
		err = w.concat(n)
	case ir.OpPad:
		err = w.pad(n)
	case ir.OpSoftmax:
		err = w.softmax(n)
	case ir.OpQuantize:
		err = w.quantize(n)
	case ir.OpDequantize:
		err = w.dequantizeNode(n)
	case ir.OpArgMax:
		err = w.argMax(n)
	case ir.OpResize:
		err = w.resize(n)
	case ir.OpDetectionPostProcess:
		err = w.detectionPostProcess(n)
	default:
		err = fmt.Errorf("op %v has no ONNX translation", n.Op)
	}
	if err != nil {
		return n.Errorf("%v", err)
	}
	return nil
}

// withAct writes the op through emit and its fused activation after it as
// a Relu or Clip node, so that y = act(op(...)). A Clip that y's
// QuantizeLinear already implies is left out (see saturates):
//
//	op -> Clip(0, 6) -> QuantizeLinear(s, zp)   ->   op -> QuantizeLinear(s, zp)
//	    when zp + rint(0/s) <= qmin and zp + rint(6/s) >= qmax
func (w *writer) withAct(n *ir.Node, act ir.Activation, perm bool, emit func(out string) error) error {
	y := n.Out()
	final := w.out(y, perm)
	if act == ir.ActNone || saturates(act, y) {
		return emit(final)
	}
	pre := w.uniq(w.tname[y] + "_preact")
	if err := emit(pre); err != nil {
		return err
	}
	return w.clamp(w.nodeName(act.String()), act, computeType(y), pre, final)
}

// saturates reports whether quantizing to y (QuantizeLinear, which rounds
// half to even and saturates to y's type) already clamps to act's bounds:
// the quantized bounds lie at or past the type's range, so that
// Q(act(x)) == Q(x) for every x. ONNX Runtime's QDQ fusion calls such a
// Clip redundant by this very test (rint(bound/scale) + zp) and then leaves
// the producer in the graph beside its QLinear replacement of the same name
// ("two nodes with same node name"), when its basic-level ClipQuantFusion,
// which compares the unrounded range, kept the Clip: a ReLU6 output scale
// in (6/255, 6/254.5], as the pets SSD's 0.0235297. Writing no Clip avoids
// that and is what ORT's own quantizer writes.
func saturates(act ir.Activation, y *ir.Tensor) bool {
	if !quantized(y) || !y.DType.IsQuantized() || len(y.Quant.Scale) != 1 {
		return false
	}
	// A Relu stays: ORT's ReluQuantFusion removes it by the same test its
	// QDQ selector applies (zero point at the type's minimum).
	if act != ir.ActRelu6 && act != ir.ActReluN1To1 {
		return false
	}
	lo, hi := act.Bounds()
	qmin, qmax := y.DType.Range()
	s, z := float64(y.Quant.Scale[0]), float64(y.Quant.ZP(0))
	if s <= 0 {
		return false
	}
	if !math.IsInf(float64(lo), -1) && z+math.RoundToEven(float64(lo)/s) > float64(qmin) {
		return false
	}
	return math.IsInf(float64(hi), 1) || z+math.RoundToEven(float64(hi)/s) >= float64(qmax)
}

// clamp writes dst = act(src): Relu, or Clip with constant bounds.
func (w *writer) clamp(name string, act ir.Activation, dt ir.DType, src, dst string) error {
	if act == ir.ActRelu {
		w.node("Relu", name, []string{src}, []string{dst})
		return nil
	}
	lo, hi := act.Bounds()
	if act == ir.ActNone {
		return fmt.Errorf("internal error: clamp without activation")
	}
	return w.clipNode(name, dt, src, dst, lo, hi)
}

// clipNode writes Clip with its bounds as scalar initializer inputs of the
// clipped element type dt (the form since opset 11); an infinite bound is
// left out.
func (w *writer) clipNode(name string, dt ir.DType, src, dst string, lo, hi float32) error {
	ins := []string{src, "", ""}
	for i, b := range []float32{lo, hi} {
		if math.IsInf(float64(b), 0) {
			continue
		}
		s, err := w.scalar(dt, b)
		if err != nil {
			return err
		}
		ins[1+i] = s
	}
	w.node("Clip", name, ins, []string{dst})
	return nil
}

func (w *writer) conv(n *ir.Node) error {
	a := n.Attrs.(*ir.ConvAttrs)
	x, wt := n.In(0), n.In(1)
	xs, err := w.read(x, true)
	if err != nil {
		return err
	}
	// OHWI read in the NCHW layout is OIHW: constants are transposed, a
	// computed weight (a DequantizeLinear of one) is stored so.
	ws, err := w.read(wt, true)
	if err != nil {
		return err
	}
	ins := []string{xs, ws}
	if b := n.In(2); b != nil {
		bs, err := w.read(b, false)
		if err != nil {
			return err
		}
		ins = append(ins, bs)
	}
	attrs := convAttrs(a, wt)
	return w.withAct(n, a.Act, true, func(out string) error {
		w.node("Conv", n.Name, ins, []string{out}, attrs...)
		return nil
	})
}

// convAttrs are the attributes of Conv and QLinearConv with OHWI weight wt.
func convAttrs(a *ir.ConvAttrs, wt *ir.Tensor) []*pb.AttributeProto {
	return []*pb.AttributeProto{
		intsAttr("dilations", a.Dilations[:]...),
		intAttr("group", int64(a.Group)),
		intsAttr("kernel_shape", wt.Shape[1], wt.Shape[2]),
		// ONNX orders pads (H begin, W begin, H end, W end): the ir's
		// (top, left, bottom, right).
		intsAttr("pads", a.Pads[:]...),
		intsAttr("strides", a.Strides[:]...),
	}
}

func (w *writer) gemm(n *ir.Node) error {
	a := n.Attrs.(*ir.GemmAttrs)
	ins, err := w.readAll(n.Inputs, false)
	if err != nil {
		return err
	}
	var attrs []*pb.AttributeProto
	if a.Alpha != 1 {
		attrs = append(attrs, floatAttr("alpha", a.Alpha))
	}
	if a.Beta != 1 {
		attrs = append(attrs, floatAttr("beta", a.Beta))
	}
	attrs = append(attrs, boolAttr("transA", a.TransA), boolAttr("transB", a.TransB))
	return w.withAct(n, a.Act, false, func(out string) error {
		w.node("Gemm", n.Name, ins, []string{out}, attrs...)
		return nil
	})
}

// readAll reads inputs (nil ones as absent) in one layout.
func (w *writer) readAll(ts []*ir.Tensor, perm bool) ([]string, error) {
	out := make([]string, len(ts))
	for i, t := range ts {
		if t == nil {
			continue
		}
		s, err := w.read(t, perm)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// simple writes an op on inputs in the ir's order.
func (w *writer) simple(n *ir.Node, op string, perm bool, attrs ...*pb.AttributeProto) error {
	ins, err := w.readAll(n.Inputs, perm)
	if err != nil {
		return err
	}
	w.node(op, n.Name, ins, []string{w.out(n.Out(), perm)}, attrs...)
	return nil
}

// batchNorm: ONNX normalizes along axis 1, the ir along Axis; an NHWC image
// (Axis 3) is written NCHW, a tensor whose Axis is 1 as it is.
func (w *writer) batchNorm(n *ir.Node) error {
	a := n.Attrs.(*ir.BatchNormAttrs)
	x := n.In(0)
	var perm bool
	switch {
	case x.Rank() == 4 && a.Axis == 3:
		perm = true
	case x.Rank() >= 2 && a.Axis == 1:
	default:
		return fmt.Errorf("normalization along axis %d of a rank-%d tensor has no ONNX form (BatchNormalization uses axis 1)", a.Axis, x.Rank())
	}
	xs, err := w.read(x, perm)
	if err != nil {
		return err
	}
	params, err := w.readAll(n.Inputs[1:], false)
	if err != nil {
		return err
	}
	w.node("BatchNormalization", n.Name, append([]string{xs}, params...), []string{w.out(n.Out(), perm)}, floatAttr("epsilon", a.Epsilon))
	return nil
}

// unary writes a layout-transparent elementwise op in its input's layout.
func (w *writer) unary(n *ir.Node, op string, attrs ...*pb.AttributeProto) error {
	x := n.In(0)
	perm := w.layoutOf(x)
	xs, err := w.read(x, perm)
	if err != nil {
		return err
	}
	w.node(op, n.Name, []string{xs}, []string{w.out(n.Out(), perm)}, attrs...)
	return nil
}

func (w *writer) clip(n *ir.Node) error {
	a := n.Attrs.(*ir.ClipAttrs)
	x := n.In(0)
	perm := w.layoutOf(x)
	xs, err := w.read(x, perm)
	if err != nil {
		return err
	}
	return w.clipNode(n.Name, computeType(x), xs, w.out(n.Out(), perm), a.Min, a.Max)
}

// binary writes an elementwise op. With a rank-4 result, it works in NCHW
// when an image operand is stored so: constants are re-laid-out to
// broadcast the same way, a lower-rank computed operand is reshaped and
// converted. Otherwise it works in the ir's order, where ONNX broadcasts as
// the ir does.
func (w *writer) binary(n *ir.Node) error {
	y := n.Out()
	perm := false
	if y.Rank() == 4 {
		for _, t := range n.Inputs {
			if !t.IsConst() && t.Rank() == 4 && w.layoutOf(t) {
				perm = true
			}
		}
	}
	ins := make([]string, len(n.Inputs))
	for i, t := range n.Inputs {
		var s string
		var err error
		switch {
		case !perm || t.Rank() == 0:
			s, err = w.read(t, false)
		case t.IsConst():
			mode := bcast
			if t.Rank() == 4 {
				mode = nchw
			}
			s, err = w.constant(t, mode)
		case t.Rank() == 4:
			s, err = w.read(t, true)
		default:
			s, err = w.broadcastView(t)
		}
		if err != nil {
			return err
		}
		ins[i] = s
	}
	a := n.Attrs.(*ir.BinaryAttrs)
	return w.withAct(n, a.Act, perm, func(out string) error {
		opType, _ := onnxfmt.OpType(n.Op)
		w.node(opType, n.Name, ins, []string{out})
		return nil
	})
}

// broadcastView returns computed operand t (rank 1 to 3) reshaped to rank 4
// as numpy broadcasting in NHWC sees it, then converted to NCHW.
func (w *writer) broadcastView(t *ir.Tensor) (string, error) {
	src, err := w.read(t, false)
	if err != nil {
		return "", err
	}
	view := append(slices.Repeat([]int{1}, 4-t.Rank()), t.Shape...)
	s, err := w.int64s(w.tname[t]+"_4d_shape", view)
	if err != nil {
		return "", err
	}
	v4 := w.uniq(w.tname[t] + "_4d")
	w.node("Reshape", w.nodeName("to_4d"), []string{src, s}, []string{v4})
	dst := w.uniq(w.tname[t] + "_4d_nchw")
	return dst, w.relayout(v4, dst, view, true, false, false)
}

func (w *writer) pool(n *ir.Node) error {
	a := n.Attrs.(*ir.PoolAttrs)
	// MaxPool keeps the quantization: in QOperator form it runs on the
	// integers (opset 12 on).
	integer := n.Op == ir.OpMaxPool && w.intMove(n, a.Act)
	xs, err := w.moveIn(n.In(0), true, integer)
	if err != nil {
		return err
	}
	op := "MaxPool"
	attrs := []*pb.AttributeProto{
		boolAttr("ceil_mode", a.CeilMode),
		intsAttr("kernel_shape", a.Kernel[:]...),
		intsAttr("pads", a.Pads[:]...),
		intsAttr("strides", a.Strides[:]...),
	}
	if n.Op == ir.OpAvgPool {
		op = "AveragePool"
		attrs = append(attrs, boolAttr("count_include_pad", a.CountIncludePad))
	}
	if a.Dilations != [2]int{1, 1} && a.Dilations != [2]int{} {
		// AveragePool has dilations from opset 19 (opsetFor), MaxPool
		// from 10.
		attrs = append(attrs, intsAttr("dilations", a.Dilations[:]...))
	}
	if integer {
		w.node(op, n.Name, []string{xs}, []string{w.moveOut(n.Out(), true, true)}, attrs...)
		return nil
	}
	return w.withAct(n, a.Act, true, func(out string) error {
		w.node(op, n.Name, []string{xs}, []string{out}, attrs...)
		return nil
	})
}

// reduce writes Mean / ReduceMax. Over H and W of an image with kept
// dimensions they are GlobalAveragePool / GlobalMaxPool; otherwise
// ReduceMean / ReduceMax with the axes remapped to NCHW. Without kept
// dimensions the result is written in the ir's order, with a Transpose only
// when NCHW leaves the kept axes in another order.
func (w *writer) reduce(n *ir.Node) error {
	a := n.Attrs.(*ir.ReduceAttrs)
	x, y := n.In(0), n.Out()
	if len(a.Axes) == 0 {
		// The ir reduces nothing; ONNX would reduce everything.
		return w.unary(n, "Identity")
	}
	// An image reduces in NCHW, or in the ir's order where it is stored so.
	perm := w.layoutOf(x)
	xs, err := w.read(x, perm)
	if err != nil {
		return err
	}
	axes := make([]int, len(a.Axes))
	for i, ax := range a.Axes {
		if ax < 0 || ax >= x.Rank() {
			return fmt.Errorf("axis %d out of range for rank %d", ax, x.Rank())
		}
		axes[i] = ax
		if perm {
			axes[i] = onnxfmt.ToNHWC[ax]
		}
	}
	slices.Sort(axes)
	axes = slices.Compact(axes)
	global, reduceOp := "GlobalAveragePool", "ReduceMean"
	if n.Op == ir.OpReduceMax {
		global, reduceOp = "GlobalMaxPool", "ReduceMax"
	}
	keep := int64(0)
	if a.KeepDims {
		keep = 1
	}
	ins := []string{xs}
	attrs := []*pb.AttributeProto{intAttr("keepdims", keep)}
	reduceNode := func(out string) error {
		if w.opset >= axesAsData {
			s, err := w.int64s(w.tname[y]+"_axes", axes)
			if err != nil {
				return err
			}
			ins = append(ins, s)
		} else {
			attrs = append(attrs, intsAttr("axes", axes...))
		}
		w.node(reduceOp, n.Name, ins, []string{out}, attrs...)
		return nil
	}
	if perm && a.KeepDims {
		out := w.out(y, true)
		if slices.Equal(axes, []int{2, 3}) {
			w.node(global, n.Name, []string{xs}, []string{out})
			return nil
		}
		return reduceNode(out)
	}
	fix := []int(nil)
	if perm {
		// The kept ir axes, in the order NCHW leaves them.
		var kept, order []int
		for ax := range 4 {
			if !slices.Contains(a.Axes, ax) {
				kept = append(kept, ax)
			}
		}
		for _, p := range onnxfmt.ToNCHW {
			if slices.Contains(kept, p) {
				order = append(order, p)
			}
		}
		if !slices.Equal(kept, order) {
			fix = make([]int, len(kept))
			for i, ax := range kept {
				fix[i] = slices.Index(order, ax)
			}
		}
	}
	out := w.out(y, false)
	if fix == nil {
		return reduceNode(out)
	}
	mid := w.uniq(w.tname[y] + "_nchw_order")
	if err := reduceNode(mid); err != nil {
		return err
	}
	w.warnf("a Transpose puts the kept axes of the reduction in the ir's order")
	w.node("Transpose", w.nodeName("reorder"), []string{mid}, []string{out}, intsAttr("perm", fix...))
	return nil
}

// reshape keeps images in NCHW where the element order allows: a Reshape
// reads an NCHW-stored input directly when it has one channel or one pixel
// ([N,1,1,C] flattened to [N,C] is the same bytes as [N,C,1,1]), and writes
// a rank-4 result stored NCHW under the same condition. Otherwise it reads
// and writes the ir's order, which converts (with a reported Transpose)
// only if a neighbour needs NCHW.
func (w *writer) reshape(n *ir.Node) error {
	x, y := n.In(0), n.Out()
	inPerm := x.Rank() == 4 && w.layoutOf(x) && onnxfmt.OrderKept(onnxfmt.Permute(x.Shape, onnxfmt.ToNCHW))
	integer := w.intMove(n, ir.ActNone)
	xs, err := w.moveIn(x, inPerm, integer)
	if err != nil {
		return err
	}
	outPerm := y.Rank() == 4 && onnxfmt.OrderKept(onnxfmt.Permute(y.Shape, onnxfmt.ToNCHW))
	target := y.Shape
	if outPerm {
		target = onnxfmt.Permute(y.Shape, onnxfmt.ToNCHW)
	}
	out := w.moveOut(y, outPerm, integer)
	if w.g.SymbolicBatch != "" && len(target) > 1 && target[0] == 1 && x.Rank() > 0 && x.Shape[0] == 1 && !slices.Contains(target, 0) {
		// the batch stays whatever the symbolic batch is at run time
		target = append([]int{-1}, target[1:]...)
	}
	s, err := w.int64s(w.tname[y]+"_shape", target)
	if err != nil {
		return err
	}
	var allowZero *pb.AttributeProto
	if slices.Contains(target, 0) {
		// A 0 in the shape copies the input's dimension unless
		// allowzero (opset 14, chosen by opsetFor) says it is a 0.
		allowZero = intAttr("allowzero", 1)
	}
	w.node("Reshape", n.Name, []string{xs, s}, []string{out}, allowZero)
	return nil
}

// transpose composes the ir permutation with the layouts of input and
// output. When the composition is the identity in one of the output's
// layouts (the transpose an importer put in to reach NCHW order), the
// output is the input's storage re-read and no node is written.
func (w *writer) transpose(n *ir.Node) error {
	a := n.Attrs.(*ir.TransposeAttrs)
	x, y := n.In(0), n.Out()
	r := x.Rank()
	if r != 4 {
		return w.simple(n, "Transpose", false, intsAttr("perm", a.Perm...))
	}
	inPerm := w.layoutOf(x)
	if x.IsConst() {
		inPerm = false
	}
	// ir dim k of x is stored dim m[k]; stored dim j of y is ir dim l[j];
	// ir dim i of y is ir dim Perm[i] of x. So stored y dim j is stored x
	// dim m[Perm[l[j]]].
	ident := []int{0, 1, 2, 3}
	m := ident
	if inPerm {
		m = onnxfmt.ToNHWC
	}
	compose := func(outPerm bool) []int {
		l := ident
		if outPerm {
			l = onnxfmt.ToNCHW
		}
		q := make([]int, 4)
		for j := range q {
			q[j] = m[a.Perm[l[j]]]
		}
		return q
	}
	same := !quantized(x) && !quantized(y) || x.Quant.Equal(y.Quant) && x.DType == y.DType
	if !x.IsConst() && same {
		for _, outPerm := range []bool{true, false} {
			if slices.Equal(compose(outPerm), ident) {
				return w.alias(y, x, outPerm)
			}
		}
	}
	xs, err := w.read(x, inPerm)
	if err != nil {
		return err
	}
	w.node("Transpose", n.Name, []string{xs}, []string{w.out(y, true)}, intsAttr("perm", compose(true)...))
	return nil
}

// concat joins rank-4 inputs in NCHW (axis remapped) when one of them is
// stored so, else in the ir's order.
func (w *writer) concat(n *ir.Node) error {
	a := n.Attrs.(*ir.ConcatAttrs)
	y := n.Out()
	perm := false
	if y.Rank() == 4 {
		for _, t := range n.Inputs {
			if !t.IsConst() && w.layoutOf(t) {
				perm = true
			}
		}
	}
	integer := w.intMove(n, a.Act)
	ins := make([]string, len(n.Inputs))
	for i, t := range n.Inputs {
		var err error
		if ins[i], err = w.moveIn(t, perm, integer); err != nil {
			return err
		}
	}
	axis := a.Axis
	if axis < 0 {
		axis += y.Rank()
	}
	if perm {
		axis = onnxfmt.ToNHWC[axis]
	}
	if integer {
		w.node("Concat", n.Name, ins, []string{w.moveOut(y, perm, true)}, intAttr("axis", int64(axis)))
		return nil
	}
	return w.withAct(n, a.Act, perm, func(out string) error {
		w.node("Concat", n.Name, ins, []string{out}, intAttr("axis", int64(axis)))
		return nil
	})
}

// pad writes Pad with its pads (begins, then ends) as an int64 input,
// remapped to NCHW for an image stored so.
func (w *writer) pad(n *ir.Node) error {
	a := n.Attrs.(*ir.PadAttrs)
	x := n.In(0)
	r := x.Rank()
	if len(a.Pads) != 2*r {
		return fmt.Errorf("pads %v has %d entries, want %d", a.Pads, len(a.Pads), 2*r)
	}
	// wrap needs opset 19 (opsetFor).
	mode, ok := onnxfmt.PadModes[a.Mode]
	if !ok {
		return fmt.Errorf("pad mode %v has no ONNX form", a.Mode)
	}
	perm := w.layoutOf(x)
	xs, err := w.read(x, perm)
	if err != nil {
		return err
	}
	begin, end := a.Pads[:r], a.Pads[r:]
	if perm {
		begin, end = onnxfmt.Permute(begin, onnxfmt.ToNCHW), onnxfmt.Permute(end, onnxfmt.ToNCHW)
	}
	ps, err := w.int64s(w.tname[n.Out()]+"_pads", append(slices.Clone(begin), end...))
	if err != nil {
		return err
	}
	ins := []string{xs, ps}
	var attrs []*pb.AttributeProto
	if a.Mode == ir.PadConstant {
		if a.Value != 0 {
			v, err := w.scalar(computeType(x), a.Value)
			if err != nil {
				return err
			}
			ins = append(ins, v)
		}
	} else {
		attrs = append(attrs, stringAttr("mode", mode))
	}
	w.node("Pad", n.Name, ins, []string{w.out(n.Out(), perm)}, attrs...)
	return nil
}

// softmax writes opset-13 Softmax along one axis (remapped for an NCHW
// image); TFLite's beta becomes a Mul before it.
func (w *writer) softmax(n *ir.Node) error {
	a := n.Attrs.(*ir.SoftmaxAttrs)
	x := n.In(0)
	perm := w.layoutOf(x)
	xs, err := w.read(x, perm)
	if err != nil {
		return err
	}
	axis := a.Axis
	if axis < 0 {
		axis += x.Rank()
	}
	if axis < 0 || axis >= max(x.Rank(), 1) {
		return fmt.Errorf("axis %d out of range for rank %d", a.Axis, x.Rank())
	}
	if perm {
		axis = onnxfmt.ToNHWC[axis]
	}
	if a.Beta != 1 {
		b, err := w.scalar(ir.Float32, a.Beta)
		if err != nil {
			return err
		}
		scaled := w.uniq(w.tname[n.Out()] + "_beta")
		w.node("Mul", w.nodeName("beta"), []string{xs, b}, []string{scaled})
		xs = scaled
	}
	w.node("Softmax", n.Name, []string{xs}, []string{w.out(n.Out(), perm)}, intAttr("axis", int64(axis)))
	return nil
}

// quantize writes QuantizeLinear; a quantized input (a requantization) is
// dequantized first.
func (w *writer) quantize(n *ir.Node) error {
	x, y := n.In(0), n.Out()
	if !quantized(y) {
		return fmt.Errorf("output %q has no quantization parameters", y.Name)
	}
	perm := w.layoutOf(x)
	xs, err := w.read(x, perm)
	if err != nil {
		return err
	}
	return w.quantizeInto(n.Name, xs, w.outInteger(y, perm), y, perm)
}

// dequantizeNode writes DequantizeLinear of the input's integers.
func (w *writer) dequantizeNode(n *ir.Node) error {
	x, y := n.In(0), n.Out()
	if !quantized(x) {
		return w.unary(n, "Identity")
	}
	perm := w.layoutOf(x)
	var raw string
	var err error
	q := storedQuant(x, perm)
	rank := x.Rank()
	if x.IsConst() {
		mode := asIs
		if perm {
			mode = nchw
		}
		if raw, err = w.constRaw(x, mode); err != nil {
			return err
		}
		l, err := layoutConst(x, mode)
		if err != nil {
			return err
		}
		q, rank = l.quant, len(l.shape)
	} else if raw, err = w.value(x, perm, true); err != nil {
		return err
	}
	return w.dequantizeAxis(n.Name, raw, w.out(y, perm), x, q, rank)
}

// argMax writes ArgMax, whose indices are int64 (a Cast follows where the
// ir wants int32). An image is read NCHW with the axis remapped where the
// other axes keep ONNX's order (KeepDims, or the channel axis dropped),
// else in the ir's order. A quantized input is read dequantized, as QDQ
// computes; a positive scale keeps the indices.
func (w *writer) argMax(n *ir.Node) error {
	a := n.Attrs.(*ir.ArgMaxAttrs)
	x, y := n.In(0), n.Out()
	axis := a.Axis
	if axis < 0 || axis >= x.Rank() {
		return fmt.Errorf("axis %d out of range for rank %d", a.Axis, x.Rank())
	}
	perm := w.layoutOf(x) && x.Rank() == 4 && (a.KeepDims || axis == 3)
	xs, err := w.read(x, perm)
	if err != nil {
		return err
	}
	if perm {
		axis = onnxfmt.ToNHWC[axis]
	}
	keep := int64(0)
	if a.KeepDims {
		keep = 1
	}
	attrs := []*pb.AttributeProto{intAttr("axis", int64(axis)), intAttr("keepdims", keep)}
	if a.SelectLastIndex {
		attrs = append(attrs, intAttr("select_last_index", 1))
	}
	out := w.out(y, perm && a.KeepDims)
	switch a.OutputType {
	case ir.Int64:
		w.node("ArgMax", n.Name, []string{xs}, []string{out}, attrs...)
	case ir.Int32:
		mid := w.uniq(w.tname[y] + "_int64")
		w.node("ArgMax", n.Name, []string{xs}, []string{mid}, attrs...)
		to, _ := onnxfmt.ElemType(ir.Int32)
		w.node("Cast", w.nodeName("int32"), []string{mid}, []string{out}, intAttr("to", int64(to)))
	default:
		return fmt.Errorf("output type %v, want int32 or int64", a.OutputType)
	}
	return nil
}
