package onnx

import (
	"fmt"
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// quantization ops
func init() {
	handle(map[string]handler{
		"QuantizeLinear":                         opQuantizeLinear,
		"DequantizeLinear":                       opDequantizeLinear,
		"QLinearConv":                            opQLinearConv,
		"QLinearMatMul":                          opQLinearMatMul,
		"com.microsoft.QLinearAdd":               opQLinearBinary(ir.OpAdd),
		"com.microsoft.QLinearMul":               opQLinearBinary(ir.OpMul),
		"com.microsoft.QLinearSigmoid":           opQLinearUnary,
		"com.microsoft.QLinearSoftmax":           opQLinearUnary,
		"com.microsoft.QLinearGlobalAveragePool": opQLinearGlobalAveragePool,
		"com.microsoft.QGemm":                    opQGemm,
	})
}

// readQuant reads the scale (input si) and optional zero point (input zi)
// describing a tensor of the given ONNX rank; a 1-D scale of several values
// is per-axis along axis (ONNX numbering). It also returns the zero point's
// element type (Invalid when absent), which names the quantized type.
func readQuant(n *node, si, zi, rank int, axis int64, what string) (*ir.Quant, ir.DType, error) {
	s := n.in[si]
	if !s.isConst() {
		return nil, 0, fmt.Errorf("%s scale must be a constant (mnconv's quantization parameters are static)", what)
	}
	if s.dtype() != ir.Float32 {
		return nil, 0, fmt.Errorf("%s scale has element type %v; only float32 scales are supported", what, s.dtype())
	}
	if s.rank() > 1 {
		return nil, 0, fmt.Errorf("%s scale has rank %d: blocked quantization is not supported", what, s.rank())
	}
	ns := s.t.Len()
	if ns == 0 {
		return nil, 0, fmt.Errorf("%s scale is empty", what)
	}
	q := &ir.Quant{Scale: slices.Clone(s.t.Data.F32), ZeroPoint: make([]int64, ns)}
	zdt := ir.Invalid
	if n.has(zi) {
		z := n.in[zi]
		if !z.isConst() {
			return nil, 0, fmt.Errorf("%s zero point must be a constant", what)
		}
		switch z.dtype() {
		case ir.Int8, ir.Uint8, ir.Int32:
		default:
			return nil, 0, fmt.Errorf("%s zero point has element type %v; only 8-bit (and int32 for DequantizeLinear) quantization is supported", what, z.dtype())
		}
		if z.t.Len() != ns || z.rank() != s.rank() {
			return nil, 0, fmt.Errorf("%s zero point has shape %v, scale has %v", what, z.shape(), s.shape())
		}
		for i := range q.ZeroPoint {
			q.ZeroPoint[i] = constInt(z.t, i)
		}
		zdt = z.dtype()
	}
	for _, sc := range q.Scale {
		if !(sc > 0) || sc > 3.4e38 {
			return nil, 0, fmt.Errorf("%s scale %g is not finite and positive", what, sc)
		}
	}
	if ns > 1 {
		a, err := normAxis(int(axis), rank)
		if err != nil {
			return nil, 0, fmt.Errorf("%s quantization axis: %v", what, err)
		}
		q.Axis = a
	}
	return q, zdt, nil
}

// bindQuant attaches q (ONNX axis numbering) to the tensor of v: a tensor
// has one quantization, so a second, different one is an error, except for
// constants, which are copied.
func (im *importer) bindQuant(v value, q *ir.Quant, what string) (value, error) {
	if !v.dtype().IsQuantized() && v.dtype() != ir.Int32 {
		return value{}, fmt.Errorf("%s %q has element type %v, want int8 or uint8", what, v.t.Name, v.dtype())
	}
	q = q.Clone()
	if q.PerAxis() {
		if v.perm {
			q.Axis = storedAxis(q.Axis)
		}
		if q.Axis >= v.rank() || v.t.Shape[q.Axis] != len(q.Scale) {
			return value{}, fmt.Errorf("%s %q has shape %v: %d scales do not match axis %d", what, v.t.Name, v.shape(), len(q.Scale), q.Axis)
		}
	}
	switch {
	case v.t.Quant == nil:
		v.t.Quant = q
	case v.t.Quant.Equal(q):
	case v.isConst():
		c := *v.t
		c.Name = im.uniqueName(v.t.Name + "_q")
		c.Quant = q
		v.t = &c
	default:
		return value{}, fmt.Errorf("%s %q is already quantized with scale %v zero point %v; this node reads it with scale %v zero point %v", what, v.t.Name, v.t.Quant.Scale, v.t.Quant.ZeroPoint, q.Scale, q.ZeroPoint)
	}
	if err := ir.ValidateQuant(v.t); err != nil {
		return value{}, err
	}
	return v, nil
}

// quantAttrs refuses the QuantizeLinear / DequantizeLinear attributes that
// go beyond per-tensor and per-axis 8-bit quantization, and returns axis.
func quantAttrs(n *node) (int64, error) {
	if bs, err := n.a.int("block_size", 0); err != nil {
		return 0, err
	} else if bs != 0 {
		return 0, fmt.Errorf("blocked quantization (block_size %d) is not supported", bs)
	}
	if p, err := n.a.int("precision", 0); err != nil {
		return 0, err
	} else if p != 0 && p != 1 {
		return 0, fmt.Errorf("computation precision %s is not supported (float32 only)", onnxfmt.DTypeName(int32(p)))
	}
	return n.a.int("axis", 1)
}

func opQuantizeLinear(im *importer, n *node) error {
	n.quantized = true
	if err := n.need(2, 3); err != nil {
		return err
	}
	x := n.in[0]
	if x.dtype() != ir.Float32 {
		return fmt.Errorf("input has element type %v, want float32", x.dtype())
	}
	axis, err := quantAttrs(n)
	if err != nil {
		return err
	}
	q, dt, err := readQuant(n, 1, 2, x.rank(), axis, "y")
	if err != nil {
		return err
	}
	if dt == ir.Invalid {
		code, err := n.a.int("output_dtype", 2) // uint8 by default
		if err != nil {
			return err
		}
		if dt, err = onnxfmt.DType(int32(code)); err != nil {
			return fmt.Errorf("output %v", err)
		}
	}
	if !dt.IsQuantized() {
		return fmt.Errorf("quantizing to %v is not supported (int8 and uint8 only)", dt)
	}
	out := n.outTensor(0, dt)
	out.Shape = slices.Clone(x.t.Shape)
	v := value{t: out, perm: x.perm}
	if _, err := im.bindQuant(v, q, "output"); err != nil {
		return err
	}
	if _, err := im.emit(n, "", ir.OpQuantize, nil, []*ir.Tensor{x.t}, out); err != nil {
		return err
	}
	im.set(n, 0, v)
	return nil
}

func opDequantizeLinear(im *importer, n *node) error {
	n.quantized = true
	if err := n.need(2, 3); err != nil {
		return err
	}
	x := n.in[0]
	switch x.dtype() {
	case ir.Int8, ir.Uint8, ir.Int32:
	default:
		return fmt.Errorf("input has element type %v; only int8, uint8 and int32 are supported", x.dtype())
	}
	axis, err := quantAttrs(n)
	if err != nil {
		return err
	}
	if od, err := n.a.int("output_dtype", 0); err != nil {
		return err
	} else if od != 0 && od != 1 {
		return fmt.Errorf("output element type %s is not supported (float32 only)", onnxfmt.DTypeName(int32(od)))
	}
	q, zdt, err := readQuant(n, 1, 2, x.rank(), axis, "x")
	if err != nil {
		return err
	}
	if zdt != ir.Invalid && zdt != x.dtype() {
		return fmt.Errorf("zero point is %v, input is %v", zdt, x.dtype())
	}
	xv, err := im.bindQuant(x, q, "input")
	if err != nil {
		return err
	}
	out := n.outTensor(0, ir.Float32)
	if _, err := im.emit(n, "", ir.OpDequantize, nil, []*ir.Tensor{xv.t}, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out, perm: x.perm})
	return nil
}

