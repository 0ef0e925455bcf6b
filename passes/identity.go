package passes

import (
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// RemoveIdentity removes nodes that do not change their input.
var RemoveIdentity = Pass{
	Name: "remove-identity",
	Doc: `Removes nodes that pass their input through unchanged, and merges
reshape chains:
  Identity(x)                  =>  x     (Dropout imports as Identity)
  Reshape(x) to x's shape      =>  x
  Transpose(x){perm=0,1,...}   =>  x
  Reshape(Reshape(x))          =>  Reshape(x)
Readers of the removed node's output read x instead; when that output is a
graph output, x's producer writes it, so the output keeps its name. Nodes that
change dtype or quantization are kept.`,
	rules: []rewrite{noopNode, reshapeChain},
}

// isNoop reports whether n passes its input through unchanged.
func isNoop(n *ir.Node) bool {
	x, y := n.In(0), single(n)
	if x == nil || y == nil || len(n.Inputs) != 1 || !sameKind(x, y) || !slices.Equal(x.Shape, y.Shape) {
		return false
	}
	switch n.Op {
	case ir.OpIdentity, ir.OpReshape:
		return true
	case ir.OpTranspose:
		a, ok := n.Attrs.(*ir.TransposeAttrs)
		return ok && isIdentityPerm(a.Perm)
	}
	return false
}

func isIdentityPerm(p []int) bool {
	for i, v := range p {
		if v != i {
			return false
		}
	}
	return true
}

// Identity(x) => x; Reshape(x) to x's shape => x; Transpose(x){identity} => x
var noopNode = rule[*ir.Node]{
	name: "noop",
	ops:  []ir.Op{ir.OpIdentity, ir.OpReshape, ir.OpTranspose},
	match: func(c *rewriter, n *ir.Node) (*ir.Node, bool) {
		return n, isNoop(n) && c.canBypass(n, n.In(0))
	},
	apply: func(c *rewriter, n *ir.Node) error {
		c.bypass(n, n.In(0))
		return nil
	},
}

type reshapePair struct{ outer, inner *ir.Node }

// Reshape(Reshape(x))  =>  Reshape(x)
var reshapeChain = rule[reshapePair]{
	name: "reshape-chain",
	ops:  []ir.Op{ir.OpReshape},
	match: func(c *rewriter, n *ir.Node) (reshapePair, bool) {
		t := n.In(0)
		p := c.prod[t]
		if p == nil || p.Op != ir.OpReshape || p.In(0) == nil || single(n) == nil || !sameKind(p.In(0), t) || !sameKind(t, n.Out()) {
			return reshapePair{}, false
		}
		return reshapePair{outer: n, inner: p}, true
	},
	apply: func(c *rewriter, m reshapePair) error {
		c.setInput(m.outer, 0, m.inner.In(0))
		c.removeIfDead(m.inner)
		return nil
	},
}
