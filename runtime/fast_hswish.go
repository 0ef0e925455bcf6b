package runtime

import (
	"github.com/mnconv/mnconv/ir"
)

// Fast float32 HardSwish and HardSigmoid (MobileNetV3's activations): the
// reference formulas of float_unary.go (hardSwish, hardSigmoid), computed in
// float64 and rounded once to float32, over a whole tensor at a time
// instead of through a function value per element. The avx2 and avx512
// families widen 8 or 16 floats to float64 in assembly
// (fast_hswish_amd64.s), neon 4 (fast_hswish_arm64.s), and run the same
// IEEE operations in the same order, so every family writes the reference
// bits; the go family and the tails run the Go loops below.

func init() {
	Register(ir.OpHardSwish, FastFloat, prepareFastHardAct)
	Register(ir.OpHardSigmoid, FastFloat, prepareFastHardAct)
}

var _ Kernel = (*fastHardAct)(nil)

// fastHardAct is HardSwish (sigmoid false) or HardSigmoid(alpha, beta).
type fastHardAct struct {
	sigmoid     bool
	alpha, beta float64
	fam         kernelFamily // the family at Prepare
}

func prepareFastHardAct(n *ir.Node) (Kernel, error) {
	if !wellFormed(n) || checkFloat(n) != nil || checkSameShape(n) != nil {
		return nil, nil
	}
	k := &fastHardAct{fam: family}
	if n.Op == ir.OpHardSigmoid {
		a, ok := n.Attrs.(*ir.HardSigmoidAttrs)
		if !ok {
			return nil, nil
		}
		k.sigmoid, k.alpha, k.beta = true, float64(a.Alpha), float64(a.Beta)
	}
	return k, nil
}

func (k *fastHardAct) Eval(in, out []*Tensor) error {
	x, y := in[0].F32, out[0].F32
	if k.sigmoid {
		hardSigmoidF32(y, x[:len(y)], k.alpha, k.beta, k.fam)
	} else {
		hardSwishF32(y, x[:len(y)], k.fam)
	}
	return nil
}

// hardSwishF32 writes y[i] = HardSwish(x[i]) with family fam's kernels; y
// may be x.
func hardSwishF32(y, x []float32, fam kernelFamily) {
	x = x[:len(y)]
	if hasHswishAsm && fam >= familyAVX512 && len(y) >= 16 {
		n := len(y) &^ 15
		hswishF32z(&y[0], &x[0], n)
		y, x = y[n:], x[n:]
	}
	if hasHswishAsm && fam >= familySIMD && len(y) >= 8 {
		n := len(y) &^ 7
		hswishF32(&y[0], &x[0], n)
		y, x = y[n:], x[n:]
	}
	for i, v := range x {
		y[i] = float32(hardSwish(float64(v)))
	}
}

// hardSigmoidF32 writes y[i] = HardSigmoid(x[i]) with family fam's
// kernels; y may be x.
func hardSigmoidF32(y, x []float32, alpha, beta float64, fam kernelFamily) {
	x = x[:len(y)]
	if hasHswishAsm && fam >= familyAVX512 && len(y) >= 16 {
		n := len(y) &^ 15
		hsigmoidF32z(&y[0], &x[0], n, alpha, beta)
		y, x = y[n:], x[n:]
	}
	if hasHswishAsm && fam >= familySIMD && len(y) >= 8 {
		n := len(y) &^ 7
		hsigmoidF32(&y[0], &x[0], n, alpha, beta)
		y, x = y[n:], x[n:]
	}
	for i, v := range x {
		y[i] = float32(hardSigmoid(float64(v), alpha, beta))
	}
}

// apply runs the activation in place on columns [c0, c1) of rows [r0,
// r0+rows) of y (rows ldc apart): a fused conv's output block while it is
// in cache (interp.go's activation fusion, fastConvGemm.evalAct).
func (k *fastHardAct) apply(y []float32, r0, rows, c0, c1, ldc int) {
	if c0 == 0 && c1 == ldc {
		k.span(y[r0*ldc : (r0+rows)*ldc])
		return
	}
	for r := r0; r < r0+rows; r++ {
		k.span(y[r*ldc+c0 : r*ldc+c1])
	}
}

func (k *fastHardAct) span(y []float32) {
	if k.sigmoid {
		hardSigmoidF32(y, y, k.alpha, k.beta, k.fam)
	} else {
		hardSwishF32(y, y, k.fam)
	}
}
