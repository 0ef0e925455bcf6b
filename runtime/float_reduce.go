package runtime

import (
	"math"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Reference reductions (Mean, ReduceMax) and Softmax. Mean sums in float64
// in input memory order and divides once; Softmax works in float64 and
// subtracts the largest beta*x before exponentiating, so large inputs
// neither overflow nor lose their differences. ReduceMax also takes plain
// integer tensors.

func init() {
	Register(ir.OpMean, Float, checked(prepareReduce))
	Register(ir.OpReduceMax, Float, checked(prepareReduce))
	Register(ir.OpSoftmax, Float, checked(prepareSoftmax))
}

var (
	_ Kernel = (*meanKernel)(nil)
	_ Kernel = (*reduceMaxKernel[float32])(nil)
	_ Kernel = (*softmaxKernel)(nil)
)

func prepareReduce(n *ir.Node) (Kernel, error) {
	a := n.Attrs.(*ir.ReduceAttrs)
	x, y := n.Inputs[0], n.Outputs[0]
	dt := x.DType
	if err := checkDTypes(n, dt); err != nil {
		return nil, err
	}
	reduced := make([]bool, x.Rank())
	for _, ax := range a.Axes {
		d, err := ir.NormAxis(ax, x.Rank())
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		if reduced[d] {
			return nil, n.Errorf("axis %d appears twice in %v", d, a.Axes)
		}
		reduced[d] = true
	}
	// keptShape is the output with KeepDims (reduced dims of size 1); reading
	// it with broadcast strides over the input shape sends every input
	// element to its output element.
	keptShape := slices.Clone(x.Shape)
	var want []int
	count := 1
	for d, size := range x.Shape {
		switch {
		case reduced[d]:
			keptShape[d] = 1
			count *= size
			if a.KeepDims {
				want = append(want, 1)
			}
		default:
			want = append(want, size)
		}
	}
	if !slices.Equal(want, y.Shape) {
		return nil, n.Errorf("output %q has shape %v, want %v", y.Name, y.Shape, want)
	}
	loop := newStridedLoop(x.Shape, contiguousStrides(x.Shape), broadcastStrides(keptShape, x.Shape))
	if n.Op == ir.OpMean {
		if dt != ir.Float32 {
			return nil, n.Errorf("dtype %v is not supported (float32 only)", dt)
		}
		return &meanKernel{loop: loop, count: float64(count), acc: make([]float64, y.Len())}, nil
	}
	switch dt {
	case ir.Float32:
		return &reduceMaxKernel[float32]{loop: loop}, nil
	case ir.Int8:
		return &reduceMaxKernel[int8]{loop: loop}, nil
	case ir.Uint8:
		return &reduceMaxKernel[uint8]{loop: loop}, nil
	case ir.Int32:
		return &reduceMaxKernel[int32]{loop: loop}, nil
	case ir.Int64:
		return &reduceMaxKernel[int64]{loop: loop}, nil
	}
	return nil, n.Errorf("dtype %v is not supported", dt)
}

type meanKernel struct {
	loop  *stridedLoop // operands: 0 input, 1 output (stride 0 on reduced dims)
	count float64      // input elements per output element
	acc   []float64
}

func (k *meanKernel) Eval(in, out []*Tensor) error {
	x, y := in[0].F32, out[0].F32
	clear(k.acc)
	n, outStep := k.loop.rowLen(), k.loop.step(1)
	k.loop.rows(func(offs []int) {
		row := x[offs[0]:][:n]
		o := offs[1]
		for _, v := range row {
			k.acc[o] += float64(v)
			o += outStep
		}
	})
	for i, sum := range k.acc {
		y[i] = float32(sum / k.count)
	}
	return nil
}

type reduceMaxKernel[T number] struct {
	loop *stridedLoop
}

// Eval starts every output at T's lowest value (-Inf for float32, which is
// also the answer for an empty reduction).
func (k *reduceMaxKernel[T]) Eval(in, out []*Tensor) error {
	x, y := elems[T](in[0]), elems[T](out[0])
	lowest, _ := limits[T]()
	for i := range y {
		y[i] = lowest
	}
	n, outStep := k.loop.rowLen(), k.loop.step(1)
	k.loop.rows(func(offs []int) {
		row := x[offs[0]:][:n]
		o := offs[1]
		for _, v := range row {
			y[o] = max(y[o], v)
			o += outStep
		}
	})
	return nil
}

// softmaxKernel is y = exp(beta*x - max) / sum(exp(beta*x - max)) along one
// axis, with max the largest beta*x along it.
type softmaxKernel struct {
	outer, length, inner int
	beta                 float64
	exps                 []float64 // one slice along the axis
}

func prepareSoftmax(n *ir.Node) (Kernel, error) {
	if err := checkFloat(n); err != nil {
		return nil, err
	}
	if err := checkSameShape(n); err != nil {
		return nil, err
	}
	a := n.Attrs.(*ir.SoftmaxAttrs)
	x := n.Inputs[0]
	axis, err := ir.NormAxis(a.Axis, x.Rank())
	if err != nil || x.Rank() == 0 {
		return nil, n.Errorf("axis %d does not fit input %q shape %v", a.Axis, x.Name, x.Shape)
	}
	if math.IsNaN(float64(a.Beta)) || math.IsInf(float64(a.Beta), 0) {
		return nil, n.Errorf("beta %v is not finite", a.Beta)
	}
	return &softmaxKernel{
		outer:  ir.NumElements(x.Shape[:axis]),
		length: x.Shape[axis],
		inner:  ir.NumElements(x.Shape[axis+1:]),
		beta:   float64(a.Beta),
		exps:   make([]float64, x.Shape[axis]),
	}, nil
}

func (k *softmaxKernel) Eval(in, out []*Tensor) error {
	x, y := in[0].F32, out[0].F32
	for outer := 0; outer < k.outer; outer++ {
		for inner := 0; inner < k.inner; inner++ {
			base := outer*k.length*k.inner + inner
			largest := math.Inf(-1)
			for j := 0; j < k.length; j++ {
				largest = max(largest, k.beta*float64(x[base+j*k.inner]))
			}
			sum := 0.0
			for j := range k.exps {
				k.exps[j] = math.Exp(float64(k.beta*float64(x[base+j*k.inner])) - largest) // no FMA: same bits everywhere
				sum += k.exps[j]
			}
			for j, e := range k.exps {
				y[base+j*k.inner] = float32(e / sum)
			}
		}
	}
	return nil
}
