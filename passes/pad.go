package passes

import (
	"github.com/mnconv/mnconv/ir"
)

// FoldPad moves explicit zero padding into the convolution or average pool
// that reads it.
var FoldPad = Pass{
	Name: "fold-pad",
	Doc: `Folds a constant-mode Pad that fills with zero (real zero: a quantized
Pad fills with its zero point) and pads only H and W into the Conv, or the
AvgPool that counts padding, reading it, when the Pad's output feeds only that
node and is not a graph output:
  Conv(Pad(x, [0,t,l,0, 0,b,r,0]), W){pads=p}  =>  Conv(x, W){pads=p+[t,l,b,r]}
An AvgPool without padding is folded too and then counts padding, since the
explicit zeros were counted. MaxPool is left alone (its padding is -inf).`,
	rules: []rewrite{padIntoWindow},
}

type padFold struct {
	pad, user *ir.Node
	hw        [4]int // top, left, bottom, right
}

// Conv(Pad(x)) => Conv(x){pads += pad's}
var padIntoWindow = rule[padFold]{
	name: "pad-into-window",
	ops:  []ir.Op{ir.OpPad},
	match: func(c *rewriter, n *ir.Node) (padFold, bool) {
		a, ok := n.Attrs.(*ir.PadAttrs)
		x, y := n.In(0), single(n)
		if !ok || x == nil || y == nil || x.Rank() != 4 || len(a.Pads) != 8 || a.Mode != ir.PadConstant || a.Value != 0 || !sameKind(x, y) {
			return padFold{}, false
		}
		p := a.Pads // N,H,W,C begins then ends
		if p[0] != 0 || p[3] != 0 || p[4] != 0 || p[7] != 0 {
			return padFold{}, false
		}
		for _, v := range p {
			if v < 0 {
				return padFold{}, false // a crop
			}
		}
		user := c.soleReader(y)
		if user == nil || user.In(0) != y {
			return padFold{}, false
		}
		switch ua := user.Attrs.(type) {
		case *ir.ConvAttrs:
			if user.Op != ir.OpConv {
				return padFold{}, false
			}
		case *ir.PoolAttrs:
			if user.Op != ir.OpAvgPool || ua.CeilMode || (!ua.CountIncludePad && ua.Pads != [4]int{}) {
				return padFold{}, false
			}
		default:
			return padFold{}, false
		}
		return padFold{pad: n, user: user, hw: [4]int{p[1], p[2], p[5], p[6]}}, true
	},
	apply: func(c *rewriter, m padFold) error {
		var pads *[4]int
		switch ua := m.user.Attrs.(type) {
		case *ir.ConvAttrs:
			pads = &ua.Pads
		case *ir.PoolAttrs:
			pads = &ua.Pads
			ua.CountIncludePad = true
		}
		for i := range pads {
			pads[i] += m.hw[i]
		}
		c.setInput(m.user, 0, m.pad.In(0))
		c.remove(m.pad)
		return nil
	},
}
