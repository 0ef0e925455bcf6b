package runtime

import (
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// batchGraph is Conv(ReLU) -> Mean over H, W -> Reshape [1,C] -> Gemm ->
// Softmax, or with mix set, a last node mixOp (Concat of the logits with
// themselves, or Softmax) with those attributes.
func batchGraph(mixOp ir.Op, mix ir.Attrs) *ir.Graph {
	var r lcg = 7
	x := input("x", 1, 5, 5, 2)
	w := constant("w", []int{4, 3, 3, 2}, r.floats(72)...)
	conv := ir.NewNode("conv", ir.OpConv, []*ir.Tensor{x, w}, &ir.Tensor{Name: "c"})
	conv.Attrs = &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 1, Act: ir.ActRelu}
	mean := ir.NewNode("mean", ir.OpMean, []*ir.Tensor{conv.Out()}, &ir.Tensor{Name: "m"})
	mean.Attrs = &ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: true}
	flat := ir.NewNode("flat", ir.OpReshape, []*ir.Tensor{mean.Out()}, &ir.Tensor{Name: "f", Shape: []int{1, 4}})
	fc := ir.NewNode("fc", ir.OpGemm, []*ir.Tensor{flat.Out(), constant("fw", []int{3, 4}, r.floats(12)...)}, &ir.Tensor{Name: "logits"})
	fc.Attrs = &ir.GemmAttrs{Alpha: 1, Beta: 1, TransB: true}
	last := ir.NewNode("softmax", ir.OpSoftmax, []*ir.Tensor{fc.Out()}, &ir.Tensor{Name: "p"})
	last.Attrs = &ir.SoftmaxAttrs{Axis: -1, Beta: 1}
	if mix != nil {
		ins := []*ir.Tensor{fc.Out()}
		if mixOp == ir.OpConcat {
			ins = append(ins, fc.Out())
		}
		last = ir.NewNode("mixer", mixOp, ins, &ir.Tensor{Name: "p"})
		last.Attrs = mix
	}
	g := &ir.Graph{Name: "batch", Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{last.Out()}, Nodes: []*ir.Node{conv, mean, flat, fc, last}}
	if err := g.InferShapes(); err != nil {
		panic(err)
	}
	return g
}

// TestBatched: at batch 3 the graph gives the outputs of three batch-1
// runs; the batch-1 graph is left as it was; a Concat or Softmax along the
// batch axis is refused by name.
func TestBatched(t *testing.T) {
	g := batchGraph(ir.OpInvalid, nil)
	before := g.Dump()
	b, err := Batched(g, 3)
	if err != nil {
		t.Fatal(err)
	}
	if g.Dump() != before {
		t.Error("Batched changed its input graph")
	}
	if s := b.Outputs[0].Shape; !slices.Equal(s, []int{3, 3}) {
		t.Fatalf("batched output shape %v, want [3 3]", s)
	}
	var r lcg = 11
	images := [][]float32{r.floats(50), r.floats(50), r.floats(50)}
	var want []float32
	one, err := New(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		copy(one.Input(0).F32, img)
		if err := one.Run(); err != nil {
			t.Fatal(err)
		}
		want = append(want, one.Output(0).F32...)
	}
	it, err := New(b)
	if err != nil {
		t.Fatal(err)
	}
	copy(it.Input(0).F32, slices.Concat(images...))
	if err := it.Run(); err != nil {
		t.Fatal(err)
	}
	checkF32(t, it.Output(0), []int{3, 3}, want, 1e-6)
	if s := it.Output(0).Sample(2); !slices.Equal(s.F32, want[6:]) || !slices.Equal(s.Shape, []int{1, 3}) {
		t.Errorf("Sample(2) = %v %v, want [1 3] %v", s.Shape, s.F32, want[6:])
	}
	for _, c := range []struct {
		op   ir.Op
		mix  ir.Attrs
		want string
	}{
		{ir.OpConcat, &ir.ConcatAttrs{Axis: 0}, "concatenates along the batch axis"},
		{ir.OpSoftmax, &ir.SoftmaxAttrs{Axis: 0, Beta: 1}, "softmax runs along the batch axis"},
	} {
		_, err := Batched(batchGraph(c.op, c.mix), 2)
		wantError(t, err, `"mixer"`, c.want)
	}
	if _, err := Batched(g, 0); err == nil {
		t.Error("batch 0 accepted")
	}
}
