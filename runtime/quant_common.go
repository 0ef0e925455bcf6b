package runtime

import (
	"math"

	"github.com/mnconv/mnconv/ir"
)

// Shared plumbing of the quantized kernels (quant_*.go). A quantized kernel
// reads its 8-bit inputs into int32 scratch (usually with the zero point
// already subtracted), computes with int32 accumulators, and stores through
// qStore, which clamps to the range Prepare computed. Arithmetic follows
// TFLite's reference kernels unless the node's Arith is ir.ArithONNX, in
// which case the ops that ONNX Runtime has quantized kernels for (QLinearConv,
// QLinearMatMul, QLinearAdd, QLinearGlobalAveragePool, QuantizeLinear) follow
// MLAS's float requantization. Ops without an ONNX Runtime quantized kernel
// use TFLite's arithmetic whatever Arith says. ir.ArithXNNPACK changes the
// ops xnnpack.go lists.

// qTensor is what a quantized kernel needs to know about one 8-bit tensor.
type qTensor struct {
	dt     ir.DType
	scale  float32
	zp     int32
	lo, hi int32 // the dtype's stored range
}

// qPerTensor checks that t is int8 or uint8 with per-tensor quantization and
// returns its parameters; role names it in errors ("input", "output").
func qPerTensor(n *ir.Node, t *ir.Tensor, role string) (qTensor, error) {
	if t == nil {
		return qTensor{}, n.Errorf("%s is missing", role)
	}
	if !t.DType.IsQuantized() {
		return qTensor{}, n.Errorf("%s %q is %v, want int8 or uint8", role, t.Name, t.DType)
	}
	if t.Quant == nil || len(t.Quant.Scale) == 0 {
		return qTensor{}, n.Errorf("%s %q is %v without quantization parameters", role, t.Name, t.DType)
	}
	if t.Quant.PerAxis() {
		return qTensor{}, n.Errorf("%s %q has %d scales; this kernel needs per-tensor quantization", role, t.Name, len(t.Quant.Scale))
	}
	s := t.Quant.S(0)
	if !(s > 0) || math.IsInf(float64(s), 0) {
		return qTensor{}, n.Errorf("%s %q has scale %g, want a finite positive scale", role, t.Name, s)
	}
	lo, hi := qRange(t.DType)
	zp := t.Quant.ZP(0)
	if zp < int64(lo) || zp > int64(hi) {
		return qTensor{}, n.Errorf("%s %q has zero point %d outside the %v range", role, t.Name, zp, t.DType)
	}
	return qTensor{dt: t.DType, scale: s, zp: int32(zp), lo: lo, hi: hi}, nil
}

// sameParams reports whether two per-tensor parameter sets are identical.
func (a qTensor) sameParams(b qTensor) bool { return a.scale == b.scale && a.zp == b.zp }

// qLoad writes src's stored values minus off into dst (len(dst) == src.Len()).
func qLoad(dst []int32, src *Tensor, off int32) {
	switch src.DType {
	case ir.Int8:
		for i, v := range src.I8[:len(dst)] {
			dst[i] = int32(v) - off
		}
	case ir.Uint8:
		for i, v := range src.U8[:len(dst)] {
			dst[i] = int32(v) - off
		}
	}
}

// qAt returns element i of an 8-bit tensor.
func qAt(t *Tensor, i int) int32 {
	if t.DType == ir.Int8 {
		return int32(t.I8[i])
	}
	return int32(t.U8[i])
}

// qStore writes src clamped to [lo, hi] into dst's 8-bit elements.
func qStore(dst *Tensor, src []int32, lo, hi int32) {
	switch dst.DType {
	case ir.Int8:
		out := dst.I8[:len(src)]
		for i, v := range src {
			out[i] = int8(clamp32(v, lo, hi))
		}
	case ir.Uint8:
		out := dst.U8[:len(src)]
		for i, v := range src {
			out[i] = uint8(clamp32(v, lo, hi))
		}
	}
}

// qConstWeights returns a constant 8-bit weight tensor's values minus the
// zero point of the output channel along axis 0 (per-tensor quantization
// uses one zero point). It checks that per-axis quantization is on axis 0
// with one scale per channel.
func qConstWeights(n *ir.Node, w *ir.Tensor) ([]int32, error) {
	if !w.IsConst() {
		return nil, n.Errorf("weight %q is not a constant; the quantized kernel needs constant weights", w.Name)
	}
	if !w.DType.IsQuantized() || w.Quant == nil || len(w.Quant.Scale) == 0 {
		return nil, n.Errorf("weight %q is %v without 8-bit quantization parameters", w.Name, w.DType)
	}
	q := w.Quant
	if q.PerAxis() && (q.Axis != 0 || len(q.Scale) != w.Shape[0]) {
		return nil, n.Errorf("weight %q has %d scales on axis %d; want one per output channel on axis 0", w.Name, len(q.Scale), q.Axis)
	}
	for c, s := range q.Scale {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, n.Errorf("weight %q channel %d has scale %g, want a finite positive scale", w.Name, c, s)
		}
	}
	src := FromConst(w)
	if src.Len() != w.Len() || (w.DType == ir.Int8 && len(src.I8) != w.Len()) || (w.DType == ir.Uint8 && len(src.U8) != w.Len()) {
		return nil, n.Errorf("weight %q holds the wrong number of elements for shape %v", w.Name, w.Shape)
	}
	out := make([]int32, w.Len())
	per := 1
	if w.Rank() > 0 && w.Shape[0] > 0 {
		per = w.Len() / w.Shape[0]
	}
	for i := range out {
		c := 0
		if q.PerAxis() {
			c = i / per
		}
		out[i] = qAt(src, i) - int32(q.ZP(c))
	}
	return out, nil
}

