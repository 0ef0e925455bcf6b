package passes

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// checkUseLists compares the rewriter's use-lists and names with a rebuild
// from scratch of the graph its node list holds.
func checkUseLists(t *testing.T, c *rewriter, after string) {
	t.Helper()
	c.flush()
	g := c.g
	fresh := newRewriter(g, nil)
	fresh.countNames()
	if len(c.prod) != len(fresh.prod) {
		t.Errorf("after %s: %d producers, a rebuild finds %d", after, len(c.prod), len(fresh.prod))
	}
	for tn, p := range fresh.prod {
		if c.prod[tn] != p {
			t.Errorf("after %s: producer of %q is %v, want %q", after, tn.Name, c.prod[tn], p.Name)
		}
	}
	if len(c.cons) != len(fresh.cons) {
		t.Errorf("after %s: %d read tensors, a rebuild finds %d", after, len(c.cons), len(fresh.cons))
	}
	byName := func(ns []*ir.Node) []string {
		var s []string
		for _, n := range ns {
			s = append(s, n.Name)
		}
		slices.Sort(s)
		return s
	}
	for tn, rs := range fresh.cons {
		if got, want := byName(c.cons[tn]), byName(rs); !slices.Equal(got, want) {
			t.Errorf("after %s: readers of %q are %v, want %v", after, tn.Name, got, want)
		}
	}
	if len(c.nodes) != len(g.Nodes) {
		t.Errorf("after %s: %d live nodes, %d in the list", after, len(c.nodes), len(g.Nodes))
	}
	if c.names != nil {
		for name, k := range fresh.names {
			if c.names[name] != k {
				t.Errorf("after %s: name %q counted %d times, want %d", after, name, c.names[name], k)
			}
		}
		for name, k := range c.names {
			if k != 0 && fresh.names[name] == 0 {
				t.Errorf("after %s: name %q counted %d times, but the graph does not use it", after, name, k)
			}
		}
	}
}

// TestUseListsFollowMutators applies each mutator to a small graph and
// checks the use-lists against a rebuild after every step.
func TestUseListsFollowMutators(t *testing.T) {
	b := newBuilder(t, "mutators")
	x := b.input("x", 1, 4, 4, 2)
	a := b.node(ir.OpRelu, "a", nil, x)
	id := b.node(ir.OpIdentity, "id", nil, a)
	m := b.node(ir.OpMul, "m", &ir.BinaryAttrs{}, id, id)
	k := b.weights("k", 2)
	s := b.node(ir.OpAdd, "s", &ir.BinaryAttrs{}, m, k)
	dead := b.node(ir.OpSigmoid, "dead", nil, a)
	_ = dead
	g := b.build(s)
	c := newRewriter(g, Default[0].rules)
	c.countNames()
	node := func(name string) *ir.Node { return findNode(g, name) }
	checkUseLists(t, c, "newRewriter")

	steps := []struct {
		name string
		do   func()
	}{
		{"setInput", func() { c.setInput(node("m"), 1, a) }},
		{"setConstF32", func() { c.setConstF32(node("s"), 1, "k2", []int{2}, []float32{1, 2}) }},
		{"bypass", func() { c.bypass(node("id"), a) }},
		{"replace", func() {
			r := ir.NewNode("r", ir.OpRelu, []*ir.Tensor{a}, node("a").Out())
			r.Inputs[0] = x
			c.replace(node("a"), nil, r)
		}},
		{"insertAfter and setOutput", func() {
			mid := &ir.Tensor{Name: c.unique("mid"), DType: ir.Float32, Shape: []int{1, 4, 4, 2}}
			p := node("m")
			c.insertAfter(ir.NewNode(c.unique("clamp"), ir.OpRelu, []*ir.Tensor{mid}, p.Out()), p)
			c.setOutput(p, 0, mid)
		}},
		{"moveAfter", func() { c.moveAfter(node("dead"), node("s")) }},
		{"rewire", func() { c.rewire(node("r").Out(), x) }},
		{"removeIfDead", func() { c.removeIfDead(node("dead")) }},
		{"remove", func() { c.remove(node("r")) }},
	}
	for _, st := range steps {
		st.do()
		c.settle()
		checkUseLists(t, c, st.name)
	}
	if err := g.TopoSort(); err != nil {
		t.Fatal(err)
	}
}

// TestWorklistMatchesSweeps runs the passes with the worklist and with
// sweeps of every rule over every node (what the driver did before it kept
// a worklist): the rewrites, their order and the graphs must be the same.
func TestWorklistMatchesSweeps(t *testing.T) {
	lists := map[string][]Pass{"default": Default, "all": All}
	for _, p := range All {
		lists[p.Name] = []Pass{p}
	}
	for seed := int64(1); seed <= 200; seed++ {
		for name, list := range lists {
			g := randomGraph(t, seed)
			w, s := cloneGraph(g), cloneGraph(g)
			rw, errW := Run(w, list, nil)
			exhaustive = true
			rs, errS := Run(s, list, nil)
			exhaustive = false
			if fmt.Sprint(errW) != fmt.Sprint(errS) || rw.String() != rs.String() || w.Dump() != s.Dump() {
				t.Fatalf("seed %d, %s: worklist and sweeps differ:\n%v\n%s%s\nsweeps:\n%v\n%s%s", seed, name, errW, rw, w.Dump(), errS, rs, s.Dump())
			}
		}
	}
}
