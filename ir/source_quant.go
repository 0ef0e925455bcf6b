package ir

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SourceQuant is the quantization a graph input or output had in the model
// a float graph was dequantized from (passes.Dequantize): its values were
// DType integers with real = scale * (q - zero_point). It tells a caller what
// preprocessing the float model expects.
type SourceQuant struct {
	DType DType
	Quant *Quant
}

// Clone returns a deep copy.
func (s SourceQuant) Clone() SourceQuant { return SourceQuant{DType: s.DType, Quant: s.Quant.Clone()} }

// String is the fact's text form, which mnconv writes into files (the TFLite
// description) and ParseSourceQuant reads back:
//
//	uint8 scale=0.0078125 zero_point=128
//	int8 axis=0 scales=[0.1 0.2] zero_points=[0 0]
func (s SourceQuant) String() string {
	q := s.Quant
	if q == nil {
		q = &Quant{}
	}
	if len(q.Scale) == 1 {
		return fmt.Sprintf("%v scale=%.9g zero_point=%d", s.DType, q.Scale[0], q.ZP(0))
	}
	return fmt.Sprintf("%v axis=%d scales=%v zero_points=%v", s.DType, q.Axis, q.Scale, q.ZeroPoint)
}

// PerTensor returns the per-tensor scale and zero point of an 8-bit source
// quantization; ok is false for anything else.
func (s SourceQuant) PerTensor() (dt DType, scale float32, zp int64, ok bool) {
	if !s.DType.IsQuantized() || s.Quant == nil || len(s.Quant.Scale) != 1 || !(s.Quant.Scale[0] > 0) {
		return 0, 0, 0, false
	}
	return s.DType, s.Quant.Scale[0], s.Quant.ZP(0), true
}

// ParseSourceQuant reads SourceQuant.String's form. Only the canonical text
// is accepted (the parsed value prints back to exactly s), so that a fact
// read from a file is written again byte for byte.
func ParseSourceQuant(s string) (SourceQuant, error) {
	bad := func() (SourceQuant, error) {
		return SourceQuant{}, fmt.Errorf("source quantization %q: want %q", s, "uint8 scale=S zero_point=Z")
	}
	name, rest, _ := strings.Cut(s, " ")
	dt := Invalid
	for d, n := range dtypeNames {
		if n == name && d != int(Invalid) {
			dt = DType(d)
		}
	}
	if dt == Invalid {
		return bad()
	}
	q := &Quant{}
	if v, ok := strings.CutPrefix(rest, "scale="); ok {
		sc, zp, ok := strings.Cut(v, " zero_point=")
		f, err1 := strconv.ParseFloat(sc, 32)
		z, err2 := strconv.ParseInt(zp, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return bad()
		}
		q.Scale, q.ZeroPoint = []float32{float32(f)}, []int64{z}
	} else if v, ok := strings.CutPrefix(rest, "axis="); ok {
		ax, v, ok1 := strings.Cut(v, " scales=[")
		sc, zp, ok2 := strings.Cut(v, "] zero_points=[")
		zp, ok3 := strings.CutSuffix(zp, "]")
		a, err := strconv.Atoi(ax)
		if !ok1 || !ok2 || !ok3 || err != nil {
			return bad()
		}
		q.Axis = a
		for _, f := range strings.Fields(sc) {
			x, err := strconv.ParseFloat(f, 32)
			if err != nil {
				return bad()
			}
			q.Scale = append(q.Scale, float32(x))
		}
		for _, f := range strings.Fields(zp) {
			z, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return bad()
			}
			q.ZeroPoint = append(q.ZeroPoint, z)
		}
	} else {
		return bad()
	}
	out := SourceQuant{DType: dt, Quant: q}
	if out.String() != s {
		return bad()
	}
	return out, nil
}

// QuantizeValue is the quantized value of real v: round(v/scale) + zp,
// rounded half away from zero and clamped to dt's range.
func QuantizeValue(v float64, scale float32, zp int64, dt DType) int32 {
	lo, hi := dt.Range()
	q := math.Round(v/float64(scale)) + float64(zp)
	return int32(min(max(q, float64(lo)), float64(hi)))
}
