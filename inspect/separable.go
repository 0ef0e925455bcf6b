package inspect

import "github.com/mnconv/mnconv/ir"

// Depthwise-separable convolutions, as the MobileNet v1 paper (section 3.1)
// accounts for them: a DK x DK depthwise convolution over M channels
// followed by a 1x1 (pointwise) convolution to N channels, on a DF x DF
// output feature map, costs
//
//	DK·DK·M·DF·DF + M·N·DF·DF
//
// where a standard DK x DK convolution from M to N channels would cost
// DK·DK·M·N·DF·DF: a fraction 1/N + 1/DK² of it (8 to 9 times less for
// 3x3 kernels). Separable finds every such pair in a graph and prices both.

// SeparablePair is one depthwise convolution followed by a 1x1 convolution.
type SeparablePair struct {
	Depthwise string `json:"depthwise"` // node names
	Pointwise string `json:"pointwise"`
	// Through lists the ops between the two (fused-activation ops of an
	// unfused export: BatchNorm, Clip, Relu, ...), empty when direct.
	Through []string `json:"through,omitempty"`
	KH      int      `json:"kh"` // the depthwise kernel (DK x DK in the paper)
	KW      int      `json:"kw"`
	M       int      `json:"m"`                    // input channels of the depthwise conv
	N       int      `json:"n"`                    // output channels of the pointwise conv
	Mult    int      `json:"multiplier,omitempty"` // depthwise channel multiplier (1 in every MobileNet)
	DFH     int      `json:"df_h"`                 // output feature map (DF x DF)
	DFW     int      `json:"df_w"`
	Batch   int      `json:"batch"`
	// StandardMACs is DK·DK·M·N·DF·DF: the standard convolution with the
	// same kernel, inputs and outputs. DepthwiseMACs + PointwiseMACs =
	// ActualMACs are what the pair costs (inspect's per-layer counts).
	StandardMACs  int64 `json:"standard_macs"`
	DepthwiseMACs int64 `json:"depthwise_macs"`
	PointwiseMACs int64 `json:"pointwise_macs"`
	ActualMACs    int64 `json:"actual_macs"`
	// Ratio is ActualMACs / StandardMACs; Formula the paper's 1/N + 1/DK²
	// (times the multiplier). They agree exactly: the formula is the ratio.
	Ratio   float64 `json:"ratio"`
	Formula float64 `json:"formula"`
}

// SeparableReport is every separable pair of a graph and the totals.
type SeparableReport struct {
	Model string          `json:"model,omitempty"`
	Pairs []SeparablePair `json:"pairs"`
	// Over the pairs: what standard convolutions would cost, what the pairs
	// cost, Ratio = Actual / Standard and Reduction = Standard / Actual.
	StandardMACs int64   `json:"standard_macs"`
	ActualMACs   int64   `json:"actual_macs"`
	Ratio        float64 `json:"ratio"`
	Reduction    float64 `json:"reduction"`
	// ModelMACs is the whole model's count (inspect's TotalMACs) and
	// ModelMACsStandard what it would be with every pair a standard
	// convolution (first conv, classifier and other layers unchanged).
	ModelMACs         int64   `json:"model_macs"`
	ModelMACsStandard int64   `json:"model_macs_standard"`
	ModelReduction    float64 `json:"model_reduction"`
}

// AnalyzeSeparable finds g's separable pairs and totals them.
func AnalyzeSeparable(g *ir.Graph) *SeparableReport {
	r := &SeparableReport{Model: g.Name, Pairs: Separable(g)}
	for _, p := range r.Pairs {
		r.StandardMACs += p.StandardMACs
		r.ActualMACs += p.ActualMACs
	}
	for _, n := range g.Nodes {
		r.ModelMACs += n.MACs()
	}
	r.ModelMACsStandard = r.ModelMACs - r.ActualMACs + r.StandardMACs
	if r.StandardMACs > 0 && r.ActualMACs > 0 {
		r.Ratio = float64(r.ActualMACs) / float64(r.StandardMACs)
		r.Reduction = float64(r.StandardMACs) / float64(r.ActualMACs)
	}
	if r.ModelMACs > 0 {
		r.ModelReduction = float64(r.ModelMACsStandard) / float64(r.ModelMACs)
	}
	return r
}

// maxThrough bounds the ops followed between a depthwise and a pointwise
// convolution (an unfused export has BatchNorm then an activation).
const maxThrough = 8

