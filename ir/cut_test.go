package ir

import (
	"strings"
	"testing"
)

// cutChain is x -> relu a -> relu b -> add(b, x) c -> relu y, with a
// quantized-looking tensor a to check the new input keeps its parameters.
func cutChain() *Graph {
	x := &Tensor{Name: "x", DType: Float32, Shape: []int{1, 4}}
	ra, a := relu("ra", x)
	a.Quant = &Quant{Scale: []float32{0.5}, ZeroPoint: []int64{0}}
	rb, b := relu("rb", a)
	c := &Tensor{Name: "c"}
	add := NewNode("add", OpAdd, []*Tensor{b, x}, c)
	ry, y := relu("ry", c)
	g := &Graph{Name: "chain", Inputs: []*Tensor{x}, InputLayouts: []Layout{NCHW}, Nodes: []*Node{ra, rb, add, ry}, Outputs: []*Tensor{y}}
	if err := g.InferShapes(); err != nil {
		panic(err)
	}
	return g
}

func TestCut(t *testing.T) {
	g := cutChain()
	before := g.Dump()
	// Outputs only: the nodes before "rb_out".
	c, err := g.Cut(nil, []string{"rb_out"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Nodes) != 2 || c.Outputs[0].Name != "rb_out" || c.Inputs[0].Name != "x" || c.InputLayouts[0] != NCHW {
		t.Errorf("cut at rb_out:\n%s", c.Dump())
	}
	// Inputs and outputs: from "ra_out" to "rb_out", one node; the new
	// input keeps shape, dtype and quantization.
	c, err = g.Cut([]string{"ra_out"}, []string{"rb_out"})
	if err != nil {
		t.Fatal(err)
	}
	in := c.Inputs[0]
	if len(c.Nodes) != 1 || in.Name != "ra_out" || in.DType != Float32 || in.Shape[1] != 4 || in.Quant == nil || in.Quant.Scale[0] != 0.5 || c.InputLayouts[0] != LayoutUnspecified {
		t.Errorf("cut ra_out..rb_out:\n%s", c.Dump())
	}
	if g.Dump() != before {
		t.Errorf("Cut changed its graph")
	}
	for _, tc := range []struct {
		ins, outs []string
		want      string
	}{
		{nil, []string{"nope", "rb_out", "zip"}, `no tensor is named "nope", "zip" (output)`},
		{[]string{"ghost"}, nil, `no tensor is named "ghost" (input)`},
		// y needs x through the Add, and x is not among the inputs.
		{[]string{"ra_out"}, nil, `output "ry_out" needs "x", which is neither among the inputs nor computed from them`},
		{[]string{"x", "ry_out"}, []string{"rb_out"}, `input "ry_out" is not needed by any output (unreachable from "rb_out")`},
		{[]string{"x", "x"}, nil, `input "x" is named twice`},
	} {
		if _, err := g.Cut(tc.ins, tc.outs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Cut(%v, %v) = %v, want %q", tc.ins, tc.outs, err, tc.want)
		}
	}
}
