package passes

import (
	"math"

	"github.com/mnconv/mnconv/ir"
)

// FoldBatchNorm removes inference-mode batch normalization.
var FoldBatchNorm = Pass{
	Name: "fold-batchnorm",
	Doc: `Folds BatchNorm into the Conv (plain, grouped or depthwise) or fully
connected Gemm (TransB, constant weight) that produces its input, when that
producer has no fused activation and its output feeds only the BatchNorm and
is not a graph output. Weights and bias are computed in float64:
  Conv(x,W,b) -> BN(s,b2,m,v)  =>  Conv(x, W*s/sqrt(v+eps), (b-m)*s/sqrt(v+eps)+b2)
A BatchNorm with no producer to fold into becomes a per-channel Mul and Add
with constants:
  BN(x; s,b2,m,v)  =>  Add(Mul(x, s/sqrt(v+eps)), b2-m*s/sqrt(v+eps))
A BatchNorm whose parameters are not float32 constants stays.`,
	rules: []rewrite{bnIntoProducer, bnToMulAdd},
}

// bnAffine is a BatchNorm read as y = x*scale + shift per channel.
type bnAffine struct {
	bn           *ir.Node
	axis         int
	scale, shift []float64
}

// readBN checks that bn is a float BatchNorm with constant parameters and
// computes its affine form in float64.
func readBN(bn *ir.Node) (bnAffine, bool) {
	a, ok := bn.Attrs.(*ir.BatchNormAttrs)
	x, y := bn.In(0), single(bn)
	if !ok || len(bn.Inputs) != 5 || !isFloat(x) || !isFloat(y) {
		return bnAffine{}, false
	}
	axis, err := ir.NormAxis(a.Axis, x.Rank())
	if err != nil || x.Rank() == 0 {
		return bnAffine{}, false
	}
	ch := x.Shape[axis]
	for _, t := range bn.Inputs[1:] {
		if t == nil || !floatConst(t, ch) {
			return bnAffine{}, false
		}
	}
	eps := float64(a.Epsilon)
	if !(eps >= 0) || math.IsInf(eps, 0) {
		return bnAffine{}, false
	}
	s, b, m, v := bn.In(1).Data.F32, bn.In(2).Data.F32, bn.In(3).Data.F32, bn.In(4).Data.F32
	aff := bnAffine{bn: bn, axis: axis, scale: make([]float64, ch), shift: make([]float64, ch)}
	for c := 0; c < ch; c++ {
		d := float64(v[c]) + eps
		if !(d > 0) {
			return bnAffine{}, false
		}
		k := float64(s[c]) / math.Sqrt(d)
		aff.scale[c] = k
		aff.shift[c] = float64(b[c]) - float64(m[c])*k
		if math.IsInf(k, 0) || math.IsNaN(k) || math.IsInf(aff.shift[c], 0) || math.IsNaN(aff.shift[c]) {
			return bnAffine{}, false
		}
	}
	return aff, true
}

type bnFold struct {
	bnAffine
	p *ir.Node // the Conv or Gemm
}

