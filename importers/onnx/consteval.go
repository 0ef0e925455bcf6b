package onnx

import (
	"fmt"
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"math"
	"slices"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/ir"
)

// constants and shape computations (folded)
func init() {
	handle(map[string]handler{
		"Constant":        opConstant,
		"ConstantOfShape": opConstantOfShape,
		"Shape":           opShape,
		"Size":            opSize,
		"Gather":          opGather,
		"Cast":            opCast,
		"Identity":        opIdentity,
		"Dropout":         opDropout,
	})
}

// The constant evaluator: ops whose result is known at import (shape
// arithmetic such as Shape -> Gather -> Unsqueeze -> Concat -> Reshape, and
// constants re-typed or combined) become constants here, so the ir never
// sees a dynamic shape. It computes on int64 and float; other ops on
// constants are emitted as ir nodes with constant inputs.

// constFloat returns element i of constant t as float64.
func constFloat(t *ir.Tensor, i int) float64 {
	d := t.Data
	switch t.DType {
	case ir.Float32:
		return float64(d.F32[i])
	case ir.Int8:
		return float64(d.I8[i])
	case ir.Uint8:
		return float64(d.U8[i])
	case ir.Int32:
		return float64(d.I32[i])
	case ir.Int64:
		return float64(d.I64[i])
	}
	return 0
}

// constInt returns element i of an integer constant as int64.
func constInt(t *ir.Tensor, i int) int64 {
	d := t.Data
	switch t.DType {
	case ir.Int8:
		return int64(d.I8[i])
	case ir.Uint8:
		return int64(d.U8[i])
	case ir.Int32:
		return int64(d.I32[i])
	case ir.Int64:
		return d.I64[i]
	}
	return int64(constFloat(t, i))
}

// constInts reads an integer constant (a shape, axes, pads) of what.
func constInts(v value, what string) ([]int64, error) {
	if !v.isConst() {
		return nil, fmt.Errorf("%s must be a constant (mnconv's shapes are static)", what)
	}
	if v.dtype() != ir.Int64 && v.dtype() != ir.Int32 {
		return nil, fmt.Errorf("%s has element type %v, want int64", what, v.dtype())
	}
	if v.rank() > 1 {
		return nil, fmt.Errorf("%s has rank %d, want 1", what, v.rank())
	}
	out := make([]int64, v.t.Len())
	for i := range out {
		out[i] = constInt(v.t, i)
	}
	return out, nil
}

// newConst makes a constant of dtype dt and shape, filled by f(i), within
// the constant budget.
func (im *importer) newConst(name string, dt ir.DType, shape []int, f func(i int) float64, fi func(i int) int64) (*ir.Tensor, error) {
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	if len(shape) > MaxRank {
		return nil, fmt.Errorf("constant %q has rank %d, more than the limit %d", name, len(shape), MaxRank)
	}
	n64, err := ir.CheckedElements(dims, MaxFoldElements)
	if err != nil {
		return nil, fmt.Errorf("constant %q: %v (the limit for a computed constant)", name, err)
	}
	if err := im.spend(n64 * int64(dt.Size())); err != nil {
		return nil, err
	}
	n := int(n64)
	d := &ir.Data{}
	switch dt {
	case ir.Float32:
		d.F32 = make([]float32, n)
		for i := range d.F32 {
			d.F32[i] = float32(f(i))
		}
	case ir.Int8:
		d.I8 = make([]int8, n)
		for i := range d.I8 {
			d.I8[i] = int8(fi(i))
		}
	case ir.Uint8:
		d.U8 = make([]uint8, n)
		for i := range d.U8 {
			d.U8[i] = uint8(fi(i))
		}
	case ir.Int32:
		d.I32 = make([]int32, n)
		for i := range d.I32 {
			d.I32[i] = int32(fi(i))
		}
	case ir.Int64:
		d.I64 = make([]int64, n)
		for i := range d.I64 {
			d.I64[i] = fi(i)
		}
	default:
		return nil, fmt.Errorf("constant %q has invalid element type", name)
	}
	return &ir.Tensor{Name: name, DType: dt, Shape: append([]int{}, shape...), Data: d}, nil
}

