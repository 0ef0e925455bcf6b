package onnx

import (
	"math"
	"slices"

	"google.golang.org/protobuf/proto"

	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/ir"
)

// msDomain is ONNX Runtime's contrib domain (QGemm, QLinearAdd,
// QLinearGlobalAveragePool), imported at msOpset when a node uses it.
const (
	msDomain = "com.microsoft"
	msOpset  = 1
)

// QOperator form (exporters.Options.QOperator). Each rule matches one ir
// node on quantized tensors and writes the integer op ONNX Runtime runs
// directly; a node no rule matches is written as QDQ (DequantizeLinear ->
// float op -> QuantizeLinear), as without the option:
//
//	Conv(xq, wq, bq){Act}      -> QLinearConv(x, xs, xz, w, ws, wz, ys, yz, b)
//	Gemm(xq, wq, bq){Act}      -> com.microsoft QGemm(a, as, az, b, bs, bz, c, ys, yz)
//	Add|Mul(aq, bq){Act}       -> com.microsoft QLinearAdd|QLinearMul(a, as, az, b, bs, bz, cs, cz)
//	Mean{H,W keep}(xq)         -> com.microsoft QLinearGlobalAveragePool(x, xs, xz, ys, yz)
//	AvgPool{whole image}(xq)   -> com.microsoft QLinearGlobalAveragePool
//	Sigmoid(xq)                -> com.microsoft QLinearSigmoid(x, xs, xz, ys, yz)
//	Softmax{beta 1}(xq)        -> com.microsoft QLinearSoftmax(x, xs, xz, ys, yz){axis, opset 13}
//	MaxPool / Reshape / Concat on values whose quantization they keep
//	                           -> the same op on the integers (intMove)
//
// Left as QDQ: HardSwish, HardSigmoid, Relu / Clip not fused into a
// producer, Pad, Transpose that moves data, pools that are not global
// (QLinearAveragePool), Concat of differently quantized inputs
// (QLinearConcat), Add / Mul with a constant or a lower-rank operand, and
// requantizing Quantize nodes: ONNX Runtime has no QOperator form for the
// first ones, and mnconv's importer does not read the com.microsoft forms
// of the others.
//
// A fused activation is folded into the output's range as ONNX Runtime's
// quantizer does: the rule applies only where the clamp is implied by
// saturation to the output type (ReLU with the zero point at the type's
// minimum; ReLU6 whose 6 lies at or past the maximum), else the node stays
// QDQ. Weights keep their per-channel scales (axis 0 of OIHW; the output
// columns of Gemm). FC is QGemm, not QLinearMatMul: QGemm adds the int32 bias
// before the one requantization, as TFLite's FULLY_CONNECTED does, where
// QLinearMatMul has no bias and a following QLinearAdd would round twice.

// qop writes n in QOperator form when a rule matches; done is false when
// none does (nothing is written then).
func (w *writer) qop(n *ir.Node) (done bool, err error) {
	switch n.Op {
	case ir.OpConv:
		return w.qConv(n)
	case ir.OpGemm:
		return w.qGemm(n)
	case ir.OpAdd:
		return w.qBinary(n, "QLinearAdd")
	case ir.OpMul:
		return w.qBinary(n, "QLinearMul")
	case ir.OpMean, ir.OpAvgPool:
		return w.qGlobalAvgPool(n)
	case ir.OpSigmoid:
		return w.qUnary(n, "QLinearSigmoid")
	case ir.OpSoftmax:
		return w.qSoftmax(n)
	}
	return false, nil
}

// act8 reports whether t is a computed 8-bit tensor quantized per tensor:
// what QLinear ops read and write.
func act8(t *ir.Tensor) bool {
	return t != nil && !t.IsConst() && t.DType.IsQuantized() && t.Quant != nil && len(t.Quant.Scale) == 1
}

