package quantize_test

import (
	"context"
	"math"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/quantize"
	rt "github.com/mnconv/mnconv/runtime"
)

// preparedV2 is a small built MobileNetV2, optimized and prepared as the
// pipeline prepares it.
func preparedV2(t *testing.T) *ir.Graph {
	t.Helper()
	g, err := builder.Build(builder.Config{Arch: builder.V2, Alpha: 0.35, Resolution: 64, Classes: 10, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	if err := quantize.PrepareGraph(g); err != nil {
		t.Fatal(err)
	}
	return g
}

func runOnce(t *testing.T, g *ir.Graph, x *rt.Tensor) []float32 {
	t.Helper()
	it, err := rt.New(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := it.SetInput(0, x); err != nil {
		t.Fatal(err)
	}
	if err := it.Run(); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), it.Output(0).F32...)
}

// TestEqualizeKeepsTheFunction: with ReLU6 replaced by ReLU beforehand (so
// the float function is the one equalization keeps), equalizing changes no
// output beyond float rounding, and every equalized pair's channel ranges
// meet.
func TestEqualizeKeepsTheFunction(t *testing.T) {
	g := preparedV2(t)
	for _, n := range g.Nodes {
		if n.FusedAct() == ir.ActRelu6 {
			n.SetFusedAct(ir.ActRelu)
		}
	}
	x, _ := randomSource{shape: g.Inputs[0].Shape, n: 1, seed: 3}.Load(0)
	before := runOnce(t, g, x)
	rep := quantize.Equalize(g, quantize.EqualizeOptions{})
	if len(rep.Pairs) == 0 || rep.Refused != 0 {
		t.Fatalf("%d pairs, %d refused", len(rep.Pairs), rep.Refused)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	after := runOnce(t, g, x)
	for i := range before {
		if d := math.Abs(float64(before[i] - after[i])); d > 1e-4*(1+math.Abs(float64(before[i]))) {
			t.Fatalf("output %d: %g before, %g after equalization", i, before[i], after[i])
		}
	}
	for _, p := range rep.Pairs {
		if p.Spread1After > p.Spread1Before*1.0001 && p.Spread2After > p.Spread2Before*1.0001 {
			t.Errorf("%s: spreads grew: %v", p.First, p)
		}
	}
}

// TestEqualizeReLU6: ReLU6 pairs are refused unless ReplaceReLU6, which
// turns the first conv's ReLU6 into a ReLU.
func TestEqualizeReLU6(t *testing.T) {
	g := preparedV2(t)
	rep := quantize.Equalize(g, quantize.EqualizeOptions{})
	if rep.Refused == 0 {
		t.Fatalf("MobileNetV2's expand -> depthwise -> project pairs all follow a ReLU6; none refused")
	}
	g = preparedV2(t)
	rep2 := quantize.Equalize(g, quantize.EqualizeOptions{ReplaceReLU6: true})
	if rep2.Refused != 0 || len(rep2.Pairs) != len(rep.Pairs)+rep.Refused {
		t.Fatalf("ReplaceReLU6: %d pairs, %d refused; without: %d + %d", len(rep2.Pairs), rep2.Refused, len(rep.Pairs), rep.Refused)
	}
	for _, p := range rep2.Pairs {
		if p.ReplacedReLU6 && p.Act != ir.ActRelu {
			t.Errorf("%s: act %v after replacing ReLU6", p.First, p.Act)
		}
	}
}

// TestBiasCorrection: corrected layers exist and the int8 model's output is
// no further from the float one than without correction.
func TestBiasCorrection(t *testing.T) {
	src := randomSource{shape: []int{1, 64, 64, 3}, n: 6, seed: 9}
	sqnr := map[bool]float64{}
	for _, bc := range []bool{false, true} {
		g := preparedV2(t)
		p := quantize.Pipeline{Passes: []passes.Pass{},
			Calibration: func(*ir.Graph) (quantize.Source, error) { return src, nil },
			Configs:     []quantize.Config{{PerTensor: true, BiasCorrection: bc}}}
		out, err := p.Run(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		if bc && out.Results[0].BiasCorrected == 0 {
			t.Fatal("no layer bias-corrected")
		}
		rep, err := out.Compare(0, 6)
		if err != nil {
			t.Fatal(err)
		}
		sqnr[bc] = rep.OutputSQNR
	}
	t.Logf("output SQNR without / with bias correction: %.2f / %.2f dB", sqnr[false], sqnr[true])
	if sqnr[true] < sqnr[false]-0.5 {
		t.Errorf("bias correction lowered the output SQNR: %.2f -> %.2f dB", sqnr[false], sqnr[true])
	}
}
