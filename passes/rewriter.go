package passes

import (
	"container/heap"
	"slices"
	"strconv"

	"github.com/mnconv/mnconv/ir"
)

// rewriter is what a rule sees: the graph and its def-use facts, which the
// mutators below keep current in time proportional to the degree of what
// they change, so that a pass costs time linear in the graph's size. Rules
// change the graph only through the mutators. The node order lives in a
// list here during a pass; flush writes it back to g.Nodes.
type rewriter struct {
	g     *ir.Graph
	prod  map[*ir.Tensor]*ir.Node
	cons  map[*ir.Tensor][]*ir.Node // readers, once per input slot, in no order
	isOut map[*ir.Tensor]bool
	nodes map[*ir.Node]*entry
	list  entry // sentinel of the node list

	// refs counts a tensor's references (node slots, graph input and
	// output); names counts the live nodes and referenced tensors by name,
	// and reserved holds the names unique handed out during this rewrite.
	// Few passes make names: the counts are built at the first unique.
	// A name that leaves the graph stays taken until the rewrite ends
	// (released), so that a rewrite never reuses a name it removed.
	refs     map[*ir.Tensor]int
	names    map[string]int
	reserved map[string]bool
	released []string

	// The worklist (see run): the pass's rules, the rules of each op, the
	// farthest any rule's match reads, and the current sweep.
	rules    []rewrite
	byOp     map[ir.Op]uint64
	up, down int
	sweepID  int
	cur      int // rule being swept, -1 outside a sweep
	cursor   int // position of the node being tried
	queue    entryHeap

	// touched and readersChanged collect what the current rewrite changed;
	// settle pushes their neighbourhood. stamp marks one walk.
	touched        []*ir.Node
	readersChanged []*ir.Tensor
	stamp          int
	frontier, next []*ir.Node

	// changed lists the node each rewrite matched, for the report.
	changed []string
}

// entry is a node's place in the list and on the worklist.
type entry struct {
	n          *ir.Node
	prev, next *entry
	live       bool
	pending    uint64 // rules (bit i: rules[i]) still to try on n
	pos, sweep int    // position at the start of sweep number sweep
	queued     int    // the sweep whose queue holds n
	seen       int    // the last walk that reached n
}

func newRewriter(g *ir.Graph, rules []rewrite) *rewriter {
	c := &rewriter{
		g:        g,
		prod:     make(map[*ir.Tensor]*ir.Node, len(g.Nodes)),
		cons:     make(map[*ir.Tensor][]*ir.Node, 2*len(g.Nodes)),
		isOut:    make(map[*ir.Tensor]bool, len(g.Outputs)),
		nodes:    make(map[*ir.Node]*entry, len(g.Nodes)),
		reserved: map[string]bool{},
		rules:    rules,
		byOp:     map[ir.Op]uint64{},
		cur:      -1,
	}
	c.list.next, c.list.prev = &c.list, &c.list
	for i, r := range rules {
		for _, op := range r.prefilter() {
			c.byOp[op] |= 1 << i
		}
		u, d := r.reach()
		c.up, c.down = max(c.up, u), max(c.down, d)
	}
	for _, t := range g.Outputs {
		c.isOut[t] = true
	}
	for _, n := range g.Nodes {
		e := c.link(n, &c.list)
		e.pending = c.byOp[n.Op] // the worklist starts with every node
	}
	c.touched = c.touched[:0]
	c.readersChanged = c.readersChanged[:0]
	return c
}

// flush writes the node list back to g.Nodes.
func (c *rewriter) flush() {
	nodes := make([]*ir.Node, 0, len(c.nodes))
	for e := c.list.next; e != &c.list; e = e.next {
		nodes = append(nodes, e.n)
	}
	c.g.Nodes = nodes
}

// ref adds d to t's reference count; a tensor's name is in use while it is
// referenced.
func (c *rewriter) ref(t *ir.Tensor, d int) {
	if t == nil || c.names == nil {
		return
	}
	before := c.refs[t]
	c.refs[t] = before + d
	switch {
	case before == 0 && d > 0:
		c.names[t.Name]++
	case before+d == 0:
		c.released = append(c.released, t.Name)
		delete(c.refs, t)
	}
}

// countName adds d to the count of a node name, once names are counted.
func (c *rewriter) countName(name string, d int) {
	switch {
	case c.names == nil:
	case d > 0:
		c.names[name] += d
	default:
		c.released = append(c.released, name)
	}
}

