package runtime

import (
	"fmt"
	goruntime "runtime"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Options tune an Interpreter.
type Options struct {
	// Threads is how many goroutines one Run may use for a node's work
	// (0 means GOMAXPROCS at New). Results do not depend on it: every
	// kernel splits its outputs, never a sum.
	Threads int
	// Reference selects the reference kernels only (PrepareReference), the
	// slow ones that fast kernels are tested against.
	Reference bool
	// KeepAll gives every tensor its own buffer, so that Value returns any
	// tensor's contents after Run (per-tensor error reports need that).
	// Without it intermediate tensors share memory (see Value).
	KeepAll bool
}

// Interpreter runs one prepared graph. It is not safe for concurrent use:
// make one per goroutine (they may share the graph).
type Interpreter struct {
	g       *ir.Graph
	opts    Options
	kernels []Kernel
	values  map[*ir.Tensor]*Tensor
	ins     [][]*Tensor
	outs    [][]*Tensor
	arena   *arena
	pool    *pool
	// Observe, when set, is called after each node with its output tensors
	// (calibration observers, per-layer error reports, profiling). The
	// tensors hold the node's results at that moment; an intermediate
	// tensor's memory is reused by later nodes unless Options.KeepAll.
	Observe func(n *ir.Node, outs []*Tensor)
}

// New prepares every node of g with the fast kernels where they apply and
// plans its activation memory: New(g) is NewWithOptions(g, Options{}).
func New(g *ir.Graph) (*Interpreter, error) { return NewWithOptions(g, Options{}) }

// NewWithOptions prepares every node of g and allocates its buffers once:
// graph inputs get their own, intermediate tensors share one arena per dtype
// by lifetime (unless opts.KeepAll), constants are used in place. Run then
// allocates nothing.
func NewWithOptions(g *ir.Graph, opts Options) (*Interpreter, error) {
	if opts.Threads <= 0 {
		opts.Threads = goruntime.GOMAXPROCS(0)
	}
	it := &Interpreter{g: g, opts: opts, values: map[*ir.Tensor]*Tensor{}, pool: newPool(opts.Threads)}
	for _, t := range g.Inputs {
		if _, dup := it.values[t]; !dup {
			it.values[t] = NewTensor(t.DType, t.Shape)
		}
	}
	// Buffers first, so that an error below is about the graph, not memory.
	plan := planArena(g, func(t *ir.Tensor) bool {
		_, isInput := it.values[t]
		return opts.KeepAll || isInput || t.IsConst()
	})
	it.arena = newArena(plan.sizes)
	planned := map[*ir.Tensor]*lifetime{}
	for _, lt := range plan.tensors {
		planned[lt.t] = lt
	}
	prepare := Prepare
	if opts.Reference {
		prepare = PrepareReference
	}
	for _, n := range g.Nodes {
		k, err := prepare(n)
		if err != nil {
			return nil, err
		}
		if u, ok := k.(poolUser); ok {
			u.setPool(it.pool)
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
			if lt := planned[t]; lt != nil {
				out[i] = it.arena.tensor(lt)
			} else {
				out[i] = NewTensor(t.DType, t.Shape)
			}
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
	// The pool's goroutines hold only the pool, so an Interpreter that is
	// dropped without Close is collected and its goroutines end.
	goruntime.AddCleanup(it, (*pool).stop, it.pool)
	return it, nil
}

// Close stops the Interpreter's worker goroutines; later Runs use one
// thread. Dropping an Interpreter without Close is fine too: they stop when
// it is garbage collected.
func (it *Interpreter) Close() { it.pool.stop() }

// Graph returns the graph being run.
func (it *Interpreter) Graph() *ir.Graph { return it.g }

// Threads is the number of goroutines a Run may use.
func (it *Interpreter) Threads() int { return it.opts.Threads }

// ArenaBytes is the size of the shared activation memory (0 with KeepAll).
func (it *Interpreter) ArenaBytes() int64 { return it.arena.bytes() }

// Input returns the buffer of graph input i, to be filled before Run. It
// keeps its contents across Runs.
func (it *Interpreter) Input(i int) *Tensor { return it.values[it.g.Inputs[i]] }

// Output returns the buffer of graph output i, valid after Run until the next Run.
func (it *Interpreter) Output(i int) *Tensor { return it.values[it.g.Outputs[i]] }

// Value returns the buffer of any tensor of the graph (nil if unknown).
// After Run it holds the tensor's value for graph inputs, graph outputs and
// constants. An intermediate tensor shares memory with tensors computed
// after it, so its buffer may hold something else by the end of Run: read
// intermediates from Observe, or build the Interpreter with Options.KeepAll.
func (it *Interpreter) Value(t *ir.Tensor) *Tensor { return it.values[t] }

// Kernel returns the kernel prepared for node i of the graph (what a profile
// names: fast kernels and reference ones are different types).
func (it *Interpreter) Kernel(i int) Kernel { return it.kernels[i] }

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

// EvalNode prepares node n's kernel (the one an Interpreter would use) and
// runs it once on in, one value per input of n (nil for an absent optional
// input), returning fresh output tensors. It is how the optimizer folds a
// node whose inputs are all constants, without planning a whole graph.
func EvalNode(n *ir.Node, in []*Tensor) ([]*Tensor, error) {
	if len(in) != len(n.Inputs) {
		return nil, n.Errorf("%d input values for %d inputs", len(in), len(n.Inputs))
	}
	k, err := Prepare(n)
	if err != nil {
		return nil, err
	}
	out := make([]*Tensor, len(n.Outputs))
	for i, t := range n.Outputs {
		out[i] = NewTensor(t.DType, t.Shape)
	}
	if err := k.Eval(in, out); err != nil {
		return nil, n.Errorf("%v", err)
	}
	return out, nil
}
