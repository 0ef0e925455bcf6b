package quantize

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

func TestHistogramOrderIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]float32, 5000)
	for i := range vals {
		// widely varying magnitudes so the range grows several times
		vals[i] = float32(r.NormFloat64() * math.Pow(2, float64(i%7)))
	}
	whole := NewHistogram()
	whole.Add(vals)

	// Small chunks first then big ones, merged in another order.
	parts := []*Histogram{NewHistogram(), NewHistogram(), NewHistogram()}
	for i := 0; i < len(vals); i += 100 {
		parts[(i/100)%3].Add(vals[i : i+100])
	}
	merged := NewHistogram()
	for _, k := range []int{2, 0, 1} {
		merged.Merge(parts[k])
	}
	if !reflect.DeepEqual(whole, merged) {
		t.Fatalf("merged histogram differs from the one-pass histogram: LogR %d vs %d, count %d vs %d", whole.LogR, merged.LogR, whole.Count, merged.Count)
	}
}

func TestHistogramQuantile(t *testing.T) {
	h := NewHistogram()
	vals := make([]float32, 1000)
	for i := range vals {
		vals[i] = float32(i) / 1000 // [0, 1)
	}
	h.Add(vals)
	if h.Min != 0 || h.Max != float64(float32(0.999)) {
		t.Fatalf("min/max = %v/%v", h.Min, h.Max)
	}
	for _, p := range []float64{0.1, 0.5, 0.9} {
		if got := h.Quantile(p); math.Abs(got-p) > 2.0/histBins*2 {
			t.Errorf("Quantile(%v) = %v", p, got)
		}
	}
}

func TestActParams(t *testing.T) {
	// [0, 6] in int8: scale 6/255, zero point -128 (0 maps exactly).
	s, zp := actParams(0, 6, ir.Int8)
	if math.Abs(float64(s)-6.0/255) > 1e-9 || zp != -128 {
		t.Fatalf("got %v %v", s, zp)
	}
	// a range not holding 0 is widened to hold it
	s, zp = actParams(1, 2, ir.Int8)
	if zp != -128 || math.Abs(float64(s)-2.0/255) > 1e-9 {
		t.Fatalf("got %v %v", s, zp)
	}
}

func TestRangeMethods(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := make([]float32, 20000)
	for i := range vals {
		vals[i] = float32(r.NormFloat64())
	}
	vals[0] = 40 // one outlier
	h := NewHistogram()
	h.Add(vals)
	lo, hi := chooseRange(h, MinMax, 0, 255)
	if hi != 40 {
		t.Errorf("minmax hi = %v", hi)
	}
	for _, m := range []Method{Percentile, Entropy, MSE} {
		lo, hi = chooseRange(h, m, 99.9, 255)
		if !(hi < 40 && hi > 2 && lo < -2) {
			t.Errorf("%v: range [%v, %v] should clip the outlier and keep the bulk", m, lo, hi)
		}
	}
}

func BenchmarkHistogramAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	vals := make([]float32, 1<<16)
	for i := range vals {
		vals[i] = float32(r.NormFloat64() * 3)
	}
	h := NewHistogram()
	b.SetBytes(int64(len(vals) * 4))
	for b.Loop() {
		h.Add(vals)
	}
}
