package ir

import "fmt"

// DType is an element type.
type DType uint8

// Element types. Float32 is the zero value's successor so that an unset DType
// is detectably Invalid.
const (
	Invalid DType = iota
	Float32
	Int8
	Uint8
	Int32
	Int64
)

var dtypeNames = [...]string{"invalid", "float32", "int8", "uint8", "int32", "int64"}

func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Size is the element size in bytes (0 for Invalid).
func (d DType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Int8, Uint8:
		return 1
	case Int64:
		return 8
	}
	return 0
}

// IsQuantized reports whether d is one of the 8-bit types that carry
// quantization parameters.
func (d DType) IsQuantized() bool { return d == Int8 || d == Uint8 }

// Range is the representable integer range of an integer dtype.
func (d DType) Range() (lo, hi int64) {
	switch d {
	case Int8:
		return -128, 127
	case Uint8:
		return 0, 255
	case Int32:
		return -1 << 31, 1<<31 - 1
	case Int64:
		return -1 << 63, 1<<63 - 1
	}
	return 0, 0
}

// Quant holds affine quantization parameters: real = Scale * (q - ZeroPoint).
// One scale means per-tensor; several mean per-axis along Axis.
type Quant struct {
	Scale     []float32
	ZeroPoint []int64
	Axis      int
}

// PerAxis reports whether q has one scale per slice along Axis.
func (q *Quant) PerAxis() bool { return q != nil && len(q.Scale) > 1 }

// Clone returns a deep copy (nil stays nil).
func (q *Quant) Clone() *Quant {
	if q == nil {
		return nil
	}
	return &Quant{Scale: append([]float32(nil), q.Scale...), ZeroPoint: append([]int64(nil), q.ZeroPoint...), Axis: q.Axis}
}

// Equal reports whether q and o map stored values to the same real ones
// (nil equals only nil; absent zero points are zeros; the axis counts only
// when per-axis).
func (q *Quant) Equal(o *Quant) bool {
	if q == nil || o == nil {
		return q == o
	}
	if len(q.Scale) != len(o.Scale) || (q.PerAxis() && q.Axis != o.Axis) {
		return false
	}
	for c := range q.Scale {
		if q.Scale[c] != o.Scale[c] || q.ZP(c) != o.ZP(c) {
			return false
		}
	}
	return true
}

// ZP returns the zero point for channel c (per-tensor quant ignores c).
func (q *Quant) ZP(c int) int64 {
	if len(q.ZeroPoint) == 0 {
		return 0
	}
	if len(q.ZeroPoint) == 1 {
		return q.ZeroPoint[0]
	}
	return q.ZeroPoint[c]
}

// S returns the scale for channel c (per-tensor quant ignores c).
func (q *Quant) S(c int) float32 {
	if len(q.Scale) == 1 {
		return q.Scale[0]
	}
	return q.Scale[c]
}
