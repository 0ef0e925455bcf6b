package runtime

import (
	"github.com/mnconv/mnconv/ir"
)

// Reference AvgPool (float32) and MaxPool (float32 and plain integer
// tensors, e.g. ONNX's uint8 MaxPool test) over H and W of NHWC tensors.
//
// The output size is Node.Window's (ir.ConvOutSize, with CeilMode when set),
// which the output tensor must have; every window position outside the input
// is skipped, so ceil mode's last window may run past the padded extent
// safely.
//
// AvgPool sums in float32 in fy, fx order and divides by the window's count:
// with CountIncludePad false, the number of positions inside the input; with
// it true, the positions inside the input plus its explicit pads, but not
// the positions beyond the padded extent that ceil mode adds (ONNX's rule).

func init() {
	Register(ir.OpAvgPool, Float, checked(preparePool))
	Register(ir.OpMaxPool, Float, checked(preparePool))
}

var (
	_ Kernel = (*avgPoolKernel)(nil)
	_ Kernel = (*maxPoolKernel[float32])(nil)
)

// poolGeom is the window geometry shared by both pools.
type poolGeom struct {
	batches, inH, inW, channels int
	outH, outW                  int
	kH, kW                      int
	strideY, strideX            int
	dilY, dilX                  int
	padTop, padLeft             int
}

func preparePool(n *ir.Node) (Kernel, error) {
	a := n.Attrs.(*ir.PoolAttrs)
	x, y := n.Inputs[0], n.Outputs[0]
	dt := x.DType
	if err := checkDTypes(n, dt); err != nil {
		return nil, err
	}
	if x.Rank() != 4 || y.Rank() != 4 {
		return nil, n.Errorf("input %v and output %v must be rank 4 (NHWC)", x.Shape, y.Shape)
	}
	win, err := n.Window()
	if err != nil {
		return nil, err
	}
	g := poolGeom{
		batches: x.Shape[0], inH: win.InH, inW: win.InW, channels: x.Shape[3],
		outH: y.Shape[1], outW: y.Shape[2],
		kH: win.KH, kW: win.KW,
		strideY: win.StrideY, strideX: win.StrideX, dilY: win.DilY, dilX: win.DilX,
		padTop: win.PadTop, padLeft: win.PadLeft,
	}
	if !win.Fits(y) {
		return nil, n.Errorf("output %q shape %v does not match the pooling of %v", y.Name, y.Shape, x.Shape)
	}
	if y.Shape[0] != g.batches || y.Shape[3] != g.channels {
		return nil, n.Errorf("output %q shape %v, want batch %d and %d channels", y.Name, y.Shape, g.batches, g.channels)
	}
	if n.Op == ir.OpMaxPool {
		switch dt {
		case ir.Float32:
			return newMaxPool[float32](g, a.Act), nil
		case ir.Int8:
			return newMaxPool[int8](g, a.Act), nil
		case ir.Uint8:
			return newMaxPool[uint8](g, a.Act), nil
		case ir.Int32:
			return newMaxPool[int32](g, a.Act), nil
		case ir.Int64:
			return newMaxPool[int64](g, a.Act), nil
		}
		return nil, n.Errorf("dtype %v is not supported", dt)
	}
	if dt != ir.Float32 {
		return nil, n.Errorf("dtype %v is not supported (float32 only)", dt)
	}
	k := &avgPoolKernel{poolGeom: g, acc: make([]float32, g.channels)}
	k.lo, k.hi = a.Act.Bounds()
	// The divisor factors into a row count times a column count.
	k.countY = windowCounts(g.outH, g.kH, g.strideY, g.dilY, g.padTop, g.inH, win.PadBottom, a.CountIncludePad)
	k.countX = windowCounts(g.outW, g.kW, g.strideX, g.dilX, g.padLeft, g.inW, win.PadRight, a.CountIncludePad)
	return k, nil
}

// windowCounts returns, per output position along one axis, how many of the
// window's taps count toward the average: those inside [0, in), or with
// includePad those inside [-padBefore, in+padAfter).
func windowCounts(outLen, k, stride, dil, padBefore, in, padAfter int, includePad bool) []int {
	lo, hi := 0, in
	if includePad {
		lo, hi = -padBefore, in+padAfter
	}
	counts := make([]int, outLen)
	for o := range counts {
		start := o*stride - padBefore
		for f := 0; f < k; f++ {
			if i := start + f*dil; i >= lo && i < hi {
				counts[o]++
			}
		}
	}
	return counts
}

type avgPoolKernel struct {
	poolGeom
	countY, countX []int
	lo, hi         float32
	acc            []float32
}

func (k *avgPoolKernel) Eval(in, out []*Tensor) error {
	x, y := in[0].F32, out[0].F32
	acc := k.acc
	for batch := 0; batch < k.batches; batch++ {
		for outY := 0; outY < k.outH; outY++ {
			inY0 := outY*k.strideY - k.padTop
			for outX := 0; outX < k.outW; outX++ {
				inX0 := outX*k.strideX - k.padLeft
				clear(acc)
				for fy := 0; fy < k.kH; fy++ {
					inY := inY0 + fy*k.dilY
					if inY < 0 || inY >= k.inH {
						continue
					}
					for fx := 0; fx < k.kW; fx++ {
						inX := inX0 + fx*k.dilX
						if inX < 0 || inX >= k.inW {
							continue
						}
						pixel := x[((batch*k.inH+inY)*k.inW+inX)*k.channels:][:len(acc)]
						for c, v := range pixel {
							acc[c] += v
						}
					}
				}
				count := float32(k.countY[outY] * k.countX[outX])
				yRow := y[((batch*k.outH+outY)*k.outW+outX)*k.channels:][:len(acc)]
				for c, sum := range acc {
					yRow[c] = min(max(sum/count, k.lo), k.hi)
				}
			}
		}
	}
	return nil
}

type maxPoolKernel[T number] struct {
	poolGeom
	lowest, lo, hi T
}

func newMaxPool[T number](g poolGeom, act ir.Activation) *maxPoolKernel[T] {
	k := &maxPoolKernel[T]{poolGeom: g}
	k.lowest, _ = limits[T]()
	k.lo, k.hi = actBounds[T](act)
	return k
}

// Eval takes the maximum over the window's positions inside the input;
// padding never wins (a window entirely in padding yields the lowest value).
func (k *maxPoolKernel[T]) Eval(in, out []*Tensor) error {
	x, y := elems[T](in[0]), elems[T](out[0])
	for batch := 0; batch < k.batches; batch++ {
		for outY := 0; outY < k.outH; outY++ {
			inY0 := outY*k.strideY - k.padTop
			for outX := 0; outX < k.outW; outX++ {
				inX0 := outX*k.strideX - k.padLeft
				yRow := y[((batch*k.outH+outY)*k.outW+outX)*k.channels:][:k.channels]
				for c := range yRow {
					yRow[c] = k.lowest
				}
				for fy := 0; fy < k.kH; fy++ {
					inY := inY0 + fy*k.dilY
					if inY < 0 || inY >= k.inH {
						continue
					}
					for fx := 0; fx < k.kW; fx++ {
						inX := inX0 + fx*k.dilX
						if inX < 0 || inX >= k.inW {
							continue
						}
						pixel := x[((batch*k.inH+inY)*k.inW+inX)*k.channels:][:len(yRow)]
						for c, v := range pixel {
							yRow[c] = max(yRow[c], v)
						}
					}
				}
				for c, v := range yRow {
					yRow[c] = min(max(v, k.lo), k.hi)
				}
			}
		}
	}
	return nil
}
