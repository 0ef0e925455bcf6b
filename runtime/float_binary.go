package runtime

import (
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Elementwise binary kernels (Add, Sub, Mul, Div, Max, Min) with numpy
// broadcasting and a fused activation, for float32 and for plain integer
// tensors (int8, uint8, int32, int64 without Quant). Integer arithmetic wraps
// around, as ONNX Runtime's does; integer Div truncates toward zero (Go's
// and C's rule) and a zero divisor is an error rather than a crash.
// Max and Min propagate NaN.

func init() {
	for _, op := range []ir.Op{ir.OpAdd, ir.OpSub, ir.OpMul, ir.OpDiv, ir.OpMax, ir.OpMin} {
		Register(op, Float, checked(prepareBinary))
	}
}

var _ Kernel = (*binaryKernel[float32])(nil)

type binaryKernel[T number] struct {
	loop      *stridedLoop // operands: 0 output, 1 a, 2 b
	f         func(a, b T) T
	lo, hi    T    // fused activation bounds
	checkZero bool // integer Div: reject zero divisors
}

func prepareBinary(n *ir.Node) (Kernel, error) {
	a, b, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	dt := a.DType
	if err := checkDTypes(n, dt); err != nil {
		return nil, err
	}
	shape, err := ir.BroadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if !slices.Equal(shape, y.Shape) {
		return nil, n.Errorf("output %q has shape %v, broadcasting gives %v", y.Name, y.Shape, shape)
	}
	loop := newStridedLoop(shape, contiguousStrides(shape), broadcastStrides(a.Shape, shape), broadcastStrides(b.Shape, shape))
	act := n.FusedAct()
	switch dt {
	case ir.Float32:
		return newBinaryKernel[float32](n.Op, loop, act), nil
	case ir.Int8:
		return newBinaryKernel[int8](n.Op, loop, act), nil
	case ir.Uint8:
		return newBinaryKernel[uint8](n.Op, loop, act), nil
	case ir.Int32:
		return newBinaryKernel[int32](n.Op, loop, act), nil
	case ir.Int64:
		return newBinaryKernel[int64](n.Op, loop, act), nil
	}
	return nil, n.Errorf("dtype %v is not supported", dt)
}

func newBinaryKernel[T number](op ir.Op, loop *stridedLoop, act ir.Activation) *binaryKernel[T] {
	k := &binaryKernel[T]{loop: loop}
	k.lo, k.hi = actBounds[T](act)
	switch op {
	case ir.OpAdd:
		k.f = func(a, b T) T { return a + b }
	case ir.OpSub:
		k.f = func(a, b T) T { return a - b }
	case ir.OpMul:
		k.f = func(a, b T) T { return a * b }
	case ir.OpDiv:
		k.f = func(a, b T) T { return a / b }
		k.checkZero = !isFloat[T]()
	case ir.OpMax:
		k.f = func(a, b T) T { return max(a, b) }
	case ir.OpMin:
		k.f = func(a, b T) T { return min(a, b) }
	}
	return k
}

func (k *binaryKernel[T]) Eval(in, out []*Tensor) error {
	a, b, y := elems[T](in[0]), elems[T](in[1]), elems[T](out[0])
	if k.checkZero && slices.Contains(b, 0) {
		return errIntDivZero
	}
	n, aStep, bStep := k.loop.rowLen(), k.loop.step(1), k.loop.step(2)
	f, lo, hi := k.f, k.lo, k.hi
	k.loop.rows(func(offs []int) {
		row := y[offs[0]:][:n]
		ai, bi := offs[1], offs[2]
		for i := range row {
			row[i] = min(max(f(a[ai], b[bi]), lo), hi)
			ai += aStep
			bi += bStep
		}
	})
	return nil
}

type runtimeError string

func (e runtimeError) Error() string { return string(e) }

const errIntDivZero = runtimeError("integer division by zero")
