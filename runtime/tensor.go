package runtime

import (
	"fmt"

	"github.com/mnconv/mnconv/ir"
)

// Tensor is a runtime value: a shape, a dtype and exactly one element slice
// matching the dtype.
type Tensor struct {
	DType ir.DType
	Shape []int
	F32   []float32
	I8    []int8
	U8    []uint8
	I32   []int32
	I64   []int64
}

// NewTensor allocates a zeroed tensor.
func NewTensor(dt ir.DType, shape []int) *Tensor {
	t := &Tensor{DType: dt, Shape: append([]int(nil), shape...)}
	n := ir.NumElements(shape)
	switch dt {
	case ir.Float32:
		t.F32 = make([]float32, n)
	case ir.Int8:
		t.I8 = make([]int8, n)
	case ir.Uint8:
		t.U8 = make([]uint8, n)
	case ir.Int32:
		t.I32 = make([]int32, n)
	case ir.Int64:
		t.I64 = make([]int64, n)
	}
	return t
}

// FromConst wraps an ir constant without copying.
func FromConst(c *ir.Tensor) *Tensor {
	d := c.Data
	return &Tensor{DType: c.DType, Shape: c.Shape, F32: d.F32, I8: d.I8, U8: d.U8, I32: d.I32, I64: d.I64}
}

// Len is the element count.
func (t *Tensor) Len() int { return ir.NumElements(t.Shape) }

// Float returns element i as float64 whatever the dtype (raw integer values,
// not dequantized).
func (t *Tensor) Float(i int) float64 {
	switch t.DType {
	case ir.Float32:
		return float64(t.F32[i])
	case ir.Int8:
		return float64(t.I8[i])
	case ir.Uint8:
		return float64(t.U8[i])
	case ir.Int32:
		return float64(t.I32[i])
	case ir.Int64:
		return float64(t.I64[i])
	}
	return 0
}

// Floats returns all elements as float64 (raw values).
func (t *Tensor) Floats() []float64 {
	out := make([]float64, t.Len())
	for i := range out {
		out[i] = t.Float(i)
	}
	return out
}

// Dequantized returns the real values of t under q (t's values when q is nil
// or t is float).
func (t *Tensor) Dequantized(q *ir.Quant) []float32 {
	if t.DType == ir.Float32 {
		return t.F32
	}
	out := make([]float32, t.Len())
	for i := range out {
		v := t.Float(i)
		if q != nil {
			c := 0
			if q.PerAxis() {
				c = channelOf(i, t.Shape, q.Axis)
			}
			v = float64(q.S(c)) * (v - float64(q.ZP(c)))
		}
		out[i] = float32(v)
	}
	return out
}

// channelOf returns the index along axis of flat element i.
func channelOf(i int, shape []int, axis int) int {
	inner := 1
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return (i / inner) % shape[axis]
}

func (t *Tensor) String() string { return fmt.Sprintf("%v%v", t.DType, t.Shape) }
