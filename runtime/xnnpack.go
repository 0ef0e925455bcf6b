package runtime

import (
	"math"

	"github.com/mnconv/mnconv/ir"
)

// ir.ArithXNNPACK: the integer arithmetic of TFLite's default CPU path, the
// XNNPACK delegate plus TFLite's optimized builtin kernels for what XNNPACK
// does not take (what TFLite runs on phones, and what the shared references
// *.tfjs_tflite.json were made with: TFLite WASM with XNNPACK). It differs
// from TFLite's reference kernels (ir.ArithTFLite, the default, what TFLite
// Micro computes) in exactly these ops; every other op computes as the
// reference kernels do:
//
//   - Conv, DepthwiseConv, FullyConnected (Gemm): XNNPACK's fp32
//     requantization, acc * float32(s_in*s_w/s_out) rounded half to even
//     (newAccRequant, as ArithONNX);
//   - Mean over H and W: XNNPACK's global average pooling, as ArithONNX
//     (quant_pool.go);
//   - Add: XNNPACK's vadd (xnnpackAdd);
//   - Quantize uint8 -> uint8 and int8 -> int8 (requantization): XNNPACK's
//     convert, an 8-bit multiplier (xnnpackConvertKernel);
//   - Quantize float32 -> 8-bit: XNNPACK's convert, x times float32(1/s)
//     rounded half to even (qQuantizeKernel), where TFLite's reference
//     divides and rounds half away from zero: the float input of a model
//     quantized with scale 1/127.5 from pixels (p-127.5)/127.5 sits on ties;
//   - Resize, linear, uint8 and int8: XNNPACK's ibilinear, 11-bit weights,
//     rounded (xnnpackResizeKernel);
//   - Softmax, int8 and uint8: TFLite's optimized builtin (XNNPACK has no
//     quantized softmax), a float32 table of exp (builtinSoftmaxKernel).
//
// Measured (runtime tests): identical to the shared XNNPACK references on
// every output value of the six quantized classifiers (16 images each) and
// on the 33x33x21 logits of deeplabv3_mnv2_pascal_quant on the three seg513
// inputs; the ST SSD (int8 per-channel, two int8 bilinear resizes, int8
// softmax) equals TFLite+XNNPACK on every output value of our export, and
// so does the ST SSD dequantized and quantized again by mnconv (float
// input, fourteen int8 requantizations) on the 8 pre-made COCO inputs.

var (
	_ Kernel = (*xnnpackConvertKernel)(nil)
	_ Kernel = (*xnnpackResizeKernel)(nil)
)

// xnnpackAdd is XNNPACK's 8-bit add (xnn_init_qu8_add_minmax params and the
// vadd microkernels): with ratios ra = s_a/s_y and rb = s_b/s_y in float32
// and e the exponent of max(ra, rb), shift = 20 - e, multipliers ma =
// lrintf(ra * 2^shift) and mb likewise; then
// (ma*(a - z_a) + mb*(b - z_b) + 2^(shift-1)) >> shift + z_y, clamped.
func xnnpackAdd(qa, qb, qy qTensor) (func(a, b int32) int32, bool) {
	ra, rb := qa.scale/qy.scale, qb.scale/qy.scale
	e := int(math.Float32bits(max(ra, rb))>>23) - 127
	shift := 20 - e
	if shift < 12 || shift > 30 {
		return nil, false
	}
	ma := int32(math.RoundToEven(float64(ra) * math.Ldexp(1, shift)))
	mb := int32(math.RoundToEven(float64(rb) * math.Ldexp(1, shift)))
	bias := int32(1)<<(shift-1) - ma*qa.zp - mb*qb.zp
	zy := qy.zp
	return func(a, b int32) int32 { return (bias+a*ma+b*mb)>>shift + zy }, true
}

