package runtime

import "github.com/mnconv/mnconv/ir"

// Float32 reference convolution (regular, grouped and depthwise).
//
// Exactness contract, which faster kernels are tested against: every output
// is 0 + sum of x*w over fy, then fx, then inC (ascending), accumulated in
// float32 with each product rounded to float32 before it is added, then
// + bias, then the fused activation's clamp. This is TFLite's reference
// order. Products are wrapped in float32() because the Go spec lets the
// compiler fuse x*y+z into one FMA (it does on arm64), which would make the
// result depend on the machine.

func init() {
	Register(ir.OpConv, Float, checked(prepareConv))
}

var _ Kernel = (*convKernel)(nil)

type convKernel struct {
	batches, inH, inW, inC       int
	outH, outW, outC             int
	kH, kW                       int
	inPerGroup, groups           int
	strideY, strideX, dilY, dilX int
	padTop, padLeft              int
	lo, hi                       float32
	// inChanBase[outC] is the first input channel of outC's group, so that
	// output channel outC reads input channels inChanBase[outC]+inC. With a
	// depthwise multiplier M, outC reads input channel outC/M.
	inChanBase []int
	// wT holds the weights reordered from OHWI to [KH][KW][inPerGroup][O], so
	// that the innermost loop runs over output channels with contiguous
	// weights and one independent accumulator each. Constant weights are
	// reordered once here; others at every Eval.
	wT     []float32
	constW bool
	acc    []float32 // one output pixel's accumulators
	macCount
	pixelMACs int64 // outC x KH x KW x inPerGroup: one output pixel's MACs (count.go)
}

func prepareConv(n *ir.Node) (Kernel, error) {
	if err := checkFloat(n); err != nil {
		return nil, err
	}
	a := n.Attrs.(*ir.ConvAttrs)
	x, w, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if x.Rank() != 4 || w.Rank() != 4 || y.Rank() != 4 {
		return nil, n.Errorf("input %v, weight %v and output %v must all be rank 4 (NHWC, OHWI)", x.Shape, w.Shape, y.Shape)
	}
	win, winErr := n.Window() // reported after the channel checks
	k := &convKernel{
		batches: x.Shape[0], inH: win.InH, inW: win.InW, inC: x.Shape[3],
		outH: y.Shape[1], outW: y.Shape[2], outC: w.Shape[0],
		kH: win.KH, kW: win.KW, inPerGroup: w.Shape[3], groups: a.Group,
		strideY: win.StrideY, strideX: win.StrideX, dilY: win.DilY, dilX: win.DilX,
		padTop: win.PadTop, padLeft: win.PadLeft,
	}
	if k.groups < 1 || k.inC%k.groups != 0 || k.outC%k.groups != 0 || k.inPerGroup*k.groups != k.inC {
		return nil, n.Errorf("group %d does not fit %d input channels, %d output channels and weight %v", k.groups, k.inC, k.outC, w.Shape)
	}
	if winErr != nil {
		return nil, winErr
	}
	if !win.Fits(y) {
		return nil, n.Errorf("output %q shape %v does not match the convolution of %v by %v", y.Name, y.Shape, x.Shape, w.Shape)
	}
	if y.Shape[0] != k.batches || y.Shape[3] != k.outC {
		return nil, n.Errorf("output %q shape %v, want batch %d and %d channels", y.Name, y.Shape, k.batches, k.outC)
	}
	if b := n.In(2); b != nil && b.Len() != k.outC {
		return nil, n.Errorf("bias %q has %d elements, want %d", b.Name, b.Len(), k.outC)
	}
	k.lo, k.hi = a.Act.Bounds()
	k.pixelMACs = int64(k.outC) * int64(k.kH) * int64(k.kW) * int64(k.inPerGroup)
	outPerGroup := k.outC / k.groups
	k.inChanBase = make([]int, k.outC)
	for outC := range k.inChanBase {
		k.inChanBase[outC] = (outC / outPerGroup) * k.inPerGroup
	}
	k.wT = make([]float32, w.Len())
	k.acc = make([]float32, k.outC)
	if w.IsConst() {
		k.constW = true
		k.reorderWeights(w.Data.F32)
	}
	return k, nil
}

