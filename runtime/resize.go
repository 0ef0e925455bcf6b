package runtime

import (
	"math"

	"github.com/mnconv/mnconv/ir"
)

// Resize over H and W of an NHWC tensor (ir.ResizeAttrs). Source
// coordinates come from ResizeAttrs.Source in float32, as TFLite's
// reference kernels compute them (or ONNX Runtime with ONNXCoords).
//
// Linear, float32 and uint8: TFLite's reference_ops::ResizeBilinear. Each
// output is the four taps weighted by (1-fy)(1-fx), fy(1-fx), (1-fy)fx and
// fy*fx in float32, summed in that order; uint8 truncates the sum toward
// zero (static_cast), so the input and output parameters must be equal.
//
// Linear, int8: TFLite's reference ResizeBilinearInteger, 10-bit fixed
// point: scale10 = (1024*in + out/2) / out ((in-1), (out-1) with
// align_corners), src10 = x*scale10 (+ scale10/2 - 512 with half-pixel
// centers), lo = max(src10/1024, 0), hi = min(ceil(src10/1024), in-1); the
// four products of 10-bit weights are summed in int64 and divided by 2^20
// rounding half away from zero. Only the coordinate modes TFLite has
// (asymmetric, align_corners, half_pixel) have it.
//
// Linear, int8 and uint8 with ir.ArithONNX (a DQ -> Resize -> Q region of
// a QDQ file): what ONNX Runtime 1.30 computes for that region, which it
// leaves as it is (measured: its integer Resize kernel does not run there).
// DequantizeLinear (x - zp) * s in float32; ORT's float bilinear kernel:
// src clamped to [0, in-1], lo = trunc(src), hi = min(lo+1, in-1), d1 =
// |src - lo|, d2 = |src - hi| (both 0.5 when lo == hi), the coefficients
// d2y*d2x, d2y*d1x, d1y*d2x, d1y*d1x formed first and the four products
// summed in that order in float32; QuantizeLinear v / s rounded half to
// even, + zp, clamped.
//
// Nearest, any dtype: copies the source pixel ir.ResizeNearestIndex picks
// (8-bit tensors need equal parameters).

func init() {
	Register(ir.OpResize, Float, checked(prepareResize))
	Register(ir.OpResize, Quantized, checked(prepareResize))
}

var (
	_ Kernel = (*resizeNearestKernel)(nil)
	_ Kernel = (*resizeLinearKernel)(nil)
	_ Kernel = (*resizeLinearI8Kernel)(nil)
	_ Kernel = (*resizeLinearORTKernel)(nil)
)

type resizeGeom struct {
	batch, inH, inW, c, outH, outW int
}

func prepareResize(n *ir.Node) (Kernel, error) {
	a := n.Attrs.(*ir.ResizeAttrs)
	x, y := n.Inputs[0], n.Outputs[0]
	if x.Rank() != 4 || y.Rank() != 4 {
		return nil, n.Errorf("input %v and output %v must be rank 4 (NHWC)", x.Shape, y.Shape)
	}
	g := resizeGeom{batch: x.Shape[0], inH: x.Shape[1], inW: x.Shape[2], c: x.Shape[3], outH: a.Size[0], outW: a.Size[1]}
	if want := []int{g.batch, g.outH, g.outW, g.c}; y.Shape[0] != want[0] || y.Shape[1] != want[1] || y.Shape[2] != want[2] || y.Shape[3] != want[3] {
		return nil, n.Errorf("output %q has shape %v, want %v", y.Name, y.Shape, want)
	}
	if x.DType != y.DType {
		return nil, n.Errorf("input is %v, output is %v", x.DType, y.DType)
	}
	if g.inH < 1 || g.inW < 1 {
		return nil, n.Errorf("input %q has an empty spatial size %v", x.Name, x.Shape)
	}
	quantized := IsQuantizedNode(n)
	var q qTensor
	if quantized {
		in, out, err := qUnaryIOShapes(n)
		if err != nil {
			return nil, err
		}
		if !in.sameParams(out) {
			return nil, n.Errorf("input has scale %g zero point %d, output %g and %d; quantized Resize needs them equal", in.scale, in.zp, out.scale, out.zp)
		}
		q = in
	} else if x.DType != ir.Float32 && a.Mode == ir.ResizeLinear {
		return nil, n.Errorf("linear resize of %v is not supported (float32, or int8/uint8 with quantization parameters)", x.DType)
	}
	if a.Mode == ir.ResizeNearest {
		k := &resizeNearestKernel{g: g, ys: make([]int, g.outH), xs: make([]int, g.outW)}
		for i := range k.ys {
			k.ys[i] = ir.ResizeNearestIndex(a.Nearest, a.Source(i, g.inH, g.outH), g.inH)
		}
		for i := range k.xs {
			k.xs[i] = ir.ResizeNearestIndex(a.Nearest, a.Source(i, g.inW, g.outW), g.inW)
		}
		return k, nil
	}
	if quantized && n.Arith == ir.ArithONNX {
		return prepareResizeORT(a, g, q), nil
	}
	if n.Arith == ir.ArithXNNPACK && (x.DType == ir.Uint8 || x.DType == ir.Int8) {
		return prepareXNNPACKResize(a, g), nil
	}
	if x.DType == ir.Int8 {
		return prepareResizeI8(n, a, g)
	}
	k := &resizeLinearKernel{g: g, ys: make([]linearTap, g.outH), xs: make([]linearTap, g.outW)}
	for i := range k.ys {
		k.ys[i] = newLinearTap(a.Source(i, g.inH, g.outH), g.inH)
	}
	for i := range k.xs {
		k.xs[i] = newLinearTap(a.Source(i, g.inW, g.outW), g.inW)
	}
	return k, nil
}

