package runtime

import (
	"errors"
	"math/bits"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Quantized AvgPool and MaxPool (TFLite's reference pooling, which works on
// stored values and needs identical input and output parameters) and Mean
// (TFLite's reference QuantizedMeanOrSum, or ONNX Runtime's
// QLinearGlobalAveragePool for ArithONNX).

func init() {
	Register(ir.OpAvgPool, Quantized, prepareQPool)
	Register(ir.OpMaxPool, Quantized, prepareQPool)
	Register(ir.OpMean, Quantized, prepareQMean)
}

var errQEmptyWindow = errors.New("an average-pool window holds no input element")

var (
	_ Kernel = (*qPoolKernel)(nil)
	_ Kernel = (*qMeanKernel)(nil)
)

type qPoolKernel struct {
	isMax                  bool
	batch, inH, inW, c     int
	outH, outW             int
	kH, kW, sH, sW, dH, dW int
	padT, padL, padB, padR int
	includePad             bool
	zp                     int32 // the stored value of a padded zero
	init                   int32 // MaxPool's starting value: the dtype's minimum
	lo, hi                 int32
	x, y, acc              []int32
	counts, padCounts      []int32
}

// prepareQPool prepares TFLite's 8-bit AveragePool / MaxPool
// (reference/pooling.h, integer_ops/pooling.h). AveragePool sums the stored
// values of the window taps inside the input and divides by their count,
// rounding half away from zero: (acc + count/2) / count for acc > 0, (acc -
// count/2) / count otherwise (the uint8 reference writes only the first form,
// its sums being non-negative). With CountIncludePad (ONNX) taps in the
// padding count too, each adding the zero point. MaxPool takes the largest
// stored value. Both clamp to the fused activation's range.
func prepareQPool(n *ir.Node) (Kernel, error) {
	a := n.Attrs.(*ir.PoolAttrs)
	x, y := n.Inputs[0], n.Outputs[0]
	in, out, err := qUnaryIOShapes(n)
	if err != nil {
		return nil, err
	}
	if !in.sameParams(out) {
		return nil, n.Errorf("input has scale %g zero point %d, output %g and %d; quantized pooling needs them equal", in.scale, in.zp, out.scale, out.zp)
	}
	if x.Rank() != 4 || y.Rank() != 4 || x.Shape[0] != y.Shape[0] || x.Shape[3] != y.Shape[3] {
		return nil, n.Errorf("input %v and output %v must be NHWC with the same batch and channels", x.Shape, y.Shape)
	}
	win, err := n.Window()
	if err != nil {
		return nil, err
	}
	if !win.Fits(y) {
		return nil, n.Errorf("output %q shape %v does not match the pooling of %v", y.Name, y.Shape, x.Shape)
	}
	k := &qPoolKernel{
		isMax: n.Op == ir.OpMaxPool,
		batch: x.Shape[0], inH: win.InH, inW: win.InW, c: x.Shape[3],
		outH: win.OutH, outW: win.OutW,
		kH: win.KH, kW: win.KW, sH: win.StrideY, sW: win.StrideX,
		dH: win.DilY, dW: win.DilX,
		padT: win.PadTop, padL: win.PadLeft, padB: win.PadBottom, padR: win.PadRight,
		includePad: a.CountIncludePad,
		zp:         in.zp,
		init:       in.lo,
	}
	k.lo, k.hi = activationRange(a.Act, out.dt, y.Quant)
	if k.lo > k.hi {
		return nil, n.Errorf("fused %v leaves no representable output values", a.Act)
	}
	k.x = make([]int32, x.Len())
	k.y = make([]int32, y.Len())
	k.acc = make([]int32, k.c)
	return k, nil
}

// qUnaryIOShapes is qUnaryIO without the same-shape check (pools change H, W).
func qUnaryIOShapes(n *ir.Node) (qTensor, qTensor, error) {
	in, err := qPerTensor(n, n.Inputs[0], "input")
	if err != nil {
		return in, in, err
	}
	out, err := qPerTensor(n, n.Outputs[0], "output")
	if err != nil {
		return in, out, err
	}
	if in.dt != out.dt {
		return in, out, n.Errorf("input is %v, output is %v", in.dt, out.dt)
	}
	return in, out, nil
}

func (k *qPoolKernel) Eval(in, out []*Tensor) error {
	qLoad(k.x, in[0], 0)
	for b := range k.batch {
		for outY := range k.outH {
			originY := outY*k.sH - k.padT
			for outX := range k.outW {
				originX := outX*k.sW - k.padL
				acc := k.acc
				if k.isMax {
					for c := range acc {
						acc[c] = k.init
					}
				} else {
					clear(acc)
				}
				count, padded := int32(0), int32(0)
				for ky := range k.kH {
					inY := originY + ky*k.dH
					for kx := range k.kW {
						inX := originX + kx*k.dW
						if inY < 0 || inY >= k.inH || inX < 0 || inX >= k.inW {
							// A tap in the padding (ONNX counts it when
							// count_include_pad is set; a tap past the padded
							// extent, possible with ceil mode, never counts).
							if inY >= -k.padT && inY < k.inH+k.padB && inX >= -k.padL && inX < k.inW+k.padR {
								padded++
							}
							continue
						}
						count++
						xs := k.x[((b*k.inH+inY)*k.inW+inX)*k.c:][:k.c]
						if k.isMax {
							for c, v := range xs {
								acc[c] = max(acc[c], v)
							}
						} else {
							for c, v := range xs {
								acc[c] += v
							}
						}
					}
				}
				ys := k.y[((b*k.outH+outY)*k.outW+outX)*k.c:][:k.c]
				if k.isMax {
					copy(ys, acc)
					continue
				}
				if k.includePad {
					for c := range acc {
						acc[c] += padded * k.zp
					}
					count += padded
				}
				if count == 0 {
					return errQEmptyWindow
				}
				for c, v := range acc {
					if v > 0 {
						ys[c] = (v + count/2) / count
					} else {
						ys[c] = (v - count/2) / count
					}
				}
			}
		}
	}
	qStore(out[0], k.y, k.lo, k.hi)
	return nil
}

// qMeanKernel sums stored values over the reduced axes into int32 sums, then
// requantizes each sum.
type qMeanKernel struct {
	loop   *stridedLoop // operands: 0 input (contiguous), 1 output (0 on reduced axes)
	count  int64        // elements per output
	inZP   int32
	onnx   bool
	mult   int32 // TFLite: multiplier and shift with 1/count folded in
	shift  int
	scale  float32 // ONNX: s_in / (s_out * count)
	outZP  int32
	lo, hi int32
	x, sum []int32
	// spatial > 0: the NHWC mean over H and W (GlobalAveragePool), summed
	// straight from the 8-bit input: batch x spatial pixels of channels.
	batch, spatial, channels int
}

// prepareQMean prepares Mean over Axes. TFLite (reference QuantizedMeanOrSum
// with the integer rescaling of TF 2.13 and later, reduce.cc
// PrepareMeanOrSum): QuantizeMultiplier(double(s_in) / double(s_out)), then
// 1/count is folded in by shifting the multiplier left by floor(log2(count))
// (at most 32 and at most 31 + shift) and dividing it by count, truncating,
// and lowering the shift by the same amount; each output is
// MultiplyByQuantizedMultiplier(sum - zp_in*count) + zp_out, clamped. Earlier
// TFLite versions divided in float instead; TFLite's optimized kernels and
// XNNPACK use yet other roundings for the 4-D H,W case. ONNX Runtime's
// QLinearGlobalAveragePool (ArithONNX, axes H and W of NHWC): scale =
// s_in / (s_out * float32(count)) in float32, which must lie in [2^-32, 256)
// and count below 2^24; then MlasRequantizeOutput of sum - zp_in*count.
func prepareQMean(n *ir.Node) (Kernel, error) {
	a := n.Attrs.(*ir.ReduceAttrs)
	x, y := n.Inputs[0], n.Outputs[0]
	in, out, err := qUnaryIOShapes(n)
	if err != nil {
		return nil, err
	}
	reduced := make([]bool, x.Rank())
	for _, ax := range a.Axes {
		d, err := ir.NormAxis(ax, x.Rank())
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		reduced[d] = true
	}
	var outShape []int
	count := int64(1)
	outStrides := make([]int, x.Rank())
	for d, size := range x.Shape {
		if reduced[d] {
			count *= int64(size)
			if a.KeepDims {
				outShape = append(outShape, 1)
			}
			continue
		}
		outShape = append(outShape, size)
	}
	if ir.NumElements(outShape) != y.Len() || (a.KeepDims && !slices.Equal(outShape, y.Shape)) {
		return nil, n.Errorf("output %q shape %v, reducing %v over %v gives %v", y.Name, y.Shape, x.Shape, a.Axes, outShape)
	}
	if count == 0 {
		return nil, n.Errorf("mean over an empty axis")
	}
	// Output strides over the input's dims: the output is the input's shape
	// with reduced dims of size 1, contiguous.
	s := 1
	for d := x.Rank() - 1; d >= 0; d-- {
		if reduced[d] {
			continue
		}
		outStrides[d] = s
		s *= x.Shape[d]
	}
	k := &qMeanKernel{
		loop:  newStridedLoop(x.Shape, contiguousStrides(x.Shape), outStrides),
		count: count,
		inZP:  in.zp,
		outZP: out.zp,
		lo:    out.lo,
		hi:    out.hi,
		sum:   make([]int32, y.Len()),
	}
	if x.Rank() == 4 && !reduced[0] && reduced[1] && reduced[2] && !reduced[3] {
		k.batch, k.spatial, k.channels = x.Shape[0], x.Shape[1]*x.Shape[2], x.Shape[3]
	} else {
		k.x = make([]int32, x.Len())
	}
	if n.Arith == ir.ArithONNX || n.Arith == ir.ArithXNNPACK {
		if count >= 1<<24 {
			return nil, n.Errorf("QLinearGlobalAveragePool image size %d is too large", count)
		}
		k.onnx = true
		k.scale = in.scale / (out.scale * float32(count))
		if k.scale < 0x1p-32 || k.scale >= 256 {
			return nil, n.Errorf("QLinearGlobalAveragePool scale %g (input %g, output %g, %d elements) is out of range", k.scale, in.scale, out.scale, count)
		}
		return k, nil
	}
	m, sh, err := quantizeMultiplier(float64(in.scale) / float64(out.scale))
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	shift := 63 - bits.LeadingZeros64(uint64(count))
	shift = min(shift, 32, 31+sh)
	k.mult = int32((int64(m) << shift) / count)
	k.shift = sh - shift
	return k, nil
}

func (k *qMeanKernel) Eval(in, out []*Tensor) error {
	clear(k.sum)
	if k.spatial > 0 {
		// The same integer sums in another order: int32 addition is exact.
		c := k.channels
		for b := range k.batch {
			sum := k.sum[b*c : (b+1)*c]
			base := b * k.spatial * c
			switch in[0].DType {
			case ir.Uint8:
				x := in[0].U8[base : base+k.spatial*c]
				for p := 0; p+c <= len(x); p += c {
					for ch, v := range x[p : p+c] {
						sum[ch] += int32(v)
					}
				}
			case ir.Int8:
				x := in[0].I8[base : base+k.spatial*c]
				for p := 0; p+c <= len(x); p += c {
					for ch, v := range x[p : p+c] {
						sum[ch] += int32(v)
					}
				}
			}
		}
	} else {
		qLoad(k.x, in[0], 0)
		n, sx, sy := k.loop.rowLen(), k.loop.step(0), k.loop.step(1)
		k.loop.rows(func(offs []int) {
			ix, iy := offs[0], offs[1]
			for range n {
				k.sum[iy] += k.x[ix]
				ix += sx
				iy += sy
			}
		})
	}
	zpTimesCount := int64(k.inZP) * k.count
	for i, s := range k.sum {
		shifted := int32(int64(s) - zpTimesCount)
		if k.onnx {
			k.sum[i] = mlasRequantize(shifted, k.scale, k.outZP, k.lo, k.hi)
		} else {
			k.sum[i] = mulByQuantizedMultiplier(shifted, k.mult, k.shift) + k.outZP
		}
	}
	qStore(out[0], k.sum, k.lo, k.hi)
	return nil
}
