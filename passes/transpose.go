package passes

import (
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// CancelTransposes removes transposes that undo each other.
var CancelTransposes = Pass{
	Name: "cancel-transposes",
	Doc: `Composes transposes and cancels those that undo each other:
  Transpose(Transpose(x, p1), p2)  =>  x                   when p1[p2[i]] == i
  Transpose(Transpose(x, p1), p2)  =>  Transpose(x, p1[p2])
and pushes a transpose down through elementwise ops (unary ones, and binary
ones whose other operand is a constant, which is permuted) when that brings
it next to another transpose:
  Relu(Transpose(x, p))            =>  Transpose(Relu(x), p)
  Add(Transpose(x, p), k)          =>  Transpose(Add(x, Transpose(k, inverse(p))), p)
A transpose that moves only dimensions of size 1 moves no data:
  Transpose(x[1,1,1,C], {0,3,1,2}) =>  Reshape(x) to [1,C,1,1]
Per-axis quantized tensors are left alone (their axis would move).`,
	rules: []rewrite{transposePair, pushTranspose, transposeAsReshape},
}

func perm(n *ir.Node) []int {
	if a, ok := n.Attrs.(*ir.TransposeAttrs); ok && n.Op == ir.OpTranspose {
		return a.Perm
	}
	return nil
}

type transposeMerge struct {
	outer, inner *ir.Node
	perm         []int // the composed permutation
}

// Transpose(Transpose(x, p1), p2)  =>  Transpose(x, p1[p2]), or x when that is the identity
var transposePair = rule[transposeMerge]{
	name: "transpose-pair",
	ops:  []ir.Op{ir.OpTranspose},
	up:   2, // canBypass asks whether x has a producer
	match: func(c *rewriter, n *ir.Node) (transposeMerge, bool) {
		t, y := n.In(0), single(n)
		p := c.prod[t]
		if p == nil || y == nil || p.Op != ir.OpTranspose || p.In(0) == nil {
			return transposeMerge{}, false
		}
		x, p1, p2 := p.In(0), perm(p), perm(n)
		if len(p1) != len(p2) || len(p2) != y.Rank() || !sameKind(x, t) || !sameKind(t, y) || x.Quant.PerAxis() {
			return transposeMerge{}, false
		}
		q := make([]int, len(p2))
		for i, v := range p2 {
			q[i] = p1[v]
		}
		if isIdentityPerm(q) && !c.canBypass(n, x) {
			return transposeMerge{}, false
		}
		return transposeMerge{outer: n, inner: p, perm: q}, true
	},
	apply: func(c *rewriter, m transposeMerge) error {
		x := m.inner.In(0)
		c.setInput(m.outer, 0, x)
		m.outer.Attrs = &ir.TransposeAttrs{Perm: m.perm}
		if isIdentityPerm(m.perm) {
			c.bypass(m.outer, x)
		}
		c.removeIfDead(m.inner)
		return nil
	},
}

// elementwise reports whether n computes elementwise on input t (the other
// operand, if any, being a constant that does not broadcast t) and returns
// the index of that constant (-1 for a unary op).
func elementwise(n *ir.Node, t *ir.Tensor) (constIdx int, ok bool) {
	y := single(n)
	if y == nil || !slices.Equal(y.Shape, t.Shape) || y.Quant.PerAxis() || t.Quant.PerAxis() {
		return 0, false
	}
	traits := n.Op.Info().Traits
	switch {
	case traits.Has(ir.Elementwise | ir.Broadcasting):
		if len(n.Inputs) != 2 {
			return 0, false
		}
		for i := 0; i < 2; i++ {
			k := n.Inputs[1-i]
			if n.Inputs[i] == t && k != nil && k.IsConst() && k != t && k.Rank() <= t.Rank() && !k.Quant.PerAxis() {
				return 1 - i, true
			}
		}
	case traits.Has(ir.Elementwise):
		return -1, len(n.Inputs) == 1 && n.In(0) == t
	}
	return 0, false
}

// maxPushDepth bounds how far pushTranspose looks for a transpose to meet.
const maxPushDepth = 32

// meetsTranspose reports whether a transpose written to t would meet
// another: t is read by a Transpose, or t's only reader is elementwise and
// its output meets one. (Past a fan-out without a Transpose the pushed
// transpose would stop and cancel nothing.)
func (c *rewriter) meetsTranspose(t *ir.Tensor) bool {
	for range maxPushDepth {
		readers := c.cons[t]
		for _, n := range readers {
			if n.Op == ir.OpTranspose {
				return true
			}
		}
		if len(readers) != 1 {
			return false
		}
		if _, ok := elementwise(readers[0], t); !ok {
			return false
		}
		t = readers[0].Out()
	}
	return false
}

type transposePush struct {
	tr, op   *ir.Node
	constIdx int
}

// Op(Transpose(x, p), k)  =>  Transpose(Op(x, Transpose(k, inverse(p))), p)
var pushTranspose = rule[transposePush]{
	name: "push-transpose",
	ops:  []ir.Op{ir.OpTranspose},
	down: maxPushDepth + 2, // the reader, then meetsTranspose's walk
	match: func(c *rewriter, n *ir.Node) (transposePush, bool) {
		x, t := n.In(0), single(n)
		if x == nil || t == nil || len(perm(n)) != x.Rank() || x.Quant.PerAxis() {
			return transposePush{}, false
		}
		op := c.soleReader(t)
		if op == nil {
			return transposePush{}, false
		}
		k, ok := elementwise(op, t)
		if !ok || !c.meetsTranspose(op.Out()) {
			return transposePush{}, false
		}
		return transposePush{tr: n, op: op, constIdx: k}, true
	},
	apply: func(c *rewriter, m transposePush) error {
		x, t, y := m.tr.In(0), m.tr.Out(), m.op.Out()
		p := perm(m.tr)
		mid := &ir.Tensor{Name: c.unique(y.Name + "_untransposed"), DType: y.DType, Shape: slices.Clone(x.Shape), Quant: y.Quant.Clone()}
		if m.constIdx >= 0 {
			c.setInput(m.op, m.constIdx, c.permutedConst(m.op, m.op.Inputs[m.constIdx], inverse(p), len(p)))
		}
		for i, in := range m.op.Inputs {
			if in == t {
				c.setInput(m.op, i, x)
			}
		}
		c.setOutput(m.op, 0, mid)
		c.setInput(m.tr, 0, mid)
		c.setOutput(m.tr, 0, y)
		c.moveAfter(m.tr, m.op)
		return nil
	},
}

func inverse(p []int) []int {
	q := make([]int, len(p))
	for i, v := range p {
		q[v] = i
	}
	return q
}

// permutedConst returns Transpose(k, p) as a constant, k first padded with
// leading ones to rank; a one-element constant broadcasts as it is. A
// constant only n reads is rewritten in place.
func (c *rewriter) permutedConst(n *ir.Node, k *ir.Tensor, p []int, rank int) *ir.Tensor {
	if k.Len() == 1 {
		return k
	}
	shape := slices.Clone(k.Shape)
	for len(shape) < rank {
		shape = slices.Insert(shape, 0, 1)
	}
	d := k.Data
	nd := &ir.Data{
		F32: permute(d.F32, shape, p),
		I8:  permute(d.I8, shape, p),
		U8:  permute(d.U8, shape, p),
		I32: permute(d.I32, shape, p),
		I64: permute(d.I64, shape, p),
	}
	ns := make([]int, rank)
	for i, v := range p {
		ns[i] = shape[v]
	}
	if len(c.cons[k]) == 1 && !c.isOut[k] {
		k.Shape, k.Data = ns, nd
		return k
	}
	return &ir.Tensor{Name: c.unique(k.Name + "_" + n.Name), DType: k.DType, Shape: ns, Quant: k.Quant.Clone(), Data: nd}
}

// permute transposes src of the given shape: output dim i is input dim p[i].
func permute[T any](src []T, shape, p []int) []T {
	if src == nil {
		return nil
	}
	r := len(shape)
	inStride := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		inStride[i] = s
		s *= shape[i]
	}
	outShape := make([]int, r)
	stride := make([]int, r) // input stride of each output dim
	for i, v := range p {
		outShape[i] = shape[v]
		stride[i] = inStride[v]
	}
	dst := make([]T, len(src))
	idx := make([]int, r)
	off := 0
	for j := range dst {
		dst[j] = src[off]
		// advance the output index like an odometer, tracking the input offset
		for i := r - 1; i >= 0; i-- {
			idx[i]++
			off += stride[i]
			if idx[i] < outShape[i] {
				break
			}
			off -= stride[i] * outShape[i]
			idx[i] = 0
		}
	}
	return dst
}

// Transpose(x, p)  =>  Reshape(x)   when p keeps the order of x's dimensions larger than 1
var transposeAsReshape = rule[*ir.Node]{
	name: "transpose-as-reshape",
	ops:  []ir.Op{ir.OpTranspose},
	match: func(c *rewriter, n *ir.Node) (*ir.Node, bool) {
		x, y, p := n.In(0), single(n), perm(n)
		if x == nil || y == nil || len(p) != x.Rank() || isIdentityPerm(p) || x.Quant.PerAxis() || y.Quant.PerAxis() {
			return nil, false
		}
		last := -1
		for _, d := range p {
			if d < 0 || d >= x.Rank() {
				return nil, false
			}
			if x.Shape[d] == 1 {
				continue
			}
			if d < last {
				return nil, false
			}
			last = d
		}
		return n, true
	},
	apply: func(c *rewriter, n *ir.Node) error {
		c.replace(n, nil, ir.NewNode(n.Name, ir.OpReshape, []*ir.Tensor{n.In(0)}, n.Out()))
		return nil
	},
}
