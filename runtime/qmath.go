package runtime

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/mnconv/mnconv/ir"
)

// Integer arithmetic of the quantized kernels, written from the rules of
// TFLite's reference kernels (tensorflow/lite/kernels/internal/common.h,
// quantization_util.cc, kernel_util.cc) and gemmlowp's fixedpoint.h, and of
// ONNX Runtime's MLAS requantization. Every function states its rounding,
// because matching those runtimes bit for bit is the point:
//
//   - TfLiteRound is std::round: half away from zero (math.Round).
//   - SaturatingRoundingDoublingHighMul adds 2^30 (or 1-2^30 when the product
//     is negative) and divides by 2^31 truncating, which is floor(a*b/2^31 +
//     1/2): ties round toward +infinity (ARM's VQRDMULH). For positive
//     products that is half away from zero; -0.5 becomes 0, not -1.
//   - RoundingDivideByPOT: half away from zero.
//   - TFLite builds with TFLITE_SINGLE_ROUNDING off by default, so
//     MultiplyByQuantizedMultiplier rounds twice: once in the doubling high
//     multiply, once in the shift. That is what we do.
//   - MLAS (ONNX Runtime) requantizes in float32 and converts with the
//     current rounding mode, round half to even (cvtps2dq / vcvtnq).
//
// C++ signed overflow is formally undefined; on every target TFLite runs on it
// wraps, and Go's int32 arithmetic wraps the same way, so wrapping sums are
// reproduced by plain int32 arithmetic.

// qRound is TfLiteRound (std::round): round half away from zero.
func qRound(x float64) float64 { return math.Round(x) }

// qRoundEven rounds half to even, as MLAS's float-to-int conversions do.
func qRoundEven(x float64) float64 { return math.RoundToEven(x) }

// quantizeMultiplier is TFLite's QuantizeMultiplier: m = q * 2^shift with q
// in [0.5, 1) from frexp, and the Q0.31 multiplier round(q * 2^31) with
// std::round (half away from zero). A mantissa that rounds up to 2^31 is
// halved and the shift incremented; a shift below -31 flushes the multiplier
// to zero (shift 0). Zero gives (0, 0). The shift is a left shift when
// positive. NaN and infinities are errors (TFLite would abort).
func quantizeMultiplier(m float64) (mult int32, shift int, err error) {
	if m == 0 {
		return 0, 0, nil
	}
	if math.IsNaN(m) || math.IsInf(m, 0) {
		return 0, 0, fmt.Errorf("multiplier %g is not finite", m)
	}
	q, e := math.Frexp(m)
	qFixed := int64(qRound(q * (1 << 31)))
	if qFixed == 1<<31 {
		qFixed /= 2
		e++
	}
	if e < -31 {
		return 0, 0, nil
	}
	return int32(qFixed), e, nil
}

// quantizeMultiplierSmallerThanOneExp is TFLite's variant for multipliers in
// (0, 1): the returned left shift is <= 0.
func quantizeMultiplierSmallerThanOneExp(m float64) (int32, int, error) {
	if !(m > 0 && m < 1) {
		return 0, 0, fmt.Errorf("multiplier %g is not in (0, 1)", m)
	}
	return quantizeMultiplier(m)
}

// quantizeMultiplierGreaterThanOne is TFLite's variant for multipliers above
// 1: the returned left shift is >= 0.
func quantizeMultiplierGreaterThanOne(m float64) (int32, int, error) {
	if !(m > 1) {
		return 0, 0, fmt.Errorf("multiplier %g is not greater than 1", m)
	}
	return quantizeMultiplier(m)
}

// srdhm is gemmlowp's SaturatingRoundingDoublingHighMul for int32:
// (a*b + nudge) / 2^31 with C's truncating division, nudge = 2^30 for a
// non-negative product and 1-2^30 otherwise, i.e. floor(a*b/2^31 + 1/2):
// ties round toward +infinity. MinInt32*MinInt32 saturates to MaxInt32.
func srdhm(a, b int32) int32 {
	if a == b && a == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - (1 << 30)
	}
	return int32((ab + nudge) / (1 << 31))
}

// srdhm16 is the int16 SaturatingRoundingDoublingHighMul: the same rule with
// 2^15 and a nudge of 2^14 (1-2^14 for negative products).
func srdhm16(a, b int16) int16 {
	if a == b && a == math.MinInt16 {
		return math.MaxInt16
	}
	ab := int32(a) * int32(b)
	nudge := int32(1 << 14)
	if ab < 0 {
		nudge = 1 - (1 << 14)
	}
	return int16((ab + nudge) / (1 << 15))
}

