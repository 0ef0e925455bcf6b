package runtime

import (
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// ArgMax: the index of the largest element along one axis, as TFLite's
// reference kernel (arg_min_max) computes it. The first element is the
// running maximum and a later one replaces it only when it compares
// greater with a plain > (>= with SelectLastIndex), so ties give the lowest
// index (the highest with SelectLastIndex, ONNX's select_last_index) and a
// NaN never replaces the maximum, nor is replaced when it comes first.
//
// The float kernel takes float32 and plain integer tensors; the integer
// kernel takes int8 / uint8 tensors with quantization parameters and
// compares the stored integers: real = scale * (q - zero point) with a
// positive scale is increasing in q, so the indices are those of the real
// values. Per-channel parameters along the reduced axis would break that;
// they are refused.

func init() {
	Register(ir.OpArgMax, Float, checked(prepareArgMax))
	Register(ir.OpArgMax, Quantized, checked(prepareArgMax))
}

var _ Kernel = (*argMaxKernel[float32, int64])(nil)

func prepareArgMax(n *ir.Node) (Kernel, error) {
	a := n.Attrs.(*ir.ArgMaxAttrs)
	x, y := n.Inputs[0], n.Outputs[0]
	ax, err := ir.NormAxis(a.Axis, x.Rank())
	if err != nil || x.Rank() == 0 {
		return nil, n.Errorf("axis %d out of range for rank %d", a.Axis, x.Rank())
	}
	if x.Shape[ax] == 0 {
		return nil, n.Errorf("argmax along axis %d of size 0", ax)
	}
	if q := x.Quant; q != nil && x.DType.IsQuantized() && q.PerAxis() && q.Axis == ax {
		return nil, n.Errorf("input %q has per-channel scales along the reduced axis %d; stored integers of different scales do not compare", x.Name, ax)
	}
	if y.DType != a.OutputType {
		return nil, n.Errorf("output %q is %v, the attributes say %v", y.Name, y.DType, a.OutputType)
	}
	want := slices.Clone(x.Shape)
	if a.KeepDims {
		want[ax] = 1
	} else {
		want = slices.Delete(want, ax, ax+1)
	}
	if !slices.Equal(want, y.Shape) {
		return nil, n.Errorf("output %q has shape %v, want %v", y.Name, y.Shape, want)
	}
	g := argMaxGeom{outer: ir.NumElements(x.Shape[:ax]), length: x.Shape[ax], inner: ir.NumElements(x.Shape[ax+1:]), last: a.SelectLastIndex}
	switch y.DType {
	case ir.Int32:
		return newArgMax[int32](n, x.DType, g)
	case ir.Int64:
		return newArgMax[int64](n, x.DType, g)
	}
	return nil, n.Errorf("output %q is %v, want int32 or int64", y.Name, y.DType)
}

func newArgMax[I int32 | int64](n *ir.Node, dt ir.DType, g argMaxGeom) (Kernel, error) {
	switch dt {
	case ir.Float32:
		return &argMaxKernel[float32, I]{g}, nil
	case ir.Int8:
		return &argMaxKernel[int8, I]{g}, nil
	case ir.Uint8:
		return &argMaxKernel[uint8, I]{g}, nil
	case ir.Int32:
		return &argMaxKernel[int32, I]{g}, nil
	case ir.Int64:
		return &argMaxKernel[int64, I]{g}, nil
	}
	return nil, n.Errorf("input dtype %v is not supported", dt)
}

// argMaxGeom views the input as [outer, length, inner] with the reduced
// axis in the middle; the output is [outer, inner].
type argMaxGeom struct {
	outer, length, inner int
	last                 bool // SelectLastIndex
}

type argMaxKernel[T number, I int32 | int64] struct{ argMaxGeom }

func (k *argMaxKernel[T, I]) Eval(in, out []*Tensor) error {
	x, y := elems[T](in[0]), elems[I](out[0])
	for o := 0; o < k.outer; o++ {
		base := o * k.length * k.inner
		for i := 0; i < k.inner; i++ {
			best, idx := x[base+i], 0
			for j := 1; j < k.length; j++ {
				v := x[base+j*k.inner+i]
				if v > best || (k.last && v == best) {
					best, idx = v, j
				}
			}
			y[o*k.inner+i] = I(idx)
		}
	}
	return nil
}
