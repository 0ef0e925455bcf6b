package tflite

import (
	"fmt"
	"slices"

	tfl "github.com/mnconv/mnconv/format/tflite"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/ir"
)

// Folding at import: shape computations on static shapes become constants.
//
// TF2's converter writes a Keras Reshape(-1, k) as SHAPE -> STRIDED_SLICE
// (the batch) -> PACK (batch, n, k) -> RESHAPE, and a tf.tile of the anchors
// by the batch as PACK -> TILE; the ST SSD computes all 15 of its output
// reshapes and its 5 anchor tiles that way. TFLite shapes are static, so each
// of these operators computes a constant. The rules below match an operator
// whose inputs are known (constants, or for SHAPE a tensor's static shape),
// compute its output and store it as the output tensor's data; no node is
// emitted, so the RESHAPE that reads the result sees a constant shape and
// every output has a static shape. They have no IR op: in the shared models
// they only ever compute on constants. On run-time data they fail naming the
// operator (a lenient import keeps it opaque).
func init() {
	converters[fb.BuiltinOperatorSHAPE] = foldShape
	converters[fb.BuiltinOperatorSTRIDED_SLICE] = foldStridedSlice
	converters[fb.BuiltinOperatorPACK] = foldPack
	converters[fb.BuiltinOperatorTILE] = foldTile
}

// known returns input j, which must be a constant: these operators are
// folded, never run.
func (c *opCtx) known(j int) (*ir.Tensor, error) {
	t, err := c.need(j)
	if err != nil {
		return nil, err
	}
	if !t.IsConst() {
		return nil, c.errorf("input %d (%q) is computed at run time; %s is supported on constants only (it is folded at import)", j, t.Name, c.code.name())
	}
	return t, nil
}

// knownInts returns input j, a constant int32 or int64 vector (or scalar),
// as ints.
func (c *opCtx) knownInts(j int) ([]int, error) {
	t, err := c.known(j)
	if err != nil {
		return nil, err
	}
	if t.Rank() > 1 || t.Len() > maxRank {
		return nil, c.errorf("input %d (%q) has shape %v, want at most %d entries", j, t.Name, t.Shape, maxRank)
	}
	v, _, err := c.constInts(j)
	return v, err
}

// foldTo makes the operator's output the constant (dt, shape, data) instead
// of emitting a node. The file's declared shape must agree (a file may
// declare none for a tensor it computes at run time), and the folded bytes
// count against the import's constant budget.
func (c *opCtx) foldTo(dt ir.DType, shape []int, data *ir.Data) error {
	y, err := c.out()
	if err != nil {
		return err
	}
	if y.DType != dt {
		return c.errorf("output %q is %v, the operator gives %v", y.Name, y.DType, dt)
	}
	if len(y.Shape) != 0 && !slices.Equal(y.Shape, shape) {
		return c.errorf("output %q is declared %v, the operator gives %v", y.Name, y.Shape, shape)
	}
	im := c.im
	im.constBytes += int64(ir.NumElements(shape)) * int64(dt.Size())
	if limit := constLimit(len(im.data)); im.constBytes > limit {
		return c.errorf("folding it exceeds the import's limit of %d bytes of constants", limit)
	}
	y.Shape, y.Data = slices.Clone(shape), data
	im.declared[y] = y.Shape
	return nil
}

// foldElements checks that shape holds at most maxElements before a fold
// allocates it.
func (c *opCtx) foldElements(shape []int) error {
	s := make([]int64, len(shape))
	for i, d := range shape {
		s[i] = int64(d)
	}
	if _, err := ir.CheckedElements(s, maxElements); err != nil {
		return c.errorf("output shape %v: %v", shape, err)
	}
	return nil
}

// SHAPE(x[d0..dn])  =>  const int32/int64 [d0..dn]
// x's shape is static (the importer accepts no other), whether or not x is a
// constant.
func foldShape(c *opCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	var o fb.ShapeOptions
	if err := c.options(fb.BuiltinOptionsShapeOptions, &o); err != nil {
		return err
	}
	// out_type, or where it reads FLOAT32 (the schema's default: no
	// options) the output tensor's type, says int32 or int64.
	y, err := c.out()
	if err != nil {
		return err
	}
	dt := y.DType
	if t := o.OutType(); t != fb.TensorTypeFLOAT32 {
		if dt, _ = tfl.DType(t); dt != y.DType {
			return c.errorf("out_type %v does not match output %q of type %v", t, y.Name, y.DType)
		}
	}
	d := &ir.Data{}
	switch dt {
	case ir.Int32:
		d.I32 = make([]int32, x.Rank())
		for i, v := range x.Shape {
			d.I32[i] = int32(v)
		}
	case ir.Int64:
		d.I64 = make([]int64, x.Rank())
		for i, v := range x.Shape {
			d.I64[i] = int64(v)
		}
	default:
		return c.errorf("output %q is %v, want int32 or int64", y.Name, y.DType)
	}
	return c.foldTo(dt, []int{x.Rank()}, d)
}

