package quantize

import (
	"context"
	"fmt"
	"math"
	"sort"
)

// Accuracy-aware fallback: layers are ranked by isolated error (each
// quantized alone, the rest float: Report.Tensors' Isolated), and the k
// worst are kept in float (Config.Exclude, by output name) for growing k,
// 1, 2, 4, ... until the measured drop is within the budget, then the
// smallest passing k between the last failing and the first passing one is
// found by bisection. Every try is a Step.

// FallbackStep is one try: the layers kept in float and the accuracy.
type FallbackStep struct {
	Float    []string // output names of the layers kept in float
	Accuracy float64  // top-1 %, as Measure returned it
	Drop     float64  // float accuracy - Accuracy, points
	Result   *Result
}

// Fallback tunes the search.
type Fallback struct {
	MaxDrop float64 // points of top-1
	// Measure returns the accuracy (top-1 %) of a quantized result.
	Measure func(ctx context.Context, res *Result) (float64, error)
	// Step, when set, is told each try as it ends.
	Step func(FallbackStep)
	// MaxFloat bounds the layers kept in float; 0 means all ranked layers.
	MaxFloat int
}

// Rank is the report's layers worst isolated SQNR first (those with a
// measured isolated error).
func (r *Report) Rank() []string {
	ts := append([]TensorReport(nil), r.Tensors...)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Isolated < ts[j].Isolated })
	var names []string
	for _, t := range ts {
		if !math.IsNaN(t.Isolated) && !math.IsInf(t.Isolated, 1) {
			names = append(names, t.Name)
		}
	}
	return names
}

// Run searches from the all-int8 result first (cfg as is) and returns every
// step and the best: the passing step with the fewest float layers, or the
// one with the smallest drop when none passes (ok false). quantize makes a
// result from a config (Quantize plus any bias correction).
func (f Fallback) Run(ctx context.Context, floatAcc float64, ranked []string, cfg Config,
	quantize func(Config) (*Result, error)) (steps []FallbackStep, best FallbackStep, ok bool, err error) {
	if f.MaxFloat > 0 && f.MaxFloat < len(ranked) {
		ranked = ranked[:f.MaxFloat]
	}
	tried := map[int]FallbackStep{}
	try := func(k int) (FallbackStep, error) {
		if s, done := tried[k]; done {
			return s, nil
		}
		c := cfg
		c.Exclude = append(append([]string(nil), cfg.Exclude...), ranked[:k]...)
		res, err := quantize(c)
		if err != nil {
			return FallbackStep{}, err
		}
		acc, err := f.Measure(ctx, res)
		if err != nil {
			return FallbackStep{}, err
		}
		s := FallbackStep{Float: ranked[:k], Accuracy: acc, Drop: floatAcc - acc, Result: res}
		tried[k] = s
		steps = append(steps, s)
		if f.Step != nil {
			f.Step(s)
		}
		return s, nil
	}
	pass := func(s FallbackStep) bool { return s.Drop <= f.MaxDrop }
	lo, hi := -1, -1 // largest failing k, smallest passing k
	for k := 0; ; k = max(1, 2*k) {
		k = min(k, len(ranked))
		s, err := try(k)
		if err != nil {
			return steps, best, false, err
		}
		if pass(s) {
			hi = k
			break
		}
		lo = k
		if k == len(ranked) {
			break
		}
	}
	for hi >= 0 && hi-lo > 1 {
		mid := (lo + hi) / 2
		s, err := try(mid)
		if err != nil {
			return steps, best, false, err
		}
		if pass(s) {
			hi = mid
		} else {
			lo = mid
		}
	}
	if hi >= 0 {
		return steps, tried[hi], true, nil
	}
	best = steps[0]
	for _, s := range steps[1:] {
		if s.Drop < best.Drop {
			best = s
		}
	}
	return steps, best, false, nil
}

// String is a step's line.
func (s FallbackStep) String() string {
	return fmt.Sprintf("%d layers in float: top-1 %.2f%%, drop %.2f points", len(s.Float), s.Accuracy, s.Drop)
}
