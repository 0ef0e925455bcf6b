package passes

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/mnconv/mnconv/ir"
)

// Pass is one named graph rewrite. Passes are package values; a pass list
// reads like a recipe (see Default).
type Pass struct {
	// Name is the pass's name in a --passes list ("fold-batchnorm").
	Name string
	// Doc says what the pass rewrites, before -> after.
	Doc string

	// rules are tried in order, each over every node, until a round
	// changes nothing.
	rules []rewrite
	// whole, when set, rewrites the graph at once instead (passes that are
	// not local: dead code, dequantization).
	whole func(c *rewriter) error
}

// maxRounds bounds the rounds of one pass over the graph. Every rule shrinks
// the graph or moves a transpose towards the outputs, so a pass settles in a
// few rounds; the bound only guards against a rule that would oscillate.
const maxRounds = 32

// apply runs p once on g and returns the names of the nodes its rules
// matched (one entry per rewrite).
func (p *Pass) apply(g *ir.Graph) ([]string, error) {
	c := newRewriter(g)
	if p.whole != nil {
		if err := p.whole(c); err != nil {
			return c.changed, err
		}
		return c.changed, g.TopoSort()
	}
	for round := 0; round < maxRounds; round++ {
		before := len(c.changed)
		for _, r := range p.rules {
			for _, n := range slices.Clone(g.Nodes) {
				if !c.live[n] {
					continue // removed by an earlier rewrite of this round
				}
				if err := r.try(c, n); err != nil {
					return c.changed, err
				}
			}
		}
		if len(c.changed) == before {
			break
		}
	}
	return c.changed, g.TopoSort()
}

// rewrite is a rule with its match type hidden, so that one pass can hold
// rules that find different things.
type rewrite interface {
	try(c *rewriter, n *ir.Node) error
}

// rule is one match-then-apply rewrite. M is what the match found and the
// rewrite needs.
type rule[M any] struct {
	name string
	// ops is the prefilter: only nodes of these ops are matched.
	ops []ir.Op
	// match is the condition. It changes nothing; false means "does not
	// apply", which is never an error.
	match func(c *rewriter, n *ir.Node) (M, bool)
	// apply rewrites the graph. It may assume everything match checked.
	apply func(c *rewriter, m M) error
}

func (r rule[M]) try(c *rewriter, n *ir.Node) error {
	if !slices.Contains(r.ops, n.Op) {
		return nil
	}
	m, ok := r.match(c, n)
	if !ok {
		return nil
	}
	name := n.Name
	if err := r.apply(c, m); err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	c.changed = append(c.changed, name)
	c.refresh()
	return nil
}

// rewriter is what a rule sees: the graph and its def-use facts, rebuilt
// after every rewrite so that a condition never reads stale facts. Graphs
// have a few hundred nodes, so rebuilding is cheaper than keeping the maps
// in step by hand.
type rewriter struct {
	g     *ir.Graph
	prod  map[*ir.Tensor]*ir.Node
	cons  map[*ir.Tensor][]*ir.Node
	isOut map[*ir.Tensor]bool
	live  map[*ir.Node]bool
	names map[string]bool // tensor and node names in use
	// changed lists the node each rewrite matched, for the report.
	changed []string
}

func newRewriter(g *ir.Graph) *rewriter {
	c := &rewriter{g: g}
	c.refresh()
	return c
}

func (c *rewriter) refresh() {
	c.prod = c.g.Producers()
	c.cons = c.g.Consumers()
	c.isOut = make(map[*ir.Tensor]bool, len(c.g.Outputs))
	for _, t := range c.g.Outputs {
		c.isOut[t] = true
	}
	c.live = make(map[*ir.Node]bool, len(c.g.Nodes))
	c.names = make(map[string]bool, 2*len(c.g.Nodes))
	for _, n := range c.g.Nodes {
		c.live[n] = true
		c.names[n.Name] = true
	}
	for _, t := range c.g.Tensors() {
		c.names[t.Name] = true
	}
}

// sole reports whether t is read by exactly one node and is not a graph
// output: the condition for folding its producer into that reader.
func (c *rewriter) sole(t *ir.Tensor) bool {
	return t != nil && len(c.cons[t]) == 1 && !c.isOut[t]
}

// soleReader returns t's only reader, or nil unless c.sole(t).
func (c *rewriter) soleReader(t *ir.Tensor) *ir.Node {
	if !c.sole(t) {
		return nil
	}
	return c.cons[t][0]
}

