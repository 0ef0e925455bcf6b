package runtime

import (
	"fmt"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Batched returns a copy of g that runs n samples at once (run --batch N):
// every graph input's first dimension, 1 in g, becomes n, a Reshape that
// keeps the batch first gets n there, and the shapes are inferred again. g
// is a graph built at batch 1 (its batch symbolic, ir.Graph.SymbolicBatch,
// or simply 1); it is not modified, and n == 1 returns it as it is.
//
// A graph whose ops mix the samples cannot take a batch: the error names
// the first node that would (an op along axis 0 - Concat, Softmax, ArgMax,
// a reduction, a Transpose or Pad that moves or pads it - or any node whose
// output does not become the batch-1 shape with n first).
func Batched(g *ir.Graph, n int) (*ir.Graph, error) {
	if n < 1 {
		return nil, fmt.Errorf("runtime: batch %d, want 1 or more", n)
	}
	if n == 1 {
		return g, nil
	}
	c := g.Clone()
	old := map[*ir.Tensor][]int{}
	for _, t := range c.Tensors() {
		old[t] = slices.Clone(t.Shape)
	}
	for _, t := range c.Inputs {
		if t.Rank() == 0 || t.Shape[0] != 1 {
			return nil, fmt.Errorf("runtime: graph input %q has shape %v: its first dimension is not a batch of 1", t.Name, t.Shape)
		}
		t.Shape[0] = n
	}
	for _, node := range c.Nodes {
		if why := mixesBatch(node); why != "" {
			return nil, node.Errorf("cannot take a batch of %d: %s", n, why)
		}
		if node.Op == ir.OpReshape {
			x, y := node.In(0), node.Out()
			if ox, oy := old[x], old[y]; len(ox) > 0 && len(oy) > 0 && ox[0] == 1 && oy[0] == 1 {
				y.Shape[0] = n
			}
		}
	}
	if err := c.InferShapes(); err != nil {
		return nil, fmt.Errorf("runtime: batch %d: %w", n, err)
	}
	prod := c.Producers()
	for _, node := range c.Nodes {
		for _, y := range node.Outputs {
			want := slices.Clone(old[y])
			if len(want) == 0 || want[0] != 1 {
				return nil, node.Errorf("cannot take a batch of %d: output %q has shape %v at batch 1, not a batch of 1 first", n, y.Name, old[y])
			}
			want[0] = n
			if !slices.Equal(y.Shape, want) {
				return nil, node.Errorf("cannot take a batch of %d: output %q would be %v, want %v", n, y.Name, y.Shape, want)
			}
		}
	}
	for _, t := range c.Outputs {
		if prod[t] == nil && !slices.Contains(c.Inputs, t) {
			return nil, fmt.Errorf("runtime: batch %d: graph output %q is a constant", n, t.Name)
		}
	}
	return c, nil
}

// mixesBatch says why node would combine samples along axis 0 ("" when it
// keeps them apart).
func mixesBatch(node *ir.Node) string {
	rank := node.In(0).Rank()
	axis0 := func(a int) bool { return a == 0 || a == -rank }
	switch a := node.Attrs.(type) {
	case *ir.ConcatAttrs:
		if axis0(a.Axis) {
			return "it concatenates along the batch axis"
		}
	case *ir.SoftmaxAttrs:
		if axis0(a.Axis) {
			return "its softmax runs along the batch axis"
		}
	case *ir.ArgMaxAttrs:
		if axis0(a.Axis) {
			return "it reduces the batch axis"
		}
	case *ir.ReduceAttrs:
		if slices.ContainsFunc(a.Axes, axis0) {
			return "it reduces the batch axis"
		}
	case *ir.TransposeAttrs:
		if len(a.Perm) > 0 && a.Perm[0] != 0 {
			return "it moves the batch axis"
		}
	case *ir.PadAttrs:
		if len(a.Pads) == 2*rank && rank > 0 && (a.Pads[0] != 0 || a.Pads[rank] != 0) {
			return "it pads the batch axis"
		}
	case *ir.GemmAttrs:
		if a.TransA {
			return "its first operand is transposed (the batch is not its rows)"
		}
	}
	return ""
}

// Sample returns sample i of t along its first dimension (shape [1, ...]),
// sharing t's data: one image's output of a batched run.
func (t *Tensor) Sample(i int) *Tensor {
	if len(t.Shape) == 0 || t.Shape[0] <= 1 {
		return t
	}
	per := t.Len() / t.Shape[0]
	s := &Tensor{DType: t.DType, Shape: append([]int{1}, t.Shape[1:]...)}
	lo, hi := i*per, (i+1)*per
	switch {
	case t.F32 != nil:
		s.F32 = t.F32[lo:hi]
	case t.I8 != nil:
		s.I8 = t.I8[lo:hi]
	case t.U8 != nil:
		s.U8 = t.U8[lo:hi]
	case t.I32 != nil:
		s.I32 = t.I32[lo:hi]
	case t.I64 != nil:
		s.I64 = t.I64[lo:hi]
	}
	return s
}