// sdhm16 is TFLite's SaturatingDoublingHighMul (hard_swish.h): like srdhm16
// but without the nudge, so it truncates toward zero (ARM's SQDMULH).
func sdhm16(a, b int16) int16 {
	if a == b && a == math.MinInt16 {
		return math.MaxInt16
	}
	return int16((int32(a) * int32(b)) / (1 << 15))
}

// rdbpot is gemmlowp's RoundingDivideByPOT: x / 2^exp rounded to nearest,
// ties away from zero (the threshold is half the divisor, plus one for
// negative x). exp must be in [0, 31]; larger exponents (which TFLite never
// produces from a valid model) are handled exactly in 64 bits.
func rdbpot(x int32, exp int) int32 {
	if exp > 31 {
		return int32(rdbpot64(int64(x), exp))
	}
	mask := int32((int64(1) << exp) - 1)
	remainder := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> exp
	if remainder > threshold {
		r++
	}
	return r
}

// rdbpot64 is RoundingDivideByPOT on int64 (ties away from zero).
func rdbpot64(x int64, exp int) int64 {
	if exp <= 0 {
		return x
	}
	if exp > 62 {
		return 0
	}
	mask := (int64(1) << exp) - 1
	remainder := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> exp
	if remainder > threshold {
		r++
	}
	return r
}

// rdbpot16 is RoundingDivideByPOT on int16 (ties away from zero).
func rdbpot16(x int16, exp int) int16 {
	return int16(rdbpot(int32(x), exp))
}

// saturatingLeftShift16 is TFLite's SaturatingLeftShift (hard_swish.h):
// value * 2^amount clamped to the int16 range.
func saturatingLeftShift16(v int16, amount int) int16 {
	r := int64(v) * (int64(1) << amount)
	return int16(min(max(r, math.MinInt16), math.MaxInt16))
}

// srMulByPOT is gemmlowp's SaturatingRoundingMultiplyByPOT: a left shift
// that saturates to the int32 range for exp > 0, RoundingDivideByPOT for
// exp < 0.
func srMulByPOT(x int32, exp int) int32 {
	switch {
	case exp > 0:
		threshold := int32(1)<<(31-exp) - 1
		if x > threshold {
			return math.MaxInt32
		}
		if x < -threshold {
			return math.MinInt32
		}
		return x << exp
	case exp < 0:
		return rdbpot(x, -exp)
	}
	return x
}

// mulByQuantizedMultiplier is TFLite's double-rounding
// MultiplyByQuantizedMultiplier: a left shift (positive shift, wrapping as
// int32 like the C++), srdhm by the Q0.31 multiplier, then RoundingDivideByPOT
// by the right shift (negative shift).
func mulByQuantizedMultiplier(x, qm int32, shift int) int32 {
	left, right := 0, 0
	if shift > 0 {
		left = shift
	} else {
		right = -shift
	}
	return rdbpot(srdhm(x*(int32(1)<<left), qm), right)
}

// mulByQuantizedMultiplierSmallerThanOneExp is TFLite's variant for a
// non-positive left shift: srdhm then RoundingDivideByPOT.
func mulByQuantizedMultiplierSmallerThanOneExp(x, qm int32, leftShift int) int32 {
	return rdbpot(srdhm(x, qm), -leftShift)
}

// mulByQuantizedMultiplierGreaterThanOne is TFLite's variant for a
// non-negative left shift: a wrapping left shift then srdhm, no rounding
// shift afterwards.
func mulByQuantizedMultiplierGreaterThanOne(x, qm int32, leftShift int) int32 {
	return srdhm(x*(int32(1)<<leftShift), qm)
}

// downScaleInt32ToInt16Multiplier is TFLite's DownScaleInt32ToInt16Multiplier:
// (m + 2^15) >> 16, saturating to MaxInt16 near the top.
func downScaleInt32ToInt16Multiplier(m int32) int16 {
	const roundingOffset = 1 << 15
	if m >= math.MaxInt32-roundingOffset {
		return math.MaxInt16
	}
	return int16((m + roundingOffset) >> 16)
}

// roundingHalfSum is gemmlowp's RoundingHalfSum for int32: (a+b)/2 with ties
// away from zero, computed in 64 bits.
func roundingHalfSum(a, b int32) int32 {
	sum := int64(a) + int64(b)
	sign := int64(1)
	if sum < 0 {
		sign = -1
	}
	return int32((sum + sign) / 2)
}

