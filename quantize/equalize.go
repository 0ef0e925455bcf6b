package quantize

import (
	"fmt"
	"math"
	"strings"

	"github.com/mnconv/mnconv/ir"
)

// Cross-layer equalization (Nagel et al., "Data-Free Quantization Through
// Weight Equalization and Bias Correction", ICCV 2019, section 4.1).
//
//	Conv1(x, W1, b1) -act-> Conv2(., W2)
//	  =>  Conv1(x, W1/s, b1/s) -act-> Conv2(., W2*s)
//
// with output channel i of W1 and b1 divided by s_i, input channel i of W2
// multiplied by s_i, s_i = sqrt(r1_i * r2_i) / r2_i (r = per-channel max |w|):
// both channels' ranges become sqrt(r1_i * r2_i). It is exact when act is
// positively scale-equivariant (none, ReLU). ReLU6 is not (clip(x/s, 0, 6) is
// not clip(x, 0, 6)/s): such pairs are refused, or, with ReplaceReLU6, the
// ReLU6 becomes a ReLU first as the paper does for MobileNetV2 (the float
// model changes; measure it), or, with PreActMax (measured on calibration
// images), they are equalized channel by channel within what keeps the
// ReLU6 a ReLU on the data seen:
//
//	m_i = max over the images of channel i before the ReLU6
//	m_i > 6 (the channel reaches the bound):  s_i = 1
//	m_i <= 6:                                 s_i >= m_i / 6
//
// so clip(x/s_i, 0, 6) = relu(x)/s_i = clip(x, 0, 6)/s_i wherever x <= m_i.

// EqualizeOptions tune Equalize.
type EqualizeOptions struct {
	// ReplaceReLU6 turns a first conv's ReLU6 into a ReLU so the pair can be
	// equalized; without it such pairs are refused.
	ReplaceReLU6 bool
	// PreActMax, when set, holds for convs with a fused ReLU6 the largest
	// value each output channel reaches before the activation on the
	// calibration images (PreActivationMax). Pairs after such a ReLU6 are
	// then equalized within the bounds above instead of refused.
	PreActMax map[*ir.Node][]float64
	// Bounded asks Pipeline to measure PreActMax on the calibration images
	// before equalizing.
	Bounded bool
	// Sweeps bounds the passes over all pairs (a depthwise conv is the
	// second of one pair and the first of the next: they converge together);
	// 0 means 20.
	Sweeps int
}

// EqualizedPair is one conv -> conv pair Equalize rescaled: the spread
// (largest / mean per-channel weight range) of each conv before and after.
type EqualizedPair struct {
	First, Second string
	Channels      int
	Act           ir.Activation // between them, after any ReLU6 -> ReLU
	ReplacedReLU6 bool
	// Held counts the channels kept at scale 1 because they reach the
	// ReLU6 bound (with PreActMax); Bounded those whose scale the bound
	// limited at least once.
	Held, Bounded               int
	Spread1Before, Spread1After float64
	Spread2Before, Spread2After float64
}

// String is the pair's report line.
func (p EqualizedPair) String() string {
	r6 := ""
	if p.ReplacedReLU6 {
		r6 = " (ReLU6 -> ReLU)"
	}
	if p.Act == ir.ActRelu6 {
		r6 = fmt.Sprintf(" (ReLU6: %d channels held at the bound, %d limited by it)", p.Held, p.Bounded)
	}
	return fmt.Sprintf("equalized %s -> %s: %d channels, range spread (max/mean) %.2f -> %.2f and %.2f -> %.2f%s",
		shortName(p.First), shortName(p.Second), p.Channels, p.Spread1Before, p.Spread1After, p.Spread2Before, p.Spread2After, r6)
}

// EqualizeReport is what Equalize did.
type EqualizeReport struct {
	Pairs []EqualizedPair
	// Refused counts pairs left alone because the first conv has a ReLU6
	// (or another bounded activation) and ReplaceReLU6 is off.
	Refused int
	Sweeps  int
}