// unique returns base, or base with a numeric suffix, so that it names no
// tensor or node of the graph yet; the name is reserved.
func (c *rewriter) unique(base string) string {
	name := base
	for i := 1; c.names[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	c.names[name] = true
	return name
}

// remove deletes nodes from the graph.
func (c *rewriter) remove(nodes ...*ir.Node) {
	c.g.Nodes = slices.DeleteFunc(c.g.Nodes, func(n *ir.Node) bool { return slices.Contains(nodes, n) })
	for _, n := range nodes {
		delete(c.live, n)
	}
}

// replace puts add where anchor is and removes anchor and drop. Rules call
// it with the node whose output the new nodes write as anchor: it depends on
// every other node of the pattern, so inputs of the new nodes are computed
// before that position.
func (c *rewriter) replace(anchor *ir.Node, drop []*ir.Node, add ...*ir.Node) {
	i := slices.Index(c.g.Nodes, anchor)
	if i < 0 {
		i = len(c.g.Nodes)
	}
	c.g.Nodes = slices.Insert(c.g.Nodes, i, add...)
	c.remove(append([]*ir.Node{anchor}, drop...)...)
}

// moveAfter moves n right after ref in the node order.
func (c *rewriter) moveAfter(n, ref *ir.Node) {
	c.g.Nodes = slices.DeleteFunc(c.g.Nodes, func(m *ir.Node) bool { return m == n })
	i := slices.Index(c.g.Nodes, ref)
	c.g.Nodes = slices.Insert(c.g.Nodes, i+1, n)
}

// rewire makes every node that reads old read new.
func (c *rewriter) rewire(old, new *ir.Tensor) {
	for _, n := range c.g.Nodes {
		for i, t := range n.Inputs {
			if t == old {
				n.Inputs[i] = new
			}
		}
	}
}

// canBypass reports whether node n, whose output holds the same values as
// its input x, can be removed: always when the output is internal; when the
// output is a graph output, only if x's producer can write it instead (x is
// neither a graph input, a constant nor itself a graph output).
func (c *rewriter) canBypass(n *ir.Node, x *ir.Tensor) bool {
	y := n.Out()
	if !c.isOut[y] {
		return true
	}
	return !c.isOut[x] && c.prod[x] != nil
}

// bypass removes n (see canBypass). Readers of its output y read x; when y
// is a graph output, x's producer writes y and x's readers read y, so the
// output keeps its tensor and its name.
func (c *rewriter) bypass(n *ir.Node, x *ir.Tensor) {
	y := n.Out()
	c.remove(n)
	if !c.isOut[y] {
		c.rewire(y, x)
		return
	}
	p := c.prod[x]
	for i, t := range p.Outputs {
		if t == x {
			p.Outputs[i] = y
		}
	}
	c.rewire(x, y)
}

// removeIfDead removes n when nothing reads its outputs any more.
func (c *rewriter) removeIfDead(n *ir.Node) {
	for _, t := range n.Outputs {
		if c.isOut[t] {
			return
		}
		for _, m := range c.g.Nodes {
			if m != n && slices.Contains(m.Inputs, t) {
				return
			}
		}
	}
	c.remove(n)
}

// setConstF32 gives node n's input i the float32 constant vals. A constant
// only n reads is updated in place and keeps its name; a shared or absent
// one is replaced by a new tensor named from base. The old data is never
// written: callers may hold it.
func (c *rewriter) setConstF32(n *ir.Node, i int, base string, shape []int, vals []float32) {
	old := n.In(i)
	if old != nil && old.IsConst() && len(c.cons[old]) == 1 && !c.isOut[old] {
		old.DType = ir.Float32
		old.Shape = slices.Clone(shape)
		old.Quant = nil
		old.Data = &ir.Data{F32: vals}
		return
	}
	if old != nil {
		base = old.Name
	}
	t := ir.NewConstF32(c.unique(base), shape, vals)
	for len(n.Inputs) <= i {
		n.Inputs = append(n.Inputs, nil)
	}
	n.Inputs[i] = t
}

// scalarConst returns the value of a float32 constant with one element.
func scalarConst(t *ir.Tensor) (float64, bool) {
	if !t.IsConst() || t.DType != ir.Float32 || t.Quant != nil || t.Len() != 1 || len(t.Data.F32) != 1 {
		return 0, false
	}
	return float64(t.Data.F32[0]), true
}

// floatConst reports whether t is a float32 constant holding n values.
func floatConst(t *ir.Tensor, n int) bool {
	return t.IsConst() && t.DType == ir.Float32 && t.Quant == nil && t.Len() == n && len(t.Data.F32) == n
}

// isFloat reports whether t is a plain float32 tensor.
func isFloat(t *ir.Tensor) bool { return t != nil && t.DType == ir.Float32 && t.Quant == nil }

// sameKind reports whether a and b have the same dtype and quantization, so
// that moving data from one to the other needs no requantization.
func sameKind(a, b *ir.Tensor) bool {
	return a.DType == b.DType && quantEqual(a.Quant, b.Quant)
}

func quantEqual(a, b *ir.Quant) bool {
	if a == nil || b == nil {
		return a == b
	}
	if len(a.Scale) > 1 && a.Axis != b.Axis {
		return false
	}
	if len(a.Scale) != len(b.Scale) {
		return false
	}
	for i := range a.Scale {
		if a.Scale[i] != b.Scale[i] || a.ZP(i) != b.ZP(i) {
			return false
		}
	}
	return true
}

// approx compares a folding constant with its exact value: exporters write
// 1/6 as the float32 0.16666667, so exact comparison would miss it.
func approx(a, b float64) bool {
	return math.Abs(a-b) <= 1e-6*math.Abs(b)
}

// single returns n's only output, or nil for a malformed node.
func single(n *ir.Node) *ir.Tensor {
	if n == nil || len(n.Outputs) != 1 {
		return nil
	}
	return n.Outputs[0]
}
