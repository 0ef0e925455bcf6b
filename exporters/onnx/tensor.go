package onnx

import (
	"encoding/binary"
	"fmt"
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"math"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/ir"
)

// rawData encodes d's elements of type dt little-endian, as raw_data holds
// them.
func rawData(d *ir.Data, dt ir.DType, n int) ([]byte, error) {
	var b []byte
	switch dt {
	case ir.Float32:
		if len(d.F32) != n {
			break
		}
		b = make([]byte, 4*n)
		for i, v := range d.F32 {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b, nil
	case ir.Uint8:
		if len(d.U8) != n {
			break
		}
		return slices.Clone(d.U8), nil
	case ir.Int8:
		if len(d.I8) != n {
			break
		}
		b = make([]byte, n)
		for i, v := range d.I8 {
			b[i] = byte(v)
		}
		return b, nil
	case ir.Int32:
		if len(d.I32) != n {
			break
		}
		b = make([]byte, 4*n)
		for i, v := range d.I32 {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		}
		return b, nil
	case ir.Int64:
		if len(d.I64) != n {
			break
		}
		b = make([]byte, 8*n)
		for i, v := range d.I64 {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
		}
		return b, nil
	default:
		return nil, fmt.Errorf("element type %v has no ONNX equivalent here", dt)
	}
	return nil, fmt.Errorf("constant data does not hold %d %v elements", n, dt)
}

// addInit appends an initializer named name (already reserved).
func (w *writer) addInit(name string, dt ir.DType, shape []int, d *ir.Data) error {
	code, err := onnxfmt.ElemType(dt)
	if err != nil {
		return fmt.Errorf("constant %q: %v", name, err)
	}
	raw, err := rawData(d, dt, ir.NumElements(shape))
	if err != nil {
		return fmt.Errorf("constant %q: %v", name, err)
	}
	w.bytes += int64(len(raw))
	if w.bytes > maxModelBytes {
		return fmt.Errorf("constants exceed protobuf's 2 GiB limit on one model")
	}
	dims := make([]int64, len(shape))
	for i, s := range shape {
		dims[i] = int64(s)
	}
	w.inits = append(w.inits, &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(code), Dims: dims, RawData: raw})
	return nil
}

// constName picks the initializer name of constant t in a layout. The
// importer names a constant it re-lays-out "<name>_nhwc", so a re-laid-out
// constant drops that suffix here: importing the file again gives back the
// name the graph had. The first layout written of a constant may take its
// own name.
func (w *writer) constName(t *ir.Tensor, mode constMode) string {
	own := w.tname[t]
	base := own
	if mode != asIs {
		base = strings.TrimSuffix(own, "_nhwc")
	}
	if base == own && !w.ownUsed[t] {
		w.ownUsed[t] = true
		return own
	}
	return w.uniq(base)
}

// laidOut is a constant's shape, data and quantization in a file layout.
type laidOut struct {
	shape []int
	data  *ir.Data
	quant *ir.Quant
}

// layoutConst lays t out for mode.
//   - asIs: as the ir has it.
//   - nchw: a rank-4 t transposed by onnxfmt.ToNCHW (OHWI -> OIHW, NHWC -> NCHW).
//   - bcast: t as the operand of an elementwise op whose other operand is
//     an NCHW image: viewed as rank 4 with leading 1s (numpy broadcasting in
//     NHWC), transposed to NCHW, then its leading 1s dropped again
//     ([C] -> [C,1,1]); a scalar stays a scalar.
func layoutConst(t *ir.Tensor, mode constMode) (laidOut, error) {
	l := laidOut{shape: t.Shape, data: t.Data, quant: t.Quant}
	r := t.Rank()
	switch {
	case mode == asIs, mode == bcast && r == 0:
		return l, nil
	case r > 4:
		return l, fmt.Errorf("constant %q has rank %d, more than an image's 4", t.Name, r)
	case mode == nchw && r != 4:
		return l, fmt.Errorf("constant %q has rank %d, want 4", t.Name, r)
	}
	lead := 4 - r
	view := append(slices.Repeat([]int{1}, lead), t.Shape...)
	l.shape = onnxfmt.Permute(view, onnxfmt.ToNCHW)
	l.data = onnxfmt.TransposeData(t.Data, t.DType, view, onnxfmt.ToNCHW)
	if q := t.Quant; q.PerAxis() {
		l.quant = q.Clone()
		l.quant.Axis = slices.Index(onnxfmt.ToNCHW, q.Axis+lead)
	}
	if mode == bcast {
		drop := 0
		for drop < 3 && l.shape[drop] == 1 && (l.quant == nil || !l.quant.PerAxis() || l.quant.Axis != drop) {
			drop++
		}
		l.shape = l.shape[drop:]
		if l.quant.PerAxis() {
			l.quant.Axis -= drop
		}
	}
	return l, nil
}