// countNames counts the names of the live nodes and of the tensors they,
// and the graph's inputs and outputs, reference.
func (c *rewriter) countNames() {
	c.names = make(map[string]int, 4*len(c.nodes))
	c.refs = make(map[*ir.Tensor]int, 3*len(c.nodes))
	for _, t := range c.g.Inputs {
		c.ref(t, 1)
	}
	for _, t := range c.g.Outputs {
		c.ref(t, 1)
	}
	for e := c.list.next; e != &c.list; e = e.next {
		c.names[e.n.Name]++
		for _, t := range e.n.Inputs {
			c.ref(t, 1)
		}
		for _, t := range e.n.Outputs {
			c.ref(t, 1)
		}
	}
}

// link registers n and puts it before at in the list.
func (c *rewriter) link(n *ir.Node, at *entry) *entry {
	e := &entry{n: n, live: true, next: at, prev: at.prev}
	at.prev.next = e
	at.prev = e
	c.nodes[n] = e
	c.countName(n.Name, 1)
	for _, t := range n.Inputs {
		if t != nil {
			c.cons[t] = append(c.cons[t], n)
			c.ref(t, 1)
			c.readersChanged = append(c.readersChanged, t)
		}
	}
	for _, t := range n.Outputs {
		if t != nil {
			c.prod[t] = n
			c.ref(t, 1)
		}
	}
	c.touched = append(c.touched, n)
	return e
}

// unlinkReader removes one of n's reads of t.
func (c *rewriter) unlinkReader(t *ir.Tensor, n *ir.Node) {
	rs := c.cons[t]
	if i := slices.Index(rs, n); i >= 0 {
		rs[i] = rs[len(rs)-1]
		rs[len(rs)-1] = nil
		rs = rs[:len(rs)-1]
	}
	if len(rs) == 0 {
		delete(c.cons, t)
	} else {
		c.cons[t] = rs
	}
	c.ref(t, -1)
	c.readersChanged = append(c.readersChanged, t)
}

// isLive reports whether n is in the graph.
func (c *rewriter) isLive(n *ir.Node) bool { return c.nodes[n] != nil }

// touch notes that n changed: settle pushes it and what is near it.
func (c *rewriter) touch(n *ir.Node) { c.touched = append(c.touched, n) }

// settle ends a rewrite: it pushes onto the worklist every node whose match
// may read what the rewrite changed, and forgets reserved names, as a
// rebuild of the graph's facts would.
//
// A changed node is pushed with the nodes c.down edges above it and c.up
// edges below it. A tensor that gained or lost a reader pushes its producer
// and the nodes above it (a match that looks down reads the readers), and
// its reader when it is now the only one (the matches that look up ask only
// whether a tensor has exactly one reader: losing that only stops a match).
func (c *rewriter) settle() {
	clear(c.reserved)
	for _, name := range c.released {
		c.names[name]--
	}
	c.released = c.released[:0]
	for _, t := range c.readersChanged {
		if p := c.prod[t]; p != nil {
			c.walk(p, c.down, false)
		}
		if rs := c.cons[t]; len(rs) == 1 {
			c.touched = append(c.touched, rs[0])
		}
	}
	for _, n := range c.touched {
		c.walk(n, c.down, false)
		c.walk(n, c.up, true)
	}
	clear(c.touched)
	c.touched = c.touched[:0]
	clear(c.readersChanged)
	c.readersChanged = c.readersChanged[:0]
}

// walk pushes the live node n and the nodes up to depth edges below it
// (down) or above it.
func (c *rewriter) walk(n *ir.Node, depth int, down bool) {
	c.stamp++
	c.frontier = append(c.frontier[:0], n)
	for d := 0; d <= depth && len(c.frontier) > 0; d++ {
		c.next = c.next[:0]
		for _, m := range c.frontier {
			e := c.nodes[m]
			if e == nil || e.seen == c.stamp {
				continue
			}
			e.seen = c.stamp
			c.push(e)
			if d == depth {
				continue
			}
			if down {
				for _, t := range m.Outputs {
					c.next = append(c.next, c.cons[t]...)
				}
			} else {
				for _, t := range m.Inputs {
					if p := c.prod[t]; p != nil {
						c.next = append(c.next, p)
					}
				}
			}
		}
		c.frontier, c.next = c.next, c.frontier
	}
}

