package passes

import (
	"slices"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// FoldConstants evaluates nodes whose inputs are all constants.
var FoldConstants = Pass{
	Name: "fold-constants",
	Doc: `Evaluates, with the runtime's kernels, every node whose inputs are all
constants, and makes its outputs constants:
  Reshape(const)  =>  const'        Add(const, const)  =>  const'
Quantize and Dequantize nodes stay (they carry a quantized model's structure;
the dequantize pass removes them), as do nodes that write a graph output, nodes
the runtime cannot evaluate, and outputs larger than maxFoldElements.`,
	rules: []rewrite{foldConstNode},
}

// maxFoldElements bounds a folded output: a broadcast of small constants
// must not grow the model without limit.
const maxFoldElements = 1 << 24

type constFold struct {
	n    *ir.Node
	data []*ir.Data
}

// Op(const, const, ...)  =>  const
var foldConstNode = rule[constFold]{
	name: "fold-constant",
	ops:  foldableOps(),
	match: func(c *rewriter, n *ir.Node) (constFold, bool) {
		some := false
		for _, t := range n.Inputs {
			if t == nil {
				continue
			}
			if !t.IsConst() {
				return constFold{}, false
			}
			some = true
		}
		for _, t := range n.Outputs {
			if t == nil || c.isOut[t] || t.Len() > maxFoldElements || dequantizedOutput(c, t) {
				return constFold{}, false
			}
		}
		if !some {
			return constFold{}, false
		}
		data, err := evalNode(n)
		if err != nil {
			return constFold{}, false // the runtime cannot evaluate it: leave it
		}
		return constFold{n: n, data: data}, true
	},
	apply: func(c *rewriter, m constFold) error {
		c.remove(m.n) // readers of the outputs now read constants
		for i, t := range m.n.Outputs {
			t.Data = m.data[i]
		}
		return nil
	},
}

// dequantizedOutput reports whether a Dequantize that writes a graph output
// reads t. Such a t stays computed: TFLite's XNNPACK delegate takes a
// DEQUANTIZE of a constant for weights to unpack when it builds its
// runtime, and then fails to set it up ("failed to setup XNNPACK runtime")
// where the unpacked tensor is a graph output, as the ST SSD's anchors
// (Dequantize(Concat(Reshape(anchors), ...))) would be.
func dequantizedOutput(c *rewriter, t *ir.Tensor) bool {
	for _, r := range c.cons[t] {
		if r.Op == ir.OpDequantize && c.isOut[r.Out()] {
			return true
		}
	}
	return false
}

// foldableOps is every op except Quantize and Dequantize.
func foldableOps() []ir.Op {
	return slices.DeleteFunc(ir.AllOps(), func(op ir.Op) bool {
		return op == ir.OpQuantize || op == ir.OpDequantize
	})
}

// evalNode runs n alone on its constant inputs through the runtime's
// single-node entry and returns its outputs as constant data (copies: a
// kernel may pass an input's buffer through).
func evalNode(n *ir.Node) ([]*ir.Data, error) {
	in := make([]*runtime.Tensor, len(n.Inputs))
	for i, t := range n.Inputs {
		if t != nil {
			in[i] = runtime.FromConst(t)
		}
	}
	outs, err := runtime.EvalNode(n, in)
	if err != nil {
		return nil, err
	}
	data := make([]*ir.Data, len(outs))
	for i, v := range outs {
		data[i] = &ir.Data{
			F32: slices.Clone(v.F32),
			I8:  slices.Clone(v.I8),
			U8:  slices.Clone(v.U8),
			I32: slices.Clone(v.I32),
			I64: slices.Clone(v.I64),
		}
	}
	return data, nil
}
