package runtime

import (
	"math"

	"github.com/mnconv/mnconv/ir"
)

// Conversions between real and stored values: Quantize (float32 -> 8-bit,
// or 8-bit -> 8-bit requantization), Dequantize (8-bit -> float32), and
// Concat, which requantizes the inputs whose parameters differ from the
// output's.

func init() {
	Register(ir.OpQuantize, Quantized, prepareQQuantize)
	Register(ir.OpDequantize, Quantized, prepareQDequantize)
	// An int32 bias behind a DequantizeLinear (QDQ graphs) is not an 8-bit
	// node, so it reaches the float table.
	Register(ir.OpDequantize, Float, prepareQDequantize)
	Register(ir.OpConcat, Quantized, prepareQConcat)
}

var (
	_ Kernel = (*qQuantizeKernel)(nil)
	_ Kernel = (*qRequantizeKernel)(nil)
	_ Kernel = (*qDequantizeKernel)(nil)
	_ Kernel = (*qConcatKernel)(nil)
)

// qAxisParams returns, per element of a tensor of shape, the index into a
// Quant's per-axis lists (all zeros for per-tensor quantization) as a
// function; it checks the axis against the shape.
func qAxisParams(n *ir.Node, t *ir.Tensor) (func(i int) int, error) {
	q := t.Quant
	if q == nil || len(q.Scale) == 0 {
		return nil, n.Errorf("tensor %q has no quantization parameters", t.Name)
	}
	for c, s := range q.Scale {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, n.Errorf("tensor %q channel %d has scale %g, want a finite positive scale", t.Name, c, s)
		}
	}
	if !q.PerAxis() {
		return func(int) int { return 0 }, nil
	}
	if q.Axis < 0 || q.Axis >= t.Rank() || t.Shape[q.Axis] != len(q.Scale) {
		return nil, n.Errorf("tensor %q has %d scales on axis %d of shape %v", t.Name, len(q.Scale), q.Axis, t.Shape)
	}
	inner := ir.NumElements(t.Shape[q.Axis+1:])
	size := t.Shape[q.Axis]
	return func(i int) int { return (i / inner) % size }, nil
}

// qQuantizeKernel converts float32 to 8-bit. TFLite (reference
// AffineQuantize): the quotient x / scale in float32, rounded half away
// from zero, plus the zero point, clamped. ONNX (MlasQuantizeLinear):
// the float32 quotient clamped to [qmin - zp, qmax - zp], rounded half to
// even, plus the zero point. NaN becomes the zero point (TFLite's cast is
// undefined there) or qmin (MLAS's MAXPS keeps its second operand).
type qQuantizeKernel struct {
	onnx bool
	// xnn: XNNPACK's convert (ir.ArithXNNPACK): x times float32(1/s),
	// clamped, rounded half to even; inv holds the reciprocals.
	xnn     bool
	inv     []float32
	channel func(i int) int
	scale   []float32
	zp      []int32
	lo, hi  int32
	y       []int32
}

// qRequantizeKernel is TFLite's Requantize (8-bit to 8-bit, per-tensor):
// QuantizeMultiplier(double(s_in) / double(s_out)), then
// MultiplyByQuantizedMultiplier(x - zp_in) + zp_out, clamped.
type qRequantizeKernel struct {
	mult        int32
	shift       int
	inZP, outZP int32
	lo, hi      int32
	x           []int32
}