// Conv(x,W,b) -> BN(s,b2,m,v)  =>  Conv(x, W*s/sqrt(v+eps), (b-m)*s/sqrt(v+eps)+b2)
// Gemm(x,W,c){TransB} -> BN    =>  Gemm(x, W*s/sqrt(v+eps), (beta*c-m)*s/sqrt(v+eps)+b2){beta=1}
var bnIntoProducer = rule[bnFold]{
	name: "bn-into-producer",
	ops:  []ir.Op{ir.OpBatchNorm},
	match: func(c *rewriter, bn *ir.Node) (bnFold, bool) {
		aff, ok := readBN(bn)
		if !ok {
			return bnFold{}, false
		}
		x := bn.In(0)
		p := c.prod[x]
		if p == nil || !c.sole(x) || single(p) != x || p.FusedAct() != ir.ActNone || aff.axis != x.Rank()-1 {
			return bnFold{}, false
		}
		ch := len(aff.scale)
		w := p.In(1)
		if w == nil || !floatConst(w, w.Len()) || w.Rank() == 0 || w.Shape[0] != ch {
			return bnFold{}, false
		}
		switch p.Op {
		case ir.OpConv:
			if b := p.In(2); b != nil && !floatConst(b, ch) {
				return bnFold{}, false
			}
		case ir.OpGemm:
			ga, ok := p.Attrs.(*ir.GemmAttrs)
			if !ok || !ga.TransB || w.Rank() != 2 || x.Rank() != 2 {
				return bnFold{}, false
			}
			// The bias must be per output feature (or one value), not per row.
			if b := p.In(2); b != nil && !(floatConst(b, 1) || (floatConst(b, ch) && b.Shape[b.Rank()-1] == ch)) {
				return bnFold{}, false
			}
		default:
			return bnFold{}, false
		}
		return bnFold{bnAffine: aff, p: p}, true
	},
	apply: func(c *rewriter, m bnFold) error {
		p, w := m.p, m.p.In(1)
		ch := len(m.scale)
		per := w.Len() / ch
		nw := make([]float32, w.Len())
		for o := 0; o < ch; o++ {
			for j := 0; j < per; j++ {
				nw[o*per+j] = float32(float64(w.Data.F32[o*per+j]) * m.scale[o])
			}
		}
		old := make([]float64, ch) // the producer's bias as it adds to output channel o
		if b := p.In(2); b != nil {
			beta := 1.0
			if ga, ok := p.Attrs.(*ir.GemmAttrs); ok {
				beta = float64(ga.Beta)
			}
			for o := range old {
				old[o] = beta * float64(b.Data.F32[o%b.Len()])
			}
		}
		nb := make([]float32, ch)
		for o := range nb {
			nb[o] = float32(old[o]*m.scale[o] + m.shift[o])
		}
		if ga, ok := p.Attrs.(*ir.GemmAttrs); ok {
			ga.Beta = 1
		}
		c.setConstF32(p, 1, w.Name, w.Shape, nw)
		c.setConstF32(p, 2, p.Name+"_bias", []int{ch}, nb)
		y := m.bn.Out()
		c.remove(m.bn)
		c.setOutput(p, 0, y)
		return nil
	},
}

// BN(x; s,b2,m,v)  =>  Add(Mul(x, s/sqrt(v+eps)), b2-m*s/sqrt(v+eps))
var bnToMulAdd = rule[bnAffine]{
	name: "bn-to-mul-add",
	ops:  []ir.Op{ir.OpBatchNorm},
	match: func(c *rewriter, bn *ir.Node) (bnAffine, bool) {
		return readBN(bn)
	},
	apply: func(c *rewriter, m bnAffine) error {
		bn, x, y := m.bn, m.bn.In(0), m.bn.Out()
		ch := len(m.scale)
		// Constants broadcast along the channel axis: [C, 1, ..., 1].
		shape := []int{ch}
		for i := m.axis + 1; i < x.Rank(); i++ {
			shape = append(shape, 1)
		}
		scale, shift := make([]float32, ch), make([]float32, ch)
		for i := range scale {
			scale[i] = float32(m.scale[i])
			shift[i] = float32(m.shift[i])
		}
		sc := ir.NewConstF32(c.unique(bn.Name+"_scale"), shape, scale)
		sh := ir.NewConstF32(c.unique(bn.Name+"_shift"), shape, shift)
		mid := &ir.Tensor{Name: c.unique(bn.Name + "_scaled"), DType: ir.Float32, Shape: append([]int(nil), x.Shape...)}
		mul := ir.NewNode(c.unique(bn.Name+"_mul"), ir.OpMul, []*ir.Tensor{x, sc}, mid)
		add := ir.NewNode(bn.Name, ir.OpAdd, []*ir.Tensor{mid, sh}, y)
		c.replace(bn, nil, mul, add)
		return nil
	},
}