// constRaw returns the initializer of constant t in a layout, with its own
// element type (the integers of a quantized constant).
func (w *writer) constRaw(t *ir.Tensor, mode constMode) (string, error) {
	key := constKey{t, mode}
	if s, ok := w.consts[key]; ok {
		return s, nil
	}
	l, err := layoutConst(t, mode)
	if err != nil {
		return "", err
	}
	name := w.constName(t, mode)
	if err := w.addInit(name, t.DType, l.shape, l.data); err != nil {
		return "", err
	}
	w.consts[key] = name
	return name, nil
}

// constant returns constant t in a layout as a value of its real numbers:
// the initializer itself, or for a quantized constant the initializer
// followed by a DequantizeLinear (per axis where the ir has per-channel
// scales).
func (w *writer) constant(t *ir.Tensor, mode constMode) (string, error) {
	raw, err := w.constRaw(t, mode)
	if err != nil || !quantized(t) {
		return raw, err
	}
	key := constKey{t, mode}
	if s, ok := w.dqConsts[key]; ok {
		return s, nil
	}
	l, err := layoutConst(t, mode)
	if err != nil {
		return "", err
	}
	name := w.uniq(raw + "_dq")
	if err := w.dequantizeAxis(name, raw, name, t, l.quant, len(l.shape)); err != nil {
		return "", err
	}
	w.dqConsts[key] = name
	return name, nil
}

// quantParams returns the initializers of t's scale and zero point: scalars
// for per-tensor quantization, 1-D for per-axis. The zero point has t's
// element type, as QuantizeLinear / DequantizeLinear require.
func (w *writer) quantParams(t *ir.Tensor) (scale, zp string, err error) {
	if p, ok := w.qparams[t]; ok {
		return p[0], p[1], nil
	}
	q := t.Quant
	if q == nil || len(q.Scale) == 0 {
		return "", "", fmt.Errorf("tensor %q has no quantization scale", t.Name)
	}
	var shape []int
	if q.PerAxis() {
		shape = []int{len(q.Scale)}
	}
	n := len(q.Scale)
	scale = w.uniq(w.tname[t] + "_scale")
	if err := w.addInit(scale, ir.Float32, shape, &ir.Data{F32: slices.Clone(q.Scale)}); err != nil {
		return "", "", err
	}
	zp = w.uniq(w.tname[t] + "_zero_point")
	d := &ir.Data{}
	lo, hi := t.DType.Range()
	for c := range n {
		z := q.ZP(c)
		if z < lo || z > hi {
			return "", "", fmt.Errorf("tensor %q: zero point %d outside the %v range", t.Name, z, t.DType)
		}
		switch t.DType {
		case ir.Int8:
			d.I8 = append(d.I8, int8(z))
		case ir.Uint8:
			d.U8 = append(d.U8, uint8(z))
		case ir.Int32:
			d.I32 = append(d.I32, int32(z))
		default:
			return "", "", fmt.Errorf("tensor %q: quantized element type %v is not written (int8, uint8, int32 only)", t.Name, t.DType)
		}
	}
	if err := w.addInit(zp, t.DType, shape, d); err != nil {
		return "", "", err
	}
	w.qparams[t] = [2]string{scale, zp}
	return scale, zp, nil
}

// axisAttr is the axis attribute of a per-axis Quantize/DequantizeLinear.
func axisAttr(q *ir.Quant) *pb.AttributeProto {
	if !q.PerAxis() {
		return nil
	}
	return intAttr("axis", int64(q.Axis))
}