// Separable lists, in graph order, every depthwise convolution whose output
// reaches a 1x1, stride 1, unpadded, ungrouped convolution directly or
// through ops that act on each element or channel alone (activations,
// BatchNorm, a constant per-channel Add/Mul, Quantize/Dequantize), each
// intermediate tensor read by that one node only. A squeeze-excite block
// between the two (MobileNetV3) is a second path, not a pair.
func Separable(g *ir.Graph) []SeparablePair {
	cons := g.Consumers()
	out := []SeparablePair{}
	for _, dw := range g.Nodes {
		if !dw.IsDepthwise() || len(dw.Outputs) != 1 {
			continue
		}
		w := dw.In(1)
		y := dw.Out()
		if w == nil || w.Rank() != 4 || y == nil || y.Rank() != 4 {
			continue
		}
		t := y
		var through []string
		var pw *ir.Node
		for range maxThrough + 1 {
			rs := cons[t]
			if len(rs) != 1 || g.IsOutput(t) {
				break
			}
			next := rs[0]
			if isPointwise(next, t) {
				pw = next
				break
			}
			if !perChannel(next, t) {
				break
			}
			through = append(through, next.Op.String())
			t = next.Out()
		}
		if pw == nil {
			continue
		}
		x := dw.In(0)
		p := SeparablePair{
			Depthwise: dw.Name, Pointwise: pw.Name, Through: through,
			KH: w.Shape[1], KW: w.Shape[2], M: x.Shape[3], N: pw.Out().Shape[3],
			Mult:  y.Shape[3] / max(x.Shape[3], 1),
			Batch: y.Shape[0], DFH: y.Shape[1], DFW: y.Shape[2],
			DepthwiseMACs: dw.MACs(), PointwiseMACs: pw.MACs(),
		}
		p.ActualMACs = p.DepthwiseMACs + p.PointwiseMACs
		p.StandardMACs = int64(p.KH) * int64(p.KW) * int64(p.M) * int64(p.N) *
			int64(p.Batch) * int64(p.DFH) * int64(p.DFW)
		if p.StandardMACs > 0 {
			p.Ratio = float64(p.ActualMACs) / float64(p.StandardMACs)
		}
		if p.N > 0 && p.KH*p.KW > 0 {
			p.Formula = float64(p.Mult) * (1/float64(p.N) + 1/float64(p.KH*p.KW))
		}
		out = append(out, p)
	}
	return out
}

// isPointwise reports whether n is a 1x1 convolution of t that keeps its
// spatial size: the second half of a separable pair.
func isPointwise(n *ir.Node, t *ir.Tensor) bool {
	a, ok := n.Attrs.(*ir.ConvAttrs)
	if n.Op != ir.OpConv || !ok || n.In(0) != t || a.Group != 1 || len(n.Outputs) != 1 {
		return false
	}
	w, y := n.In(1), n.Out()
	if w == nil || w.Rank() != 4 || y == nil || y.Rank() != 4 || t.Rank() != 4 {
		return false
	}
	return w.Shape[1] == 1 && w.Shape[2] == 1 && a.Strides == [2]int{1, 1} && a.Pads == [4]int{} &&
		y.Shape[1] == t.Shape[1] && y.Shape[2] == t.Shape[2]
}

// perChannel reports whether n maps t elementwise or per channel to an
// output of the same shape, as a fused activation or a folded BatchNorm
// would: what may sit between the two halves of a separable pair.
func perChannel(n *ir.Node, t *ir.Tensor) bool {
	if len(n.Outputs) != 1 || n.Out() == nil || !sameShape(n.Out(), t) {
		return false
	}
	info := n.Op.Info()
	switch {
	case info.Traits.Has(ir.Elementwise) && info.MaxInputs == 1, info.Traits.Has(ir.PerChannel):
		return n.In(0) == t
	case info.Traits.Has(ir.Arithmetic):
		// x op c or c op x with a constant scalar or per-channel c (an
		// exporter's unfused BatchNorm).
		if len(n.Inputs) != 2 {
			return false
		}
		c := n.Inputs[1]
		if n.Inputs[1] == t {
			c = n.Inputs[0]
		} else if n.Inputs[0] != t {
			return false
		}
		return c.IsConst() && (c.Len() == 1 || c.Len() == t.Shape[len(t.Shape)-1])
	}
	return false
}

func sameShape(a, b *ir.Tensor) bool {
	if a.Rank() != b.Rank() {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	return true
}