// reorderWeights fills wT from OHWI weights.
func (k *convKernel) reorderWeights(w []float32) {
	for outC := 0; outC < k.outC; outC++ {
		for fy := 0; fy < k.kH; fy++ {
			for fx := 0; fx < k.kW; fx++ {
				for inC := 0; inC < k.inPerGroup; inC++ {
					src := ((outC*k.kH+fy)*k.kW+fx)*k.inPerGroup + inC
					dst := ((fy*k.kW+fx)*k.inPerGroup+inC)*k.outC + outC
					k.wT[dst] = w[src]
				}
			}
		}
	}
}

func (k *convKernel) Eval(in, out []*Tensor) error {
	x, y := in[0].F32, out[0].F32
	if !k.constW {
		k.reorderWeights(in[1].F32)
	}
	var bias []float32
	if len(in) > 2 && in[2] != nil {
		bias = in[2].F32
	}
	tapSize := k.inPerGroup * k.outC // weights of one (fy, fx) tap
	acc := k.acc
	pixels := 0
	for batch := 0; batch < k.batches; batch++ {
		for outY := 0; outY < k.outH; outY++ {
			inY0 := outY*k.strideY - k.padTop
			for outX := 0; outX < k.outW; outX++ {
				inX0 := outX*k.strideX - k.padLeft
				clear(acc)
				for fy := 0; fy < k.kH; fy++ {
					inY := inY0 + fy*k.dilY
					if inY < 0 || inY >= k.inH {
						continue // padding contributes zero
					}
					for fx := 0; fx < k.kW; fx++ {
						inX := inX0 + fx*k.dilX
						if inX < 0 || inX >= k.inW {
							continue
						}
						pixel := x[((batch*k.inH+inY)*k.inW+inX)*k.inC:][:k.inC]
						tap := k.wT[(fy*k.kW+fx)*tapSize:][:tapSize]
						inC := 0
						if k.groups == 1 {
							// Four input channels per pass over the
							// accumulators: a quarter of the loads and stores
							// of acc, and the same order of additions.
							for ; inC+4 <= k.inPerGroup; inC += 4 {
								x0, x1, x2, x3 := pixel[inC], pixel[inC+1], pixel[inC+2], pixel[inC+3]
								w0 := tap[inC*k.outC:][:len(acc)]
								w1 := tap[(inC+1)*k.outC:][:len(acc)]
								w2 := tap[(inC+2)*k.outC:][:len(acc)]
								w3 := tap[(inC+3)*k.outC:][:len(acc)]
								for outC, a := range acc {
									a += float32(x0 * w0[outC])
									a += float32(x1 * w1[outC])
									a += float32(x2 * w2[outC])
									a += float32(x3 * w3[outC])
									acc[outC] = a
								}
							}
						}
						for ; inC < k.inPerGroup; inC++ {
							wRow := tap[inC*k.outC:][:len(acc)]
							if k.groups == 1 {
								xv := pixel[inC]
								for outC, wv := range wRow {
									acc[outC] += float32(xv * wv)
								}
							} else {
								for outC, wv := range wRow {
									acc[outC] += float32(pixel[k.inChanBase[outC]+inC] * wv)
								}
							}
						}
					}
				}
				yRow := y[((batch*k.outH+outY)*k.outW+outX)*k.outC:][:len(acc)]
				for outC, v := range acc {
					if bias != nil {
						v += bias[outC]
					}
					yRow[outC] = min(max(v, k.lo), k.hi)
				}
				pixels++
			}
		}
	}
	k.addMACs(pixels, k.pixelMACs)
	return nil
}