func prepareQQuantize(n *ir.Node) (Kernel, error) {
	x, y := n.Inputs[0], n.Outputs[0]
	if x.Len() != y.Len() {
		return nil, n.Errorf("input %q has %d elements, output %q %d", x.Name, x.Len(), y.Name, y.Len())
	}
	if !y.DType.IsQuantized() {
		return nil, n.Errorf("output %q is %v, want int8 or uint8", y.Name, y.DType)
	}
	if x.DType.IsQuantized() {
		in, err := qPerTensor(n, x, "input")
		if err != nil {
			return nil, err
		}
		out, err := qPerTensor(n, y, "output")
		if err != nil {
			return nil, err
		}
		if n.Arith == ir.ArithXNNPACK && x.DType == y.DType {
			return prepareXNNPACKConvert(n, in, out)
		}
		m, s, err := quantizeMultiplier(float64(in.scale) / float64(out.scale))
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		return &qRequantizeKernel{mult: m, shift: s, inZP: in.zp, outZP: out.zp, lo: out.lo, hi: out.hi, x: make([]int32, x.Len())}, nil
	}
	if x.DType != ir.Float32 {
		return nil, n.Errorf("input %q is %v, want float32 or an 8-bit quantized tensor", x.Name, x.DType)
	}
	ch, err := qAxisParams(n, y)
	if err != nil {
		return nil, err
	}
	lo, hi := qRange(y.DType)
	k := &qQuantizeKernel{onnx: n.Arith == ir.ArithONNX, xnn: n.Arith == ir.ArithXNNPACK, channel: ch, lo: lo, hi: hi, y: make([]int32, y.Len())}
	for c := range y.Quant.Scale {
		zp := y.Quant.ZP(c)
		if zp < int64(lo) || zp > int64(hi) {
			return nil, n.Errorf("output %q zero point %d is outside the %v range", y.Name, zp, y.DType)
		}
		k.scale = append(k.scale, y.Quant.S(c))
		k.inv = append(k.inv, 1/y.Quant.S(c))
		k.zp = append(k.zp, int32(zp))
	}
	return k, nil
}

func (k *qQuantizeKernel) Eval(in, out []*Tensor) error {
	for i, v := range in[0].F32 {
		c := k.channel(i)
		zp := k.zp[c]
		q := v / k.scale[c] // float32 division in TFLite's and ONNX Runtime's
		if k.xnn {
			q = v * k.inv[c]
		}
		var r float64
		switch {
		case math.IsNaN(float64(q)):
			if k.onnx || k.xnn {
				k.y[i] = k.lo
			} else {
				k.y[i] = zp
			}
			continue
		case k.onnx || k.xnn:
			f := min(max(q, float32(k.lo-zp)), float32(k.hi-zp))
			r = qRoundEven(float64(f)) + float64(zp)
		default:
			r = qRound(float64(q)) + float64(zp)
		}
		k.y[i] = int32(min(max(r, float64(k.lo)), float64(k.hi)))
	}
	qStore(out[0], k.y, k.lo, k.hi)
	return nil
}

func (k *qRequantizeKernel) Eval(in, out []*Tensor) error {
	qLoad(k.x, in[0], k.inZP)
	for i, v := range k.x {
		k.x[i] = mulByQuantizedMultiplier(v, k.mult, k.shift) + k.outZP
	}
	qStore(out[0], k.x, k.lo, k.hi)
	return nil
}

// qDequantizeKernel is (x - zp) * scale, the product rounded once to float32
// (TFLite computes it in double and casts; ONNX Runtime in float32; the
// operands are exact in both, so the results agree).
type qDequantizeKernel struct {
	channel func(i int) int
	scale   []float32
	zp      []int32
}

func prepareQDequantize(n *ir.Node) (Kernel, error) {
	x, y := n.Inputs[0], n.Outputs[0]
	if !x.DType.IsQuantized() && x.DType != ir.Int32 || x.Quant == nil {
		return nil, n.Errorf("input %q is %v, want int8, uint8 or int32 with quantization", x.Name, x.DType)
	}
	if y.DType != ir.Float32 {
		return nil, n.Errorf("output %q is %v, want float32", y.Name, y.DType)
	}
	if x.Len() != y.Len() {
		return nil, n.Errorf("input %q has %d elements, output %q %d", x.Name, x.Len(), y.Name, y.Len())
	}
	ch, err := qAxisParams(n, x)
	if err != nil {
		return nil, err
	}
	k := &qDequantizeKernel{channel: ch}
	for c := range x.Quant.Scale {
		k.scale = append(k.scale, x.Quant.S(c))
		k.zp = append(k.zp, int32(x.Quant.ZP(c)))
	}
	return k, nil
}

func (k *qDequantizeKernel) Eval(in, out []*Tensor) error {
	x, y := in[0], out[0].F32
	if x.DType == ir.Int32 {
		// As ONNX Runtime: the difference converted to float32, then
		// multiplied in float32.
		for i := range y {
			c := k.channel(i)
			y[i] = float32(x.I32[i]-k.zp[c]) * k.scale[c]
		}
		return nil
	}
	for i := range y {
		c := k.channel(i)
		y[i] = float32(qAt(x, i)-k.zp[c]) * k.scale[c]
	}
	return nil
}

