package runtime

import (
	"math"

	"github.com/mnconv/mnconv/ir"
)

// Float32 reference elementwise unary kernels and inference BatchNorm.
// Transcendental and multi-step formulas (Sigmoid, HardSigmoid, HardSwish,
// BatchNorm) are computed in float64 and rounded to float32 once, so they
// are within about half an ulp of the exact value; float64() around products
// keeps the compiler from fusing them into FMAs, so every machine gives the
// same bits. Relu and Clip also accept plain
// integer tensors (ONNX allows them; Clip's int8 tests use them).

func init() {
	Register(ir.OpRelu, Float, checked(prepareRelu))
	Register(ir.OpClip, Float, checked(prepareClip))
	Register(ir.OpSigmoid, Float, checked(prepareFloatUnary))
	Register(ir.OpHardSigmoid, Float, checked(prepareFloatUnary))
	Register(ir.OpHardSwish, Float, checked(prepareFloatUnary))
	Register(ir.OpBatchNorm, Float, checked(prepareBatchNorm))
}

var (
	_ Kernel = (*clampKernel[float32])(nil)
	_ Kernel = (*floatUnaryKernel)(nil)
	_ Kernel = (*batchNormKernel)(nil)
)

// checkSameShape checks that n's output has input 0's shape.
func checkSameShape(n *ir.Node) error {
	x, y := n.Inputs[0], n.Outputs[0]
	if x.Len() != y.Len() || x.Rank() != y.Rank() {
		return n.Errorf("output %q shape %v differs from input %q shape %v", y.Name, y.Shape, x.Name, x.Shape)
	}
	for d := range x.Shape {
		if x.Shape[d] != y.Shape[d] {
			return n.Errorf("output %q shape %v differs from input %q shape %v", y.Name, y.Shape, x.Name, x.Shape)
		}
	}
	return nil
}

// clampKernel is y = min(max(x, lo), hi): Relu is lo = 0, hi = +Inf. With
// lo > hi every output is hi, as ONNX's Clip specifies. NaN stays NaN.
type clampKernel[T number] struct{ lo, hi T }

func (k *clampKernel[T]) Eval(in, out []*Tensor) error {
	x, y := elems[T](in[0]), elems[T](out[0])
	for i, v := range x {
		y[i] = min(max(v, k.lo), k.hi)
	}
	return nil
}

func prepareRelu(n *ir.Node) (Kernel, error) {
	return prepareClamp(n, 0, math.Inf(1))
}

func prepareClip(n *ir.Node) (Kernel, error) {
	a := n.Attrs.(*ir.ClipAttrs)
	return prepareClamp(n, float64(a.Min), float64(a.Max))
}

// prepareClamp converts the real bounds to the tensor's type; integer
// bounds round inward (ONNX integer Clip bounds are integers already).
func prepareClamp(n *ir.Node, lo, hi float64) (Kernel, error) {
	dt := n.Inputs[0].DType
	if err := checkDTypes(n, dt); err != nil {
		return nil, err
	}
	if err := checkSameShape(n); err != nil {
		return nil, err
	}
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return nil, n.Errorf("bounds %v, %v include NaN", lo, hi)
	}
	switch dt {
	case ir.Float32:
		return &clampKernel[float32]{float32(lo), float32(hi)}, nil
	case ir.Int8:
		return newIntClamp[int8](lo, hi), nil
	case ir.Uint8:
		return newIntClamp[uint8](lo, hi), nil
	case ir.Int32:
		return newIntClamp[int32](lo, hi), nil
	case ir.Int64:
		return newIntClamp[int64](lo, hi), nil
	}
	return nil, n.Errorf("dtype %v is not supported", dt)
}

func newIntClamp[T number](lo, hi float64) *clampKernel[T] {
	return &clampKernel[T]{saturate[T](math.Ceil(lo)), saturate[T](math.Floor(hi))}
}

// floatUnaryKernel applies a float64 formula elementwise.
type floatUnaryKernel struct {
	f func(x float64) float64
}