// quantOut returns the element type of a QLinear op's output: its zero
// point's, else the input's.
func quantOut(zdt, in ir.DType) (ir.DType, error) {
	if zdt == ir.Invalid {
		zdt = in
	}
	if !zdt.IsQuantized() {
		return 0, fmt.Errorf("output zero point is %v, want int8 or uint8", zdt)
	}
	return zdt, nil
}

func perTensor(q *ir.Quant, what string) error {
	if q.PerAxis() {
		return fmt.Errorf("per-axis quantization of %s is not supported", what)
	}
	return nil
}

// opQLinearConv becomes a Conv on quantized tensors. The int32 bias is
// quantized with scale x_scale * w_scale (per output channel), zero point 0:
// what QLinearConv adds it to.
func opQLinearConv(im *importer, n *node) error {
	n.quantized = true
	if err := n.need(8, 9); err != nil {
		return err
	}
	x, w := n.in[0], n.in[3]
	if x.rank() != 4 || w.rank() != 4 {
		return fmt.Errorf("only 2D convolution is supported (input rank %d, weight rank %d)", x.rank(), w.rank())
	}
	qx, _, err := readQuant(n, 1, 2, 4, 1, "x")
	if err != nil {
		return err
	}
	qw, _, err := readQuant(n, 4, 5, 4, 0, "w")
	if err != nil {
		return err
	}
	qy, ydt, err := readQuant(n, 6, 7, 4, 1, "y")
	if err != nil {
		return err
	}
	if err := perTensor(qx, "x"); err != nil {
		return err
	}
	if err := perTensor(qy, "y"); err != nil {
		return err
	}
	if ydt, err = quantOut(ydt, x.dtype()); err != nil {
		return err
	}
	if x, err = im.bindQuant(x, qx, "input"); err != nil {
		return err
	}
	if w, err = im.bindQuant(w, qw, "weight"); err != nil {
		return err
	}
	a, err := im.convAttrs(n, x, w)
	if err != nil {
		return err
	}
	b, err := im.int32Bias(n, 8, w.shape()[0], qx, qw)
	if err != nil {
		return err
	}
	out := n.outTensor(0, ydt)
	out.Quant = qy
	return im.conv(n, x, w, b, a, out)
}

