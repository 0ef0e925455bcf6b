package quantize_test

import (
	"context"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/quantize"
)

// TestPipelineIsTheSteps: Pipeline.Run gives exactly what passes ->
// PrepareGraph -> Calibrate -> Quantize give when called one by one, one
// result per config from a single calibration, with hooks and progress called.
func TestPipelineIsTheSteps(t *testing.T) {
	g, err := builder.Build(builder.Config{Arch: builder.V3Small, Alpha: 0.25, Resolution: 64, Classes: 5, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	manual := g.Clone()
	src := randomSource{shape: g.Inputs[0].Shape, n: 3, seed: 5}
	cfgs := []quantize.Config{{Method: quantize.MinMax}, {Method: quantize.Percentile, Percentile: 99}}

	var optimized, items, ended int
	p := quantize.Pipeline{
		Optimized: func(g *ir.Graph, rep *passes.Report) error {
			optimized++
			for _, n := range g.Nodes {
				if n.Op == ir.OpBatchNorm {
					t.Errorf("Optimized hook sees BatchNorm %q: passes have not run", n.Name)
				}
			}
			return nil
		},
		Calibration: func(*ir.Graph) (quantize.Source, error) { return src, nil },
		Progress: func(total int) (func(), func()) {
			if total != src.n {
				t.Errorf("progress total %d, want %d", total, src.n)
			}
			return func() { items++ }, func() { ended++ }
		},
		Configs: cfgs,
	}
	out, err := p.Run(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	if optimized != 1 || items != src.n || ended != 1 || out.Float != g || out.Stats.Images != src.n || len(out.Results) != len(cfgs) {
		t.Fatalf("hooks %d/%d/%d, %d images, %d results", optimized, items, ended, out.Stats.Images, len(out.Results))
	}

	if _, err := passes.Run(manual, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	if err := quantize.PrepareGraph(manual); err != nil {
		t.Fatal(err)
	}
	if manual.Dump() != g.Dump() {
		t.Errorf("pipeline float graph differs from passes + PrepareGraph")
	}
	st, err := quantize.Calibrate(context.Background(), manual, src, quantize.CalibrateOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, cfg := range cfgs {
		res, err := quantize.Quantize(manual, st, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Graph.Dump() != out.Results[i].Graph.Dump() {
			t.Errorf("config %d: pipeline result differs from the steps'", i)
		}
	}
	rep, err := out.Compare(1, 2)
	if err != nil || rep == nil {
		t.Fatalf("Compare: %v", err)
	}
}