type eqPair struct {
	c1, c2 *ir.Node
	rep    *EqualizedPair
	// m is, for a pair after a ReLU6, c1's current per-channel maximum
	// before the activation (m_i / s_i after each scaling); -1 marks a
	// channel that reaches the bound (held at s_i = 1).
	m       []float64
	bounded []bool
}

// Equalize rescales every conv -> (ReLU | ReLU6 | none) -> conv pair of the
// float graph g in place; see the comment above. A pair qualifies when the
// first conv's output feeds only the second, both weights (and the first
// bias) are float constants used by that node alone, and the second is an
// ordinary (group 1) or depthwise (multiplier 1) conv.
func Equalize(g *ir.Graph, opts EqualizeOptions) *EqualizeReport {
	sweeps := opts.Sweeps
	if sweeps <= 0 {
		sweeps = 20
	}
	cons := g.Consumers()
	rep := &EqualizeReport{}
	var pairs []eqPair
	for _, n1 := range g.Nodes {
		if !eqConv(n1, cons) {
			continue
		}
		out := n1.Out()
		if g.IsOutput(out) || len(cons[out]) != 1 {
			continue
		}
		n2 := cons[out][0]
		if !eqConv(n2, cons) || n2.Inputs[0] != out {
			continue
		}
		a2 := n2.Attrs.(*ir.ConvAttrs)
		c := n1.In(1).Shape[0]
		if !(a2.Group == 1 && n2.In(1).Shape[3] == c) && !(n2.IsDepthwise() && n2.In(1).Shape[0] == c) {
			continue
		}
		a1 := n1.Attrs.(*ir.ConvAttrs)
		p := EqualizedPair{First: n1.Name, Second: n2.Name, Channels: c, Act: a1.Act}
		switch a1.Act {
		case ir.ActNone, ir.ActRelu:
		case ir.ActRelu6:
			if m := opts.PreActMax[n1]; !opts.ReplaceReLU6 && len(m) == c {
				ep := eqPair{c1: n1, c2: n2, m: make([]float64, c), bounded: make([]bool, c)}
				for i, v := range m {
					ep.m[i] = max(v, 0) // a channel never above 0 is always 0
					if v > 6 {
						ep.m[i] = -1
						p.Held++
					}
				}
				rep.Pairs = append(rep.Pairs, p)
				pairs = append(pairs, ep)
				continue
			}
			if !opts.ReplaceReLU6 {
				rep.Refused++
				continue
			}
			p.ReplacedReLU6 = true
			p.Act = ir.ActRelu
		default:
			rep.Refused++
			continue
		}
		rep.Pairs = append(rep.Pairs, p)
		pairs = append(pairs, eqPair{c1: n1, c2: n2})
	}
	for i := range pairs {
		// Own copies of the weights: a Clone of g shares constant data.
		for _, t := range []*ir.Tensor{pairs[i].c1.In(1), pairs[i].c1.In(2), pairs[i].c2.In(1)} {
			if t != nil {
				t.Data = &ir.Data{F32: append([]float32(nil), t.Data.F32...)}
			}
		}
		pairs[i].rep = &rep.Pairs[i]
		pr := pairs[i].rep
		if pr.ReplacedReLU6 {
			pairs[i].c1.Attrs.(*ir.ConvAttrs).Act = ir.ActRelu
		}
		pr.Spread1Before = spread(outRanges(pairs[i].c1.In(1)))
		pr.Spread2Before = spread(inRanges(pairs[i].c2))
	}
	for rep.Sweeps = 0; rep.Sweeps < sweeps && len(pairs) > 0; {
		rep.Sweeps++
		worst := 0.0
		for _, p := range pairs {
			worst = max(worst, p.equalize())
		}
		if worst < 1e-4 {
			break
		}
	}
	for _, p := range pairs {
		p.rep.Spread1After = spread(outRanges(p.c1.In(1)))
		p.rep.Spread2After = spread(inRanges(p.c2))
		for _, b := range p.bounded {
			if b {
				p.rep.Bounded++
			}
		}
	}
	return rep
}