// int32Bias reads the optional bias input i of a QLinear op with m outputs
// (nil when absent): int32[m] quantized with scale x's times the weight's,
// channel by channel, zero point 0, which is what the op adds it to.
func (im *importer) int32Bias(n *node, i, m int, qx, qw *ir.Quant) (*ir.Tensor, error) {
	if !n.has(i) {
		return nil, nil
	}
	bv := n.in[i]
	if bv.dtype() != ir.Int32 || bv.rank() != 1 || bv.t.Len() != m {
		return nil, fmt.Errorf("bias %q is %v%v, want int32[%d]", bv.t.Name, bv.dtype(), bv.shape(), m)
	}
	qb := &ir.Quant{Scale: make([]float32, len(qw.Scale)), ZeroPoint: make([]int64, len(qw.Scale))}
	for c, ws := range qw.Scale {
		qb.Scale[c] = float32(float64(qx.Scale[0]) * float64(ws))
	}
	bv, err := im.bindQuant(bv, qb, "bias")
	return bv.t, err
}

// opQLinearMatMul becomes a fully connected Gemm (or a MatMul) on quantized
// tensors; b may be quantized per column.
func opQLinearMatMul(im *importer, n *node) error {
	n.quantized = true
	if err := n.need(8, 8); err != nil {
		return err
	}
	a, b := n.in[0], n.in[3]
	if a.rank() < 1 || b.rank() < 1 {
		return fmt.Errorf("matmul of a scalar")
	}
	qa, _, err := readQuant(n, 1, 2, a.rank(), int64(a.rank()-2), "a")
	if err != nil {
		return err
	}
	qb, _, err := readQuant(n, 4, 5, b.rank(), int64(b.rank()-1), "b")
	if err != nil {
		return err
	}
	qy, ydt, err := readQuant(n, 6, 7, 2, 0, "y")
	if err != nil {
		return err
	}
	if err := perTensor(qa, "a"); err != nil {
		return err
	}
	if err := perTensor(qy, "y"); err != nil {
		return err
	}
	if ydt, err = quantOut(ydt, a.dtype()); err != nil {
		return err
	}
	if a, err = im.bindQuant(a, qa, "input a"); err != nil {
		return err
	}
	if b, err = im.bindQuant(b, qb, "input b"); err != nil {
		return err
	}
	out := n.outTensor(0, ydt)
	out.Quant = qy
	return im.matmul(n, a, b, out)
}

