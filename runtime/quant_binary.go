package runtime

import (
	"math"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Quantized elementwise binary ops with numpy broadcasting: Add and Sub
// (TFLite's 8-bit general path with a left shift of 20, or ONNX Runtime's
// QLinearAdd), Mul (TFLite), and Max / Min (TFLite's MAXIMUM / MINIMUM, which
// compare stored values and need identical parameters on all three tensors).

func init() {
	for _, op := range []ir.Op{ir.OpAdd, ir.OpSub, ir.OpMul, ir.OpMax, ir.OpMin} {
		Register(op, Quantized, prepareQBinary)
	}
}

var _ Kernel = (*qBinaryKernel)(nil)

// qBinaryKernel evaluates f on the stored values of a and b (as int32) along
// a broadcasting strided walk, then clamps to [lo, hi] and stores.
type qBinaryKernel struct {
	loop    *stridedLoop // operands: 0 output, 1 a, 2 b
	f       func(a, b int32) int32
	lo, hi  int32
	a, b, y []int32
}

func prepareQBinary(n *ir.Node) (Kernel, error) {
	A, B, Y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	qa, err := qPerTensor(n, A, "input A")
	if err != nil {
		return nil, err
	}
	qb, err := qPerTensor(n, B, "input B")
	if err != nil {
		return nil, err
	}
	qy, err := qPerTensor(n, Y, "output")
	if err != nil {
		return nil, err
	}
	if qa.dt != qy.dt || qb.dt != qy.dt {
		return nil, n.Errorf("inputs are %v and %v, output is %v; want one 8-bit dtype", qa.dt, qb.dt, qy.dt)
	}
	shape, err := ir.BroadcastShapes(A.Shape, B.Shape)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if !slices.Equal(shape, Y.Shape) {
		return nil, n.Errorf("output %q has shape %v, broadcasting gives %v", Y.Name, Y.Shape, shape)
	}
	act := n.FusedAct()
	k := &qBinaryKernel{
		loop: newStridedLoop(shape, contiguousStrides(shape), broadcastStrides(A.Shape, shape), broadcastStrides(B.Shape, shape)),
		a:    make([]int32, A.Len()),
		b:    make([]int32, B.Len()),
		y:    make([]int32, Y.Len()),
	}
	k.lo, k.hi = activationRange(act, qy.dt, Y.Quant)
	if k.lo > k.hi {
		return nil, n.Errorf("fused %v leaves no representable output values", act)
	}
	switch {
	case n.Op == ir.OpAdd && n.Arith == ir.ArithONNX:
		k.f = qlinearAdd(qa, qb, qy, A.Len() == 1, B.Len() == 1)
	case n.Op == ir.OpAdd && n.Arith == ir.ArithXNNPACK:
		var ok bool
		if k.f, ok = xnnpackAdd(qa, qb, qy); !ok {
			return nil, n.Errorf("input scales %g and %g over output scale %g are out of XNNPACK add's range", qa.scale, qb.scale, qy.scale)
		}
	case n.Op == ir.OpAdd || n.Op == ir.OpSub:
		if k.f, err = tfliteAddSub(qa, qb, qy, n.Op == ir.OpSub); err != nil {
			return nil, n.Errorf("%v", err)
		}
	case n.Op == ir.OpMul:
		m, s, err := quantizeMultiplier(float64(qa.scale) * float64(qb.scale) / float64(qy.scale))
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		za, zb, zy := qa.zp, qb.zp, qy.zp
		// TFLite's MulElementwise: the product of the offset inputs, one
		// MultiplyByQuantizedMultiplier, then the output offset.
		k.f = func(a, b int32) int32 { return mulByQuantizedMultiplier((a-za)*(b-zb), m, s) + zy }
	default: // Max, Min
		if !qa.sameParams(qy) || !qb.sameParams(qy) {
			return nil, n.Errorf("inputs and output must share scale and zero point (got %g/%d, %g/%d, %g/%d)", qa.scale, qa.zp, qb.scale, qb.zp, qy.scale, qy.zp)
		}
		if n.Op == ir.OpMax {
			k.f = func(a, b int32) int32 { return max(a, b) }
		} else {
			k.f = func(a, b int32) int32 { return min(a, b) }
		}
	}
	return k, nil
}

// tfliteAddSub is TFLite's 8-bit ADD / SUB (add.cc / sub.cc Prepare,
// reference AddElementwise / SubElementwise): both inputs are offset by
// their zero points, shifted left by 20 bits, and scaled by
// real multipliers s_i / (2 max(s1, s2)) (each <= 1/2); the sum (or
// difference) is scaled by 2 max(s1, s2) / (2^20 s_out). All three
// multipliers come from QuantizeMultiplierSmallerThanOneExp and are applied
// with srdhm then RoundingDivideByPOT. max and the doubling are float32, the
// divisions double, as in the C++ (2 * std::max(float, float) is a float;
// (1 << 20) * float is a float).
func tfliteAddSub(qa, qb, qy qTensor, sub bool) (func(a, b int32) int32, error) {
	const leftShift = 20
	twiceMaxInputScale := float64(2 * max(qa.scale, qb.scale))
	realA := float64(qa.scale) / twiceMaxInputScale
	realB := float64(qb.scale) / twiceMaxInputScale
	realOut := twiceMaxInputScale / float64(float32(1<<leftShift)*qy.scale)
	mA, sA, err := quantizeMultiplierSmallerThanOneExp(realA)
	if err != nil {
		return nil, err
	}
	mB, sB, err := quantizeMultiplierSmallerThanOneExp(realB)
	if err != nil {
		return nil, err
	}
	mOut, sOut, err := quantizeMultiplierSmallerThanOneExp(realOut)
	if err != nil {
		return nil, err
	}
	za, zb, zy := qa.zp, qb.zp, qy.zp
	return func(a, b int32) int32 {
		scaledA := mulByQuantizedMultiplierSmallerThanOneExp((a-za)*(1<<leftShift), mA, sA)
		scaledB := mulByQuantizedMultiplierSmallerThanOneExp((b-zb)*(1<<leftShift), mB, sB)
		raw := scaledA + scaledB
		if sub {
			raw = scaledA - scaledB
		}
		return mulByQuantizedMultiplierSmallerThanOneExp(raw, mOut, sOut) + zy
	}, nil
}

// qlinearAdd is ONNX Runtime's com.microsoft QLinearAdd as its x86 AVX2
// kernel computes it (mlas qladd_avx2.cpp): in float32,
//
//	ratioA = sA/sC, ratioB = sB/sC,
//	fixed  = zC - (ratioA*zA + ratioB*zB),
//	c      = fma(a, ratioA, fma(b, ratioB, fixed)),
//
// converted with round half to even and saturated to the 8-bit range (its
// int32->int16->int8 saturating packs). When one input is a single value
// its term is folded into fixed with a separate multiply and add. MLAS's
// portable fallback computes (sA(a-zA) + sB(b-zB))/sC instead, and its NEON
// kernel a fixed-point form; they can differ from this by one quantum. The
// FMA is emulated as a float64 FMA rounded to float32: the product of two
// float32 values is exact in float64, so this differs from a true float32
// FMA only when the float64 sum itself rounds onto a float32 tie.
func qlinearAdd(qa, qb, qy qTensor, scalarA, scalarB bool) func(a, b int32) int32 {
	ratioA := qa.scale / qy.scale
	ratioB := qb.scale / qy.scale
	fixed := float32(qy.zp) - (float32(ratioA*float32(qa.zp)) + float32(ratioB*float32(qb.zp)))
	fma32 := func(x, y, z float32) float32 { return float32(math.FMA(float64(x), float64(y), float64(z))) }
	lo, hi := qy.lo, qy.hi
	convert := func(v float32) int32 {
		r := qRoundEven(float64(v))
		return int32(min(max(r, float64(lo)), float64(hi)))
	}
	switch {
	case scalarA && !scalarB:
		return func(a, b int32) int32 {
			f := fixed + float32(float32(a)*ratioA)
			return convert(fma32(float32(b), ratioB, f))
		}
	case scalarB:
		return func(a, b int32) int32 {
			f := fixed + float32(float32(b)*ratioB)
			return convert(fma32(float32(a), ratioA, f))
		}
	}
	return func(a, b int32) int32 {
		return convert(fma32(float32(a), ratioA, fma32(float32(b), ratioB, fixed)))
	}
}

func (k *qBinaryKernel) Eval(in, out []*Tensor) error {
	qLoad(k.a, in[0], 0)
	qLoad(k.b, in[1], 0)
	n, sa, sb := k.loop.rowLen(), k.loop.step(1), k.loop.step(2)
	k.loop.rows(func(offs []int) {
		y := k.y[offs[0]:][:n]
		ia, ib := offs[1], offs[2]
		for i := range y {
			y[i] = k.f(k.a[ia], k.b[ib])
			ia += sa
			ib += sb
		}
	})
	qStore(out[0], k.y, k.lo, k.hi)
	return nil
}