// eqConv: a Conv with float constant OHWI weights (and bias) that no other
// node reads.
func eqConv(n *ir.Node, cons map[*ir.Tensor][]*ir.Node) bool {
	if n.Op != ir.OpConv || len(n.Outputs) != 1 {
		return false
	}
	if _, ok := n.Attrs.(*ir.ConvAttrs); !ok {
		return false
	}
	w := n.In(1)
	if w == nil || !w.IsConst() || w.DType != ir.Float32 || w.Rank() != 4 || len(cons[w]) != 1 {
		return false
	}
	if b := n.In(2); b != nil && (!b.IsConst() || b.DType != ir.Float32 || b.Len() != w.Shape[0] || len(cons[b]) != 1) {
		return false
	}
	return n.Inputs[0] != nil && n.Inputs[0].Rank() == 4
}

// outRanges is max |w| per output channel (axis 0) of OHWI weights.
func outRanges(w *ir.Tensor) []float64 {
	c := w.Shape[0]
	inner := w.Len() / c
	r := make([]float64, c)
	for i, v := range w.Data.F32 {
		r[i/inner] = max(r[i/inner], math.Abs(float64(v)))
	}
	return r
}

// inRanges is max |w| per input channel of conv n: axis 3 of OHWI weights,
// or axis 0 for a depthwise conv.
func inRanges(n *ir.Node) []float64 {
	w := n.In(1)
	if n.IsDepthwise() {
		return outRanges(w)
	}
	c := w.Shape[3]
	r := make([]float64, c)
	for i, v := range w.Data.F32 {
		r[i%c] = max(r[i%c], math.Abs(float64(v)))
	}
	return r
}

// spread is max / mean of ranges (1 when all channels agree).
func spread(r []float64) float64 {
	m, s := 0.0, 0.0
	for _, v := range r {
		m = max(m, v)
		s += v
	}
	if s == 0 {
		return 1
	}
	return m * float64(len(r)) / s
}

// equalize applies one scaling to the pair and returns the largest
// |log s_i| (0 once converged).
func (p eqPair) equalize() float64 {
	n1, n2 := p.c1, p.c2
	r1, r2 := outRanges(n1.In(1)), inRanges(n2)
	s := make([]float64, len(r1))
	worst := 0.0
	for i := range s {
		s[i] = 1
		if r1[i] > 0 && r2[i] > 0 {
			s[i] = math.Sqrt(r1[i]*r2[i]) / r2[i]
		}
		if p.m != nil {
			m := p.m[i]
			switch {
			case m < 0:
				s[i] = 1 // reaches the ReLU6 bound
			case s[i] < m/6:
				s[i] = m / 6 // grow no further than the bound
				p.bounded[i] = true
			}
			if m > 0 {
				p.m[i] = m / s[i]
			}
		}
		worst = max(worst, math.Abs(math.Log(s[i])))
	}
	w1 := n1.In(1).Data.F32
	inner := len(w1) / len(s)
	for i := range w1 {
		w1[i] = float32(float64(w1[i]) / s[i/inner])
	}
	if b := n1.In(2); b != nil {
		for i := range b.Data.F32 {
			b.Data.F32[i] = float32(float64(b.Data.F32[i]) / s[i])
		}
	}
	w2 := n2.In(1).Data.F32
	if n2.IsDepthwise() {
		inner := len(w2) / len(s)
		for i := range w2 {
			w2[i] = float32(float64(w2[i]) * s[i/inner])
		}
	} else {
		c := len(s)
		for i := range w2 {
			w2[i] = float32(float64(w2[i]) * s[i%c])
		}
	}
	return worst
}

// shortName is a node name's first ';'-separated part (TFLite names a fused
// node by all the ops it came from).
func shortName(s string) string {
	if i := strings.IndexByte(s, ';'); i > 0 {
		return s[:i]
	}
	return s
}