// intConst makes an int64 constant from values.
func (im *importer) intConst(name string, shape []int, vals []int64) (*ir.Tensor, error) {
	return im.newConst(name, ir.Int64, shape, nil, func(i int) int64 { return vals[i] })
}

// reshapedConst returns constant c with a new shape (same elements), sharing
// its data.
func reshapedConst(c *ir.Tensor, name string, shape []int) *ir.Tensor {
	return &ir.Tensor{Name: name, DType: c.DType, Shape: append([]int{}, shape...), Quant: c.Quant.Clone(), Data: c.Data}
}

func opConstant(im *importer, n *node) error {
	if len(n.p.Input) != 0 || len(n.p.Output) != 1 {
		return fmt.Errorf("has %d inputs and %d outputs, want 0 and 1", len(n.p.Input), len(n.p.Output))
	}
	name := n.p.Output[0]
	var c *ir.Tensor
	var err error
	switch {
	case n.a.has("value"):
		var tp *pb.TensorProto
		if tp, err = n.a.tensor("value"); err != nil {
			return err
		}
		if c, err = im.decodeConst(tp); err == nil {
			c.Name = name
		}
	case n.a.has("value_float"):
		var f float32
		if f, err = n.a.float("value_float", 0); err == nil {
			c, err = im.newConst(name, ir.Float32, nil, func(int) float64 { return float64(f) }, nil)
		}
	case n.a.has("value_floats"):
		var fs []float32
		if fs, err = n.a.floats("value_floats"); err == nil {
			c, err = im.newConst(name, ir.Float32, []int{len(fs)}, func(i int) float64 { return float64(fs[i]) }, nil)
		}
	case n.a.has("value_int"):
		var v int64
		if v, err = n.a.int("value_int", 0); err == nil {
			c, err = im.intConst(name, nil, []int64{v})
		}
	case n.a.has("value_ints"):
		var vs []int64
		if vs, err = n.a.ints("value_ints"); err == nil {
			c, err = im.intConst(name, []int{len(vs)}, vs)
		}
	default:
		return fmt.Errorf("has no supported value attribute (sparse and string constants are not supported)")
	}
	if err != nil {
		return err
	}
	im.set(n, 0, value{t: c})
	return nil
}

func opConstantOfShape(im *importer, n *node) error {
	if err := n.need(1, 1); err != nil {
		return err
	}
	dims, err := constInts(n.in[0], "the shape input")
	if err != nil {
		return err
	}
	shape := make([]int, len(dims))
	for i, d := range dims {
		if d < 0 || d > MaxElements {
			return fmt.Errorf("shape %v has an invalid dimension", dims)
		}
		shape[i] = int(d)
	}
	dt, fill := ir.Float32, 0.0
	if n.a.has("value") {
		tp, err := n.a.tensor("value")
		if err != nil {
			return err
		}
		v, err := im.decodeConst(tp)
		if err != nil {
			return err
		}
		if v.Len() != 1 {
			return fmt.Errorf("value attribute has %d elements, want 1", v.Len())
		}
		dt, fill = v.DType, constFloat(v, 0)
	}
	c, err := im.newConst(n.p.Output[0], dt, shape, func(int) float64 { return fill }, func(int) int64 { return int64(fill) })
	if err != nil {
		return err
	}
	im.set(n, 0, value{t: c})
	return nil
}

// opShape gives the ONNX shape of its input: static after import, so a
// constant, whatever the input's storage.
// knownShape refuses a Shape or Size of a value whose shape the import does
// not know (an opaque node's undeclared output): folding its placeholder
// shape would give a wrong constant, and mnconv has no runtime Shape.
func (im *importer) knownShape(n *node) error {
	if im.shapeUnknown[n.in[0].t] {
		return fmt.Errorf("the shape of input %q is not known at import (it comes from an untranslated node), so %s cannot be computed", n.in[0].t.Name, n.p.GetOpType())
	}
	return nil
}