// actFolds reports whether y's saturation to its type's range already
// clamps to act's bounds: TFLite's clamp, zp + round(bound/scale) limited to
// the type's range, is then the range itself.
func actFolds(act ir.Activation, y *ir.Tensor) bool {
	if act == ir.ActNone {
		return true
	}
	lo, hi := act.Bounds()
	qmin, qmax := y.DType.Range()
	s, z := float64(y.Quant.Scale[0]), float64(y.Quant.ZP(0))
	if !math.IsInf(float64(lo), 0) && z+math.Round(float64(lo)/s) > float64(qmin) {
		return false
	}
	return math.IsInf(float64(hi), 0) || z+math.Round(float64(hi)/s) >= float64(qmax)
}

// qWeight reports whether wt is a constant 8-bit weight that a QLinear op
// of x reads: per tensor, or per axis along axis with one zero point for
// every channel (ONNX Runtime's requirement), and int8 under int8 x.
func qWeight(wt, x *ir.Tensor, axis int) bool {
	if wt == nil || !wt.IsConst() || !wt.DType.IsQuantized() || wt.Quant == nil {
		return false
	}
	q := wt.Quant
	if q.PerAxis() {
		if q.Axis != axis {
			return false
		}
		for c := range q.Scale {
			if q.ZP(c) != q.ZP(0) {
				return false
			}
		}
	}
	return x.DType != ir.Int8 || wt.DType == ir.Int8
}

// qBias reports whether b is absent or the int32 bias QLinearConv and QGemm
// add: zero point 0, scale x's times the weight's, channel by channel.
func qBias(b, x, wt *ir.Tensor) bool {
	if b == nil {
		return true
	}
	if !b.IsConst() || b.DType != ir.Int32 || b.Rank() != 1 || b.Quant == nil {
		return false
	}
	for c := range b.Shape[0] {
		want := float64(x.Quant.Scale[0]) * float64(wt.Quant.S(c))
		if b.Quant.ZP(c) != 0 || math.Abs(float64(b.Quant.S(c))-want) > 1e-6*want {
			return false
		}
	}
	return true
}

// qIn returns the names of quantized t's integers (layout perm; a constant
// in mode), scale and zero point: one input triple of a QLinear op.
func (w *writer) qIn(t *ir.Tensor, perm bool, mode constMode) ([]string, error) {
	var v string
	var err error
	if t.IsConst() {
		v, err = w.constRaw(t, mode)
	} else {
		v, err = w.value(t, perm, true)
	}
	if err != nil {
		return nil, err
	}
	s, z, err := w.quantParams(t)
	if err != nil {
		return nil, err
	}
	return []string{v, s, z}, nil
}

// qOut returns the integer value the current node writes for y (layout
// perm) and y's scale and zero point.
func (w *writer) qOut(y *ir.Tensor, perm bool) (out string, sz []string, err error) {
	s, z, err := w.quantParams(y)
	if err != nil {
		return "", nil, err
	}
	return w.outInteger(y, perm), []string{s, z}, nil
}

// msNode appends a node of ONNX Runtime's com.microsoft domain.
func (w *writer) msNode(op, name string, ins, outs []string, attrs ...*pb.AttributeProto) {
	w.node(op, name, ins, outs, attrs...)
	w.nodes[len(w.nodes)-1].Domain = proto.String(msDomain)
	w.usesMS = true
}

// Conv(xq, wq, bq){Act} -> QLinearConv(x, xs, xz, w, ws, wz, ys, yz, b)
func (w *writer) qConv(n *ir.Node) (bool, error) {
	a := n.Attrs.(*ir.ConvAttrs)
	x, wt, b, y := n.In(0), n.In(1), n.In(2), n.Out()
	if !act8(x) || !act8(y) || y.DType != x.DType || !qWeight(wt, x, 0) || !qBias(b, x, wt) || !actFolds(a.Act, y) {
		return false, nil
	}
	p, err := w.qMatIns(x, wt, b, y, true)
	if err != nil {
		return true, err
	}
	ins := append(append(append(p.x, p.w...), p.y...), p.bias)
	w.node("QLinearConv", n.Name, ins, []string{p.out}, convAttrs(a, wt)...)
	return true, nil
}