// Fixed-point (gemmlowp FixedPoint<int32, k>) values are int32 raws with
// 31-k fractional bits. Products of two fixed-point values are srdhm of the
// raws (integer bits add up); sums and differences wrap.

// fxExpOnIntervalBetweenNegativeOneQuarterAnd0Excl is gemmlowp's
// exp_on_interval_between_negative_one_quarter_and_0_excl on a Q0.31 value:
// a fourth-order Taylor expansion around -1/8.
func fxExpOnIntervalBetweenNegativeOneQuarterAnd0Excl(a int32) int32 {
	const constantTerm = 1895147668  // exp(-1/8) in Q0.31
	const constant1Over3 = 715827883 // 1/3 in Q0.31
	x := a + 1<<28                   // a + 1/8
	x2 := srdhm(x, x)
	x3 := srdhm(x2, x)
	x4 := srdhm(x2, x2)
	x4Over4 := srMulByPOT(x4, -2)
	x4Over24PlusX3Over6PlusX2Over2 := srMulByPOT(srdhm(x4Over4+x3, constant1Over3)+x2, -1)
	return constantTerm + srdhm(constantTerm, x+x4Over24PlusX3Over6PlusX2Over2)
}

// expBarrelMultipliers are exp(-2^e) in Q0.31 for e = -2..4, gemmlowp's
// barrel-shifter constants.
var expBarrelMultipliers = [7]int32{1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242}

// fxExpOnNegativeValues is gemmlowp's exp_on_negative_values: a holds a
// FixedPoint<int32, intBits> value <= 0; the result is exp(a) in Q0.31 (1 is
// MaxInt32). The input's part modulo 1/4 goes through the Taylor polynomial,
// the rest through the barrel shifter of exp(-2^e) factors.
func fxExpOnNegativeValues(a int32, intBits int) int32 {
	fracBits := 31 - intBits
	oneQuarter := int32(1) << (fracBits - 2)
	mask := oneQuarter - 1
	aModQuarterMinusOneQuarter := (a & mask) - oneQuarter
	result := fxExpOnIntervalBetweenNegativeOneQuarterAnd0Excl(srMulByPOT(aModQuarterMinusOneQuarter, intBits))
	remainder := aModQuarterMinusOneQuarter - a
	for i, mult := range expBarrelMultipliers {
		e := i - 2
		if intBits > e {
			if remainder&(int32(1)<<(fracBits+e)) != 0 {
				result = srdhm(result, mult)
			}
		}
	}
	if intBits > 5 {
		clamp := -(int32(1) << (36 - intBits)) // -32 in the input format
		if a < clamp {
			result = 0
		}
	}
	if a == 0 {
		result = math.MaxInt32
	}
	return result
}

// fxOneOverOnePlusX is gemmlowp's one_over_one_plus_x_for_x_in_0_1: 1/(1+a)
// for a Q0.31 a in [0, 1), by three Newton-Raphson steps in Q2.29 starting
// from 48/17 - 32/17 * (1+a)/2. The result is Q0.31.
func fxOneOverOnePlusX(a int32) int32 {
	const constant48Over17 = 1515870810     // Q2.29
	const constantNeg32Over17 = -1010580540 // Q2.29
	const oneQ2 = 1 << 29
	halfDenominator := roundingHalfSum(a, math.MaxInt32)
	x := constant48Over17 + srdhm(halfDenominator, constantNeg32Over17)
	for range 3 {
		halfDenominatorTimesX := srdhm(halfDenominator, x)
		oneMinusHalfDenominatorTimesX := oneQ2 - halfDenominatorTimesX
		x += srMulByPOT(srdhm(x, oneMinusHalfDenominatorTimesX), 2) // Q4.27 back to Q2.29
	}
	// ExactMulByPot<-1> keeps the raw (Q2.29 becomes Q1.30); Rescale<0>
	// then shifts left by one, saturating.
	return srMulByPOT(x, 1)
}

// fxLogistic is gemmlowp's logistic on a FixedPoint<int32, intBits> value:
// 1/(1+exp(-|a|)) for the magnitude, mirrored as 1 - that for negative a,
// exactly 1/2 at zero. The result is Q0.31.
func fxLogistic(a int32, intBits int) int32 {
	if a == 0 {
		return 1 << 30
	}
	abs := a
	if a <= 0 {
		abs = -a
	}
	positive := fxOneOverOnePlusX(fxExpOnNegativeValues(-abs, intBits))
	if a > 0 {
		return positive
	}
	return math.MaxInt32 - positive
}

