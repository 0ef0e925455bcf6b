package quantize

import (
	"math"
	"testing"

	"github.com/mnconv/mnconv/ir"
	rt "github.com/mnconv/mnconv/runtime"
)

func TestPrepareHardSigmoid(t *testing.T) {
	for _, attrs := range []ir.HardSigmoidAttrs{{Alpha: 1.0 / 6, Beta: 0.5}, {Alpha: 0.2, Beta: 0.5}} {
		build := func() *ir.Graph {
			x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: []int{1, 40}}
			y := &ir.Tensor{Name: "y"}
			n := ir.NewNode("hs", ir.OpHardSigmoid, []*ir.Tensor{x}, y)
			*n.Attrs.(*ir.HardSigmoidAttrs) = attrs
			g := &ir.Graph{Inputs: []*ir.Tensor{x}, Nodes: []*ir.Node{n}, Outputs: []*ir.Tensor{y}}
			if err := g.InferShapes(); err != nil {
				t.Fatal(err)
			}
			return g
		}
		in := rt.NewTensor(ir.Float32, []int{1, 40})
		for i := range in.F32 {
			in.F32[i] = float32(i-20) * 0.37
		}
		run := func(g *ir.Graph) []float32 {
			it, err := rt.New(g)
			if err != nil {
				t.Fatal(err)
			}
			if err := it.SetInput(0, in); err != nil {
				t.Fatal(err)
			}
			if err := it.Run(); err != nil {
				t.Fatal(err)
			}
			return append([]float32(nil), it.Output(0).F32...)
		}
		want := run(build())
		g := build()
		if err := PrepareGraph(g); err != nil {
			t.Fatal(err)
		}
		for _, n := range g.Nodes {
			if n.Op == ir.OpHardSigmoid {
				t.Fatalf("HardSigmoid left in the prepared graph")
			}
		}
		got := run(g)
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-6 {
				t.Fatalf("alpha %g: element %d: %g, want %g", attrs.Alpha, i, got[i], want[i])
			}
		}
	}
}
