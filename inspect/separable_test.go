package inspect_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/inspect"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
)

// TestSeparableBuiltV1 prices the 13 depthwise-separable layers of
// MobileNet v1 1.0/224 against standard 3x3 convolutions: each pair's ratio
// is the paper's 1/N + 1/9, the pairs together cost 8-9 times less (the
// paper's claim for 3x3), and the whole model is the paper's 569M MACs. The
// unfused training export (BatchNorm and ReLU6 between the two convs) and
// the folded model give the same pairs.
func TestSeparableBuiltV1(t *testing.T) {
	g, err := builder.Build(builder.Config{Arch: builder.V1})
	if err != nil {
		t.Fatal(err)
	}
	unfused := inspect.AnalyzeSeparable(g)
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	r := inspect.AnalyzeSeparable(g)
	if len(r.Pairs) != 13 {
		t.Fatalf("%d separable pairs, want 13", len(r.Pairs))
	}
	for i, p := range r.Pairs {
		t.Logf("%-10s -> %-10s DK %d M %4d N %4d DF %3d: standard %11s actual %10s ratio %.4f formula %.4f (%.2fx)",
			p.Depthwise, p.Pointwise, p.KH, p.M, p.N, p.DFH, inspect.Thousands(p.StandardMACs), inspect.Thousands(p.ActualMACs),
			p.Ratio, p.Formula, 1/p.Ratio)
		if p.KH != 3 || p.KW != 3 || p.Mult != 1 || len(p.Through) != 0 {
			t.Errorf("pair %d: %+v", i, p)
		}
		if math.Abs(p.Ratio-p.Formula) > 1e-12 {
			t.Errorf("pair %d: ratio %.6f, formula 1/N+1/DK² %.6f", i, p.Ratio, p.Formula)
		}
		want := int64(p.DFH*p.DFW) * int64(p.M) * (9 + int64(p.N))
		if p.ActualMACs != want || p.StandardMACs != int64(9*p.DFH*p.DFW)*int64(p.M)*int64(p.N) {
			t.Errorf("pair %d: actual %d (want %d), standard %d", i, p.ActualMACs, want, p.StandardMACs)
		}
		u := unfused.Pairs[i]
		if u.Depthwise != p.Depthwise || u.ActualMACs != p.ActualMACs || !slices.Equal(u.Through, []string{"BatchNorm", "Clip"}) {
			t.Errorf("unfused pair %d: %+v, folded %+v", i, u, p)
		}
	}
	t.Logf("pairs: standard %s, actual %s, ratio %.4f, %.2fx less; model %s MACs, %s with standard convs (%.2fx)",
		inspect.Thousands(r.StandardMACs), inspect.Thousands(r.ActualMACs), r.Ratio, r.Reduction,
		inspect.Thousands(r.ModelMACs), inspect.Thousands(r.ModelMACsStandard), r.ModelReduction)
	if r.Reduction < 8 || r.Reduction > 9 {
		t.Errorf("separable layers cost %.2fx less than standard ones; the paper says 8 to 9 times", r.Reduction)
	}
	if r.ModelMACs != 568_741_376 {
		t.Errorf("model MACs %d, want 568,741,376", r.ModelMACs)
	}
	if unfused.StandardMACs != r.StandardMACs || unfused.ModelMACs != r.ModelMACs {
		t.Errorf("unfused totals %+v differ from folded %+v", unfused, r)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back inspect.SeparableReport
	if err := json.Unmarshal(b, &back); err != nil || back.ActualMACs != r.ActualMACs || len(back.Pairs) != 13 || back.Pairs[0].Pointwise != r.Pairs[0].Pointwise {
		t.Errorf("JSON round trip: %v\n%s", err, b)
	}
}

// TestSeparableArchs counts the pairs of every built architecture: v1 has
// 13; v2's 17 inverted residuals each end in depthwise -> project (the
// first block has no expansion); v3 blocks with squeeze-excite have a
// second path between the two and are not counted (v3-large: 7 blocks
// without it, v3-small: 2).
func TestSeparableArchs(t *testing.T) {
	for _, c := range []struct {
		arch  builder.Arch
		pairs int
	}{{builder.V1, 13}, {builder.V2, 17}, {builder.V3Large, 7}, {builder.V3Small, 2}} {
		g, err := builder.Build(builder.Config{Arch: c.arch, Alpha: 0.5, Resolution: 128})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := passes.Run(g, passes.Default, nil); err != nil {
			t.Fatal(err)
		}
		r := inspect.AnalyzeSeparable(g)
		t.Logf("%s: %d pairs, %.2fx less than standard convs", c.arch, len(r.Pairs), r.Reduction)
		if len(r.Pairs) != c.pairs {
			t.Errorf("%s: %d pairs, want %d", c.arch, len(r.Pairs), c.pairs)
		}
		for _, p := range r.Pairs {
			if math.Abs(p.Ratio-p.Formula) > 1e-12 {
				t.Errorf("%s %s: ratio %.6f, formula %.6f", c.arch, p.Depthwise, p.Ratio, p.Formula)
			}
		}
	}
}

// TestSeparableSharedModels: the Coral v1 and VWW models have v1's 13
// pairs, the v2 models 17.
func TestSeparableSharedModels(t *testing.T) {
	for _, c := range []struct {
		rel   string
		pairs int
	}{
		{"models/tflite/coral_mobilenet_v1_0.25_128_quant.tflite", 13},
		{"models/tflite/mlcommons_tiny_vww_96_float.tflite", 13},
		{"models/tflite/coral_mobilenet_v2_1.0_224_quant.tflite", 17},
	} {
		t.Run(c.rel, func(t *testing.T) {
			g, err := importers.Load(testutil.Shared(t, c.rel), importers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := inspect.AnalyzeSeparable(g)
			if len(r.Pairs) != c.pairs {
				t.Errorf("%d pairs, want %d", len(r.Pairs), c.pairs)
			}
			t.Logf("%d pairs: %.2fx less than standard convolutions; model %.2fx", len(r.Pairs), r.Reduction, r.ModelReduction)
		})
	}
}

// TestSeparableNegative: what is not a separable pair.
func TestSeparableNegative(t *testing.T) {
	cases := []struct {
		name string
		// edit changes the graph dw -> relu -> pw (a pair) into the case
		edit func(dw, relu, pw *ir.Node, g *ir.Graph)
		want int
	}{
		{"pair", func(dw, relu, pw *ir.Node, g *ir.Graph) {}, 1},
		{"pointwise stride 2", func(dw, relu, pw *ir.Node, g *ir.Graph) {
			pw.Attrs.(*ir.ConvAttrs).Strides = [2]int{2, 2}
		}, 0},
		{"3x3 second conv", func(dw, relu, pw *ir.Node, g *ir.Graph) {
			pw.Inputs[1] = ir.NewConstF32("w3", []int{8, 3, 3, 4}, make([]float32, 8*9*4))
		}, 0},
		{"grouped second conv", func(dw, relu, pw *ir.Node, g *ir.Graph) {
			pw.Attrs.(*ir.ConvAttrs).Group = 2
		}, 0},
		{"activation also a graph output", func(dw, relu, pw *ir.Node, g *ir.Graph) {
			g.Outputs = append(g.Outputs, relu.Out())
		}, 0},
		{"depthwise output read twice", func(dw, relu, pw *ir.Node, g *ir.Graph) {
			g.Nodes = append(g.Nodes, ir.NewNode("extra", ir.OpRelu, []*ir.Tensor{dw.Out()}, &ir.Tensor{Name: "e", DType: ir.Float32, Shape: []int{1, 4, 4, 4}}))
		}, 0},
		{"not depthwise", func(dw, relu, pw *ir.Node, g *ir.Graph) {
			dw.Attrs.(*ir.ConvAttrs).Group = 1
			dw.Inputs[1] = ir.NewConstF32("wf", []int{4, 3, 3, 4}, make([]float32, 4*9*4))
		}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, dw, relu, pw := separableGraph()
			tc.edit(dw, relu, pw, g)
			got := inspect.Separable(g)
			if len(got) != tc.want {
				t.Fatalf("%d pairs, want %d: %+v", len(got), tc.want, got)
			}
			if tc.want == 1 {
				p := got[0]
				// DF 4, M 4, N 8, DK 3: standard 9*4*8*16, actual 9*4*16 + 4*8*16.
				want := inspect.SeparablePair{Depthwise: "dw", Pointwise: "pw", Through: []string{"Relu"}, KH: 3, KW: 3, M: 4, N: 8, Mult: 1,
					DFH: 4, DFW: 4, Batch: 1, StandardMACs: 4608, DepthwiseMACs: 576, PointwiseMACs: 512, ActualMACs: 1088,
					Ratio: 1088.0 / 4608, Formula: 1.0/8 + 1.0/9}
				if fmt.Sprint(p) != fmt.Sprint(want) {
					t.Errorf("pair\n%+v, want\n%+v", p, want)
				}
			}
		})
	}
}

// separableGraph is x[1,4,4,4] -> depthwise 3x3 pad 1 -> Relu -> 1x1 conv to 8.
func separableGraph() (g *ir.Graph, dw, relu, pw *ir.Node) {
	x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: []int{1, 4, 4, 4}}
	d := &ir.Tensor{Name: "d", DType: ir.Float32, Shape: []int{1, 4, 4, 4}}
	r := &ir.Tensor{Name: "r", DType: ir.Float32, Shape: []int{1, 4, 4, 4}}
	y := &ir.Tensor{Name: "y", DType: ir.Float32, Shape: []int{1, 4, 4, 8}}
	dw = ir.NewNode("dw", ir.OpConv, []*ir.Tensor{x, ir.NewConstF32("dw_w", []int{4, 3, 3, 1}, make([]float32, 36))}, d)
	*dw.Attrs.(*ir.ConvAttrs) = ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 4}
	relu = ir.NewNode("relu", ir.OpRelu, []*ir.Tensor{d}, r)
	pw = ir.NewNode("pw", ir.OpConv, []*ir.Tensor{r, ir.NewConstF32("pw_w", []int{8, 1, 1, 4}, make([]float32, 32))}, y)
	*pw.Attrs.(*ir.ConvAttrs) = ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1}
	g = &ir.Graph{Name: "sep", Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{y}, Nodes: []*ir.Node{dw, relu, pw}}
	return g, dw, relu, pw
}