// resizeNearestKernel copies source rows ys and columns xs.
type resizeNearestKernel struct {
	g      resizeGeom
	ys, xs []int
}

func (k *resizeNearestKernel) Eval(in, out []*Tensor) error {
	switch in[0].DType {
	case ir.Float32:
		resizeNearest(k, in[0].F32, out[0].F32)
	case ir.Int8:
		resizeNearest(k, in[0].I8, out[0].I8)
	case ir.Uint8:
		resizeNearest(k, in[0].U8, out[0].U8)
	case ir.Int32:
		resizeNearest(k, in[0].I32, out[0].I32)
	case ir.Int64:
		resizeNearest(k, in[0].I64, out[0].I64)
	}
	return nil
}

func resizeNearest[T any](k *resizeNearestKernel, x, y []T) {
	g := k.g
	o := 0
	for b := range g.batch {
		for _, sy := range k.ys {
			row := (b*g.inH + sy) * g.inW
			for _, sx := range k.xs {
				src := (row + sx) * g.c
				o += copy(y[o:o+g.c], x[src:src+g.c])
			}
		}
	}
}

// linearTap is one output coordinate's two source pixels and weights.
type linearTap struct {
	lo, hi int
	wLo, w float32 // 1 - frac, frac
}

func newLinearTap(src float32, in int) linearTap {
	lo, hi, f := ir.ResizeLinearTaps(src, in)
	return linearTap{lo: lo, hi: hi, wLo: 1 - f, w: f}
}

type resizeLinearKernel struct {
	g      resizeGeom
	ys, xs []linearTap
}

func (k *resizeLinearKernel) Eval(in, out []*Tensor) error {
	switch in[0].DType {
	case ir.Float32:
		resizeLinear(k, in[0].F32, out[0].F32, func(v float32) float32 { return v })
	case ir.Uint8:
		// static_cast<uint8_t> of a float in [0, 255]: truncation.
		resizeLinear(k, in[0].U8, out[0].U8, func(v float32) uint8 { return uint8(min(max(v, 0), 255)) })
	}
	return nil
}

// resizeLinear: the explicit float32 conversions keep each product and sum
// rounded on its own (no fused multiply-add), as the reference computes.
func resizeLinear[T float32 | uint8](k *resizeLinearKernel, x, y []T, store func(float32) T) {
	g := k.g
	o := 0
	for b := range g.batch {
		base := b * g.inH
		for _, ty := range k.ys {
			r0, r1 := (base+ty.lo)*g.inW, (base+ty.hi)*g.inW
			for _, tx := range k.xs {
				p00, p10 := (r0+tx.lo)*g.c, (r1+tx.lo)*g.c
				p01, p11 := (r0+tx.hi)*g.c, (r1+tx.hi)*g.c
				for c := range g.c {
					t00 := float32(float32(float32(x[p00+c])*ty.wLo) * tx.wLo)
					t10 := float32(float32(float32(x[p10+c])*ty.w) * tx.wLo)
					t01 := float32(float32(float32(x[p01+c])*ty.wLo) * tx.w)
					t11 := float32(float32(float32(x[p11+c])*ty.w) * tx.w)
					y[o+c] = store(float32(float32(float32(t00+t10)+t01) + t11))
				}
				o += g.c
			}
		}
	}
}

// i8Tap is one output coordinate of the 10-bit fixed-point kernel: the
// taps and the source coordinate's fraction in 1/1024 (d = src10 -
// 1024*lo).
type i8Tap struct {
	lo, hi int
	d      int64
}

type resizeLinearI8Kernel struct {
	g      resizeGeom
	ys, xs []i8Tap
}

