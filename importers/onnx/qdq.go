package onnx

import (
	"math"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// QDQ fusion. A QDQ file (what ONNX Runtime's quantizer and `mnconv
// quantize x.onnx` write) computes in float between DequantizeLinear and
// QuantizeLinear nodes. After translation, fuseQDQ turns each region that an
// integer kernel can compute into that kernel, as ONNX Runtime's QDQ
// transformer does before it runs a model:
//
//	DQ(xq), DQ(wq), DQ(bq) -> Conv|Gemm|MatMul [-> Relu|Clip] -> Q(yq)
//	    => Conv|Gemm|MatMul(xq, wq, bq){Act} -> yq            (QLinearConv, QLinearMatMul)
//	DQ(aq), DQ(bq) -> Add|Mul [-> Relu|Clip] -> Q(yq)  =>  Add|Mul(aq, bq){Act} -> yq
//	DQ(xq) -> AvgPool|Mean|Softmax|Sigmoid|HardSwish|Relu|Clip|Concat -> Q(yq)
//	    => op(xq) -> yq
//	DQ(xq) -> MaxPool|ReduceMax|Reshape|Transpose|Pad -> Q(yq), same scale and zero point
//	    => op(xq) -> yq                                         (ORT drops the Q/DQ pair)
//	DQ(xq) -> Resize -> Q(yq), same scale and zero point  =>  Resize(xq) -> yq
//	    (ORT 1.30 keeps this region in float; the ArithONNX Resize kernel
//	    computes DQ, ORT's float bilinear and Q in one node, bit for bit)
//
// A Relu or Clip between the op and Q is fused as the op's activation when it
// is one (relu, relu6, relu_n1_to_1), or dropped when Q's representable
// range already lies inside it (ORT's ClipQuantFusion / ReluQuantFusion);
// otherwise the region stays float. Fused nodes get Arith = ir.ArithONNX:
// the runtime requantizes them with MLAS's float scale and round half to
// even, as ONNX Runtime's QLinear kernels do. Regions that match no rule
// stay as Dequantize -> float op -> Quantize. The Dequantize nodes left
// without users are removed by the importer's dead-node sweep.

// qdqCompute are the ops with a constant weight and an int32 bias.
var qdqCompute = map[ir.Op]bool{ir.OpConv: true, ir.OpGemm: true, ir.OpMatMul: true}

// qdqRequant are the ops whose integer kernel requantizes between input and
// output parameters.
var qdqRequant = map[ir.Op]bool{
	ir.OpAdd: true, ir.OpMul: true, ir.OpAvgPool: true, ir.OpMean: true,
	ir.OpSoftmax: true, ir.OpSigmoid: true, ir.OpHardSwish: true,
	ir.OpRelu: true, ir.OpClip: true, ir.OpConcat: true,
}

// qdqSameParams are the ops that move or select values: fused only when
// input and output share scale and zero point.
var qdqSameParams = map[ir.Op]bool{
	ir.OpMaxPool: true, ir.OpReduceMax: true, ir.OpReshape: true,
	ir.OpTranspose: true, ir.OpPad: true, ir.OpResize: true,
}

type qdqFuser struct {
	g        *ir.Graph
	producer map[*ir.Tensor]*ir.Node
	users    map[*ir.Tensor][]*ir.Node
	dead     map[*ir.Node]bool
}

// fuseQDQ applies the rules above once over g in node order and returns
// the number of regions fused.
func fuseQDQ(g *ir.Graph) int {
	f := &qdqFuser{g: g, producer: g.Producers(), users: g.Consumers(), dead: map[*ir.Node]bool{}}
	fused := 0
	for _, n := range g.Nodes {
		if f.dead[n] || len(n.Outputs) != 1 {
			continue
		}
		if f.try(n) {
			fused++
		}
	}
	if fused > 0 {
		g.Nodes = slices.DeleteFunc(g.Nodes, func(n *ir.Node) bool { return f.dead[n] })
	}
	return fused
}

// dqSource returns the quantized tensor a Dequantize node reads when t is
// its output, else nil.
func (f *qdqFuser) dqSource(t *ir.Tensor) *ir.Tensor {
	p := f.producer[t]
	if p == nil || p.Op != ir.OpDequantize || f.dead[p] {
		return nil
	}
	x := p.In(0)
	if x == nil || x.Quant == nil || !(x.DType.IsQuantized() || x.DType == ir.Int32) {
		return nil
	}
	return x
}

// soleUser returns the only node reading t, when t is no graph output.
func (f *qdqFuser) soleUser(t *ir.Tensor) *ir.Node {
	u := f.users[t]
	if len(u) != 1 || f.g.IsOutput(t) {
		return nil
	}
	return u[0]
}

// qRange returns the float range Q's output can represent.
func qRange(y *ir.Tensor) (lo, hi float64) {
	l, h := -128.0, 127.0
	if y.DType == ir.Uint8 {
		l, h = 0, 255
	}
	s, z := float64(y.Quant.Scale[0]), float64(y.Quant.ZeroPoint[0])
	return (l - z) * s, (h - z) * s
}

// tail follows n's output through an optional Relu / Clip to a Quantize and
// returns that Quantize, the activation to fuse and the activation node
// (nil when none).
func (f *qdqFuser) tail(n *ir.Node) (q *ir.Node, act ir.Activation, actNode *ir.Node, ok bool) {
	u := f.soleUser(n.Out())
	if u == nil {
		return nil, 0, nil, false
	}
	if u.Op == ir.OpRelu || u.Op == ir.OpClip {
		lo, hi := float32(0), float32(math.Inf(1))
		if u.Op == ir.OpClip {
			c, isClip := u.Attrs.(*ir.ClipAttrs)
			if !isClip || len(u.Inputs) != 1 {
				return nil, 0, nil, false
			}
			lo, hi = c.Min, c.Max
		}
		q = f.soleUser(u.Out())
		if q == nil || q.Op != ir.OpQuantize || !perTensorQ(q.Out()) {
			return nil, 0, nil, false
		}
		for _, a := range []ir.Activation{ir.ActRelu, ir.ActRelu6, ir.ActReluN1To1} {
			if l, h := a.Bounds(); l == lo && h == hi {
				return q, a, u, true
			}
		}
		if ql, qh := qRange(q.Out()); ql >= float64(lo) && qh <= float64(hi) {
			return q, ir.ActNone, u, true
		}
		return nil, 0, nil, false
	}
	if u.Op != ir.OpQuantize || !perTensorQ(u.Out()) {
		return nil, 0, nil, false
	}
	return u, ir.ActNone, nil, true
}

func perTensorQ(t *ir.Tensor) bool {
	return t.DType.IsQuantized() && t.Quant != nil && len(t.Quant.Scale) == 1
}

func (f *qdqFuser) try(n *ir.Node) bool {
	switch {
	case qdqCompute[n.Op]:
		return f.compute(n)
	case qdqRequant[n.Op], qdqSameParams[n.Op]:
		return f.elementwise(n)
	}
	return false
}

// compute fuses DQ(xq), DQ(wq), DQ(bq)? -> Conv|Gemm|MatMul -> [act] -> Q.
func (f *qdqFuser) compute(n *ir.Node) bool {
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 {
		return false
	}
	if g, isGemm := n.Attrs.(*ir.GemmAttrs); isGemm && (g.TransA || g.Alpha != 1 || (g.Beta != 1 && n.In(2) != nil)) {
		return false
	}
	xq, wq := f.dqSource(n.In(0)), f.dqSource(n.In(1))
	if xq == nil || wq == nil || !perTensorQ(xq) || !wq.IsConst() || !wq.DType.IsQuantized() || wq.Rank() < 2 {
		return false
	}
	if wq.Quant.PerAxis() && (wq.Quant.Axis != 0 || n.Op == ir.OpMatMul) {
		return false
	}
	q, act, actNode, ok := f.tail(n)
	if !ok || !canFuse(n, act) {
		return false
	}
	var bq *ir.Tensor
	if b := n.In(2); b != nil {
		src := f.dqSource(b)
		if src == nil || !src.IsConst() || src.DType != ir.Int32 || src.Rank() != 1 {
			return false
		}
		want := make([]float32, len(wq.Quant.Scale))
		for c, ws := range wq.Quant.Scale {
			want[c] = float32(float64(xq.Quant.Scale[0]) * float64(ws))
		}
		if !biasScaleMatches(src.Quant, want) {
			return false
		}
		bq = src
		if len(src.Quant.Scale) != len(want) || src.Quant.Axis != 0 {
			c := *src
			c.Quant = &ir.Quant{Scale: want, ZeroPoint: make([]int64, len(want))}
			bq = &c
		}
	}
	ins := []*ir.Tensor{xq, wq}
	if bq != nil {
		ins = append(ins, bq)
	}
	f.apply(n, ins, q, act, actNode)
	return true
}

// biasScaleMatches reports whether an int32 bias quantized with q (zero
// point 0) is the accumulator scale want (per channel, or one scale for all):
// QLinearConv adds the stored values as they are.
func biasScaleMatches(q *ir.Quant, want []float32) bool {
	for c, w := range want {
		s := q.S(c)
		if len(q.Scale) == 1 {
			s = q.Scale[0]
		} else if len(q.Scale) != len(want) {
			return false
		}
		if q.ZP(c) != 0 || math.Abs(float64(s)-float64(w)) > 1e-6*float64(w) {
			return false
		}
	}
	return true
}

// elementwise fuses ops whose every float input is a Dequantize output.
func (f *qdqFuser) elementwise(n *ir.Node) bool {
	var ins []*ir.Tensor
	for i, t := range n.Inputs {
		if t == nil {
			ins = append(ins, nil)
			continue
		}
		if t.DType != ir.Float32 {
			ins = append(ins, t) // shape operands and the like
			continue
		}
		src := f.dqSource(t)
		if src == nil || !perTensorQ(src) {
			return false
		}
		if i > 0 && !qdqBinary(n.Op) && n.Op != ir.OpConcat {
			return false // a float operand (Pad value, Clip bound) that is a tensor
		}
		ins = append(ins, src)
	}
	if len(ins) == 0 || ins[0] == nil || !ins[0].DType.IsQuantized() {
		return false
	}
	var q, actNode *ir.Node
	act := ir.ActNone
	if n.Op == ir.OpRelu || n.Op == ir.OpClip {
		q = f.soleUser(n.Out())
		if q == nil || q.Op != ir.OpQuantize || !perTensorQ(q.Out()) {
			return false
		}
	} else {
		var ok bool
		if q, act, actNode, ok = f.tail(n); !ok {
			return false
		}
	}
	y := q.Out()
	for _, t := range ins {
		if t != nil && t.DType.IsQuantized() && t.DType != y.DType {
			return false
		}
	}
	if qdqSameParams[n.Op] {
		if actNode != nil || !ins[0].Quant.Equal(y.Quant) {
			return false
		}
	}
	if !canFuse(n, act) {
		return false
	}
	f.apply(n, ins, q, act, actNode)
	return true
}

// canFuse reports whether act can be fused into n: none, or n has an
// activation slot still empty (SetFusedAct of none on an empty slot changes
// nothing).
func canFuse(n *ir.Node, act ir.Activation) bool {
	return act == ir.ActNone || (n.FusedAct() == ir.ActNone && n.SetFusedAct(ir.ActNone))
}

func qdqBinary(op ir.Op) bool { return op == ir.OpAdd || op == ir.OpMul }

// apply rewires n to read ins and write Q's output, fuses act and marks the
// Q and activation nodes dead.
func (f *qdqFuser) apply(n *ir.Node, ins []*ir.Tensor, q *ir.Node, act ir.Activation, actNode *ir.Node) {
	n.Inputs = ins
	y := q.Out()
	n.Outputs[0] = y
	f.producer[y] = n
	if act != ir.ActNone {
		n.SetFusedAct(act)
	}
	n.Arith = ir.ArithONNX
	f.dead[q] = true
	if actNode != nil {
		f.dead[actNode] = true
	}
}
