package runtime

import (
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Fast float32 Add, Sub and Mul for the two shapes MobileNets use: operands
// of the same shape (residual adds) and one operand that is a vector along
// the last axis (per-channel scales, squeeze-excite). One plain loop per
// op with the fused clamp; results equal the reference kernels' exactly (a
// single rounded operation per element). Other broadcasts go to the
// reference kernels.

func init() {
	for _, op := range []ir.Op{ir.OpAdd, ir.OpSub, ir.OpMul} {
		Register(op, FastFloat, prepareFastBinary)
	}
}

var _ Kernel = (*fastBinary)(nil)

type fastBinary struct {
	op ir.Op
	// vecA / vecB: that operand is a channel vector repeated over rows of
	// length c (both false: same shape).
	vecA, vecB bool
	c          int
	lo, hi     float32
}

func prepareFastBinary(n *ir.Node) (Kernel, error) {
	if !wellFormed(n) || checkFloat(n) != nil {
		return nil, nil
	}
	a, b, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if a == nil || b == nil || y == nil || y.Rank() == 0 {
		return nil, nil
	}
	if _, ok := n.Attrs.(*ir.BinaryAttrs); !ok {
		return nil, nil
	}
	k := &fastBinary{op: n.Op, c: y.Shape[y.Rank()-1]}
	k.lo, k.hi = n.FusedAct().Bounds()
	switch {
	case slices.Equal(a.Shape, y.Shape) && slices.Equal(b.Shape, y.Shape):
	case slices.Equal(a.Shape, y.Shape) && isChannelVector(b.Shape, k.c):
		k.vecB = true
	case slices.Equal(b.Shape, y.Shape) && isChannelVector(a.Shape, k.c):
		k.vecA = true
	default:
		return nil, nil
	}
	if k.c == 0 {
		return nil, nil
	}
	return k, nil
}

// isChannelVector reports whether shape is [..., 1, c] (all ones but the
// last dim, which is c), or [c].
func isChannelVector(shape []int, c int) bool {
	if len(shape) == 0 || shape[len(shape)-1] != c {
		return false
	}
	for _, d := range shape[:len(shape)-1] {
		if d != 1 {
			return false
		}
	}
	return true
}

func (k *fastBinary) Eval(in, out []*Tensor) error {
	a, b, y := in[0].F32, in[1].F32, out[0].F32
	switch {
	case k.vecB:
		for r := 0; r < len(y); r += k.c {
			k.apply(y[r:r+k.c], a[r:r+k.c], b, false)
		}
	case k.vecA:
		for r := 0; r < len(y); r += k.c {
			k.apply(y[r:r+k.c], b[r:r+k.c], a, true)
		}
	default:
		k.apply(y, a[:len(y)], b[:len(y)], false)
	}
	return nil
}

// apply writes y[i] = clamp(a[i] op b[i]); swapped means the operands came
// in the other order (only Sub cares).
func (k *fastBinary) apply(y, a, b []float32, swapped bool) {
	a, b = a[:len(y)], b[:len(y)]
	lo, hi := k.lo, k.hi
	switch {
	case k.op == ir.OpAdd:
		for i := range y {
			y[i] = min(max(a[i]+b[i], lo), hi)
		}
	case k.op == ir.OpMul:
		for i := range y {
			y[i] = min(max(a[i]*b[i], lo), hi)
		}
	case swapped: // Sub with the vector first: vector - tensor
		for i := range y {
			y[i] = min(max(b[i]-a[i], lo), hi)
		}
	default:
		for i := range y {
			y[i] = min(max(a[i]-b[i], lo), hi)
		}
	}
}