// push makes e pending for the rules of its op. For the rule being swept, a
// node still ahead of the cursor joins this sweep.
func (c *rewriter) push(e *entry) {
	mask := c.byOp[e.n.Op]
	if c.cur >= 0 {
		bit := uint64(1) << c.cur
		if mask&bit != 0 && e.sweep == c.sweepID && e.pos > c.cursor {
			mask &^= bit
			if e.queued != c.sweepID {
				e.queued = c.sweepID
				heap.Push(&c.queue, e)
			}
		}
	}
	e.pending |= mask
}

// entryHeap orders entries by position: the order of a sweep.
type entryHeap []*entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].pos < h[j].pos }
func (h entryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *entryHeap) Push(x any)        { *h = append(*h, x.(*entry)) }
func (h *entryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return x
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
	if c.names == nil {
		c.countNames()
	}
	name := base
	for i := 1; c.names[name] > 0 || c.reserved[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	c.reserved[name] = true
	return name
}

// remove deletes nodes from the graph. Readers of their outputs lose the
// producer.
func (c *rewriter) remove(nodes ...*ir.Node) {
	for _, n := range nodes {
		e := c.nodes[n]
		if e == nil {
			continue
		}
		e.prev.next, e.next.prev = e.next, e.prev
		e.live = false
		delete(c.nodes, n)
		c.countName(n.Name, -1)
		for _, t := range n.Inputs {
			if t != nil {
				c.unlinkReader(t, n)
			}
		}
		for _, t := range n.Outputs {
			if t == nil {
				continue
			}
			if c.prod[t] == n {
				delete(c.prod, t)
			}
			c.ref(t, -1)
			c.touched = append(c.touched, c.cons[t]...)
		}
	}
}

// replace puts add where anchor is and removes anchor and drop. Rules call
// it with the node whose output the new nodes write as anchor: it depends on
// every other node of the pattern, so inputs of the new nodes are computed
// before that position.
func (c *rewriter) replace(anchor *ir.Node, drop []*ir.Node, add ...*ir.Node) {
	at := &c.list
	if e := c.nodes[anchor]; e != nil {
		at = e
	}
	for _, n := range add {
		c.link(n, at)
	}
	c.remove(append([]*ir.Node{anchor}, drop...)...)
}

// insertAfter puts the new node n right after ref in the node order.
func (c *rewriter) insertAfter(n, ref *ir.Node) {
	c.link(n, c.nodes[ref].next)
}

// moveAfter moves n right after ref in the node order.
func (c *rewriter) moveAfter(n, ref *ir.Node) {
	e, r := c.nodes[n], c.nodes[ref]
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = r, r.next
	r.next.prev = e
	r.next = e
}

// setInput makes n read t as input i (nil: absent), growing n.Inputs with
// absent inputs as needed.
func (c *rewriter) setInput(n *ir.Node, i int, t *ir.Tensor) {
	for len(n.Inputs) <= i {
		n.Inputs = append(n.Inputs, nil)
	}
	if old := n.Inputs[i]; old != nil {
		c.unlinkReader(old, n)
	}
	n.Inputs[i] = t
	if t != nil {
		c.cons[t] = append(c.cons[t], n)
		c.ref(t, 1)
		c.readersChanged = append(c.readersChanged, t)
	}
	c.touch(n)
}

// setOutput makes n write t as output i. The old output's readers lose
// their producer unless another node writes it already.
func (c *rewriter) setOutput(n *ir.Node, i int, t *ir.Tensor) {
	if old := n.Outputs[i]; old != nil {
		if c.prod[old] == n {
			delete(c.prod, old)
			c.touched = append(c.touched, c.cons[old]...)
		}
		c.ref(old, -1)
	}
	n.Outputs[i] = t
	c.prod[t] = n
	c.ref(t, 1)
	c.touch(n)
}

// rewire makes every node that reads old read new.
func (c *rewriter) rewire(old, new *ir.Tensor) {
	for _, n := range slices.Clone(c.cons[old]) {
		for i, t := range n.Inputs {
			if t == old {
				c.setInput(n, i, new)
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
			c.setOutput(p, i, y)
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
		for _, m := range c.cons[t] {
			if m != n {
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
		c.touch(n)
		return
	}
	if old != nil {
		base = old.Name
	}
	c.setInput(n, i, ir.NewConstF32(c.unique(base), shape, vals))
}