// STRIDED_SLICE(const x, begin, end, strides)  =>  const x[begin:end:strides]
// with TF's masks: begin_mask / end_mask bit i takes the whole range of
// axis i, shrink_axis_mask bit i takes element begin[i] and drops the axis,
// offset makes end relative to begin. Ellipsis and new-axis masks are
// refused.
func foldStridedSlice(c *opCtx) error {
	if err := c.arity(4, 4); err != nil {
		return err
	}
	x, err := c.known(0)
	if err != nil {
		return err
	}
	begin, err := c.knownInts(1)
	if err != nil {
		return err
	}
	end, err := c.knownInts(2)
	if err != nil {
		return err
	}
	strides, err := c.knownInts(3)
	if err != nil {
		return err
	}
	var o fb.StridedSliceOptions
	if err := c.options(fb.BuiltinOptionsStridedSliceOptions, &o); err != nil {
		return err
	}
	if o.EllipsisMask() != 0 || o.NewAxisMask() != 0 {
		return c.errorf("ellipsis_mask %d and new_axis_mask %d are not supported", o.EllipsisMask(), o.NewAxisMask())
	}
	sl := sliceSpec{begin: begin, end: end, strides: strides, beginMask: o.BeginMask(), endMask: o.EndMask(), shrinkMask: o.ShrinkAxisMask(), offset: o.Offset()}
	starts, steps, shape, outShape, err := sl.resolve(x.Shape)
	if err != nil {
		return c.errorf("%v", err)
	}
	if err := c.foldElements(shape); err != nil {
		return err
	}
	st := rowMajor(x.Shape)
	idx := gatherIndex(shape, func(axis, k int) int { return (starts[axis] + k*steps[axis]) * st[axis] })
	return c.foldTo(x.DType, outShape, x.Data.Take(idx))
}

// sliceSpec is a strided slice as TF states it: per axis a begin, end and
// stride, and bit masks over the axes.
type sliceSpec struct {
	begin, end, strides            []int
	beginMask, endMask, shrinkMask int32
	offset                         bool
}

// resolve applies the slice to a tensor of shape in: the first element and
// step of each axis, the shape walked (one entry per axis of in) and the
// output shape (shrunk axes dropped). Axes past the spec's entries are
// taken whole.
func (sl sliceSpec) resolve(in []int) (starts, steps, shape, outShape []int, err error) {
	n := len(sl.begin)
	if len(sl.end) != n || len(sl.strides) != n || n > len(in) {
		return nil, nil, nil, nil, fmt.Errorf("begin %v, end %v and strides %v must have one entry per axis of %v, at most", sl.begin, sl.end, sl.strides, in)
	}
	starts, steps = make([]int, len(in)), make([]int, len(in))
	outShape = []int{}
	for i, dim := range in {
		b, e, s := 0, dim, 1
		bit := int32(1) << i
		shrink := i < n && sl.shrinkMask&bit != 0
		switch {
		case i >= n:
		case shrink:
			b = sl.begin[i]
			if b < 0 {
				b += dim
			}
			if b < 0 || b >= dim {
				return nil, nil, nil, nil, fmt.Errorf("axis %d: index %d is outside [0, %d)", i, sl.begin[i], dim)
			}
			e = b + 1
		default:
			b, e, s = sl.begin[i], sl.end[i], sl.strides[i]
			if s == 0 {
				return nil, nil, nil, nil, fmt.Errorf("stride of axis %d is 0", i)
			}
			if sl.offset {
				e += b
			}
			b = sliceBound(b, dim, s, sl.beginMask&bit != 0, true)
			e = sliceBound(e, dim, s, sl.endMask&bit != 0, false)
		}
		k := 0
		if s > 0 && e > b {
			k = (e - b + s - 1) / s
		} else if s < 0 && e < b {
			k = (b - e - s - 1) / -s
		}
		starts[i], steps[i] = b, s
		shape = append(shape, k)
		if !shrink {
			outShape = append(outShape, k)
		}
	}
	return starts, steps, shape, outShape, nil
}

// sliceBound resolves a strided slice's begin (or end) on an axis of size
// dim as TF does: masked, the start (end) of the walk in the stride's
// direction; negative, counted from the end; then clamped to the walk's
// range, [0, dim] going forward and [-1, dim-1] going backward.
func sliceBound(v, dim, stride int, masked, isBegin bool) int {
	fwd := stride > 0
	if masked {
		switch {
		case fwd == isBegin:
			if fwd {
				return 0
			}
			return -1
		case fwd:
			return dim
		default:
			return dim - 1
		}
	}
	if v < 0 {
		v += dim
	}
	if fwd {
		return min(max(v, 0), dim)
	}
	return min(max(v, -1), dim-1)
}

