package passes

import (
	"math"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// FuseActivation fuses activations into the ops before them and recognizes
// activations written out as arithmetic.
var FuseActivation = Pass{
	Name: "fuse-activation",
	Doc: `Fuses Relu, Relu6 and ReluN1To1 (written as Relu, Clip, or Max/Min with
scalar constants) into the Conv, Gemm, Add, Sub, Mul, AvgPool, MaxPool or
Concat before them, when that op has no activation yet and its output feeds
only the activation and is not a graph output:
  Clip(Conv(x,W,b), 0, 6)  =>  Conv(x,W,b){act=relu6}
Chains of clamps become one node:
  Min(Max(x, 0), 6)  =>  Clip(x, 0, 6)      Max(x, 0)  =>  Relu(x)
Hard-swish and hard-sigmoid written out as arithmetic become one node:
  x * Clip(x+3, 0, 6) / 6  =>  HardSwish(x)    (any grouping of the product,
      Mul by 1/6 for Div by 6, the 3 on either side, Relu6 fused into the
      Add, or HardSigmoid(x){1/6, 0.5} * x)
  Clip(x+3, 0, 6) / 6      =>  HardSigmoid(x){alpha=1/6, beta=0.5}`,
	// Hard-swish goes before fusion: fusing its Clip into the Add would hide
	// nothing (relu6Plus3 reads both forms) but would cost a round.
	rules: []rewrite{mergeClamps, hardSwish, hardSigmoid, fuseActivation, maxZeroToRelu},
}

// clampOf reads n as a clamp of one tensor to [lo, hi]: Relu, Clip, or Max /
// Min of a float tensor with a scalar constant that does not broadcast it.
func clampOf(n *ir.Node) (x *ir.Tensor, lo, hi float64, ok bool) {
	y := single(n)
	if y == nil {
		return nil, 0, 0, false
	}
	inf := math.Inf(1)
	switch n.Op {
	case ir.OpRelu:
		return n.In(0), 0, inf, n.In(0) != nil
	case ir.OpClip:
		a, ok := n.Attrs.(*ir.ClipAttrs)
		if !ok || n.In(0) == nil {
			return nil, 0, 0, false
		}
		return n.In(0), float64(a.Min), float64(a.Max), true
	case ir.OpMax, ir.OpMin:
		if a, ok := n.Attrs.(*ir.BinaryAttrs); !ok || a.Act != ir.ActNone || len(n.Inputs) != 2 {
			return nil, 0, 0, false
		}
		x, k := n.In(0), n.In(1)
		v, isK := scalarConst(k)
		if !isK {
			x, k = k, x
			v, isK = scalarConst(k)
		}
		if !isK || x == nil || x.IsConst() || !isFloat(x) || !isFloat(y) || !slices.Equal(x.Shape, y.Shape) {
			return nil, 0, 0, false
		}
		if n.Op == ir.OpMax {
			return x, v, inf, true
		}
		return x, -inf, v, true
	}
	return nil, 0, 0, false
}

// actFor names the fused activation that clamps to [lo, hi], if any.
func actFor(lo, hi float64) ir.Activation {
	for _, a := range []ir.Activation{ir.ActRelu, ir.ActRelu6, ir.ActReluN1To1} {
		l, h := a.Bounds()
		if lo == float64(l) && hi == float64(h) {
			return a
		}
	}
	return ir.ActNone
}

// clampNode makes the canonical node for a clamp: Relu for [0, inf), else Clip.
func clampNode(name string, x, y *ir.Tensor, lo, hi float64) *ir.Node {
	if lo == 0 && math.IsInf(hi, 1) {
		return ir.NewNode(name, ir.OpRelu, []*ir.Tensor{x}, y)
	}
	n := ir.NewNode(name, ir.OpClip, []*ir.Tensor{x}, y)
	n.Attrs = &ir.ClipAttrs{Min: float32(lo), Max: float32(hi)}
	return n
}

type clampPair struct {
	outer, inner *ir.Node
	x            *ir.Tensor
	lo, hi       float64
}

// Min(Max(x, a), b)  =>  Clip(x, a, b)   (any two clamps: the bounds intersect)
var mergeClamps = rule[clampPair]{
	name: "merge-clamps",
	ops:  []ir.Op{ir.OpRelu, ir.OpClip, ir.OpMax, ir.OpMin},
	match: func(c *rewriter, n *ir.Node) (clampPair, bool) {
		t, lo2, hi2, ok := clampOf(n)
		if !ok || !c.sole(t) {
			return clampPair{}, false
		}
		p := c.prod[t]
		x, lo1, hi1, ok := clampOf(p)
		if !ok || !sameKind(x, t) || !sameKind(t, n.Out()) {
			return clampPair{}, false
		}
		lo, hi := max(lo1, lo2), min(hi1, hi2)
		if lo > hi {
			return clampPair{}, false // the result is a constant; leave it
		}
		return clampPair{outer: n, inner: p, x: x, lo: lo, hi: hi}, true
	},
	apply: func(c *rewriter, m clampPair) error {
		c.replace(m.outer, []*ir.Node{m.inner}, clampNode(m.outer.Name, m.x, m.outer.Out(), m.lo, m.hi))
		return nil
	},
}

// Max(x, 0)  =>  Relu(x)
var maxZeroToRelu = rule[*ir.Node]{
	name: "max-zero-to-relu",
	ops:  []ir.Op{ir.OpMax},
	match: func(c *rewriter, n *ir.Node) (*ir.Node, bool) {
		_, lo, hi, ok := clampOf(n)
		return n, ok && lo == 0 && math.IsInf(hi, 1)
	},
	apply: func(c *rewriter, n *ir.Node) error {
		x, _, _, _ := clampOf(n)
		c.replace(n, nil, clampNode(n.Name, x, n.Out(), 0, math.Inf(1)))
		return nil
	},
}

// canFuseInto lists the ops with a fused activation (see ir.Node.SetFusedAct)
// that the exporters can write with one.
var canFuseInto = []ir.Op{ir.OpConv, ir.OpGemm, ir.OpAdd, ir.OpSub, ir.OpMul, ir.OpAvgPool, ir.OpMaxPool, ir.OpConcat}

type actFusion struct {
	act     ir.Activation
	p, node *ir.Node
}

// Relu(Conv(x,W,b))  =>  Conv(x,W,b){act=relu}   (Clip 0,6 -> relu6; Clip -1,1 -> relu_n1_to_1)
var fuseActivation = rule[actFusion]{
	name: "fuse-activation",
	ops:  []ir.Op{ir.OpRelu, ir.OpClip, ir.OpMax, ir.OpMin},
	match: func(c *rewriter, n *ir.Node) (actFusion, bool) {
		x, lo, hi, ok := clampOf(n)
		if !ok {
			return actFusion{}, false
		}
		act := actFor(lo, hi)
		p := c.prod[x]
		if act == ir.ActNone || p == nil || !slices.Contains(canFuseInto, p.Op) || single(p) != x ||
			p.FusedAct() != ir.ActNone || !c.sole(x) || !sameKind(x, n.Out()) {
			return actFusion{}, false
		}
		return actFusion{act: act, p: p, node: n}, true
	},
	apply: func(c *rewriter, m actFusion) error {
		y := m.node.Out()
		c.remove(m.node)
		m.p.SetFusedAct(m.act)
		c.setOutput(m.p, 0, y)
		return nil
	},
}

// product is a chain of Mul and Div-by-constant nodes read as
// scale * factors[0] * factors[1] * ...
type product struct {
	factors []*ir.Tensor
	scale   float64
	nodes   []*ir.Node // the chain's nodes below the top one
}

// maxProductNodes bounds how deep flatten looks: hard-swish needs three.
const maxProductNodes = 6

// hardActReach is how far above the top node the hard-swish and
// hard-sigmoid matches read: the product's nodes, then relu6Plus3's Clip
// and Add and the Add's inputs.
const hardActReach = maxProductNodes + 3

// arithOnly reports whether n is a plain float Mul, or a Div by a nonzero
// scalar constant, with no fused activation and no broadcasting of its
// non-constant operands.
func arithOnly(n *ir.Node) bool {
	if n == nil || (n.Op != ir.OpMul && n.Op != ir.OpDiv) || len(n.Inputs) != 2 {
		return false
	}
	if a, ok := n.Attrs.(*ir.BinaryAttrs); !ok || a.Act != ir.ActNone {
		return false
	}
	y := single(n)
	if !isFloat(y) {
		return false
	}
	if n.Op == ir.OpDiv {
		if v, ok := scalarConst(n.In(1)); !ok || v == 0 {
			return false
		}
	}
	for _, t := range n.Inputs {
		if _, ok := scalarConst(t); !ok && (t == nil || !isFloat(t) || !slices.Equal(t.Shape, y.Shape)) {
			return false
		}
	}
	return true
}

// flatten reads top (a Mul or Div) as a product, looking through the Mul and
// Div nodes below it whose outputs only it uses.
func (c *rewriter) flatten(top *ir.Node) (product, bool) {
	if !arithOnly(top) {
		return product{}, false
	}
	pr := product{scale: 1}
	var expand func(n *ir.Node)
	visit := func(t *ir.Tensor) {
		if v, ok := scalarConst(t); ok {
			pr.scale *= v
			return
		}
		if p := c.prod[t]; arithOnly(p) && c.sole(t) && len(pr.nodes) < maxProductNodes {
			pr.nodes = append(pr.nodes, p)
			expand(p)
			return
		}
		pr.factors = append(pr.factors, t)
	}
	expand = func(n *ir.Node) {
		if n.Op == ir.OpDiv {
			v, _ := scalarConst(n.In(1))
			pr.scale /= v
			visit(n.In(0))
			return
		}
		visit(n.In(0))
		visit(n.In(1))
	}
	expand(top)
	return pr, true
}

// relu6Plus3 reads r as Relu6(x+3) times a constant: Clip(Add(x,3),0,6),
// Add(x,3){act=relu6}, or HardSigmoid(x){1/6,0.5} (which is Relu6(x+3)/6).
// It returns x, the constant and the nodes computing r; r must feed only
// the pattern.
func (c *rewriter) relu6Plus3(r *ir.Tensor) (x *ir.Tensor, scale float64, nodes []*ir.Node, ok bool) {
	p := c.prod[r]
	if p == nil || !c.sole(r) || !isFloat(r) {
		return nil, 0, nil, false
	}
	switch p.Op {
	case ir.OpClip:
		a, isClip := p.Attrs.(*ir.ClipAttrs)
		if !isClip || a.Min != 0 || a.Max != 6 || !c.sole(p.In(0)) {
			return nil, 0, nil, false
		}
		add := c.prod[p.In(0)]
		if x, ok := plus3(add, ir.ActNone); ok {
			return x, 1, []*ir.Node{p, add}, true
		}
	case ir.OpAdd:
		if x, ok := plus3(p, ir.ActRelu6); ok {
			return x, 1, []*ir.Node{p}, true
		}
	case ir.OpHardSigmoid:
		a, isHS := p.Attrs.(*ir.HardSigmoidAttrs)
		if isHS && approx(float64(a.Alpha), 1.0/6) && approx(float64(a.Beta), 0.5) && isFloat(p.In(0)) {
			return p.In(0), 1.0 / 6, []*ir.Node{p}, true
		}
	}
	return nil, 0, nil, false
}

// plus3 reads add as x+3 or 3+x with the fused activation act.
func plus3(add *ir.Node, act ir.Activation) (*ir.Tensor, bool) {
	if add == nil || add.Op != ir.OpAdd || len(add.Inputs) != 2 || add.FusedAct() != act || !isFloat(single(add)) {
		return nil, false
	}
	for i := 0; i < 2; i++ {
		x, k := add.Inputs[i], add.Inputs[1-i]
		if v, ok := scalarConst(k); ok && approx(v, 3) && isFloat(x) && !x.IsConst() && slices.Equal(x.Shape, add.Out().Shape) {
			return x, true
		}
	}
	return nil, false
}

type hardAct struct {
	op   ir.Op // HardSwish or HardSigmoid
	top  *ir.Node
	x    *ir.Tensor
	drop []*ir.Node
}

// x * Clip(x+3, 0, 6) / 6  =>  HardSwish(x)
var hardSwish = rule[hardAct]{
	name: "hard-swish",
	ops:  []ir.Op{ir.OpMul, ir.OpDiv},
	up:   hardActReach,
	match: func(c *rewriter, top *ir.Node) (hardAct, bool) {
		pr, ok := c.flatten(top)
		if !ok || len(pr.factors) != 2 {
			return hardAct{}, false
		}
		for i := 0; i < 2; i++ {
			a, r := pr.factors[i], pr.factors[1-i]
			x, s, nodes, ok := c.relu6Plus3(r)
			if ok && x == a && approx(pr.scale*s, 1.0/6) {
				return hardAct{op: ir.OpHardSwish, top: top, x: x, drop: append(pr.nodes, nodes...)}, true
			}
		}
		return hardAct{}, false
	},
	apply: applyHardAct,
}

// Clip(x+3, 0, 6) / 6  =>  HardSigmoid(x){alpha=1/6, beta=0.5}
var hardSigmoid = rule[hardAct]{
	name: "hard-sigmoid",
	ops:  []ir.Op{ir.OpMul, ir.OpDiv},
	up:   hardActReach,
	match: func(c *rewriter, top *ir.Node) (hardAct, bool) {
		pr, ok := c.flatten(top)
		if !ok || len(pr.factors) != 1 {
			return hardAct{}, false
		}
		x, s, nodes, ok := c.relu6Plus3(pr.factors[0])
		if !ok || nodes[0].Op == ir.OpHardSigmoid || !approx(pr.scale*s, 1.0/6) {
			return hardAct{}, false
		}
		return hardAct{op: ir.OpHardSigmoid, top: top, x: x, drop: append(pr.nodes, nodes...)}, true
	},
	apply: applyHardAct,
}

func applyHardAct(c *rewriter, m hardAct) error {
	n := ir.NewNode(m.top.Name, m.op, []*ir.Tensor{m.x}, m.top.Out())
	if m.op == ir.OpHardSigmoid {
		n.Attrs = &ir.HardSigmoidAttrs{Alpha: float32(1.0 / 6), Beta: 0.5}
	}
	c.replace(m.top, m.drop, n)
	return nil
}
