package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/mnconv/mnconv/eval"
	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/quantize"
)

// fallbackRun is quantize --eval DIR2 --max-drop P: the float model and
// each try measured on DIR2, the worst layers by isolated error kept in
// float until the drop is within P (quantize.Fallback). It returns the best
// result and whether it met the budget.
func fallbackRun(ctx context.Context, stdout io.Writer, orig *ir.Graph, o *quantize.Outcome, cfg quantize.Config,
	prep eval.Config, exp *exporters.Format, warn func(string)) (*quantize.Result, bool, error) {
	start := time.Now()
	dir := quantFlags.evalDir
	items, err := eval.LoadLabels(filepath.Join(dir, "labels.csv"), dir)
	if err != nil {
		return nil, false, usageErrorf("--eval: %v", err)
	}
	floatRes, err := eval.Evaluate(ctx, []*ir.Graph{orig}, items, prep)
	if err != nil {
		return nil, false, fmt.Errorf("--eval: float model: %v", err)
	}
	fmt.Fprintf(stdout, "fallback: float top-1 %.2f%% on %d images of %s; budget: drop <= %.2f points (%.0fs)\n", floatRes.Top1, floatRes.N, dir, quantFlags.maxDrop, time.Since(start).Seconds())
	rep, err := o.Compare(0, max(quantFlags.reportN, 4))
	if err != nil {
		return nil, false, fmt.Errorf("fallback: ranking layers: %v", err)
	}
	ranked := rep.Rank()
	fmt.Fprintf(stdout, "fallback: %d layers ranked by isolated error on %d calibration images (%.0fs)\n", len(ranked), rep.Images, time.Since(start).Seconds())
	results := map[*quantize.Result]*eval.Result{}
	f := quantize.Fallback{MaxDrop: quantFlags.maxDrop,
		Measure: func(ctx context.Context, res *quantize.Result) (float64, error) {
			r, err := eval.Evaluate(ctx, []*ir.Graph{res.Graph}, items, prep)
			if err != nil {
				return 0, err
			}
			results[res] = r
			return r.Top1, nil
		},
		Step: func(s quantize.FallbackStep) {
			fmt.Fprintf(stdout, "fallback: step: %s (%.0fs)\n", s, time.Since(start).Seconds())
		},
	}
	quant := func(c quantize.Config) (*quantize.Result, error) {
		if len(c.Exclude) == len(cfg.Exclude) {
			return o.Results[0], nil // the all-int8 try: what the pipeline made (bias corrected)
		}
		res, err := quantize.Quantize(o.Float, o.Stats, c)
		if err == nil {
			err = quantize.Refine(ctx, o.Float, res, o.Source, c)
		}
		return res, err
	}
	steps, best, ok, err := f.Run(ctx, floatRes.Top1, ranked, cfg, quant)
	if err != nil {
		return nil, false, err
	}
	sizes := [2]int{}
	for i, r := range []*quantize.Result{steps[0].Result, best.Result} {
		if data, err := exp.Export(r.Graph, exporters.Options{}); err == nil {
			sizes[i] = len(data)
		}
	}
	verdict := "within"
	if !ok {
		verdict = "NOT within"
	}
	var short []string
	for _, n := range best.Float {
		short = append(short, strings.SplitN(n, ";", 2)[0]) // a fused TFLite node's first name
	}
	fmt.Fprintf(stdout, "fallback: kept in float (%d): %s\n", len(best.Float), strings.Join(short, ", "))
	fmt.Fprintf(stdout, "fallback: final top-1 %.2f%% (float %.2f%%): drop %.2f points, %s the budget %.2f; %d steps in %.0fs; size %d bytes (all-int8 %d)\n",
		best.Accuracy, floatRes.Top1, best.Drop, verdict, quantFlags.maxDrop, len(steps), time.Since(start).Seconds(), sizes[1], sizes[0])
	if quantFlags.junit != "" {
		g := eval.Gate{MaxDrop: quantFlags.maxDrop, MinTop1: -1}
		if err := g.WriteJUnit(quantFlags.junit, "mnconv.quantize.fallback", g.Compare(results[best.Result], floatRes)); err != nil {
			return nil, false, err
		}
	}
	return best.Result, ok, nil
}

// fallbackPrep is eval's preprocessing for the float model and the tries;
// its cache decodes each --eval image once for all of them (up to 2 GiB of
// pixels: 14,000 images at 224x224; the rest are decoded every time).
func fallbackPrep(preset preprocess.Preset, mode preprocess.Mode) eval.Config {
	return eval.Config{Preset: preset, Mode: mode, LimitUnreadable: true, Cache: &eval.ImageCache{MaxBytes: 2 << 30}}
}
