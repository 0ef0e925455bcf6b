package quantize

import (
	"fmt"
	"math"
	"strings"
)

// Method picks an activation's quantization range from its histogram.
type Method uint8

// Range selection methods.
const (
	MinMax     Method = iota // the observed extremes
	Percentile               // the P-th and (100-P)-th percentiles
	Entropy                  // the clipping threshold minimising KL(P||Q), as TensorRT's calibrator
	MSE                      // the range minimising expected squared error (clipping + rounding)
)

var methodNames = [...]string{"minmax", "percentile", "entropy", "mse"}

func (m Method) String() string {
	if int(m) < len(methodNames) {
		return methodNames[m]
	}
	return fmt.Sprintf("method(%d)", uint8(m))
}

// ParseMethod reads a method name.
func ParseMethod(s string) (Method, error) {
	for i, n := range methodNames {
		if strings.EqualFold(s, n) {
			return Method(i), nil
		}
	}
	return 0, fmt.Errorf("unknown calibration method %q (want minmax, percentile, entropy or mse)", s)
}

// chooseRange returns the real range [lo, hi] for a histogram; levels is the
// number of quantization steps (255 for 8 bits).
func chooseRange(h *Histogram, m Method, percentile float64, levels int) (lo, hi float64) {
	if h.Count == 0 {
		return 0, 0
	}
	switch m {
	case Percentile:
		p := percentile / 100
		return h.Quantile(1 - p), h.Quantile(p)
	case Entropy:
		return entropyRange(h, levels)
	case MSE:
		return mseRange(h, levels)
	}
	return h.Min, h.Max
}

// entropyRange folds the histogram to |x| and searches the threshold T whose
// quantized distribution (levels/2 steps per side for signed data, levels for
// non-negative data) is closest in KL divergence to the clipped reference.
func entropyRange(h *Histogram, levels int) (lo, hi float64) {
	half := histBins / 2
	abs := make([]float64, half)
	for i, c := range h.Bins {
		j := i - half
		if j < 0 {
			j = -j - 1
		}
		abs[j] += float64(c)
	}
	q := levels
	if h.Min < 0 {
		q = (levels + 1) / 2
	}
	last := half
	for last > 0 && abs[last-1] == 0 {
		last--
	}
	if last <= q {
		return h.Min, h.Max
	}
	best, bestKL := last, math.Inf(1)
	p := make([]float64, last)
	for i := q; i <= last; i++ {
		// P is the clipped reference: the outliers' mass moved into its
		// last bin. Q quantizes the histogram inside the threshold alone,
		// so clipping a heavy tail costs what it should.
		copy(p, abs[:i])
		var outliers float64
		for _, c := range abs[i:last] {
			outliers += c
		}
		p[i-1] += outliers
		kl := klQuantized(p[:i], abs[:i], q)
		if kl < bestKL {
			best, bestKL = i, kl
		}
	}
	t := float64(best) * h.width()
	return max(h.Min, -t), min(h.Max, t)
}

// klQuantized is KL(P||Q) where Q merges the inside histogram h into q
// groups and spreads each group's mass evenly over its bins that are
// non-empty in P.
func klQuantized(p, h []float64, q int) float64 {
	n := len(p)
	var totalP, totalQ float64
	for k := range p {
		totalP += p[k]
		totalQ += h[k]
	}
	if totalP == 0 || totalQ == 0 {
		return 0
	}
	qd := make([]float64, n)
	for g := 0; g < q; g++ {
		a, b := g*n/q, (g+1)*n/q
		var sum float64
		nz := 0
		for k := a; k < b; k++ {
			sum += h[k]
			if p[k] > 0 {
				nz++
			}
		}
		for k := a; k < b; k++ {
			if p[k] > 0 {
				qd[k] = sum / float64(nz)
			}
		}
	}
	var kl float64
	for k, v := range p {
		if v == 0 {
			continue
		}
		pk, qk := v/totalP, qd[k]/totalQ
		if qk == 0 {
			// P has mass where Q has none: smooth instead of infinite, so
			// that the comparison between thresholds stays finite
			qk = 1e-12
		}
		kl += pk * math.Log(pk/qk)
	}
	return kl
}

// mseRange shrinks the observed range by a factor k in (0, 1] and keeps the k
// that minimises the expected squared error of quantizing the histogram:
// clipping error for bins outside, uniform rounding noise s^2/12 inside.
func mseRange(h *Histogram, levels int) (lo, hi float64) {
	lo0, hi0 := min(h.Min, 0), max(h.Max, 0)
	if hi0 == lo0 {
		return lo0, hi0
	}
	w := h.width()
	best, bestErr := 1.0, math.Inf(1)
	for step := 0; step < 200; step++ {
		k := 1 - float64(step)*0.0045
		l, u := lo0*k, hi0*k
		s := (u - l) / float64(levels)
		var e float64
		for i, c := range h.Bins {
			if c == 0 {
				continue
			}
			x := h.binLo(i) + w/2
			switch {
			case x > u:
				e += float64(c) * (x - u) * (x - u)
			case x < l:
				e += float64(c) * (l - x) * (l - x)
			default:
				e += float64(c) * s * s / 12
			}
		}
		if e < bestErr {
			best, bestErr = k, e
		}
	}
	return lo0 * best, hi0 * best
}