func prepareResizeI8(n *ir.Node, a *ir.ResizeAttrs, g resizeGeom) (Kernel, error) {
	var half bool
	switch a.Coord {
	case ir.CoordAsymmetric, ir.CoordAlignCorners:
	case ir.CoordHalfPixel:
		half = true
	default:
		return nil, n.Errorf("int8 linear resize with coordinate mode %v is not supported (TFLite's kernel has asymmetric, align_corners and half_pixel)", a.Coord)
	}
	taps := func(in, out int) []i8Tap {
		num, den := in, out
		if a.Coord == ir.CoordAlignCorners && out > 1 {
			num, den = in-1, out-1
		}
		scale10 := int32((1<<10*num + den/2) / den)
		ts := make([]i8Tap, out)
		for i := range ts {
			src := int32(i) * scale10
			if half {
				src += scale10/2 - 1<<9
			}
			// C's int32 division truncates toward zero, as Go's does.
			lo := max(src/(1<<10), 0)
			hi := min((src+1<<10-1)/(1<<10), int32(in-1))
			ts[i] = i8Tap{lo: int(lo), hi: int(hi), d: int64(src - 1<<10*lo)}
		}
		return ts
	}
	return &resizeLinearI8Kernel{g: g, ys: taps(g.inH, g.outH), xs: taps(g.inW, g.outW)}, nil
}

func (k *resizeLinearI8Kernel) Eval(in, out []*Tensor) error {
	g, x, y := k.g, in[0].I8, out[0].I8
	o := 0
	for b := range g.batch {
		base := b * g.inH
		for _, ty := range k.ys {
			r0, r1 := (base+ty.lo)*g.inW, (base+ty.hi)*g.inW
			for _, tx := range k.xs {
				p00, p10 := (r0+tx.lo)*g.c, (r1+tx.lo)*g.c
				p01, p11 := (r0+tx.hi)*g.c, (r1+tx.hi)*g.c
				for c := range g.c {
					v := int64(x[p00+c])*(1<<10-ty.d)*(1<<10-tx.d) +
						int64(x[p10+c])*ty.d*(1<<10-tx.d) +
						int64(x[p01+c])*(1<<10-ty.d)*tx.d +
						int64(x[p11+c])*ty.d*tx.d
					r := int64(1 << 19)
					if v <= 0 {
						r = -r
					}
					y[o+c] = int8((v + r) / (1 << 20))
				}
				o += g.c
			}
		}
	}
	return nil
}

// ortTap is one output coordinate of ONNX Runtime's float bilinear kernel:
// the taps and the distances d1 = |src - lo| (lo's weight is d2) and d2 =
// |src - hi|.
type ortTap struct {
	lo, hi int
	d1, d2 float32
}

type resizeLinearORTKernel struct {
	g      resizeGeom
	ys, xs []ortTap
	q      qTensor // input and output parameters (equal)
}

func prepareResizeORT(a *ir.ResizeAttrs, g resizeGeom, q qTensor) Kernel {
	taps := func(in, out int) []ortTap {
		ts := make([]ortTap, out)
		for i := range ts {
			src := min(max(a.Source(i, in, out), 0), float32(in-1))
			lo := min(int(src), in-1)
			hi := min(lo+1, in-1)
			t := ortTap{lo: lo, hi: hi, d1: float32(math.Abs(float64(src - float32(lo)))), d2: float32(math.Abs(float64(src - float32(hi))))}
			if lo == hi {
				t.d1, t.d2 = 0.5, 0.5
			}
			ts[i] = t
		}
		return ts
	}
	return &resizeLinearORTKernel{g: g, ys: taps(g.inH, g.outH), xs: taps(g.inW, g.outW), q: q}
}

func (k *resizeLinearORTKernel) Eval(in, out []*Tensor) error {
	switch in[0].DType {
	case ir.Int8:
		resizeLinearORT(k, in[0].I8, out[0].I8)
	case ir.Uint8:
		resizeLinearORT(k, in[0].U8, out[0].U8)
	}
	return nil
}

// resizeLinearORT: the explicit float32 conversions keep each product and
// sum rounded on its own (no fused multiply-add).
func resizeLinearORT[T int8 | uint8](k *resizeLinearORTKernel, x, y []T) {
	g, s, zp := k.g, k.q.scale, k.q.zp
	lo, hi := float32(k.q.lo-zp), float32(k.q.hi-zp)
	dq := func(v T) float32 { return float32(int32(v)-zp) * s }
	o := 0
	for b := range g.batch {
		base := b * g.inH
		for _, ty := range k.ys {
			r0, r1 := (base+ty.lo)*g.inW, (base+ty.hi)*g.inW
			for _, tx := range k.xs {
				p11, p21 := (r0+tx.lo)*g.c, (r0+tx.hi)*g.c
				p12, p22 := (r1+tx.lo)*g.c, (r1+tx.hi)*g.c
				c11, c21 := float32(tx.d2*ty.d2), float32(tx.d1*ty.d2)
				c12, c22 := float32(tx.d2*ty.d1), float32(tx.d1*ty.d1)
				for c := range g.c {
					v := float32(c11 * dq(x[p11+c]))
					v = float32(v + float32(c21*dq(x[p21+c])))
					v = float32(v + float32(c12*dq(x[p12+c])))
					v = float32(v + float32(c22*dq(x[p22+c])))
					f := min(max(float32(v/s), lo), hi)
					y[o+c] = T(int32(qRoundEven(float64(f))) + zp)
				}
				o += g.c
			}
		}
	}
}