// opQGemm (com.microsoft) becomes a Gemm on quantized tensors: A per
// tensor, B per tensor or per output column, the optional int32 bias C with
// scale a_scale * b_scale and zero point 0, and a quantized output (the float
// output QGemm gives without y_scale is not read).
func opQGemm(im *importer, n *node) error {
	n.quantized = true
	if err := n.need(6, 9); err != nil {
		return err
	}
	if !n.has(7) {
		return fmt.Errorf("QGemm without y_scale (a float output) is not supported")
	}
	alpha, err := n.a.float("alpha", 1)
	if err != nil {
		return err
	}
	if alpha != 1 {
		return fmt.Errorf("alpha %g is not supported (1 only)", alpha)
	}
	ta, err := n.a.int("transA", 0)
	if err != nil {
		return err
	}
	tb, err := n.a.int("transB", 0)
	if err != nil {
		return err
	}
	a, b := n.in[0], n.in[3]
	if a.rank() != 2 || b.rank() != 2 {
		return fmt.Errorf("inputs have ranks %d and %d, want 2 and 2", a.rank(), b.rank())
	}
	col := int64(1) // B's output columns
	if tb != 0 {
		col = 0
	}
	qa, _, err := readQuant(n, 1, 2, 2, 0, "a")
	if err != nil {
		return err
	}
	qb, _, err := readQuant(n, 4, 5, 2, col, "b")
	if err != nil {
		return err
	}
	qy, ydt, err := readQuant(n, 7, 8, 2, 0, "y")
	if err != nil {
		return err
	}
	if err := perTensor(qa, "a"); err != nil {
		return err
	}
	if err := perTensor(qy, "y"); err != nil {
		return err
	}
	if ydt, err = quantOut(ydt, a.dtype()); err != nil {
		return err
	}
	if a, err = im.bindQuant(a, qa, "input A"); err != nil {
		return err
	}
	if b, err = im.bindQuant(b, qb, "input B"); err != nil {
		return err
	}
	attrs := &ir.GemmAttrs{Alpha: 1, Beta: 1, TransA: ta != 0, TransB: tb != 0}
	tw := b.t
	if !attrs.TransB {
		if !b.isConst() {
			return fmt.Errorf("a computed B needs transB 1")
		}
		if tw, err = im.transposeConst(b.t, b.t.Shape, []int{1, 0}, b.t.Name+"_t"); err != nil {
			return err
		}
		attrs.TransB = true
	}
	ins := []*ir.Tensor{a.t, tw}
	c, err := im.int32Bias(n, 6, tw.Shape[0], qa, qb)
	if err != nil {
		return err
	}
	if c != nil {
		ins = append(ins, c)
	}
	out := n.outTensor(0, ydt)
	out.Quant = qy
	if _, err := im.emit(n, "", ir.OpGemm, attrs, ins, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out})
	return nil
}

// opQLinearBinary reads com.microsoft QLinearAdd / QLinearMul: op on
// quantized tensors.
func opQLinearBinary(op ir.Op) handler {
	return func(im *importer, n *node) error { return qLinearBinary(im, n, op) }
}

