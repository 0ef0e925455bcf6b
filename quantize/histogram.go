package quantize

import (
	"math"
)

// histBins is the number of bins of an activation histogram. Even, so that
// doubling the range merges bin pairs exactly.
const histBins = 2048

// Histogram is a streaming, order-independent histogram of a tensor's values.
//
// The range is [-R, R) with R a power of two and bin width w = R/(bins/2),
// also a power of two. A value x goes to bin floor(x/w) + bins/2: dividing by
// a power of two is exact in floating point, so the bin of x at range 2R is
// exactly the merge of its bins at range R (i -> bins/4 + i/2). Whatever order
// the images arrive in and however the workers' histograms are merged, the
// result depends only on the multiset of values: calibration gives the same
// bytes for any GOMAXPROCS.
type Histogram struct {
	Min, Max float64 // exact extremes seen
	Count    int64
	LogR     int // R = 2^LogR; meaningful once Count > 0
	Bins     []int64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{Min: math.Inf(1), Max: math.Inf(-1), Bins: make([]int64, histBins)}
}

// width is the bin width 2^LogR / (bins/2).
func (h *Histogram) width() float64 { return math.Ldexp(1, h.LogR) / (histBins / 2) }

// grow doubles R until |x| < R for every x in [lo, hi].
func (h *Histogram) grow(logR int) {
	for h.LogR < logR {
		next := make([]int64, histBins)
		for i, c := range h.Bins {
			next[histBins/4+i/2] += c
		}
		h.Bins = next
		h.LogR++
	}
}

// needLogR is the smallest power-of-two exponent with |v| < 2^e.
func needLogR(v float64) int {
	v = math.Abs(v)
	if v == 0 || math.IsNaN(v) {
		return -30
	}
	_, e := math.Frexp(v) // v = f * 2^e, f in [0.5, 1): v < 2^e
	return max(e, -30)
}

// Add records values. NaN and Inf values are ignored (counted nowhere): a
// float model producing them is reported elsewhere.
func (h *Histogram) Add(values []float32) {
	const big = math.MaxFloat32
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		// NaN fails both comparisons; ±Inf fails one
		if f := float64(v); f >= -big && f <= big {
			lo = min(lo, f)
			hi = max(hi, f)
		}
	}
	if lo > hi {
		return
	}
	need := max(needLogR(lo), needLogR(hi))
	if h.Count == 0 {
		h.LogR = need
	}
	h.grow(need)
	h.Min = min(h.Min, lo)
	h.Max = max(h.Max, hi)
	// 1/w is a power of two, so f*inv is exactly f/w.
	inv := 1 / h.width()
	bins := h.Bins[:histBins]
	var n int64
	for _, v := range values {
		f := float64(v)
		if !(f >= -big && f <= big) {
			continue
		}
		i := int(math.Floor(f*inv)) + histBins/2
		if i < 0 {
			i = 0
		} else if i >= histBins {
			i = histBins - 1
		}
		bins[i]++
		n++
	}
	h.Count += n
}

// Merge adds o's counts into h.
func (h *Histogram) Merge(o *Histogram) {
	if o.Count == 0 {
		return
	}
	if h.Count == 0 {
		h.LogR = o.LogR
	}
	h.grow(o.LogR)
	oc := &Histogram{LogR: o.LogR, Bins: append([]int64(nil), o.Bins...)}
	oc.grow(h.LogR)
	for i, c := range oc.Bins {
		h.Bins[i] += c
	}
	h.Count += o.Count
	h.Min = min(h.Min, o.Min)
	h.Max = max(h.Max, o.Max)
}

// binLo is the lower edge of bin i.
func (h *Histogram) binLo(i int) float64 { return float64(i-histBins/2) * h.width() }

// Quantile returns the value below which a fraction p of the samples lie,
// interpolated inside the bin and clamped to [Min, Max].
func (h *Histogram) Quantile(p float64) float64 {
	if h.Count == 0 {
		return 0
	}
	target := p * float64(h.Count)
	var acc float64
	for i, c := range h.Bins {
		if c == 0 {
			continue
		}
		if acc+float64(c) >= target {
			frac := (target - acc) / float64(c)
			v := h.binLo(i) + frac*h.width()
			return min(max(v, h.Min), h.Max)
		}
		acc += float64(c)
	}
	return h.Max
}
