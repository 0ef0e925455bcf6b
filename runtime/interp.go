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
	// fused[i] is node i's part in a residual Add or activation fusion
	// (see fuseAdds), used when Observe is nil.
	fused []fusedNode
	// Observe, when set, is called after each node with its output tensors
	// (calibration observers, per-layer error reports, profiling). The
	// tensors hold the node's results at that moment; an intermediate
	// tensor's memory is reused by later nodes unless Options.KeepAll.
	// While it is set, every node runs on its own (no residual Add fusion).
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
	var pairs []addPair
	if !opts.KeepAll && !opts.Reference {
		pairs = fusionPairs(g)
	}
	plan := planArena(g, func(t *ir.Tensor) bool {
		_, isInput := it.values[t]
		return opts.KeepAll || isInput || t.IsConst()
	}, addsEarly(g, pairs))
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
	it.fuseAdds(pairs)
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
	it.pool.prewake()
	fuse := it.Observe == nil && it.fused != nil
	for i, n := range it.g.Nodes {
		if fuse && it.fused[i].skip {
			continue // done by the conv before it
		}
		if fuse && it.fused[i].conv != nil {
			f := it.fused[i]
			if err := f.conv.evalAdd(it.ins[i], f.y, f.res); err != nil {
				return n.Errorf("%v", err)
			}
			continue
		}
		if fuse && it.fused[i].actConv != nil {
			f := it.fused[i]
			if err := f.actConv.evalAct(it.ins[i], f.y, f.act); err != nil {
				return n.Errorf("%v", err)
			}
			continue
		}
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

// Residual Add fusion. In MobileNetV2's blocks a 1x1 conv's output feeds
// only an Add with the block's input:
//
//	y = Add(Conv(x), r)  =>  the conv's kernel writes y = conv + r (or r + conv)
//
// as it produces each block of rows (fastConvGemm.evalAdd), and the Add's
// node is skipped: one pass over memory less, same bits (the conv's output
// is rounded and clamped before the add, as the Add kernel would see it).
// It holds when the conv's output is read by that Add alone and is not a
// graph output, the Add's operands have its output's shape (no broadcast),
// and r is computed before the conv. The Add's output then lives from the
// conv on (planArena's early), so it shares memory with neither the conv's
// inputs nor anything computed between the two nodes. Run uses the fusion
// only while Observe is nil (an observer sees every node's output), and New
// plans none under KeepAll or Reference.

// addPair is a conv node and the Add node reading its output (or the
// HardSwish or HardSigmoid node, for hardActPairs).
type addPair struct{ conv, add int }

// residualAdder is a kernel that can write its output plus a residual.
type residualAdder interface {
	evalAdd(in []*Tensor, y *Tensor, res residualAdd) error
}

// hardActFuser is a kernel that can write its output through a HardSwish
// or HardSigmoid.
type hardActFuser interface {
	evalAct(in []*Tensor, y *Tensor, act *fastHardAct) error
}

// fusedNode is a node's part in a fusion: the conv that runs the Add (conv
// set) or the activation (actConv set), or the node that is skipped.
type fusedNode struct {
	conv    residualAdder
	actConv hardActFuser
	y       *Tensor // the Add's or the activation's output
	res     residualAdd
	act     *fastHardAct
	skip    bool
}

// fusionPairs is every fusion candidate of g: residual Adds and
// activations.
func fusionPairs(g *ir.Graph) []addPair {
	return append(residualAddPairs(g), hardActPairs(g)...)
}

// Activation fusion. MobileNetV3 follows most convs with a HardSwish:
//
//	y = HardSwish(Conv(x))  =>  the conv's kernel writes y = HardSwish(conv)
//
// as it produces each block of rows (fastConvGemm.evalAct), in place in y,
// and the HardSwish node is skipped (HardSigmoid alike): one pass over
// memory less, same bits (the activation reads the conv's rounded and
// clamped output). It holds when the conv's output is read by that node
// alone and is not a graph output; the activation's output lives from the
// conv on (planArena's early), as a fused Add's does.

// hardActPairs finds the graph's candidates, by structure alone.
func hardActPairs(g *ir.Graph) []addPair {
	gi := newGraphIndex(g)
	var pairs []addPair
	for j, n := range g.Nodes {
		if (n.Op != ir.OpHardSwish && n.Op != ir.OpHardSigmoid) || len(n.Inputs) != 1 || len(n.Outputs) != 1 {
			continue
		}
		t, y := n.Inputs[0], n.Outputs[0]
		if t == nil || y == nil || t.DType != ir.Float32 || y.DType != ir.Float32 || !slices.Equal(t.Shape, y.Shape) {
			continue
		}
		if i := gi.soleConv(t); i >= 0 {
			pairs = append(pairs, addPair{conv: i, add: j})
		}
	}
	return pairs
}

// graphIndex is what the fusions ask of a graph: node positions, each
// tensor's producer and readers.
type graphIndex struct {
	g         *ir.Graph
	index     map[*ir.Node]int
	producers map[*ir.Tensor]*ir.Node
	consumers map[*ir.Tensor][]*ir.Node
}

func newGraphIndex(g *ir.Graph) *graphIndex {
	gi := &graphIndex{g: g, index: make(map[*ir.Node]int, len(g.Nodes)), producers: g.Producers(), consumers: g.Consumers()}
	for i, n := range g.Nodes {
		gi.index[n] = i
	}
	return gi
}

// soleConv is the position of the Conv node computing t when one node
// alone reads t and t is not a graph output, else -1.
func (gi *graphIndex) soleConv(t *ir.Tensor) int {
	p := gi.producers[t]
	if p == nil || p.Op != ir.OpConv || len(gi.consumers[t]) != 1 || gi.g.IsOutput(t) {
		return -1
	}
	return gi.index[p]
}

// residualAddPairs finds the graph's candidates, by structure alone.
func residualAddPairs(g *ir.Graph) []addPair {
	gi := newGraphIndex(g)
	var pairs []addPair
	for j, n := range g.Nodes {
		if n.Op != ir.OpAdd || len(n.Inputs) != 2 || len(n.Outputs) != 1 || n.Outputs[0] == nil {
			continue
		}
		y := n.Outputs[0]
		best := -1
		for side, t := range n.Inputs {
			r := n.Inputs[1-side]
			if t == nil || r == nil || t.DType != ir.Float32 || r.DType != ir.Float32 || y.DType != ir.Float32 ||
				!slices.Equal(t.Shape, y.Shape) || !slices.Equal(r.Shape, y.Shape) {
				continue
			}
			i := gi.soleConv(t)
			if i < 0 {
				continue
			}
			if q := gi.producers[r]; q != nil && gi.index[q] >= i {
				continue // r is not ready when the conv runs
			}
			best = max(best, i)
		}
		if best >= 0 {
			pairs = append(pairs, addPair{conv: best, add: j})
		}
	}
	return pairs
}

// addsEarly is planArena's early for pairs: each Add's output from its
// conv on.
func addsEarly(g *ir.Graph, pairs []addPair) map[*ir.Tensor]int {
	early := map[*ir.Tensor]int{}
	for _, p := range pairs {
		early[g.Nodes[p.add].Outputs[0]] = p.conv
	}
	return early
}

// fuseAdds keeps the pairs whose kernels can run fused: a conv kernel that
// adds residuals and the fast same-shape Add, or a conv kernel that
// applies activations and the fast HardSwish or HardSigmoid.
func (it *Interpreter) fuseAdds(pairs []addPair) {
	for _, p := range pairs {
		if act, ok := it.kernels[p.add].(*fastHardAct); ok {
			conv, ok := it.kernels[p.conv].(hardActFuser)
			if !ok {
				continue
			}
			if it.fused == nil {
				it.fused = make([]fusedNode, len(it.g.Nodes))
			}
			it.fused[p.conv] = fusedNode{actConv: conv, y: it.outs[p.add][0], act: act}
			it.fused[p.add] = fusedNode{skip: true}
			continue
		}
		conv, ok := it.kernels[p.conv].(residualAdder)
		add, isFast := it.kernels[p.add].(*fastBinary)
		if !ok || !isFast || add.op != ir.OpAdd || add.vecA || add.vecB {
			continue
		}
		n := it.g.Nodes[p.add]
		t := it.g.Nodes[p.conv].Outputs[0]
		rFirst := n.Inputs[0] != t
		r := it.ins[p.add][0]
		if !rFirst {
			r = it.ins[p.add][1]
		}
		if it.fused == nil {
			it.fused = make([]fusedNode, len(it.g.Nodes))
		}
		it.fused[p.conv] = fusedNode{conv: conv, y: it.outs[p.add][0], res: residualAdd{r: r.F32, rFirst: rFirst, lo: add.lo, hi: add.hi}}
		it.fused[p.add] = fusedNode{skip: true}
	}
}
