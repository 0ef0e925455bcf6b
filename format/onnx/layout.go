package onnx

import "github.com/mnconv/mnconv/ir"

// Permutations between ONNX's NCHW and the IR's NHWC, in the IR's
// convention: output dim i is input dim perm[i]. ToNHWC also takes OIHW
// weights to OHWI, ToNCHW OHWI to OIHW.
var (
	ToNHWC = []int{0, 2, 3, 1}
	ToNCHW = []int{0, 3, 1, 2}
)

// Permute returns s with out[i] = s[p[i]].
func Permute[T any](s []T, p []int) []T {
	out := make([]T, len(p))
	for i, j := range p {
		out[i] = s[j]
	}
	return out
}

// OrderKept reports whether an NCHW shape has the same element order as its
// NHWC form, so that a Reshape converts between them (a 1x1 feature map, or
// a single channel).
func OrderKept(nchw []int) bool { return nchw[1] == 1 || nchw[2]*nchw[3] == 1 }

// TransposeData returns d, of the given shape, transposed by perm; nil
// slices when d does not hold the shape's element count of type dt. It
// copies element by element without an index table, so a large weight
// costs only its own size again.
func TransposeData(d *ir.Data, dt ir.DType, shape, perm []int) *ir.Data {
	switch dt {
	case ir.Float32:
		return &ir.Data{F32: transposeSlice(d.F32, shape, perm)}
	case ir.Int8:
		return &ir.Data{I8: transposeSlice(d.I8, shape, perm)}
	case ir.Uint8:
		return &ir.Data{U8: transposeSlice(d.U8, shape, perm)}
	case ir.Int32:
		return &ir.Data{I32: transposeSlice(d.I32, shape, perm)}
	case ir.Int64:
		return &ir.Data{I64: transposeSlice(d.I64, shape, perm)}
	}
	return &ir.Data{}
}

// transposeSlice walks the output in order with an odometer over its
// indices, keeping the source offset in step.
func transposeSlice[T any](src []T, shape, perm []int) []T {
	n := ir.NumElements(shape)
	if len(src) != n {
		return nil
	}
	r := len(shape)
	stride := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		stride[i] = s
		s *= shape[i]
	}
	out := Permute(shape, perm)
	ostride := Permute(stride, perm)
	dst := make([]T, n)
	pos := make([]int, r)
	off := 0
	for j := range n {
		dst[j] = src[off]
		for k := r - 1; k >= 0; k-- {
			pos[k]++
			off += ostride[k]
			if pos[k] < out[k] {
				break
			}
			off -= pos[k] * ostride[k]
			pos[k] = 0
		}
	}
	return dst
}