func opShape(im *importer, n *node) error {
	if err := n.need(1, 1); err != nil {
		return err
	}
	if err := im.knownShape(n); err != nil {
		return err
	}
	s := n.in[0].shape()
	r := int64(len(s))
	start, err := n.a.int("start", 0)
	if err != nil {
		return err
	}
	end, err := n.a.int("end", r)
	if err != nil {
		return err
	}
	clamp := func(x int64) int64 {
		if x < 0 {
			x += r
		}
		return min(max(x, 0), r)
	}
	start, end = clamp(start), clamp(end)
	var vals []int64
	for i := start; i < end; i++ {
		vals = append(vals, int64(s[i]))
	}
	c, err := im.intConst(n.p.Output[0], []int{len(vals)}, vals)
	if err != nil {
		return err
	}
	im.set(n, 0, value{t: c})
	return nil
}

func opSize(im *importer, n *node) error {
	if err := n.need(1, 1); err != nil {
		return err
	}
	if err := im.knownShape(n); err != nil {
		return err
	}
	c, err := im.intConst(n.p.Output[0], nil, []int64{int64(n.in[0].t.Len())})
	if err != nil {
		return err
	}
	im.set(n, 0, value{t: c})
	return nil
}

func opGather(im *importer, n *node) error {
	if err := n.need(2, 2); err != nil {
		return err
	}
	data, ind := n.in[0], n.in[1]
	if !data.isConst() || !ind.isConst() {
		return fmt.Errorf("Gather is supported on constants only (shape computations)")
	}
	if ind.dtype() != ir.Int64 && ind.dtype() != ir.Int32 {
		return fmt.Errorf("indices have element type %v, want int64 or int32", ind.dtype())
	}
	ax64, err := n.a.int("axis", 0)
	if err != nil {
		return err
	}
	r := data.rank()
	axis, err := normAxis(int(ax64), r)
	if err != nil || r == 0 {
		return fmt.Errorf("axis %d out of range for rank %d", ax64, r)
	}
	ds := data.t.Shape
	outShape := append(append(append([]int{}, ds[:axis]...), ind.t.Shape...), ds[axis+1:]...)
	outer := ir.NumElements(ds[:axis])
	inner := ir.NumElements(ds[axis+1:])
	nInd := ind.t.Len()
	if int64(outer)*int64(nInd)*int64(inner) > MaxFoldElements {
		return fmt.Errorf("result has more than %d elements, the limit for a computed constant", MaxFoldElements)
	}
	idx := make([]int, 0, outer*nInd*inner)
	for o := 0; o < outer; o++ {
		for k := 0; k < nInd; k++ {
			j := constInt(ind.t, k)
			if j < 0 {
				j += int64(ds[axis])
			}
			if j < 0 || j >= int64(ds[axis]) {
				return fmt.Errorf("index %d out of range for dimension %d", constInt(ind.t, k), ds[axis])
			}
			for i := 0; i < inner; i++ {
				idx = append(idx, (o*ds[axis]+int(j))*inner+i)
			}
		}
	}
	if err := im.spend(int64(len(idx)) * int64(data.dtype().Size())); err != nil {
		return err
	}
	c := &ir.Tensor{Name: n.p.Output[0], DType: data.dtype(), Shape: outShape, Data: data.t.Data.Take(idx)}
	im.set(n, 0, value{t: c})
	return nil
}

func opCast(im *importer, n *node) error {
	if err := n.need(1, 1); err != nil {
		return err
	}
	to, err := n.a.int("to", 0)
	if err != nil {
		return err
	}
	dt, err := onnxfmt.DType(int32(to))
	if err != nil {
		return fmt.Errorf("cast to %v", err)
	}
	x := n.in[0]
	if x.dtype() == dt && x.quant() == nil {
		im.set(n, 0, x)
		return nil
	}
	if p := im.producer[x.t]; p != nil && p.Op == ir.OpArgMax && !x.isConst() && (dt == ir.Int32 || dt == ir.Int64) {
		// ArgMax's int64 indices cast to int32 (mnconv's export of an
		// int32 ArgMax): the same ArgMax with int32 indices. The int64
		// one is removed as dead unless something else reads it.
		a := *p.Attrs.(*ir.ArgMaxAttrs)
		a.OutputType = dt
		out := n.outTensor(0, dt)
		if _, err := im.emit(n, "", ir.OpArgMax, &a, slices.Clone(p.Inputs), out); err != nil {
			return err
		}
		im.set(n, 0, value{t: out, perm: x.perm})
		return nil
	}
	if !x.isConst() {
		return fmt.Errorf("Cast is supported on constants only (from %v to %v)", x.dtype(), dt)
	}
	c, err := im.newConst(n.p.Output[0], dt, x.t.Shape,
		func(i int) float64 { return constFloat(x.t, i) },
		func(i int) int64 {
			if x.dtype() == ir.Float32 {
				return truncInt(constFloat(x.t, i))
			}
			return constInt(x.t, i)
		})
	if err != nil {
		return err
	}
	im.set(n, 0, value{t: c})
	return nil
}