// qConcatKernel is TFLite's ConcatenationWithScaling
// (reference/concatenation.h): an input whose scale or zero point differs
// from the output's is mapped value by value as
// int32(roundf(x * scale + bias)) + zp_out with, in float32,
// scale = s_in * (1 / s_out) and bias = -zp_in * scale, rounding half away
// from zero; inputs with the output's parameters are copied. TFLite accepts
// differing parameters only for uint8 (int8 inputs must match the output);
// the same rule serves int8 here. The result is clamped to the dtype and the
// fused activation's range.
type qConcatKernel struct {
	outer  int
	blocks []int // per input: elements per outer index
	copyIn []bool
	scale  []float32
	bias   []float32
	outZP  int32
	lo, hi int32
	y      []int32
}

func prepareQConcat(n *ir.Node) (Kernel, error) {
	a := n.Attrs.(*ir.ConcatAttrs)
	y := n.Outputs[0]
	out, err := qPerTensor(n, y, "output")
	if err != nil {
		return nil, err
	}
	lo, hi := activationRange(a.Act, out.dt, y.Quant)
	allSame := a.Act == ir.ActNone || (lo == out.lo && hi == out.hi)
	ins := make([]qTensor, len(n.Inputs))
	for i, t := range n.Inputs {
		if ins[i], err = qPerTensor(n, t, "input"); err != nil {
			return nil, err
		}
		if ins[i].dt != out.dt {
			return nil, n.Errorf("input %q is %v, output is %v", t.Name, ins[i].dt, out.dt)
		}
		allSame = allSame && ins[i].sameParams(out)
	}
	if allSame {
		if p, ok := tables[Generic][ir.OpConcat]; ok {
			return p(n)
		}
	}
	axis, err := ir.NormAxis(a.Axis, y.Rank())
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	k := &qConcatKernel{outer: ir.NumElements(y.Shape[:axis]), outZP: out.zp, lo: lo, hi: hi, y: make([]int32, y.Len())}
	if lo > hi {
		return nil, n.Errorf("fused %v leaves no representable output values", a.Act)
	}
	inner := ir.NumElements(y.Shape[axis+1:])
	total := 0
	inverseOutputScale := 1 / out.scale
	for i, t := range n.Inputs {
		if t.Rank() != y.Rank() {
			return nil, n.Errorf("input %q has rank %d, output has %d", t.Name, t.Rank(), y.Rank())
		}
		for d := range t.Shape {
			if d != axis && t.Shape[d] != y.Shape[d] {
				return nil, n.Errorf("input %q shape %v does not match output %v outside axis %d", t.Name, t.Shape, y.Shape, axis)
			}
		}
		total += t.Shape[axis]
		k.blocks = append(k.blocks, t.Shape[axis]*inner)
		scale := ins[i].scale * inverseOutputScale
		k.copyIn = append(k.copyIn, ins[i].sameParams(out))
		k.scale = append(k.scale, scale)
		k.bias = append(k.bias, float32(-ins[i].zp)*scale)
	}
	if total != y.Shape[axis] {
		return nil, n.Errorf("inputs sum to %d along axis %d, output %q has %d", total, axis, y.Name, y.Shape[axis])
	}
	return k, nil
}

func (k *qConcatKernel) Eval(in, out []*Tensor) error {
	dst := 0
	for outer := range k.outer {
		for i, t := range in {
			block := k.blocks[i]
			src := outer * block
			ys := k.y[dst:][:block]
			if k.copyIn[i] {
				for j := range ys {
					ys[j] = qAt(t, src+j)
				}
			} else {
				scale, bias := k.scale[i], k.bias[i]
				for j := range ys {
					v := float32(float32(qAt(t, src+j))*scale) + bias
					r := qRound(float64(v))
					ys[j] = int32(min(max(r, math.MinInt16), math.MaxInt16)) + k.outZP
				}
			}
			dst += block
		}
	}
	qStore(out[0], k.y, k.lo, k.hi)
	return nil
}