// qMat are the inputs and output of QLinearConv / QGemm.
type qMat struct {
	x, w, y   []string // integers (not for y), scale, zero point
	bias, out string
}

// qMatIns reads x, constant weight wt (OIHW when perm) and bias b (or none)
// as integers and names y's integer output; perm is the layout of x and y.
func (w *writer) qMatIns(x, wt, b, y *ir.Tensor, perm bool) (p qMat, err error) {
	mode := asIs
	if perm {
		mode = nchw
	}
	if p.x, err = w.qIn(x, perm, mode); err != nil {
		return p, err
	}
	if p.w, err = w.qIn(wt, perm, mode); err != nil {
		return p, err
	}
	if b != nil {
		if p.bias, err = w.constRaw(b, asIs); err != nil {
			return p, err
		}
	}
	p.out, p.y, err = w.qOut(y, perm)
	return p, err
}

// Gemm(xq, wq, bq){Act} -> com.microsoft QGemm(a, as, az, b, bs, bz, c, ys, yz)
func (w *writer) qGemm(n *ir.Node) (bool, error) {
	a := n.Attrs.(*ir.GemmAttrs)
	x, wt, b, y := n.In(0), n.In(1), n.In(2), n.Out()
	axis := 1 // the output columns of B
	if a.TransB {
		axis = 0
	}
	if a.Alpha != 1 || a.Beta != 1 || x.Rank() != 2 || !act8(x) || !act8(y) || y.DType != x.DType || !qWeight(wt, x, axis) || !qBias(b, x, wt) || !actFolds(a.Act, y) {
		return false, nil
	}
	p, err := w.qMatIns(x, wt, b, y, false)
	if err != nil {
		return true, err
	}
	ins := append(append(append(p.x, p.w...), p.bias), p.y...)
	w.msNode("QGemm", n.Name, ins, []string{p.out}, boolAttr("transA", a.TransA), boolAttr("transB", a.TransB))
	return true, nil
}

// Add|Mul(aq, bq){Act} -> com.microsoft QLinearAdd|QLinearMul(a, as, az, b,
// bs, bz, cs, cz), for two computed operands of the output's rank and type
// (numpy broadcasting, as the ir's; images in NCHW).
func (w *writer) qBinary(n *ir.Node, op string) (bool, error) {
	a := n.Attrs.(*ir.BinaryAttrs)
	y := n.Out()
	if !act8(y) || !actFolds(a.Act, y) {
		return false, nil
	}
	perm := false
	for _, t := range n.Inputs {
		if !act8(t) || t.DType != y.DType || t.Rank() != y.Rank() {
			return false, nil
		}
		perm = perm || t.Rank() == 4 && w.layoutOf(t)
	}
	var ins []string
	for _, t := range n.Inputs {
		in, err := w.qIn(t, perm, asIs)
		if err != nil {
			return true, err
		}
		ins = append(ins, in...)
	}
	out, ysz, err := w.qOut(y, perm)
	if err != nil {
		return true, err
	}
	w.msNode(op, n.Name, append(ins, ysz...), []string{out})
	return true, nil
}

// Sigmoid(xq) -> com.microsoft QLinearSigmoid(x, xs, xz, ys, yz), in x's layout
func (w *writer) qUnary(n *ir.Node, op string) (bool, error) {
	x, y := n.In(0), n.Out()
	if !act8(x) || !act8(y) || y.DType != x.DType {
		return false, nil
	}
	ins, out, err := w.qUnaryIO(x, y, w.layoutOf(x))
	if err != nil {
		return true, err
	}
	w.msNode(op, n.Name, ins, []string{out})
	return true, nil
}

