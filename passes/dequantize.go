package passes

import (
	"fmt"
	"math"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Dequantize turns a quantized graph into a float one. It is not in Default:
// `mnconv convert --dequantize` asks for it.
var Dequantize = Pass{
	Name: "dequantize",
	Doc: `Turns a quantized graph into a float32 one with the same real values:
constant quantized weights and int32 biases become float32 constants
(scale * (q - zero_point), per channel where quantized per channel);
activation tensors, graph inputs and graph outputs become float32 without
quantization; an output whose zero point sat at the bottom of its range (a
ReLU or ReLU6 the quantizer folded into the output range, as ONNX Runtime's
QLinearConv models do) keeps that rectification as a fused activation (relu6
when the range ends at 6, else relu); the rest of the range's saturation is
dropped with the rounding; Quantize and Dequantize nodes go (or become Identity where
removing them would rename a graph input or output); every node's integer
arithmetic is reset. The graph inputs' and outputs' former quantization is
recorded by name in g.SourceInputQuant and g.SourceOutputQuant (for example
uint8 scale=0.0078125 zero_point=128), so that a caller can say what
preprocessing the float model expects: real = scale * (q - zero_point). Its report lists the converted tensors and the
removed or reset nodes.`,
	whole: dequantize,
}

// quantizedValue reports whether t holds quantized values that Dequantize
// turns into float32: 8-bit tensors and int32 biases with parameters.
func quantizedValue(t *ir.Tensor) bool {
	return t != nil && t.Quant != nil && (t.DType.IsQuantized() || t.DType == ir.Int32)
}

func dequantize(c *rewriter) error {
	g := c.g
	record := func(m *map[string]ir.SourceQuant, ts []*ir.Tensor) {
		for _, t := range ts {
			if quantizedValue(t) {
				if *m == nil {
					*m = map[string]ir.SourceQuant{}
				}
				(*m)[t.Name] = ir.SourceQuant{DType: t.DType, Quant: t.Quant.Clone()}
			}
		}
	}
	record(&g.SourceInputQuant, g.Inputs)
	record(&g.SourceOutputQuant, g.Outputs)
	for _, n := range append([]*ir.Node(nil), g.Nodes...) {
		keepRectification(c, n)
	}
	c.flush()

	for _, t := range g.Tensors() {
		if !quantizedValue(t) {
			continue
		}
		if t.IsConst() {
			vals, err := dequantizeData(t)
			if err != nil {
				return err
			}
			t.Data = &ir.Data{F32: vals}
		}
		t.DType = ir.Float32
		t.Quant = nil
		c.changed = append(c.changed, t.Name)
	}
	for _, n := range g.Nodes {
		if n.Arith != ir.ArithTFLite {
			n.Arith = ir.ArithTFLite
			c.changed = append(c.changed, n.Name)
		}
	}
	// Quantize and Dequantize are identities on float tensors now.
	for _, n := range append([]*ir.Node(nil), g.Nodes...) {
		if n.Op != ir.OpQuantize && n.Op != ir.OpDequantize {
			continue
		}
		x, y := n.In(0), single(n)
		if x == nil || y == nil || !isFloat(x) || !isFloat(y) {
			return n.Errorf("dequantize: input and output are not both float after conversion")
		}
		c.changed = append(c.changed, n.Name)
		if c.canBypass(n, x) {
			c.bypass(n, x)
			c.settle()
			continue
		}
		n.Op, n.Attrs = ir.OpIdentity, nil
	}
	return nil
}

// rectifies lists the ops whose output can be negative although their
// inputs are not: only after these does a zero point at the bottom of the
// output range stand for a folded activation.
var rectifies = []ir.Op{ir.OpConv, ir.OpGemm, ir.OpMatMul, ir.OpAdd, ir.OpSub, ir.OpMul, ir.OpDiv}

// keepRectification gives n the activation its quantized output range
// implies: Conv(x){out zp = qmin, range [0, 6]}  =>  Conv(x){act=relu6}.
func keepRectification(c *rewriter, n *ir.Node) {
	y := single(n)
	if y == nil || !slices.Contains(rectifies, n.Op) || !y.DType.IsQuantized() || y.Quant == nil || y.Quant.PerAxis() {
		return
	}
	qmin, qmax := y.DType.Range()
	zp := y.Quant.ZP(0)
	if zp != qmin {
		return
	}
	hi := math.Inf(1)
	if top := float64(y.Quant.S(0)) * float64(qmax-zp); approx(top, 6) {
		hi = 6
	}
	old := n.FusedAct()
	l, h := old.Bounds()
	act := actFor(max(0, float64(l)), min(hi, float64(h)))
	if act == ir.ActNone || act == old {
		return
	}
	c.changed = append(c.changed, n.Name)
	if n.SetFusedAct(act) {
		return
	}
	// No fused activation on this op: a Relu or Clip node after it.
	mid := &ir.Tensor{Name: c.unique(y.Name + "_unrectified"), DType: y.DType, Shape: slices.Clone(y.Shape), Quant: y.Quant.Clone()}
	lo, up := act.Bounds()
	c.insertAfter(clampNode(c.unique(n.Name+"_act"), mid, y, float64(lo), float64(up)), n)
	c.setOutput(n, 0, mid)
	c.settle()
}

// dequantizeData returns scale * (q - zero_point) of a quantized constant,
// per slice along Quant.Axis when quantized per axis.
func dequantizeData(t *ir.Tensor) ([]float32, error) {
	q, n := t.Quant, t.Len()
	inner := 1
	if q.PerAxis() {
		if q.Axis < 0 || q.Axis >= t.Rank() || t.Shape[q.Axis] != len(q.Scale) {
			return nil, fmt.Errorf("dequantize: constant %q: %d scales for axis %d of shape %v", t.Name, len(q.Scale), q.Axis, t.Shape)
		}
		for _, d := range t.Shape[q.Axis+1:] {
			inner *= d
		}
	}
	var raw func(i int) float64
	switch d := t.Data; t.DType {
	case ir.Int8:
		raw = func(i int) float64 { return float64(d.I8[i]) }
		n = min(n, len(d.I8))
	case ir.Uint8:
		raw = func(i int) float64 { return float64(d.U8[i]) }
		n = min(n, len(d.U8))
	case ir.Int32:
		raw = func(i int) float64 { return float64(d.I32[i]) }
		n = min(n, len(d.I32))
	default:
		return nil, fmt.Errorf("dequantize: constant %q has dtype %v", t.Name, t.DType)
	}
	if n != t.Len() {
		return nil, fmt.Errorf("dequantize: constant %q holds fewer than %d elements", t.Name, t.Len())
	}
	out := make([]float32, n)
	for i := range out {
		ch := 0
		if q.PerAxis() {
			ch = (i / inner) % len(q.Scale)
		}
		out[i] = float32(float64(q.S(ch)) * (raw(i) - float64(q.ZP(ch))))
	}
	return out, nil
}