// xnnpackConvertKernel is XNNPACK's 8-bit convert (qu8 and qs8 vcvt, the
// same formula): an 8-bit fraction m = lrintf(256 * s_in/s_out), bias =
// (z_out << 8) - m*z_in + 128, y = (bias + m*x) >> 8, clamped.
type xnnpackConvertKernel struct{ m, bias int32 }

func prepareXNNPACKConvert(n *ir.Node, in, out qTensor) (Kernel, error) {
	m := math.RoundToEven(float64(256 * (in.scale / out.scale)))
	if !(m >= 1 && m <= 1<<15) {
		return nil, n.Errorf("XNNPACK convert: scale ratio %g out of range", in.scale/out.scale)
	}
	return &xnnpackConvertKernel{m: int32(m), bias: out.zp<<8 - int32(m)*in.zp + 0x80}, nil
}

func (k *xnnpackConvertKernel) Eval(in, out []*Tensor) error {
	if in[0].DType == ir.Int8 {
		for i, v := range in[0].I8 {
			out[0].I8[i] = int8(clamp32((k.bias+int32(v)*k.m)>>8, -128, 127))
		}
		return nil
	}
	for i, v := range in[0].U8 {
		out[0].U8[i] = uint8(clamp32((k.bias+int32(v)*k.m)>>8, 0, 255))
	}
	return nil
}

// xnnpackResizeKernel is XNNPACK's 8-bit bilinear resize (u8 and s8
// ibilinear, the same integer formula on signed or unsigned values):
// 11-bit weights a = lrintf(frac * 2048) from float32 source coordinates
// (TFLite's, clamped at 0; top = trunc(src), bottom = min(top+1, in-1));
// t = (tl << 11) + (tr-tl)*a_x, b likewise, y = ((t << 11) + (b-t)*a_y +
// 2^21) >> 22: the bilinear value rounded, where TFLite's reference kernel
// truncates a float32 sum.
type xnnpackResizeKernel struct {
	g              resizeGeom
	y0, y1, x0, x1 []int
	ay, ax         []int32
}

func prepareXNNPACKResize(a *ir.ResizeAttrs, g resizeGeom) Kernel {
	k := &xnnpackResizeKernel{g: g}
	taps := func(in, out int) (lo, hi []int, w []int32) {
		for i := range out {
			src := max(a.Source(i, in, out), 0)
			top := min(int(src), in-1)
			lo, hi = append(lo, top), append(hi, min(top+1, in-1))
			w = append(w, int32(math.RoundToEven(float64(float32((src-float32(top))*2048)))))
		}
		return lo, hi, w
	}
	k.y0, k.y1, k.ay = taps(g.inH, g.outH)
	k.x0, k.x1, k.ax = taps(g.inW, g.outW)
	return k
}

func (k *xnnpackResizeKernel) Eval(in, out []*Tensor) error {
	if in[0].DType == ir.Int8 {
		xnnpackResize(k, in[0].I8, out[0].I8)
	} else {
		xnnpackResize(k, in[0].U8, out[0].U8)
	}
	return nil
}

func xnnpackResize[T int8 | uint8](k *xnnpackResizeKernel, x, y []T) {
	g := k.g
	o := 0
	for b := range g.batch {
		for i := range g.outH {
			r0, r1 := (b*g.inH+k.y0[i])*g.inW, (b*g.inH+k.y1[i])*g.inW
			for j := range g.outW {
				tl, tr := x[(r0+k.x0[j])*g.c:], x[(r0+k.x1[j])*g.c:]
				bl, br := x[(r1+k.x0[j])*g.c:], x[(r1+k.x1[j])*g.c:]
				for c := range g.c {
					top := int32(tl[c])<<11 + (int32(tr[c])-int32(tl[c]))*k.ax[j]
					bot := int32(bl[c])<<11 + (int32(br[c])-int32(bl[c]))*k.ax[j]
					y[o+c] = T((top<<11 + (bot-top)*k.ay[i] + 1<<21) >> 22)
				}
				o += g.c
			}
		}
	}
}
