package runtime

import (
	"math"
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
		addClamp(y, a, b, lo, hi)
	case k.op == ir.OpMul:
		mulClamp(y, a, b, lo, hi)
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

// addClamp is the float Add: y[i] = clamp(a[i] + b[i], lo, hi), one rounded
// add per element. Without an activation (bounds -Inf and +Inf) the clamp
// changes nothing, NaN and -0 included, and the adds run in addF32.
func addClamp(y, a, b []float32, lo, hi float32) {
	if math.IsInf(float64(lo), -1) && math.IsInf(float64(hi), 1) {
		addF32(y, a, b)
		return
	}
	a, b = a[:len(y)], b[:len(y)]
	for i := range y {
		y[i] = min(max(a[i]+b[i], lo), hi)
	}
}

// addF32 writes y[i] = a[i] + b[i]: eight at a time in assembly (VADDPS) on
// amd64's assembly families, the rest (and every float elsewhere) in Go. y
// may be a or b.
func addF32(y, a, b []float32) {
	a, b = a[:len(y)], b[:len(y)]
	if n := len(y) &^ 7; n > 0 && useSIMD && hasVaddF32 {
		vaddF32(&y[0], &a[0], &b[0], n)
		y, a, b = y[n:], a[n:], b[n:]
	}
	for i := range y {
		y[i] = a[i] + b[i]
	}
}

// residualAdd is a same-shape float Add run inside the kernel that computes
// one of its operands (interp.go plans it, fastConvGemm runs it): once the
// kernel has written a block of its output y, still in cache, the block
// becomes clamp(y + r), or clamp(r + y) when r is the Add's first operand,
// with the Add's bounds: the bits the Add kernel would write from the
// rounded conv output. r is laid out as y.
type residualAdd struct {
	r      []float32 // nil: no Add
	rFirst bool
	lo, hi float32
}

// apply adds r to columns [c0, c1) of rows [r0, r0+rows) of y (rows ldc
// apart).
func (ra *residualAdd) apply(y []float32, r0, rows, c0, c1, ldc int) {
	if c0 == 0 && c1 == ldc {
		ra.span(y, r0*ldc, (r0+rows)*ldc)
		return
	}
	for r := r0; r < r0+rows; r++ {
		ra.span(y, r*ldc+c0, r*ldc+c1)
	}
}

func (ra *residualAdd) span(y []float32, from, to int) {
	a, b := y[from:to], ra.r[from:to]
	if ra.rFirst {
		a, b = b, a
	}
	addClamp(y[from:to], a, b, ra.lo, ra.hi)
}
