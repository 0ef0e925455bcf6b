package onnx

import (
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// qdqConvGraph is DQ(x) , DQ(w), DQ(b) -> Conv -> Clip(lo, hi) -> Q -> DQ -> y.
func qdqConvGraph(lo, hi float32, yScale float32, yZP int64) *ir.Graph {
	q := func(s float32, zp int64) *ir.Quant { return &ir.Quant{Scale: []float32{s}, ZeroPoint: []int64{zp}} }
	x := &ir.Tensor{Name: "x", DType: ir.Int8, Shape: []int{1, 4, 4, 2}, Quant: q(0.05, -3)}
	w := &ir.Tensor{Name: "w", DType: ir.Int8, Shape: []int{2, 1, 1, 2}, Data: &ir.Data{I8: []int8{1, -2, 3, 4}},
		Quant: &ir.Quant{Scale: []float32{0.01, 0.02}, ZeroPoint: []int64{0, 0}}}
	b := &ir.Tensor{Name: "b", DType: ir.Int32, Shape: []int{2}, Data: &ir.Data{I32: []int32{10, -20}},
		Quant: &ir.Quant{Scale: []float32{0.05 * 0.01, 0.05 * 0.02}, ZeroPoint: []int64{0, 0}}}
	f := func(name string) *ir.Tensor { return &ir.Tensor{Name: name, DType: ir.Float32} }
	xf, wf, bf, c, r := f("xf"), f("wf"), f("bf"), f("c"), f("r")
	yq := &ir.Tensor{Name: "yq", DType: ir.Int8, Quant: q(yScale, yZP)}
	y := f("y")
	g := &ir.Graph{Name: "qdq", Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{y}}
	g.Nodes = []*ir.Node{
		ir.NewNode("dqx", ir.OpDequantize, []*ir.Tensor{x}, xf),
		ir.NewNode("dqw", ir.OpDequantize, []*ir.Tensor{w}, wf),
		ir.NewNode("dqb", ir.OpDequantize, []*ir.Tensor{b}, bf),
		ir.NewNode("conv", ir.OpConv, []*ir.Tensor{xf, wf, bf}, c),
		ir.NewNode("clip", ir.OpClip, []*ir.Tensor{c}, r),
		ir.NewNode("q", ir.OpQuantize, []*ir.Tensor{r}, yq),
		ir.NewNode("dqy", ir.OpDequantize, []*ir.Tensor{yq}, y),
	}
	g.Nodes[3].Attrs = &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1}
	g.Nodes[4].Attrs = &ir.ClipAttrs{Min: lo, Max: hi}
	return g
}

func ops(g *ir.Graph) []string {
	var s []string
	for _, n := range g.Nodes {
		s = append(s, n.Op.String())
	}
	return s
}

func TestFuseQDQConv(t *testing.T) {
	for _, c := range []struct {
		name   string
		lo, hi float32
		scale  float32
		zp     int64
		fused  bool
		act    ir.Activation
	}{
		{"relu6 fused", 0, 6, 6.0 / 255, -128, true, ir.ActRelu6},
		{"clip inside q range dropped", 0, 4, 3.0 / 255, -128, true, ir.ActNone},
		{"clip narrower than q range stays float", 0.5, 2, 6.0 / 255, -128, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := qdqConvGraph(c.lo, c.hi, c.scale, c.zp)
			n := fuseQDQ(g)
			if !c.fused {
				if n != 0 || len(g.Nodes) != 7 {
					t.Fatalf("fused %d regions, nodes %v; want none", n, ops(g))
				}
				return
			}
			// The unused Dequantize nodes stay until the importer's dead-node sweep.
			if n != 1 || !slices.Equal(ops(g), []string{"Dequantize", "Dequantize", "Dequantize", "Conv", "Dequantize"}) {
				t.Fatalf("fused %d, nodes %v", n, ops(g))
			}
			conv := g.Nodes[3]
			if conv.In(0).Name != "x" || conv.In(1).Name != "w" || conv.In(2).Name != "b" || conv.Out().Name != "yq" {
				t.Errorf("conv reads %v writes %v", []string{conv.In(0).Name, conv.In(1).Name, conv.In(2).Name}, conv.Out().Name)
			}
			if conv.Arith != ir.ArithONNX || conv.FusedAct() != c.act {
				t.Errorf("arith %v act %v, want ONNX's and %v", conv.Arith, conv.FusedAct(), c.act)
			}
		})
	}
}