func qLinearBinary(im *importer, n *node, op ir.Op) error {
	n.quantized = true
	if err := n.need(7, 8); err != nil {
		return err
	}
	a, b := n.in[0], n.in[3]
	var qs [3]*ir.Quant
	var ydt ir.DType
	// inputs: A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp
	for i, what := range []string{"A", "B", "C"} {
		si := [3]int{1, 4, 6}[i]
		q, zdt, err := readQuant(n, si, si+1, 1, 0, what)
		if err != nil {
			return err
		}
		if err := perTensor(q, what); err != nil {
			return err
		}
		qs[i], ydt = q, zdt
	}
	ydt, err := quantOut(ydt, a.dtype())
	if err != nil {
		return err
	}
	if a, err = im.bindQuant(a, qs[0], "input A"); err != nil {
		return err
	}
	if b, err = im.bindQuant(b, qs[1], "input B"); err != nil {
		return err
	}
	out := n.outTensor(0, ydt)
	out.Quant = qs[2]
	v, err := im.binary(n, "", op, nil, a, b, out)
	if err != nil {
		return err
	}
	im.set(n, 0, v)
	return nil
}

// qLinearUnaryIO reads the operands of a one-input com.microsoft QLinear op
// (X, X_scale, X_zero_point, Y_scale, Y_zero_point, all per tensor): x
// bound to its quantization, and the quantized output tensor.
func (im *importer) qLinearUnaryIO(n *node) (value, *ir.Tensor, error) {
	n.quantized = true
	if err := n.need(4, 5); err != nil {
		return value{}, nil, err
	}
	x := n.in[0]
	qx, _, err := readQuant(n, 1, 2, 1, 0, "x")
	if err != nil {
		return value{}, nil, err
	}
	qy, ydt, err := readQuant(n, 3, 4, 1, 0, "y")
	if err != nil {
		return value{}, nil, err
	}
	if err := perTensor(qx, "x"); err != nil {
		return value{}, nil, err
	}
	if err := perTensor(qy, "y"); err != nil {
		return value{}, nil, err
	}
	if ydt, err = quantOut(ydt, x.dtype()); err != nil {
		return value{}, nil, err
	}
	if x, err = im.bindQuant(x, qx, "input"); err != nil {
		return value{}, nil, err
	}
	out := n.outTensor(0, ydt)
	out.Quant = qy
	return x, out, nil
}

// opQLinearUnary reads com.microsoft QLinearSigmoid (a Sigmoid) and
// QLinearSoftmax (a Softmax along axis, with opset 13's one-axis meaning)
// on quantized tensors: X, X_scale, X_zero_point, Y_scale, Y_zero_point.
func opQLinearUnary(im *importer, n *node) error {
	x, out, err := im.qLinearUnaryIO(n)
	if err != nil {
		return err
	}
	op, attrs := ir.OpSigmoid, ir.Attrs(nil)
	if n.p.GetOpType() == "QLinearSoftmax" {
		if v, err := n.a.int("opset", 0); err != nil {
			return err
		} else if v < 13 {
			return fmt.Errorf("opset %d: only opset 13's one-axis softmax is supported", v)
		}
		ax, err := n.a.int("axis", -1)
		if err != nil {
			return err
		}
		axis, err := normAxis(int(ax), x.rank())
		if err != nil {
			return err
		}
		if x.perm {
			axis = storedAxis(axis)
		}
		op, attrs = ir.OpSoftmax, &ir.SoftmaxAttrs{Axis: axis, Beta: 1}
	}
	if _, err := im.emit(n, "", op, attrs, []*ir.Tensor{x.t}, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out, perm: x.perm})
	return nil
}

// opQLinearGlobalAveragePool (com.microsoft) becomes a Mean over the
// spatial axes on quantized tensors.
func opQLinearGlobalAveragePool(im *importer, n *node) error {
	x, out, err := im.qLinearUnaryIO(n)
	if err != nil {
		return err
	}
	cl, err := n.a.int("channels_last", 0)
	if err != nil {
		return err
	}
	if cl == 0 {
		return im.globalPool(n, ir.OpMean, x, out)
	}
	// Channels-last input: already NHWC in ONNX's own terms.
	if x.rank() != 4 {
		return fmt.Errorf("channels_last input has rank %d, want 4", x.rank())
	}
	tx, err := im.nchw(n, x)
	if err != nil {
		return err
	}
	if _, err := im.emit(n, "", ir.OpMean, &ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: true}, []*ir.Tensor{tx}, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out})
	return nil
}