// gatherIndex lists, for each element of a tensor of shape out (row-major),
// the flat index of the element it copies: the sum over the output's axes
// of at(axis, coordinate), each axis's share of the flat index.
func gatherIndex(out []int, at func(axis, k int) int) []int {
	idx := make([]int, ir.NumElements(out))
	coord := make([]int, len(out))
	for e := range idx {
		for i, k := range coord {
			idx[e] += at(i, k)
		}
		for i := len(coord) - 1; i >= 0; i-- {
			if coord[i]++; coord[i] < out[i] {
				break
			}
			coord[i] = 0
		}
	}
	return idx
}

// rowMajor returns the element strides of shape.
func rowMajor(shape []int) []int {
	strides := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		strides[i] = s
		s *= shape[i]
	}
	return strides
}

// PACK(const x0, ..., const xn-1 each [d...])  =>  const [.., n, ..]
// stacked along axis (a new axis of size n).
func foldPack(c *opCtx) error {
	if err := c.arity(1, maxOpTensors); err != nil {
		return err
	}
	n := c.op.InputsLength()
	xs := make([]*ir.Tensor, n)
	for j := range xs {
		var err error
		if xs[j], err = c.known(j); err != nil {
			return err
		}
		if j > 0 && (xs[j].DType != xs[0].DType || !slices.Equal(xs[j].Shape, xs[0].Shape) || !xs[j].Quant.Equal(xs[0].Quant)) {
			return c.errorf("input %d (%q) is %v%v, input 0 (%q) %v%v: PACK needs equal types, shapes and quantization", j, xs[j].Name, xs[j].DType, xs[j].Shape, xs[0].Name, xs[0].DType, xs[0].Shape)
		}
	}
	var o fb.PackOptions
	if err := c.options(fb.BuiltinOptionsPackOptions, &o); err != nil {
		return err
	}
	if vc := int(o.ValuesCount()); vc != 0 && vc != n {
		return c.errorf("values_count %d, but %d inputs", vc, n)
	}
	axis, err := ir.NormAxis(int(o.Axis()), xs[0].Rank()+1)
	if err != nil {
		return c.errorf("axis: %v", err)
	}
	shape := slices.Insert(slices.Clone(xs[0].Shape), axis, n)
	if err := c.foldElements(shape); err != nil {
		return err
	}
	// Stacked back to back the inputs are [n, d...]; the output reads them
	// with the new axis moved to its place.
	ds := make([]*ir.Data, n)
	for j, x := range xs {
		ds[j] = x.Data
	}
	stacked := slices.Insert(slices.Clone(xs[0].Shape), 0, n)
	perm := make([]int, len(shape)) // output axis -> stacked axis
	for i := range perm {
		switch {
		case i == axis:
			perm[i] = 0
		case i < axis:
			perm[i] = i + 1
		default:
			perm[i] = i
		}
	}
	st := rowMajor(stacked)
	idx := gatherIndex(shape, func(axis, k int) int { return k * st[perm[axis]] })
	return c.foldTo(xs[0].DType, shape, ir.ConcatData(ds...).Take(idx))
}

// TILE(const x[d...], multiples m)  =>  const [d0*m0, ...]
// output coordinate k of axis i copies input coordinate k mod di. The ST
// SSD tiles its constant anchors by the batch (1).
func foldTile(c *opCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	x, err := c.known(0)
	if err != nil {
		return err
	}
	m, err := c.knownInts(1)
	if err != nil {
		return err
	}
	if len(m) != x.Rank() {
		return c.errorf("multiples %v, want one per axis of %q %v", m, x.Name, x.Shape)
	}
	shape := make([]int, len(m))
	s := make([]int64, len(m))
	for i, k := range m {
		if k < 0 {
			return c.errorf("multiples %v are negative", m)
		}
		s[i] = int64(x.Shape[i]) * int64(k)
	}
	if _, err := ir.CheckedElements(s, maxElements); err != nil {
		return c.errorf("output shape %v: %v", s, err)
	}
	for i := range shape {
		shape[i] = int(s[i])
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	if !x.Quant.Equal(y.Quant) {
		return c.errorf("output %q is quantized differently from input %q; TILE copies values", y.Name, x.Name)
	}
	st := rowMajor(x.Shape)
	idx := gatherIndex(shape, func(axis, k int) int { return k % x.Shape[axis] * st[axis] })
	return c.foldTo(x.DType, shape, x.Data.Take(idx))
}
