package runtime

import (
	"fmt"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Interpreter runs one prepared graph. It is not safe for concurrent use:
// make one per goroutine (they may share the graph).
type Interpreter struct {
	g       *ir.Graph
	kernels []Kernel
	values  map[*ir.Tensor]*Tensor
	ins     [][]*Tensor
	outs    [][]*Tensor
	// Observe, when set, is called after each node with its output tensors
	// (calibration observers, per-layer error reports, profiling).
	Observe func(n *ir.Node, outs []*Tensor)
}

// New prepares every node of g and allocates its activation buffers.
func New(g *ir.Graph) (*Interpreter, error) {
	it := &Interpreter{g: g, values: map[*ir.Tensor]*Tensor{}}
	for _, t := range g.Inputs {
		it.values[t] = NewTensor(t.DType, t.Shape)
	}
	for _, n := range g.Nodes {
		k, err := Prepare(n)
		if err != nil {
			return nil, err
		}
		it.kernels = append(it.kernels, k)
		in := make([]*Tensor, len(n.Inputs))
		for i, t := range n.Inputs {
			if t == nil {
				continue
			}
			v, ok := it.values[t]
			if !ok {
				if !t.IsConst() {
					return nil, n.Errorf("input %q is not computed before this node", t.Name)
				}
				v = FromConst(t)
				it.values[t] = v
			}
			in[i] = v
		}
		out := make([]*Tensor, len(n.Outputs))
		for i, t := range n.Outputs {
			out[i] = NewTensor(t.DType, t.Shape)
			it.values[t] = out[i]
		}
		it.ins = append(it.ins, in)
		it.outs = append(it.outs, out)
	}
	for _, t := range g.Outputs {
		if _, ok := it.values[t]; !ok {
			if !t.IsConst() {
				return nil, fmt.Errorf("graph output %q is never computed", t.Name)
			}
			it.values[t] = FromConst(t)
		}
	}
	return it, nil
}

// Graph returns the graph being run.
func (it *Interpreter) Graph() *ir.Graph { return it.g }

// Input returns the buffer of graph input i, to be filled before Run.
func (it *Interpreter) Input(i int) *Tensor { return it.values[it.g.Inputs[i]] }

// Output returns the buffer of graph output i, valid after Run until the next Run.
func (it *Interpreter) Output(i int) *Tensor { return it.values[it.g.Outputs[i]] }

// Value returns the buffer of any tensor of the graph (nil if unknown).
func (it *Interpreter) Value(t *ir.Tensor) *Tensor { return it.values[t] }

// Run evaluates every node on the current inputs.
func (it *Interpreter) Run() error {
	for i, n := range it.g.Nodes {
		if err := it.kernels[i].Eval(it.ins[i], it.outs[i]); err != nil {
			return n.Errorf("%v", err)
		}
		if it.Observe != nil {
			it.Observe(n, it.outs[i])
		}
	}
	return nil
}

// SetInput copies src into graph input i after checking dtype and shape.
func (it *Interpreter) SetInput(i int, src *Tensor) error {
	dst := it.Input(i)
	if dst.DType != src.DType || !slices.Equal(dst.Shape, src.Shape) {
		return fmt.Errorf("input %q wants %v, got %v", it.g.Inputs[i].Name, dst, src)
	}
	copy(dst.F32, src.F32)
	copy(dst.I8, src.I8)
	copy(dst.U8, src.U8)
	copy(dst.I32, src.I32)
	copy(dst.I64, src.I64)
	return nil
}