// qUnaryIO reads x's integers, scale and zero point and y's scale and zero
// point (the inputs of a one-input QLinear op) and names y's integers, in
// layout perm.
func (w *writer) qUnaryIO(x, y *ir.Tensor, perm bool) (ins []string, out string, err error) {
	if ins, err = w.qIn(x, perm, asIs); err != nil {
		return nil, "", err
	}
	out, ysz, err := w.qOut(y, perm)
	return append(ins, ysz...), out, err
}

// Softmax{axis, beta 1}(xq) -> com.microsoft QLinearSoftmax(x, xs, xz, ys,
// yz){axis, opset 13}: opset 13's one-axis softmax, the axis remapped for an
// image stored NCHW.
func (w *writer) qSoftmax(n *ir.Node) (bool, error) {
	a := n.Attrs.(*ir.SoftmaxAttrs)
	x, y := n.In(0), n.Out()
	axis, err := ir.NormAxis(a.Axis, x.Rank())
	if a.Beta != 1 || err != nil || !act8(x) || !act8(y) || y.DType != x.DType {
		return false, nil
	}
	perm := w.layoutOf(x)
	if perm && x.Rank() == 4 {
		axis = onnxfmt.ToNHWC[axis]
	}
	ins, out, err := w.qUnaryIO(x, y, perm)
	if err != nil {
		return true, err
	}
	w.msNode("QLinearSoftmax", n.Name, ins, []string{out}, intAttr("axis", int64(axis)), intAttr("opset", baseOpset))
	return true, nil
}

// Mean{axes H,W, KeepDims}(xq) or AvgPool{kernel = the whole image, no
// pads}(xq) -> com.microsoft QLinearGlobalAveragePool(x, xs, xz, ys, yz)
func (w *writer) qGlobalAvgPool(n *ir.Node) (bool, error) {
	x, y := n.In(0), n.Out()
	if x.Rank() != 4 || !act8(x) || !act8(y) || y.DType != x.DType {
		return false, nil
	}
	switch a := n.Attrs.(type) {
	case *ir.ReduceAttrs:
		ax := slices.Sorted(slices.Values(a.Axes))
		if !a.KeepDims || !slices.Equal(slices.Compact(ax), []int{1, 2}) {
			return false, nil
		}
	case *ir.PoolAttrs:
		if a.Kernel != [2]int{x.Shape[1], x.Shape[2]} || a.Pads != [4]int{} || y.Shape[1] != 1 || y.Shape[2] != 1 || !actFolds(a.Act, y) {
			return false, nil
		}
	default:
		return false, nil
	}
	ins, out, err := w.qUnaryIO(x, y, true)
	if err != nil {
		return true, err
	}
	w.msNode("QLinearGlobalAveragePool", n.Name, ins, []string{out}, intAttr("channels_last", 0))
	return true, nil
}

// intMove reports whether, in QOperator form, n moves quantized integers:
// its inputs (all computed) and its output share one 8-bit type and
// quantization and it has no activation left to apply, so the op runs on
// the integers with no DequantizeLinear / QuantizeLinear around it.
func (w *writer) intMove(n *ir.Node, act ir.Activation) bool {
	if !w.opts.QOperator {
		return false
	}
	y := n.Out()
	if !act8(y) || !actFolds(act, y) {
		return false
	}
	for _, t := range n.Inputs {
		if t != nil && (t.IsConst() || t.DType != y.DType || !t.Quant.Equal(y.Quant)) {
			return false
		}
	}
	return true
}

// moveIn reads x for an op that intMove lets run on integers: its integer
// value, else its real one.
func (w *writer) moveIn(x *ir.Tensor, perm, integer bool) (string, error) {
	if integer {
		return w.value(x, perm, true)
	}
	return w.read(x, perm)
}

// moveOut names y's value for an op that intMove lets run on integers: its
// integer value directly, else the float value QDQ quantizes.
func (w *writer) moveOut(y *ir.Tensor, perm, integer bool) string {
	if integer {
		return w.outInteger(y, perm && y.Rank() == 4)
	}
	return w.out(y, perm)
}
