package runtime

import (
	"math"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Quantized activations: Relu and Clip (TFLite's QuantizedReluX, which also
// requantizes when input and output parameters differ), Sigmoid (TFLite's
// fixed-point reference Logistic), HardSwish (TFLite's 16-bit fixed-point
// reference HardSwish) and Softmax (TFLite's fixed-point reference Softmax
// for an output scale of 1/256). TFLite's optimized and XNNPACK kernels use
// lookup tables built in float for Logistic, Tanh and Softmax; those agree
// with the fixed-point reference to within a quantum or so, not bit for bit.

func init() {
	Register(ir.OpRelu, Quantized, prepareQRelu)
	Register(ir.OpClip, Quantized, prepareQRelu)
	Register(ir.OpSigmoid, Quantized, prepareQLogistic)
	Register(ir.OpHardSwish, Quantized, prepareQHardSwish)
	Register(ir.OpSoftmax, Quantized, prepareQSoftmax)
}

var (
	_ Kernel = (*qUnaryKernel)(nil)
	_ Kernel = (*qSoftmaxKernel)(nil)
)

// qUnaryKernel applies f to every stored value (as int32) and stores the
// result clamped to [lo, hi].
type qUnaryKernel struct {
	f      func(x int32) int32
	lo, hi int32
	x      []int32
}

func (k *qUnaryKernel) Eval(in, out []*Tensor) error {
	qLoad(k.x, in[0], 0)
	for i, v := range k.x {
		k.x[i] = k.f(v)
	}
	qStore(out[0], k.x, k.lo, k.hi)
	return nil
}

// qUnaryIO checks a same-shape 8-bit unary node and returns its parameters.
func qUnaryIO(n *ir.Node) (qTensor, qTensor, error) {
	x, y := n.Inputs[0], n.Outputs[0]
	in, err := qPerTensor(n, x, "input")
	if err != nil {
		return in, in, err
	}
	out, err := qPerTensor(n, y, "output")
	if err != nil {
		return in, out, err
	}
	if in.dt != out.dt {
		return in, out, n.Errorf("input is %v, output is %v", in.dt, out.dt)
	}
	if !slices.Equal(x.Shape, y.Shape) {
		return in, out, n.Errorf("input %q shape %v differs from output %q shape %v", x.Name, x.Shape, y.Name, y.Shape)
	}
	return in, out, nil
}

// prepareQRelu is TFLite's quantized Relu / Relu6 / ReluN1To1 (activations.cc
// QuantizedReluX with ReluPrepare): the multiplier comes from the float32
// quotient s_in / s_out widened to double; each value becomes
// zp_out + MultiplyByQuantizedMultiplier(x - zp_in) clamped to
// [max(qmin, zp_out + roundf(lo / s_out)), min(qmax, zp_out + roundf(hi / s_out))].
// A Clip with other bounds uses the same rule with its own bounds.
func prepareQRelu(n *ir.Node) (Kernel, error) {
	in, out, err := qUnaryIO(n)
	if err != nil {
		return nil, err
	}
	flo, fhi := float32(0), float32(math.Inf(1))
	if n.Op == ir.OpClip {
		a := n.Attrs.(*ir.ClipAttrs)
		flo, fhi = a.Min, a.Max
		if math.IsNaN(float64(flo)) || math.IsNaN(float64(fhi)) || flo > fhi {
			return nil, n.Errorf("clip bounds [%g, %g] are not an interval", flo, fhi)
		}
	}
	k := &qUnaryKernel{x: make([]int32, n.Inputs[0].Len())}
	k.lo, k.hi = clampRange(flo, fhi, out.dt, n.Outputs[0].Quant, out.lo, out.hi)
	if k.lo > k.hi {
		return nil, n.Errorf("clip bounds [%g, %g] leave no representable output values", flo, fhi)
	}
	m, s, err := quantizeMultiplier(float64(in.scale / out.scale))
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	zi, zo := in.zp, out.zp
	k.f = func(x int32) int32 { return zo + mulByQuantizedMultiplier(x-zi, m, s) }
	return k, nil
}

// prepareQLogistic is TFLite's 8-bit Logistic (reference/logistic.h and
// integer_ops/logistic.h, prepared as in SigmoidPrepare): the output must
// have scale 1/256 and zero point qmin (0 for uint8, -128 for int8). Inputs
// are centred on the zero point; beyond the input radius the output
// saturates; otherwise the input is rescaled to Q4.27 by a multiplier
// s_in * 2^27 (QuantizeMultiplierGreaterThanOne), fed to gemmlowp's
// fixed-point logistic, and the Q0.31 result is divided by 2^23 rounding half
// away from zero (256 becomes 255 for uint8; int8 adds -128 and clamps).
func prepareQLogistic(n *ir.Node) (Kernel, error) {
	in, out, err := qUnaryIO(n)
	if err != nil {
		return nil, err
	}
	if out.zp != out.lo || math.Abs(float64(out.scale)-1.0/256) > 0.001/256 {
		return nil, n.Errorf("output %q has scale %g and zero point %d; the quantized logistic needs scale 1/256 and zero point %d", n.Outputs[0].Name, out.scale, out.zp, out.lo)
	}
	const inputIntegerBits = 4
	m, ls, err := quantizeMultiplierGreaterThanOne(float64(in.scale) * float64(int64(1)<<(31-inputIntegerBits)))
	if err != nil {
		return nil, n.Errorf("input scale %g is too small for the fixed-point logistic: %v", in.scale, err)
	}
	radius := calculateInputRadius(inputIntegerBits, ls, 31)
	zp, qmin, qmax := in.zp, out.lo, out.hi
	k := &qUnaryKernel{x: make([]int32, n.Inputs[0].Len()), lo: out.lo, hi: out.hi}
	k.f = func(x int32) int32 {
		centered := x - zp
		switch {
		case centered <= -radius:
			return qmin
		case centered >= radius:
			return qmax
		}
		rescaled := mulByQuantizedMultiplierGreaterThanOne(centered, m, ls)
		return rdbpot(fxLogistic(rescaled, inputIntegerBits), 23) + qmin
	}
	return k, nil
}

// prepareQHardSwish is TFLite's 8-bit HardSwish (reference/hard_swish.h,
// HardSwishPrepare). Prepare, all in float32: hires = s_in/128,
// output multiplier hires/s_out and reluish multiplier hires/(3/32768), each
// through QuantizeMultiplier then DownScaleInt32ToInt16Multiplier (round
// (m + 2^15) >> 16). Eval works in int16: the input (x - zp) << 7 is scaled
// to the output by srdhm16; a "reluish" copy is scaled so that 3.0 maps to
// 32768 (saturating left shifts, srdhm16, or a RoundingDivideByPOT), mapped
// from [-1, 1] to [0, 1] by (v + 2^15) >> 1, multiplied in with the
// truncating SaturatingDoublingHighMul, then a final RoundingDivideByPOT by
// the output exponent and the output zero point, all with int16 wrap-around
// as the C++ has.
func prepareQHardSwish(n *ir.Node) (Kernel, error) {
	in, out, err := qUnaryIO(n)
	if err != nil {
		return nil, err
	}
	hiresInputScale := (1.0 / 128.0) * in.scale
	const reluishScale = float32(3.0 / 32768.0)
	outM32, outExp, err := quantizeMultiplier(float64(hiresInputScale / out.scale))
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if outExp > 0 {
		return nil, n.Errorf("output scale %g is too small for input scale %g (output multiplier exponent %d > 0)", out.scale, in.scale, outExp)
	}
	reluM32, reluExp, err := quantizeMultiplier(float64(hiresInputScale / reluishScale))
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	outM := downScaleInt32ToInt16Multiplier(outM32)
	reluM := downScaleInt32ToInt16Multiplier(reluM32)
	inZP, outZP := int16(in.zp), int16(out.zp)
	k := &qUnaryKernel{x: make([]int32, n.Inputs[0].Len()), lo: out.lo, hi: out.hi}
	k.f = func(x int32) int32 {
		inputValue := int16(x - int32(inZP))
		hires := inputValue * (1 << 7)
		preshiftOutput := srdhm16(hires, outM)
		reluish := hires
		if reluExp > 0 {
			reluish = saturatingLeftShift16(reluish, reluExp-1)
		}
		reluish = srdhm16(reluish, reluM)
		if reluExp > 0 {
			reluish = saturatingLeftShift16(reluish, 1)
		}
		if reluExp < 0 {
			reluish = rdbpot16(reluish, -reluExp)
		}
		reluish = int16((int32(reluish) + (1 << 15)) >> 1)
		preshiftOutputValue := sdhm16(reluish, preshiftOutput)
		outputValue := rdbpot16(preshiftOutputValue, -outExp)
		outputValue += outZP
		return int32(outputValue)
	}
	return k, nil
}

// qSoftmaxKernel is TFLite's reference 8-bit Softmax over the last axis
// (reference/softmax.h). Prepare (SoftmaxPrepare, kReference):
// PreprocessSoftmaxScaling(beta, s_in, 5) gives the input multiplier and
// left shift into Q5.26, and diff_min = -CalculateInputRadius(5, shift).
// Eval, per row: differences to the row maximum at or above diff_min are
// rescaled (MultiplyByQuantizedMultiplierGreaterThanOne), exponentiated with
// gemmlowp's exp_on_negative_values, and summed in Q12.19 (each exp
// RoundingDivideByPOT by 12); GetReciprocal gives 1/sum; each output is
// RoundingDivideByPOT(srdhm(1/sum, exp), bits over unit + 31 - 8) plus qmin,
// clamped. Differences below diff_min give qmin. The output must have scale
// 1/256 and zero point qmin of its dtype.
type qSoftmaxKernel struct {
	depth        int
	diffMin      int32
	inMin        int32
	outLo, outHi int32
	x, y         []int32
	// An 8-bit input's difference from its row's maximum is one of 256
	// values, so the fixed-point exp of each (Q0.31) and its Q12.19 share
	// of the sum are tabulated at Prepare, indexed by -diff (zero where
	// diff < diffMin, which the reference skips).
	expTab, sumTab [256]int32
}

func prepareQSoftmax(n *ir.Node) (Kernel, error) {
	a := n.Attrs.(*ir.SoftmaxAttrs)
	x, y := n.Inputs[0], n.Outputs[0]
	in, err := qPerTensor(n, x, "input")
	if err != nil {
		return nil, err
	}
	out, err := qPerTensor(n, y, "output")
	if err != nil {
		return nil, err
	}
	if !slices.Equal(x.Shape, y.Shape) || x.Rank() == 0 {
		return nil, n.Errorf("input %q shape %v and output %q shape %v must match and not be scalars", x.Name, x.Shape, y.Name, y.Shape)
	}
	axis, err := ir.NormAxis(a.Axis, x.Rank())
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if axis != x.Rank()-1 {
		return nil, n.Errorf("quantized softmax runs over the last axis, not axis %d", a.Axis)
	}
	if !(a.Beta > 0) || math.IsInf(float64(a.Beta), 0) {
		return nil, n.Errorf("beta %g must be finite and positive", a.Beta)
	}
	if out.zp != out.lo || math.Abs(float64(out.scale)-1.0/256) > 0.001/256 {
		return nil, n.Errorf("output %q has scale %g and zero point %d; the quantized softmax needs scale 1/256 and zero point %d", y.Name, out.scale, out.zp, out.lo)
	}
	if (n.Arith == ir.ArithXNNPACK || n.Arith == ir.ArithBuiltin) && x.DType == y.DType {
		return prepareBuiltinSoftmax(a.Beta, in, out, x.Shape[x.Rank()-1]), nil
	}
	const scaledDiffIntegerBits = 5
	m, ls, err := preprocessSoftmaxScaling(float64(a.Beta), float64(in.scale), scaledDiffIntegerBits)
	if err != nil {
		return nil, n.Errorf("beta %g times input scale %g is too small for the fixed-point softmax: %v", a.Beta, in.scale, err)
	}
	const accumulationIntegerBits = 12
	k := &qSoftmaxKernel{
		depth:   x.Shape[x.Rank()-1],
		diffMin: -calculateInputRadius(scaledDiffIntegerBits, ls, 31),
		inMin:   in.lo,
		outLo:   out.lo,
		outHi:   out.hi,
		x:       make([]int32, x.Len()),
		y:       make([]int32, y.Len()),
	}
	for d := range int32(256) {
		if -d < k.diffMin {
			continue
		}
		e := fxExpOnNegativeValues(mulByQuantizedMultiplierGreaterThanOne(-d, m, ls), scaledDiffIntegerBits)
		k.expTab[d], k.sumTab[d] = e, rdbpot(e, accumulationIntegerBits) // Rescale<12> of a Q0.31 value
	}
	return k, nil
}

func (k *qSoftmaxKernel) Eval(in, out []*Tensor) error {
	const accumulationIntegerBits = 12
	const outputBits = 8
	qLoad(k.x, in[0], 0)
	for row := 0; row+k.depth <= len(k.x) && k.depth > 0; row += k.depth {
		xs, ys := k.x[row:][:k.depth], k.y[row:][:k.depth]
		maxInRow := k.inMin
		for _, v := range xs {
			maxInRow = max(maxInRow, v)
		}
		var sumOfExps int32 // Q12.19
		for _, v := range xs {
			sumOfExps += k.sumTab[(maxInRow-v)&255]
		}
		shiftedScale, numBitsOverUnit := getReciprocal(sumOfExps, accumulationIntegerBits)
		// TFLite checks 0 <= exponent <= 31 and aborts otherwise (a row of
		// more than about 512 equal maxima); rdbpot handles larger
		// exponents exactly, which gives qmin there.
		exponent := numBitsOverUnit + 31 - outputBits
		for c, v := range xs {
			if v-maxInRow < k.diffMin {
				ys[c] = k.outLo
				continue
			}
			unsat := rdbpot(srdhm(shiftedScale, k.expTab[(maxInRow-v)&255]), exponent)
			ys[c] = unsat + k.outLo
		}
	}
	qStore(out[0], k.y, k.outLo, k.outHi)
	return nil
}