// qBias checks an optional int32 bias of length channels.
func qBias(n *ir.Node, b *ir.Tensor, channels int) error {
	if b == nil {
		return nil
	}
	if b.DType != ir.Int32 {
		return n.Errorf("bias %q is %v, want int32 for a quantized node", b.Name, b.DType)
	}
	if b.Len() != channels {
		return n.Errorf("bias %q has %d elements, want %d", b.Name, b.Len(), channels)
	}
	return nil
}

// qRequant maps an int32 accumulator of output channel c to the stored
// output: TFLite's MultiplyByQuantizedMultiplier with per-channel multiplier
// and shift, or MLAS's float32 scale with round half to even, then the
// output zero point and the clamp to [lo, hi] (the fused activation's range
// within the dtype's).
type qRequant struct {
	onnx bool
	// ruy: ruy's single-rounding multiplier (ir.ArithBuiltin's Conv and
	// fully connected layers, ruyMultiply) instead of TFLite's reference
	// double rounding; mult and shift as for TFLite.
	ruy    bool
	mult   []int32
	shift  []int
	scale  []float32
	zp     int32
	lo, hi int32
	// TFLite's MultiplyByQuantizedMultiplier unpacked per channel: the left
	// shift as a factor 2^left, and RoundingDivideByPOT's right shift with
	// its mask and threshold.
	leftMul        []int32
	right          []uint
	rmask, rthresh []int32
}

// newAccRequant prepares the requantization of a convolution or matrix
// product whose accumulator has scale inScale * wScale[c]. TFLite
// (PopulateConvolutionQuantizationParams, current version) computes the real
// multiplier in double as double(inScale) * double(wScale[c]) /
// double(outScale) and quantizes it with QuantizeMultiplier; its legacy
// uint8 path computes the same value. (Older TensorFlow releases formed the
// uint8 product s_in * s_w in float32, which moves the multiplier's last bits
// and can flip rare ties.) ONNX Runtime (QLinearConv, QLinearMatMul) computes
// inScale * wScale[c] / outScale in float32, left to right.
func newAccRequant(n *ir.Node, inScale float32, wq *ir.Quant, out qTensor, channels int, act ir.Activation, outQ *ir.Quant) (*qRequant, error) {
	r := &qRequant{onnx: n.Arith == ir.ArithONNX || n.Arith == ir.ArithXNNPACK, ruy: n.Arith == ir.ArithBuiltin && !n.IsDepthwise() && out.dt == ir.Int8, zp: out.zp}
	r.lo, r.hi = activationRange(act, out.dt, outQ)
	if r.lo > r.hi {
		return nil, n.Errorf("fused %v leaves no representable output values", act)
	}
	if wq.PerAxis() && len(wq.Scale) != channels {
		return nil, n.Errorf("weight has %d scales for %d output channels", len(wq.Scale), channels)
	}
	for c := range channels {
		ws := wq.S(c)
		if r.onnx {
			r.scale = append(r.scale, float32(inScale*ws)/out.scale)
			continue
		}
		m, s, err := quantizeMultiplier(float64(inScale) * float64(ws) / float64(out.scale))
		if err != nil {
			return nil, n.Errorf("channel %d: %v", c, err)
		}
		r.addChannel(m, s)
	}
	return r, nil
}

// addChannel appends a TFLite channel with Q0.31 multiplier m and shift s
// (as quantizeMultiplier returns them, s in [-31, 30]).
func (r *qRequant) addChannel(m int32, s int) {
	r.mult = append(r.mult, m)
	r.shift = append(r.shift, s)
	left, right := max(s, 0), max(-s, 0)
	mask := int32((int64(1) << right) - 1)
	r.leftMul = append(r.leftMul, int32(1)<<left)
	r.right = append(r.right, uint(right))
	r.rmask = append(r.rmask, mask)
	r.rthresh = append(r.rthresh, mask>>1)
}

// apply requantizes the accumulator of channel c and clamps the result to
// [lo, hi].
func (r *qRequant) apply(acc int32, c int) int32 {
	if r.onnx {
		return mlasRequantize(acc, r.scale[c], r.zp, r.lo, r.hi)
	}
	if r.ruy {
		return clamp32(ruyMultiply(acc, r.mult[c], r.shift[c])+r.zp, r.lo, r.hi)
	}
	// mulByQuantizedMultiplier(acc, mult[c], shift[c]) with the shifts'
	// constants precomputed (quantizeMultiplier keeps shifts in [-31, 30]).
	v := srdhm(acc*r.leftMul[c], r.mult[c])
	thresh := r.rthresh[c]
	if v < 0 {
		thresh++
	}
	q := v >> r.right[c]
	if v&r.rmask[c] > thresh {
		q++
	}
	return clamp32(q+r.zp, r.lo, r.hi)
}
