package quantize_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/quantize"
	rt "github.com/mnconv/mnconv/runtime"
)

// TestExclude: excluded nodes stay float with float weights; one Dequantize
// feeds them and one Quantize leaves them per tensor; the model runs and is
// close to the float one; the report lists the nodes and has a headline and
// isolated errors; an unknown name is an error.
func TestExclude(t *testing.T) {
	g, err := builder.Build(builder.Config{Arch: builder.V1, Alpha: 0.25, Resolution: 32, Classes: 5, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	src := randomSource{shape: g.Inputs[0].Shape, n: 3, seed: 5}
	p := quantize.Pipeline{
		Calibration: func(*ir.Graph) (quantize.Source, error) { return src, nil },
		Configs:     []quantize.Config{{}, {Exclude: []string{"DepthwiseConv"}}},
	}
	o, err := p.Run(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	dw := 0
	for _, n := range o.Float.Nodes {
		if n.IsDepthwise() {
			dw++
		}
	}
	res := o.Results[1]
	if len(res.Excluded) != dw || dw == 0 {
		t.Fatalf("%d excluded, %d depthwise convs", len(res.Excluded), dw)
	}
	quants := map[*ir.Tensor]int{}
	for _, n := range res.Graph.Nodes {
		if n.IsDepthwise() {
			if n.Out().DType != ir.Float32 || n.Inputs[1].DType != ir.Float32 {
				t.Errorf("%s: excluded depthwise conv is %v with %v weights", n.Name, n.Out().DType, n.Inputs[1].DType)
			}
		}
		if n.Op == ir.OpQuantize {
			quants[n.Inputs[0]]++
		}
	}
	for x, c := range quants {
		if c > 1 {
			t.Errorf("%s quantized %d times", x.Name, c)
		}
	}
	if _, err := rt.New(res.Graph); err != nil {
		t.Fatal(err)
	}
	rep, err := o.Compare(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Excluded) != dw || !strings.Contains(rep.Headline(), "output SQNR") || rep.Top1Agree < 0 {
		t.Errorf("report: %d excluded, headline %q", len(rep.Excluded), rep.Headline())
	}
	isolated := 0
	for _, tr := range rep.Tensors {
		if !math.IsNaN(tr.Isolated) {
			isolated++
			if tr.Op == "DepthwiseConv" {
				t.Errorf("excluded %s has an isolated error", tr.Name)
			}
		}
	}
	if isolated == 0 {
		t.Error("no isolated errors in the report")
	}
	if _, err := quantize.Quantize(o.Float, o.Stats, quantize.Config{Exclude: []string{"no_such_node"}}); err == nil || !strings.Contains(err.Error(), "no_such_node") {
		t.Errorf("unknown exclude: err = %v", err)
	}
}

// TestGuard: a report below the thresholds fails with the worst layers by
// isolated error and suggestions that fit the configuration.
func TestGuard(t *testing.T) {
	rep := &quantize.Report{OutputSQNR: 1.4, Top1Agree: 0.5, Tensors: []quantize.TensorReport{
		{Name: "a", Op: "Conv", SQNR: 5, Isolated: 30, Hi: 6, ObservedHi: 6},
		{Name: "b", Op: "DepthwiseConv", SQNR: 3, Isolated: 8, Hi: 4, ObservedHi: 6},
		{Name: "in", Op: "input", SQNR: 40, Isolated: math.NaN()},
	}}
	if v := rep.Guard(1, 0.5, quantize.Config{}); !v.Pass {
		t.Errorf("passes thresholds, failed: %v", v.Reasons)
	}
	v := rep.Guard(10, 0.9, quantize.Config{Method: quantize.Entropy, PerTensor: true})
	if v.Pass || len(v.Reasons) != 2 || len(v.Worst) != 2 || v.Worst[0].Name != "b" {
		t.Fatalf("verdict %+v", v)
	}
	all := strings.Join(v.Suggestions, "\n")
	for _, want := range []string{"--per-tensor", "--method minmax", "--exclude 'b,a'"} {
		if !strings.Contains(all, want) {
			t.Errorf("suggestions lack %q:\n%s", want, all)
		}
	}
}
