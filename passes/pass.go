package passes

import (
	"container/heap"
	"fmt"
	"math"

	"github.com/mnconv/mnconv/ir"
)

// Pass is one named graph rewrite. Passes are package values; a pass list
// reads like a recipe (see Default).
type Pass struct {
	// Name is the pass's name in a --passes list ("fold-batchnorm").
	Name string
	// Doc says what the pass rewrites, before -> after.
	Doc string

	// rules are tried in order, each over the nodes of its ops, until a
	// round changes nothing (see rewriter.run).
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
// matched (one entry per rewrite). g is in topological order on entry (Run
// validates it and every pass ends with one TopoSort).
func (p *Pass) apply(g *ir.Graph) ([]string, error) {
	c := newRewriter(g, p.rules)
	var err error
	if p.whole != nil {
		err = p.whole(c)
	} else {
		err = c.run()
	}
	c.flush()
	if err != nil {
		return c.changed, err
	}
	return c.changed, g.TopoSort()
}

// run drives the rules over the worklist. A round tries each rule in turn,
// in node order, on the nodes of its ops that are pending for it: in the
// first round every node, later only the nodes a rewrite pushed since the
// rule last saw them. Rounds repeat until one rewrites nothing. This visits
// nodes in the order a sweep of every rule over every node would, and
// skips only nodes whose surroundings did not change since the rule last
// failed on them, so the rewrites and their order are those of the sweeps.
func (c *rewriter) run() error {
	for round := 0; round < maxRounds; round++ {
		before := len(c.changed)
		for i, r := range c.rules {
			if err := c.sweep(i, r); err != nil {
				return err
			}
		}
		if len(c.changed) == before {
			break
		}
	}
	return nil
}

// sweep tries rule i on its pending nodes in node order. A node pushed
// during the sweep is tried in this sweep when it lies ahead of the cursor
// and was there when the sweep began, else in the next round, as a sweep
// over a snapshot of the node list would.
func (c *rewriter) sweep(i int, r rewrite) error {
	c.sweepID++
	bit := uint64(1) << i
	c.queue = c.queue[:0]
	pos := 0
	for e := c.list.next; e != &c.list; e = e.next {
		e.pos, e.sweep = pos, c.sweepID
		pos++
		if e.pending&bit != 0 || (exhaustive && c.byOp[e.n.Op]&bit != 0) {
			e.pending &^= bit
			e.queued = c.sweepID
			c.queue = append(c.queue, e) // in pos order: already a heap
		}
	}
	c.cur, c.cursor = i, -1
	defer func() { c.cur = -1 }()
	for c.queue.Len() > 0 {
		e := heap.Pop(&c.queue).(*entry)
		if !e.live {
			continue
		}
		c.cursor = e.pos
		if err := r.try(c, e.n); err != nil {
			return err
		}
	}
	return nil
}

// exhaustive makes every sweep try every node, as the driver did before it
// kept a worklist; tests compare the two.
var exhaustive = false

// rewrite is a rule with its match type hidden, so that one pass can hold
// rules that find different things.
type rewrite interface {
	try(c *rewriter, n *ir.Node) error
	// prefilter lists the ops the rule matches.
	prefilter() []ir.Op
	// reach says how far from a node its match reads: up edges towards the
	// producers, down edges towards the readers.
	reach() (up, down int)
}

// rule is one match-then-apply rewrite. M is what the match found and the
// rewrite needs.
type rule[M any] struct {
	name string
	// ops is the prefilter: only nodes of these ops are matched.
	ops []ir.Op
	// up and down are how many edges above (towards producers) and below
	// (towards readers) the matched node the match reads, when more than
	// one: a rewrite that far away must bring the node back to the worklist.
	up, down int
	// match is the condition. It changes nothing; false means "does not
	// apply", which is never an error.
	match func(c *rewriter, n *ir.Node) (M, bool)
	// apply rewrites the graph through the rewriter's mutators. It may
	// assume everything match checked.
	apply func(c *rewriter, m M) error
}

func (r rule[M]) prefilter() []ir.Op    { return r.ops }
func (r rule[M]) reach() (up, down int) { return max(r.up, 1), max(r.down, 1) }

func (r rule[M]) try(c *rewriter, n *ir.Node) error {
	m, ok := r.match(c, n)
	if !ok {
		return nil
	}
	name := n.Name
	c.touch(n)
	if err := r.apply(c, m); err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	c.changed = append(c.changed, name)
	c.settle()
	return nil
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
	return a.DType == b.DType && a.Quant.Equal(b.Quant)
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
