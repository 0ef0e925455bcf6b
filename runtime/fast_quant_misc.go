package runtime

import (
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Fast quantized elementwise kernels, bit-identical to the reference ones:
//   - Add, Sub and Mul of two same-shape 8-bit tensors: the reference
//     kernel's function of the two stored values, tabulated at Prepare for
//     all 256 x 256 pairs (whatever the arithmetic convention), then one
//     lookup per element;
//   - Quantize float32 -> 8-bit, per tensor, with ONNX Runtime's
//     arithmetic (the input QuantizeLinear of ONNX models), in assembly;
//   - Quantize 8-bit -> 8-bit (TFLite's QUANTIZE from the uint8 input to
//     int8): the reference's function of the stored value, tabulated.

func init() {
	for _, op := range []ir.Op{ir.OpAdd, ir.OpSub, ir.OpMul} {
		Register(op, FastQuantized, prepareFastQBinary)
	}
	Register(ir.OpQuantize, FastQuantized, prepareFastQuantize)
}

var (
	_ Kernel = (*fastQBinary)(nil)
	_ Kernel = (*fastQuantize)(nil)
	_ Kernel = (*fastQTable)(nil)
)

type fastQBinary struct {
	table []byte // [a][b] by stored byte
}

func prepareFastQBinary(n *ir.Node) (Kernel, error) {
	if !wellFormed(n) {
		return nil, nil
	}
	a, b, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if a == nil || b == nil || y == nil || !slices.Equal(a.Shape, y.Shape) || !slices.Equal(b.Shape, y.Shape) || y.Len() < 1024 {
		return nil, nil // small tensors are not worth a table
	}
	ref, err := prepareQBinary(n)
	if err != nil {
		return nil, nil // the reference kernel reports it
	}
	rk, ok := ref.(*qBinaryKernel)
	if !ok {
		return nil, nil
	}
	k := &fastQBinary{table: make([]byte, 1<<16)}
	stored := func(v int) int32 {
		if a.DType == ir.Int8 {
			return int32(int8(v))
		}
		return int32(v)
	}
	for i := range 256 {
		for j := range 256 {
			k.table[i<<8|j] = byte(clamp32(rk.f(stored(i), stored(j)), rk.lo, rk.hi))
		}
	}
	return k, nil
}

func (k *fastQBinary) Eval(in, out []*Tensor) error {
	a, b, y := inBytes(in[0]), inBytes(in[1]), outBytes(out[0])
	a, b = a[:len(y)], b[:len(y)]
	t := (*[1 << 16]byte)(k.table)
	for i := range y {
		y[i] = t[uint16(a[i])<<8|uint16(b[i])]
	}
	return nil
}

// outBytes returns an 8-bit output's elements as bytes.
func outBytes(t *Tensor) []byte { return inBytes(t) }

type fastQuantize struct {
	scale    float32
	zp       int32
	flo, fhi float32
	unsigned int32
}

func prepareFastQuantize(n *ir.Node) (Kernel, error) {
	if !wellFormed(n) {
		return nil, nil
	}
	x, y := n.Inputs[0], n.Outputs[0]
	if x.DType.IsQuantized() {
		return prepareFastRequantize(n)
	}
	if !useSIMD || n.Arith != ir.ArithONNX {
		return nil, nil
	}
	if x == nil || y == nil || x.DType != ir.Float32 || !y.DType.IsQuantized() || y.Quant == nil || y.Quant.PerAxis() || x.Len() != y.Len() {
		return nil, nil
	}
	q, err := qPerTensor(n, y, "output")
	if err != nil {
		return nil, nil
	}
	if _, err := prepareQQuantize(n); err != nil {
		return nil, nil // the reference kernel reports it
	}
	k := &fastQuantize{scale: q.scale, zp: q.zp, flo: float32(q.lo - q.zp), fhi: float32(q.hi - q.zp)}
	if y.DType == ir.Uint8 {
		k.unsigned = 1
	}
	return k, nil
}

func (k *fastQuantize) Eval(in, out []*Tensor) error {
	x, y := in[0].F32, outBytes(out[0])
	blocks := len(y) / 8
	if blocks > 0 {
		quantizeF32(&y[0], &x[0], blocks, k.scale, k.zp, k.flo, k.fhi, k.unsigned)
	}
	for i := blocks * 8; i < len(y); i++ {
		y[i] = byte(k.one(x[i]))
	}
	return nil
}

// one quantizes a single value as the reference's ONNX branch does.
func (k *fastQuantize) one(v float32) int32 {
	q := v / k.scale
	if q != q { // NaN
		return int32(k.flo) + k.zp
	}
	f := min(max(q, k.flo), k.fhi)
	return int32(qRoundEven(float64(f))) + k.zp
}

// fastQTable maps each stored byte through a 256-entry table.
type fastQTable struct {
	table [256]byte
}

// prepareFastRequantize tabulates the reference's 8-bit -> 8-bit Quantize
// (qRequantizeKernel) over all 256 stored values.
func prepareFastRequantize(n *ir.Node) (Kernel, error) {
	ref, err := prepareQQuantize(n)
	if err != nil {
		return nil, nil // the reference kernel reports it
	}
	rk, ok := ref.(*qRequantizeKernel)
	if !ok || n.Inputs[0].Len() < 256 {
		return nil, nil
	}
	k := &fastQTable{}
	for i := range 256 {
		v := int32(i)
		if n.Inputs[0].DType == ir.Int8 {
			v = int32(int8(i))
		}
		k.table[i] = byte(clamp32(mulByQuantizedMultiplier(v-rk.inZP, rk.mult, rk.shift)+rk.outZP, rk.lo, rk.hi))
	}
	return k, nil
}

func (k *fastQTable) Eval(in, out []*Tensor) error {
	x, y := inBytes(in[0]), outBytes(out[0])
	x = x[:len(y)]
	for i, v := range x {
		y[i] = k.table[v]
	}
	return nil
}