func prepareFloatUnary(n *ir.Node) (Kernel, error) {
	if err := checkFloat(n); err != nil {
		return nil, err
	}
	if err := checkSameShape(n); err != nil {
		return nil, err
	}
	switch n.Op {
	case ir.OpSigmoid:
		return &floatUnaryKernel{sigmoid}, nil
	case ir.OpHardSigmoid:
		a := n.Attrs.(*ir.HardSigmoidAttrs)
		alpha, beta := float64(a.Alpha), float64(a.Beta)
		return &floatUnaryKernel{func(x float64) float64 {
			return hardSigmoid(x, alpha, beta)
		}}, nil
	case ir.OpHardSwish:
		return &floatUnaryKernel{hardSwish}, nil
	}
	return nil, n.Errorf("no float unary kernel")
}

// hardSwish is x * relu6(x+3) / 6 in float64 (fast_hswish.go computes
// the same operations in the same order).
func hardSwish(x float64) float64 {
	return x * min(max(x+3, 0), 6) / 6
}

// hardSigmoid is max(0, min(1, alpha*x + beta)) in float64; alpha and beta
// come from float32, so alpha*x is exact.
func hardSigmoid(x, alpha, beta float64) float64 {
	return max(0, min(1, float64(alpha*x)+beta))
}

// sigmoid is 1/(1+e^-x), written so that neither branch overflows.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func (k *floatUnaryKernel) Eval(in, out []*Tensor) error {
	x, y := in[0].F32, out[0].F32
	for i, v := range x {
		y[i] = float32(k.f(float64(v)))
	}
	return nil
}

// batchNormKernel is inference BatchNorm along one axis of any rank:
// y = scale*(x-mean)/sqrt(var+eps) + bias, each channel's factor
// scale/sqrt(var+eps) computed in float64 at every Eval (the parameters may
// be graph inputs, as in ONNX's tests).
type batchNormKernel struct {
	outer, channels, inner int
	eps                    float64
	mul                    []float64 // per channel scale/sqrt(var+eps)
}

func prepareBatchNorm(n *ir.Node) (Kernel, error) {
	if err := checkFloat(n); err != nil {
		return nil, err
	}
	if err := checkSameShape(n); err != nil {
		return nil, err
	}
	a := n.Attrs.(*ir.BatchNormAttrs)
	x := n.Inputs[0]
	axis, err := ir.NormAxis(a.Axis, x.Rank())
	if err != nil || x.Rank() == 0 {
		return nil, n.Errorf("axis %d does not fit input %q shape %v", a.Axis, x.Name, x.Shape)
	}
	k := &batchNormKernel{
		outer:    ir.NumElements(x.Shape[:axis]),
		channels: x.Shape[axis],
		inner:    ir.NumElements(x.Shape[axis+1:]),
		eps:      float64(a.Epsilon),
	}
	for i, role := range []string{"scale", "bias", "mean", "var"} {
		if p := n.Inputs[1+i]; p.Len() != k.channels {
			return nil, n.Errorf("%s %q has %d elements, want %d (axis %d of %v)", role, p.Name, p.Len(), k.channels, axis, x.Shape)
		}
	}
	k.mul = make([]float64, k.channels)
	return k, nil
}

func (k *batchNormKernel) Eval(in, out []*Tensor) error {
	x, y := in[0].F32, out[0].F32
	scale, bias, mean, variance := in[1].F32, in[2].F32, in[3].F32, in[4].F32
	for c := range k.mul {
		k.mul[c] = float64(scale[c]) / math.Sqrt(float64(variance[c])+k.eps)
	}
	i := 0
	for outer := 0; outer < k.outer; outer++ {
		for c := 0; c < k.channels; c++ {
			mul, m, b := k.mul[c], float64(mean[c]), float64(bias[c])
			for inner := 0; inner < k.inner; inner++ {
				y[i] = float32(float64((float64(x[i])-m)*mul) + b)
				i++
			}
		}
	}
	return nil
}