// getReciprocal is TFLite's GetReciprocal: x is a FixedPoint<int32,
// xIntegerDigits> value > 0; it returns 1/x as a Q0.31 mantissa and the
// number of bits by which the caller must shift the result right.
func getReciprocal(x int32, xIntegerDigits int) (int32, int) {
	headroomPlusOne := bits.LeadingZeros32(uint32(x))
	numBitsOverUnit := xIntegerDigits - headroomPlusOne
	shiftedSumMinusOne := int32((uint32(x) << headroomPlusOne) - (uint32(1) << 31))
	return fxOneOverOnePlusX(shiftedSumMinusOne), numBitsOverUnit
}

// calculateInputRadius is TFLite's CalculateInputRadius: the largest input
// magnitude (in input quanta) that stays inside the fixed-point range after
// the input multiplier, floor((2^intBits - 1) * 2^(total-intBits) /
// 2^leftShift), computed in double as TFLite does.
func calculateInputRadius(intBits, leftShift, totalSignedBits int) int32 {
	maxInputRescaled := 1.0 * float64(int64(1)<<intBits-1) * float64(int64(1)<<(totalSignedBits-intBits)) / float64(int64(1)<<leftShift)
	return int32(math.Floor(maxInputRescaled))
}

// preprocessSoftmaxScaling is TFLite's PreprocessSoftmaxScaling:
// min(beta*scale*2^(31-intBits), 2^31-1) as a multiplier greater than one
// (double-rounding build: the cap is 2^31-1).
func preprocessSoftmaxScaling(beta, inputScale float64, intBits int) (int32, int, error) {
	const maxRealMultiplier = float64(1<<31) - 1.0
	m := min(beta*inputScale*float64(int64(1)<<(31-intBits)), maxRealMultiplier)
	return quantizeMultiplierGreaterThanOne(m)
}

// qRange returns the stored range of an 8-bit quantized dtype.
func qRange(dt ir.DType) (lo, hi int32) {
	l, h := dt.Range()
	return int32(l), int32(h)
}

// quantizeBound is CalculateActivationRangeQuantized's quantize lambda:
// zp + (int32)TfLiteRound(f / scale), the division in float32 and the
// rounding half away from zero. The result is clamped to [lo, hi] first so
// that infinite bounds and tiny scales stay defined.
func quantizeBound(f, scale float32, zp, lo, hi int32) int32 {
	q := float64(f / scale)
	if math.IsNaN(q) {
		return zp
	}
	q = qRound(q) + float64(zp)
	return int32(min(max(q, float64(lo)), float64(hi)))
}

// activationRange is TFLite's CalculateActivationRangeQuantized for a fused
// activation on an output with quantization q and 8-bit dtype dt:
// [max(qmin, zp+round(lo/scale)), min(qmax, zp+round(hi/scale))] with open
// bounds mapping to the dtype's limits.
func activationRange(act ir.Activation, dt ir.DType, q *ir.Quant) (int32, int32) {
	lo, hi := qRange(dt)
	flo, fhi := act.Bounds()
	return clampRange(flo, fhi, dt, q, lo, hi)
}

// clampRange maps a real clamp interval [flo, fhi] (±Inf for open) to stored
// values, the way TFLite's activation ranges and QuantizedReluX do.
func clampRange(flo, fhi float32, dt ir.DType, q *ir.Quant, lo, hi int32) (int32, int32) {
	s, zp := q.S(0), int32(q.ZP(0))
	if !math.IsInf(float64(flo), -1) {
		lo = max(lo, quantizeBound(flo, s, zp, lo, hi))
	}
	if !math.IsInf(float64(fhi), 1) {
		hi = min(hi, quantizeBound(fhi, s, zp, lo, hi))
	}
	return lo, hi
}

// mlasRequantize is MLAS's MlasRequantizeOutput for one value: the int32
// accumulator converted to float32 (rounding to nearest even above 2^24),
// multiplied by the float32 scale, clamped in float to [lo-zp, hi-zp],
// rounded half to even, then the zero point added.
func mlasRequantize(acc int32, scale float32, zp, lo, hi int32) int32 {
	v := float32(acc) * scale
	v = min(max(v, float32(lo-zp)), float32(hi-zp))
	return int32(qRoundEven(float64(v))) + zp
}

// clamp32 clamps v to [lo, hi].
func clamp32(v, lo, hi int32) int32 { return min(max(v, lo), hi) }
