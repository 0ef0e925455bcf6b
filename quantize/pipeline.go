package quantize

import (
	"context"
	"fmt"
	"time"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	rt "github.com/mnconv/mnconv/runtime"
)

// Pipeline is post-training quantization of a float graph, the one sequence
// the CLI, the demo and the sweep run:
//
//	passes -> PrepareGraph -> Calibrate -> Quantize (one Result per Config)
//
// and, on request afterwards, Outcome.Compare for the error report.
type Pipeline struct {
	// Passes optimize the float graph first; nil means passes.Default.
	Passes []passes.Pass
	// Optimized, when set, is called after the passes and before
	// PrepareGraph with the graph and the passes' report.
	Optimized func(g *ir.Graph, rep *passes.Report) error
	// Calibration makes the calibration source for the optimized, prepared
	// graph (how images are preprocessed depends on its input). Required
	// unless Stats is set (then it only feeds Outcome.Compare).
	Calibration func(g *ir.Graph) (Source, error)
	// Stats, when set, are statistics calibrated before (the merged shards
	// of a sharded calibration): Calibrate is skipped.
	Stats *Stats
	// StatsOnly stops after calibration, with no quantized graph (a shard
	// of a sharded calibration writes its Stats).
	StatsOnly bool
	// Calibrate tunes calibration. Its Progress is replaced when Progress
	// below is set.
	Calibrate CalibrateOptions
	// Progress, when set, is told the number of calibration items before
	// calibration starts and returns the callback for each item and the one
	// for the end of calibration.
	Progress func(total int) (item, end func())
	// Configs: one quantized graph per config (the sweep's methods share one
	// calibration); none means one Config{}.
	Configs []Config
	// Equalize, when set, runs cross-layer equalization on the prepared
	// float graph before calibration (Outcome.Equalized says what it did).
	Equalize *EqualizeOptions
}

// Outcome is what a pipeline run made.
type Outcome struct {
	// Float is the optimized, prepared float graph that was calibrated: the
	// graph Run was given, rewritten in place.
	Float     *ir.Graph
	Optimized *passes.Report
	Source    Source
	Stats     *Stats
	CalibTime time.Duration // Calibrate's wall time
	Results   []*Result     // one per Pipeline.Configs entry
	Equalized *EqualizeReport
	configs   []Config
}

// Run carries g through the pipeline. g is rewritten in place.
func (p Pipeline) Run(ctx context.Context, g *ir.Graph) (*Outcome, error) {
	list := p.Passes
	if list == nil {
		list = passes.Default
	}
	out := &Outcome{Float: g}
	var err error
	if out.Optimized, err = passes.Run(g, list, nil); err != nil {
		return nil, err
	}
	if p.Optimized != nil {
		if err := p.Optimized(g, out.Optimized); err != nil {
			return nil, err
		}
	}
	if err := PrepareGraph(g); err != nil {
		return nil, err
	}
	if p.Calibration != nil {
		if out.Source, err = p.Calibration(g); err != nil {
			return nil, err
		}
	}
	if p.Equalize != nil {
		eq := *p.Equalize
		if eq.Bounded && !eq.ReplaceReLU6 && eq.PreActMax == nil && out.Source != nil {
			if eq.PreActMax, err = PreActivationMax(ctx, g, out.Source, 0); err != nil {
				return nil, err
			}
		}
		out.Equalized = Equalize(g, eq)
	}
	if p.Stats != nil {
		out.Stats = p.Stats
	} else if err := p.calibrate(ctx, g, out); err != nil {
		return nil, err
	}
	if p.StatsOnly {
		return out, nil
	}
	return p.finish(ctx, g, out)
}

// calibrate runs Calibrate over the source into out.
func (p Pipeline) calibrate(ctx context.Context, g *ir.Graph, out *Outcome) error {
	if out.Source == nil {
		return fmt.Errorf("quantize: no calibration source and no statistics")
	}
	opts := p.Calibrate
	end := func() {}
	if p.Progress != nil {
		opts.Progress, end = p.Progress(out.Source.Len())
	}
	start := time.Now()
	var err error
	out.Stats, err = Calibrate(ctx, g, out.Source, opts)
	end()
	if err != nil {
		return err
	}
	out.CalibTime = time.Since(start)
	return nil
}

// finish quantizes the calibrated graph once per config.
func (p Pipeline) finish(ctx context.Context, g *ir.Graph, out *Outcome) (*Outcome, error) {
	configs := p.Configs
	if len(configs) == 0 {
		configs = []Config{{}}
	}
	for _, cfg := range configs {
		res, err := Quantize(g, out.Stats, cfg)
		if err != nil {
			return nil, err
		}
		if err := Refine(ctx, g, res, out.Source, cfg); err != nil {
			return nil, err
		}
		out.Results = append(out.Results, res)
	}
	out.configs = configs
	return out, nil
}

// Refine applies the data-aware steps cfg asks for to res, quantized from
// the float graph g, with the calibration images src: depthwise weight
// scale search and rounding (RoundWeights), then bias correction
// (CorrectBias), in that order.
func Refine(ctx context.Context, g *ir.Graph, res *Result, src Source, cfg Config) error {
	var err error
	if cfg.Rounding || cfg.ScaleSearch {
		if src == nil {
			return fmt.Errorf("quantize: weight scale search and rounding need the calibration images")
		}
		if res.Rounded, err = RoundWeights(ctx, g, res, src, 0, cfg.Rounding, cfg.ScaleSearch); err != nil {
			return err
		}
	}
	if cfg.BiasCorrection {
		if src == nil {
			return fmt.Errorf("quantize: bias correction needs the calibration images")
		}
		if res.BiasCorrected, err = CorrectBias(ctx, g, res, src, 0); err != nil {
			return err
		}
	}
	return nil
}

// Compare is the error report of result i against the float graph on the
// first n readable calibration items.
func (o *Outcome) Compare(i, n int) (*Report, error) {
	if o.Source == nil {
		return nil, fmt.Errorf("no calibration images to compare on")
	}
	var inputs []*rt.Tensor
	for k := 0; k < o.Source.Len() && len(inputs) < n; k++ {
		if x, err := o.Source.Load(k); err == nil {
			inputs = append(inputs, x)
		}
	}
	return Compare(o.Float, o.Results[i], o.configs[i].Method, inputs)
}