// storedQuant is t's quantization as seen in a layout: a per-axis axis of a
// rank-4 tensor stored NCHW moves.
func storedQuant(t *ir.Tensor, perm bool) *ir.Quant {
	q := t.Quant
	if !q.PerAxis() || !perm || t.Rank() != 4 {
		return q
	}
	c := q.Clone()
	c.Axis = slices.Index(onnxfmt.ToNCHW, q.Axis)
	return c
}

// dequantize writes a DequantizeLinear of src (quantized t's integers in
// layout perm) and returns its output, named after base.
func (w *writer) dequantize(src string, t *ir.Tensor, perm bool, base string) (string, error) {
	name := w.uniq(base)
	if err := w.dequantizeAxis(name, src, name, t, storedQuant(t, perm), t.Rank()); err != nil {
		return "", err
	}
	return name, nil
}

// dequantizeAxis writes node name: dst = DequantizeLinear(src) with t's
// parameters, q giving the axis in the stored tensor of the given rank.
func (w *writer) dequantizeAxis(name, src, dst string, t *ir.Tensor, q *ir.Quant, rank int) error {
	scale, zp, err := w.quantParams(t)
	if err != nil {
		return err
	}
	if q.PerAxis() && (q.Axis < 0 || q.Axis >= rank) {
		return fmt.Errorf("tensor %q: quantization axis %d outside rank %d", t.Name, q.Axis, rank)
	}
	w.node("DequantizeLinear", name, []string{src, scale, zp}, []string{dst}, axisAttr(q))
	return nil
}

// quantizeInto writes node name: dst = QuantizeLinear(src) with t's
// parameters; t is stored in layout perm.
func (w *writer) quantizeInto(name, src, dst string, t *ir.Tensor, perm bool) error {
	if t.DType != ir.Int8 && t.DType != ir.Uint8 {
		return fmt.Errorf("tensor %q: QuantizeLinear writes int8 or uint8, not %v", t.Name, t.DType)
	}
	scale, zp, err := w.quantParams(t)
	if err != nil {
		return err
	}
	w.node("QuantizeLinear", name, []string{src, scale, zp}, []string{dst}, axisAttr(storedQuant(t, perm)))
	return nil
}

// int64s makes a 1-D int64 initializer: Reshape's shape, Pad's pads.
func (w *writer) int64s(base string, v []int) (string, error) {
	d := &ir.Data{I64: make([]int64, len(v))}
	for i, x := range v {
		d.I64[i] = int64(x)
	}
	name := w.uniq(base)
	return name, w.addInit(name, ir.Int64, []int{len(v)}, d)
}

// scalar returns a scalar initializer of element type dt holding v (rounded
// and saturated for an integer type), one per type and value.
func (w *writer) scalar(dt ir.DType, v float32) (string, error) {
	key := fmt.Sprintf("%v:%x", dt, math.Float32bits(v))
	if s, ok := w.scalars[key]; ok {
		return s, nil
	}
	d := &ir.Data{}
	lo, hi := dt.Range()
	i := int64(math.Max(float64(lo), math.Min(float64(hi), math.RoundToEven(float64(v)))))
	switch dt {
	case ir.Float32:
		d.F32 = []float32{v}
	case ir.Int8:
		d.I8 = []int8{int8(i)}
	case ir.Uint8:
		d.U8 = []uint8{uint8(i)}
	case ir.Int32:
		d.I32 = []int32{int32(i)}
	case ir.Int64:
		d.I64 = []int64{i}
	default:
		return "", fmt.Errorf("no scalar of element type %v", dt)
	}
	name := w.uniq("mnconv_const_" + strconv.FormatFloat(float64(v), 'g', -1, 32))
	if dt != ir.Float32 {
		name = w.uniq(fmt.Sprintf("mnconv_const_%v_%d", dt, i))
	}
	if err := w.addInit(name, dt, nil, d); err != nil {
		return "", err
	}
	w.scalars[key] = name
	return name, nil
}

// computeType is the element type ONNX computes t in: float for quantized
// tensors (QDQ computes on dequantized values), else t's own.
func computeType(t *ir.Tensor) ir.DType {
	if quantized(t) {
		return ir.Float32
	}
	return t.DType
}