// truncInt converts toward zero, saturating where Go's conversion would be
// undefined.
func truncInt(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

func opIdentity(im *importer, n *node) error {
	if err := n.need(1, 1); err != nil {
		return err
	}
	im.set(n, 0, n.in[0])
	return nil
}

// opDropout is the identity at inference; its mask output is refused if
// anything reads it. The is_test attribute of opset < 7 is ignored, as for
// BatchNormalization: exporters of that time often left it at its default
// in inference models.
func opDropout(im *importer, n *node) error {
	if err := n.need(1, 3); err != nil {
		return err
	}
	if n.has(2) {
		c := n.in[2]
		if !c.isConst() || c.t.Len() != 1 {
			return fmt.Errorf("training_mode input must be a constant")
		}
		if constFloat(c.t, 0) != 0 {
			return fmt.Errorf("training-mode Dropout is not supported")
		}
	}
	im.set(n, 0, n.in[0])
	if len(n.p.Output) > 1 && n.p.Output[1] != "" {
		im.poisoned[n.p.Output[1]] = "it is a Dropout mask, which mnconv does not compute"
	}
	return nil
}

// foldBinary evaluates a broadcasting arithmetic op on two constants.
func (im *importer) foldBinary(op ir.Op, a, b *ir.Tensor, name string) (*ir.Tensor, error) {
	shape, err := ir.BroadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	ia, ib := broadcastIndex(shape, a.Shape), broadcastIndex(shape, b.Shape)
	if a.DType == ir.Float32 {
		return im.newConst(name, a.DType, shape, func(i int) float64 {
			x, y := float32(constFloat(a, ia[i])), float32(constFloat(b, ib[i]))
			switch op {
			case ir.OpAdd:
				return float64(x + y)
			case ir.OpSub:
				return float64(x - y)
			case ir.OpMul:
				return float64(x * y)
			case ir.OpDiv:
				return float64(x / y)
			case ir.OpMax:
				return float64(max(x, y))
			}
			return float64(min(x, y))
		}, nil)
	}
	for i := range ib {
		if op == ir.OpDiv && constInt(b, ib[i]) == 0 {
			return nil, fmt.Errorf("integer division by zero in constant %q", b.Name)
		}
	}
	return im.newConst(name, a.DType, shape, nil, func(i int) int64 {
		x, y := constInt(a, ia[i]), constInt(b, ib[i])
		switch op {
		case ir.OpAdd:
			return x + y
		case ir.OpSub:
			return x - y
		case ir.OpMul:
			return x * y
		case ir.OpDiv:
			return x / y
		case ir.OpMax:
			return max(x, y)
		}
		return min(x, y)
	})
}

// broadcastIndex lists, for each element of out, the flat index of the
// element of a tensor of shape in that numpy broadcasting reads.
func broadcastIndex(out, in []int) []int {
	r := len(out)
	stride := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		j := i - (r - len(in))
		if j >= 0 && in[j] != 1 {
			stride[i] = s
			s *= in[j]
		}
	}
	n := ir.NumElements(out)
	idx := make([]int, n)
	pos := make([]int, r)
	src := 0
	for k := range idx {
		idx[k] = src
		for i := r - 1; i >= 0; i-- {
			pos[i]++
			src += stride[i]
			if pos[i] < out[i] {
				break
			}
			src -= pos[i] * stride[i]
			pos[i] = 0
		}
	}
	return idx
}
