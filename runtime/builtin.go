package runtime

import (
	"math"

	"github.com/mnconv/mnconv/ir"
)

// ir.ArithBuiltin: the integer arithmetic of TFLite's optimized builtin
// kernels with no delegate, what TFLite runs when the XNNPACK delegate is
// refused (a graph with tensors shaped at run time, such as the ST SSD that
// the shared COCO reference was made with) or not applied. It differs from
// TFLite's reference kernels (ir.ArithTFLite) in these ops; every other op
// computes as the reference kernels do:
//
//   - Conv (not depthwise) and FullyConnected (Gemm), int8 and uint8: the
//     GEMM goes through ruy (cpu_backend_gemm), whose multiplier rounds once
//     (ruyMultiply) where the reference kernels round twice
//     (mulByQuantizedMultiplier). Depthwise convolutions keep the reference
//     rounding: the optimized depthwise kernels call the same
//     MultiplyByQuantizedMultiplier off ARM.
//   - Softmax, int8 and uint8: a float32 table of exp (builtinSoftmaxKernel,
//     shared with ir.ArithXNNPACK, which takes no quantized softmax).
//
// The int8 bilinear resize of the optimized kernels is the reference one
// (optimized_ops::ResizeBilinear for int8 calls ResizeBilinearInteger), and
// so are the int8 Add, Pad, Concatenation and Quantize that the SSDs use.

// ruyMultiply is ruy's fixed-point multiplication of an accumulator by a
// Q0.31 multiplier m and a power-of-two exponent shift (ruy's
// MultiplyByQuantizedMultiplier since 2021): one rounding, ties upward,
//
//	(x*m + 2^(30-shift)) >> (31-shift)   in 64 bits.
//
// TFLite's reference kernels instead round the doubling high product and
// then the right shift, ties away from zero, which differs by one in the
// last place for a few accumulators in a thousand.
func ruyMultiply(x, m int32, shift int) int32 {
	total := uint(31 - shift)
	return int32((int64(x)*int64(m) + int64(1)<<(total-1)) >> total)
}

var _ Kernel = (*builtinSoftmaxKernel)(nil)

// builtinSoftmaxKernel is TFLite's optimized 8-bit softmax (the builtin
// kernel off ARM64; XNNPACK takes no quantized softmax): table[255-d] =
// exp(-s_in * beta * d) in float32 for d = 0..255; per row, with m the
// largest input, sum = the float32 sum of table[255-m+x] in order, p =
// table[255-m+x] * (1 / (sum * s_out)), and the output is trunc(p + 0.5)
// for uint8 and round(p) - 128 for int8 (TFLite's QuantizeSoftmaxOutput),
// clamped.
type builtinSoftmaxKernel struct {
	table    [256]float32
	depth    int
	outScale float32
}

func prepareBuiltinSoftmax(beta float32, in, out qTensor, depth int) Kernel {
	k := &builtinSoftmaxKernel{depth: depth, outScale: out.scale}
	scale := -in.scale * beta
	for v := range 256 {
		k.table[255-v] = float32(math.Exp(float64(float32(scale * float32(v)))))
	}
	return k
}

func (k *builtinSoftmaxKernel) Eval(in, out []*Tensor) error {
	if in[0].DType == ir.Int8 {
		builtinSoftmax(k, in[0].I8, out[0].I8, 128, func(p float32) int32 { return int32(math.Round(float64(p))) - 128 }, -128, 127)
		return nil
	}
	builtinSoftmax(k, in[0].U8, out[0].U8, 0, func(p float32) int32 { return int32(float32(p + 0.5)) }, 0, 255)
	return nil
}

// builtinSoftmax runs the table softmax on rows of x; off maps a stored
// value to the table's 0..255 and quant quantizes a probability.
func builtinSoftmax[T int8 | uint8](k *builtinSoftmaxKernel, x, y []T, off int, quant func(float32) int32, lo, hi int32) {
	for r := 0; r < len(x); r += k.depth {
		row := x[r : r+k.depth]
		m := 0
		for _, v := range row {
			m = max(m, int(v)+off)
		}
		tab := k.table[255-m:]
		var sum float32
		for _, v := range row {
			sum = float32(sum + tab[int(v)+off])
		}
		inv := float32(1) / float32(sum*k.outScale)
		for j, v := range row {
			p := float32(tab[int(v)+off] * inv)
			y[r+j] = T(clamp32(quant(p), lo, hi))
		}
	}
}
