package passes

import (
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

func TestFoldBatchNorm(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *builder) *ir.Graph
		want  string // ops after the pass
	}{
		{"conv", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 6, 5, 3)
			return b.build(b.bn("bn", b.conv("conv", x, 4, 3, 1)))
		}, "Conv"},
		{"depthwise_no_bias", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 6, 5, 4)
			w := b.weights("dw_w", 8, 3, 3, 1) // channel multiplier 2
			y := b.node(ir.OpConv, "dw", &ir.ConvAttrs{Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 4}, x, w)
			return b.build(b.bn("bn", y))
		}, "Conv"},
		{"grouped", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 4, 4)
			return b.build(b.bn("bn", b.conv("conv", x, 6, 1, 2)))
		}, "Conv"},
		{"gemm", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 5)
			y := b.node(ir.OpGemm, "fc", &ir.GemmAttrs{TransB: true, Alpha: 0.5, Beta: 2}, x, b.weights("fc_w", 3, 5), b.weights("fc_b", 1, 3))
			return b.build(b.bn("bn", y))
		}, "Gemm"},
		{"bn_output_is_graph_output_then_relu", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 4, 3)
			y := b.bn("bn", b.conv("conv", x, 4, 3, 1))
			return b.build(y, b.node(ir.OpRelu, "relu", nil, y))
		}, "Conv Relu"},
		// Negative cases: the producer must not change.
		{"conv_two_consumers", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 4, 3)
			c := b.conv("conv", x, 4, 3, 1)
			return b.build(b.bn("bn", c), b.node(ir.OpRelu, "relu", nil, c))
		}, "Conv Mul Add Relu"},
		{"conv_output_is_graph_output", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 4, 3)
			c := b.conv("conv", x, 4, 3, 1)
			return b.build(b.bn("bn", c), c)
		}, "Conv Mul Add"},
		{"conv_has_activation", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 4, 3)
			c := b.conv("conv", x, 4, 3, 1)
			b.g.Nodes[0].SetFusedAct(ir.ActRelu6)
			return b.build(b.bn("bn", c))
		}, "Conv Mul Add"},
		{"no_producer", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 4, 3)
			return b.build(b.bn("bn", x))
		}, "Mul Add"},
		{"gemm_without_transb", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 5)
			y := b.node(ir.OpGemm, "fc", &ir.GemmAttrs{Alpha: 1, Beta: 1}, x, b.weights("fc_w", 5, 3))
			return b.build(b.bn("bn", y))
		}, "Gemm Mul Add"},
		{"axis_not_last", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 3, 4, 4) // channels on axis 1
			y := b.node(ir.OpRelu, "relu", nil, x)
			bn := b.node(ir.OpBatchNorm, "bn", &ir.BatchNormAttrs{Epsilon: 1e-3, Axis: 1}, y,
				b.uniform("s", 0.5, 2, 3), b.weights("b", 3), b.weights("m", 3), b.uniform("v", 0.1, 2, 3))
			return b.build(bn)
		}, "Relu Mul Add"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.build(newBuilder(t, tc.name))
			after, rep := runPasses(t, g, FoldBatchNorm)
			if got := ops(after); got != tc.want {
				t.Fatalf("ops after fold-batchnorm: %q, want %q", got, tc.want)
			}
			if rep.Changes() != 1 {
				t.Errorf("report counts %d changes, want 1:\n%s", rep.Changes(), rep)
			}
			sameOutputs(t, g, after)
		})
	}
}

func TestFoldBatchNormGolden(t *testing.T) {
	b := newBuilder(t, "conv_bn")
	x := b.input("x", 1, 6, 5, 3)
	g := b.build(b.bn("bn", b.conv("conv", x, 4, 3, 1)))
	after, _ := runPasses(t, g, FoldBatchNorm)
	golden(t, "fold_batchnorm", after)

	b = newBuilder(t, "bn_alone")
	x = b.input("x", 1, 6, 5, 3)
	g = b.build(b.bn("bn", x))
	after, _ = runPasses(t, g, FoldBatchNorm)
	golden(t, "fold_batchnorm_mul_add", after)
}

// A weight shared by two convolutions must not change for the one without
// a BatchNorm.
func TestFoldBatchNormSharedWeight(t *testing.T) {
	b := newBuilder(t, "shared")
	x := b.input("x", 1, 4, 4, 3)
	w := b.weights("w", 3, 1, 1, 3)
	attrs := func() *ir.ConvAttrs { return &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1} }
	c1 := b.node(ir.OpConv, "c1", attrs(), x, w)
	c2 := b.node(ir.OpConv, "c2", attrs(), x, w)
	g := b.build(b.bn("bn", c1), c2)
	orig := slices.Clone(w.Data.F32)
	after, _ := runPasses(t, g, FoldBatchNorm)
	if ops(after) != "Conv Conv" {
		t.Fatalf("ops %q, want two convs", ops(after))
	}
	if !slices.Equal(findNode(after, "c2").In(1).Data.F32, orig) {
		t.Errorf("the unfolded conv's weights changed")
	}
	if findNode(after, "c1").In(1) == findNode(after, "c2").In(1) {
		t.Errorf("the folded conv still shares its weight tensor")
	}
	sameOutputs(t, g, after)
}

// A BatchNorm whose parameters are not constants stays.
func TestFoldBatchNormKeepsVariableParams(t *testing.T) {
	b := newBuilder(t, "variable")
	x := b.input("x", 1, 4, 4, 3)
	s := b.input("scale", 3)
	c := b.conv("conv", x, 3, 1, 1)
	y := b.node(ir.OpBatchNorm, "bn", &ir.BatchNormAttrs{Epsilon: 1e-5, Axis: 3}, c, s, b.weights("b", 3), b.weights("m", 3), b.uniform("v", 1, 2, 3))
	g := b.build(y)
	after, rep := runPasses(t, g, FoldBatchNorm)
	if ops(after) != "Conv BatchNorm" || rep.Changes() != 0 {
		t.Errorf("ops %q, %d changes; want the BatchNorm kept", ops(after), rep.Changes())
	}
}
