package quantize

import (
	"fmt"
	"math"

	"github.com/mnconv/mnconv/ir"
)

// rewrite builds the integer graph node by node.
func (q *quantizer) rewrite() error {
	g := q.g
	out := &ir.Graph{Name: g.Name, InputLayouts: g.InputLayouts, OutputLayouts: g.OutputLayouts, Meta: map[string]string{},
		SourceInputQuant: g.SourceInputQuant, SourceOutputQuant: g.SourceOutputQuant, SymbolicBatch: g.SymbolicBatch}
	for k, v := range g.Meta {
		out.Meta[k] = v
	}
	out.Meta["quantized"] = fmt.Sprintf("mnconv %v activations, %s ranges, per-%s weights", q.cfg.Activations, q.cfg.Method, map[bool]string{true: "tensor", false: "channel"}[q.cfg.PerTensor])
	q.out = out
	act := q.cfg.Activations

	// Inputs: the interface dtype, then a Quantize to the activation dtype
	// unless they already agree.
	for _, t := range g.Inputs {
		p := q.params[t]
		qt := &ir.Tensor{Name: t.Name, DType: act, Shape: clone(t.Shape), Quant: p.Clone()}
		switch {
		case q.cfg.IO == act:
			out.Inputs = append(out.Inputs, qt)
		case q.cfg.IO == ir.Float32:
			in := &ir.Tensor{Name: t.Name, DType: ir.Float32, Shape: clone(t.Shape)}
			qt.Name = q.unique(t.Name + "_quant")
			out.Inputs = append(out.Inputs, in)
			out.Nodes = append(out.Nodes, ir.NewNode(qt.Name, ir.OpQuantize, []*ir.Tensor{in}, qt))
		default: // uint8 interface over int8 inside, or the reverse: a requantize
			in := &ir.Tensor{Name: t.Name, DType: q.cfg.IO, Shape: clone(t.Shape), Quant: shiftZP(p, act, q.cfg.IO)}
			qt.Name = q.unique(t.Name + "_quant")
			out.Inputs = append(out.Inputs, in)
			out.Nodes = append(out.Nodes, ir.NewNode(qt.Name, ir.OpQuantize, []*ir.Tensor{in}, qt))
		}
		q.qt[t] = qt
		q.res.Twins[qt] = t
	}
	for _, n := range g.Nodes {
		if err := q.node(n); err != nil {
			return err
		}
	}
	// Outputs: back to the interface dtype.
	for _, t := range g.Outputs {
		qt := q.qt[t]
		if qt == nil {
			return fmt.Errorf("graph output %q was not quantized", t.Name)
		}
		switch {
		case qt.DType == ir.Float32 || qt.Quant == nil || q.cfg.IO == act:
			out.Outputs = append(out.Outputs, qt)
		case q.cfg.IO == ir.Float32:
			f := &ir.Tensor{Name: t.Name, DType: ir.Float32, Shape: clone(t.Shape)}
			q.renameInternal(qt, t.Name)
			out.Nodes = append(out.Nodes, ir.NewNode(t.Name+"_dequantize", ir.OpDequantize, []*ir.Tensor{qt}, f))
			out.Outputs = append(out.Outputs, f)
		default:
			o := &ir.Tensor{Name: t.Name, DType: q.cfg.IO, Shape: clone(t.Shape), Quant: shiftZP(qt.Quant, act, q.cfg.IO)}
			q.renameInternal(qt, t.Name)
			out.Nodes = append(out.Nodes, ir.NewNode(t.Name+"_requantize", ir.OpQuantize, []*ir.Tensor{qt}, o))
			out.Outputs = append(out.Outputs, o)
		}
	}
	return out.InferShapes()
}

// renameInternal gives an internal tensor a fresh name so that the graph
// output can keep the float model's name.
func (q *quantizer) renameInternal(t *ir.Tensor, base string) {
	t.Name = q.unique(base + "_quant")
}

// shiftZP converts per-tensor params between int8 and uint8 (same scale,
// zero point moved by 128).
func shiftZP(p *ir.Quant, from, to ir.DType) *ir.Quant {
	c := p.Clone()
	d := int64(0)
	if from == ir.Int8 && to == ir.Uint8 {
		d = 128
	} else if from == ir.Uint8 && to == ir.Int8 {
		d = -128
	}
	for i := range c.ZeroPoint {
		c.ZeroPoint[i] += d
	}
	return c
}

func clone(s []int) []int { return append([]int(nil), s...) }

// node rewrites one float node into its integer form, or leaves it as a
// float island between Dequantize and Quantize when it has no integer form.
func (q *quantizer) node(n *ir.Node) error {
	switch {
	case q.excl.match(n):
		return q.keepFloat(n)
	case n.Op == ir.OpConv:
		return q.weighted(n, 0)
	case n.Op == ir.OpGemm:
		a := n.Attrs.(*ir.GemmAttrs)
		if a.TransB && !a.TransA && a.Alpha == 1 && (n.In(2) == nil || (a.Beta == 1 && n.In(2).Rank() == 1)) && n.Inputs[1].IsConst() {
			return q.weighted(n, 0)
		}
	case n.Op.Has(ir.QuantPlain):
		return q.plain(n)
	case n.Op.Has(ir.IndexOutput):
		return q.indices(n)
	case len(n.Outputs) > 1:
		return q.floatOutputs(n, "several outputs, none with an integer form (TFLite's converter keeps TFLite_Detection_PostProcess so)")
	}
	return q.island(n, "no integer kernel for this form")
}

// activation returns the quantized twin of a float input, quantizing a float
// constant operand per-tensor into the activation dtype.
func (q *quantizer) activation(n *ir.Node, t *ir.Tensor) (*ir.Tensor, error) {
	if t == nil {
		return nil, nil
	}
	if qt := q.qt[t]; qt != nil {
		if qt.DType == ir.Float32 && t.DType == ir.Float32 {
			return q.requantize(t, qt), nil
		}
		return qt, nil
	}
	if !t.IsConst() {
		return nil, n.Errorf("input %q has no quantized form", t.Name)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range t.Data.F32 {
		lo, hi = min(lo, float64(v)), max(hi, float64(v))
	}
	dt := q.cfg.Activations
	s, zp := actParams(lo, hi, dt)
	qt := &ir.Tensor{Name: q.unique(t.Name + "_quant"), DType: dt, Shape: clone(t.Shape),
		Quant: &ir.Quant{Scale: []float32{s}, ZeroPoint: []int64{zp}}, Data: &ir.Data{}}
	for _, v := range t.Data.F32 {
		x := ir.QuantizeValue(float64(v), s, zp, dt)
		if dt == ir.Int8 {
			qt.Data.I8 = append(qt.Data.I8, int8(x))
		} else {
			qt.Data.U8 = append(qt.Data.U8, uint8(x))
		}
	}
	q.qt[t] = qt
	return qt, nil
}

// outTensor makes the quantized twin of a float node output.
func (q *quantizer) outTensor(t *ir.Tensor) *ir.Tensor {
	qt := &ir.Tensor{Name: t.Name, DType: q.cfg.Activations, Shape: clone(t.Shape), Quant: q.params[t].Clone()}
	q.qt[t] = qt
	q.res.Twins[qt] = t
	return qt
}

func copyNode(n *ir.Node, ins []*ir.Tensor, out *ir.Tensor) *ir.Node {
	c := &ir.Node{Name: n.Name, Op: n.Op, Inputs: ins, Outputs: []*ir.Tensor{out}, Attrs: ir.CloneAttrs(n.Attrs), Arith: n.Arith, Origin: n.Origin}
	return c
}

// plain quantizes a node whose operands are all activations (or small
// constants quantized like activations).
func (q *quantizer) plain(n *ir.Node) error {
	ins := make([]*ir.Tensor, len(n.Inputs))
	for i, t := range n.Inputs {
		qt, err := q.activation(n, t)
		if err != nil {
			return err
		}
		ins[i] = qt
	}
	q.out.Nodes = append(q.out.Nodes, copyNode(n, ins, q.outTensor(n.Out())))
	return nil
}

// indices rewrites an op whose output is integer indices (ArgMax):
//
//	ArgMax(x)  =>  ArgMax(x_q)
//
// It reads its input's quantized twin as it is, no Dequantize before it:
// real = scale * (q - zp) with scale > 0 orders the values as q does, so the
// indices are the float model's. The output keeps its integer dtype.
func (q *quantizer) indices(n *ir.Node) error {
	x, err := q.activation(n, n.Inputs[0])
	if err != nil {
		return err
	}
	out := n.Out()
	qt := &ir.Tensor{Name: out.Name, DType: out.DType, Shape: clone(out.Shape)}
	q.qt[out] = qt
	q.out.Nodes = append(q.out.Nodes, copyNode(n, []*ir.Tensor{x}, qt))
	return nil
}

// weighted quantizes Conv and fully connected nodes: weights symmetric int8
// per output channel (axis 0 of OHWI and [out,in]) or per tensor; the bias
// int32 with scale = input scale x weight scale and zero point 0.
func (q *quantizer) weighted(n *ir.Node, axis int) error {
	x, err := q.activation(n, n.Inputs[0])
	if err != nil {
		return err
	}
	w := n.Inputs[1]
	if !w.IsConst() {
		return q.island(n, "weights are not constant")
	}
	var qw *ir.Tensor
	if q.cfg.Activations == ir.Uint8 {
		qw = quantizeWeightsU8(w, q.unique(w.Name+"_quant"))
	} else {
		qw = quantizeWeightsI8(w, q.unique(w.Name+"_quant"), axis, q.cfg.PerTensor, q.cfg.ReduceRange)
	}
	ins := []*ir.Tensor{x, qw}
	outCh := w.Shape[axis]
	bias := make([]float32, outCh)
	if b := n.In(2); b != nil {
		if !b.IsConst() {
			return q.island(n, "bias is not constant")
		}
		copy(bias, b.Data.F32)
	}
	// Integer convs always get a bias: TFLite's kernels and our exporters
	// expect one, and a zero bias costs nothing.
	name := n.Name + "_bias"
	if b := n.In(2); b != nil {
		name = b.Name
	}
	ins = append(ins, quantizeBias(bias, x.Quant.Scale[0], qw.Quant, q.unique(name+"_quant")))
	q.out.Nodes = append(q.out.Nodes, copyNode(n, ins, q.outTensor(n.Out())))
	return nil
}

// quantizeBias is the int32 bias of an integer conv or fully connected
// layer: scale = input scale x weight scale (per channel when the weights
// are), zero point 0, values rounded half away from zero and saturated.
func quantizeBias(bias []float32, inScale float32, wq *ir.Quant, name string) *ir.Tensor {
	bq := &ir.Quant{Axis: 0}
	data := make([]int32, len(bias))
	for c := range bias {
		s := float64(inScale) * float64(wq.S(c))
		if len(wq.Scale) > 1 || c == 0 {
			bq.Scale = append(bq.Scale, float32(s))
			bq.ZeroPoint = append(bq.ZeroPoint, 0)
		}
		v := math.Round(float64(bias[c]) / s)
		data[c] = int32(min(max(v, math.MinInt32), math.MaxInt32))
	}
	return &ir.Tensor{Name: name, DType: ir.Int32, Shape: []int{len(bias)}, Quant: bq, Data: &ir.Data{I32: data}}
}

// quantizeWeightsI8 is TFLite's int8 weight scheme: symmetric, range
// [-127, 127], scale = max|w| / 127 per slice along axis (or per tensor).
// Rounding is half away from zero (math.Round), as TFLite's converter does.
// With reduceRange the range is [-63, 63] (7 bits), as ONNX Runtime's
// quantizer offers for x86 CPUs without VNNI, whose u8 x s8 kernels add
// product pairs in saturating 16-bit arithmetic.
func quantizeWeightsI8(w *ir.Tensor, name string, axis int, perTensor, reduceRange bool) *ir.Tensor {
	qmax := 127.0
	if reduceRange {
		qmax = 63
	}
	ch := w.Shape[axis]
	inner := 1
	for _, d := range w.Shape[axis+1:] {
		inner *= d
	}
	maxAbs := make([]float64, ch)
	for i, v := range w.Data.F32 {
		c := (i / inner) % ch
		maxAbs[c] = max(maxAbs[c], math.Abs(float64(v)))
	}
	if perTensor {
		m := 0.0
		for _, v := range maxAbs {
			m = max(m, v)
		}
		maxAbs = []float64{m}
	}
	qp := &ir.Quant{Axis: axis}
	for _, m := range maxAbs {
		s := m / qmax
		if s == 0 {
			s = 1
		}
		qp.Scale = append(qp.Scale, float32(s))
		qp.ZeroPoint = append(qp.ZeroPoint, 0)
	}
	if perTensor {
		qp.Axis = 0
	}
	data := make([]int8, len(w.Data.F32))
	for i, v := range w.Data.F32 {
		c := 0
		if !perTensor {
			c = (i / inner) % ch
		}
		x := math.Round(float64(v) / float64(qp.Scale[c]))
		data[i] = int8(min(max(x, -qmax), qmax))
	}
	return &ir.Tensor{Name: name, DType: ir.Int8, Shape: clone(w.Shape), Quant: qp, Data: &ir.Data{I8: data}}
}

// quantizeWeightsU8 is the TF1 uint8 scheme: asymmetric per tensor over
// [min(w,0), max(w,0)].
func quantizeWeightsU8(w *ir.Tensor, name string) *ir.Tensor {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range w.Data.F32 {
		lo, hi = min(lo, float64(v)), max(hi, float64(v))
	}
	s, zp := actParams(lo, hi, ir.Uint8)
	data := make([]uint8, len(w.Data.F32))
	for i, v := range w.Data.F32 {
		x := math.Round(float64(v)/float64(s)) + float64(zp)
		data[i] = uint8(min(max(x, 0), 255))
	}
	return &ir.Tensor{Name: name, DType: ir.Uint8, Shape: clone(w.Shape), Quant: &ir.Quant{Scale: []float32{s}, ZeroPoint: []int64{zp}}, Data: &ir.Data{U8: data}}
}

// staysFloat warns that n stays float, and why, and lists it in the result.
func (q *quantizer) staysFloat(n *ir.Node, why string) {
	if q.cfg.Warn != nil {
		q.cfg.Warn(fmt.Sprintf("node %q (%s) stays float: %s", n.Name, n.Op, why))
	}
	q.res.Float = append(q.res.Float, fmt.Sprintf("%s (%s): %s", n.Name, n.Op, why))
}

// floatOutputs keeps a node of several outputs in float, outputs included:
//
//	Op(x_q, ...) -> (y1, y2, ...)  =>  Op(Dequantize(x_q), ...) -> (y1, y2, ...) float
//
// as TFLite's converter leaves TFLite_Detection_PostProcess after a
// DEQUANTIZE. A quantized reader of an output gets a Quantize of it
// (activation); a graph output stays float.
func (q *quantizer) floatOutputs(n *ir.Node, why string) error {
	q.staysFloat(n, why)
	ins, err := q.floatInputs(n)
	if err != nil {
		return err
	}
	c := copyNode(n, ins, nil)
	c.Outputs = make([]*ir.Tensor, len(n.Outputs))
	for i, out := range n.Outputs {
		f := &ir.Tensor{Name: out.Name, DType: out.DType, Shape: clone(out.Shape)}
		q.qt[out] = f
		c.Outputs[i] = f
	}
	q.out.Nodes = append(q.out.Nodes, c)
	return nil
}

// island keeps n in float: Dequantize its quantized inputs, run it in float,
// Quantize its output into the parameters calibration chose.
func (q *quantizer) island(n *ir.Node, why string) error {
	q.staysFloat(n, why)
	ins := make([]*ir.Tensor, len(n.Inputs))
	for i, t := range n.Inputs {
		if t == nil || t.IsConst() {
			ins[i] = t
			continue
		}
		qt := q.qt[t]
		if qt == nil {
			return n.Errorf("input %q has no quantized form", t.Name)
		}
		if qt.DType == ir.Float32 {
			ins[i] = qt
			continue
		}
		// Not shared with other readers (see dequantized): the files
		// written before exclusion existed stay byte for byte the same.
		f := &ir.Tensor{Name: q.unique(t.Name + "_dequant"), DType: ir.Float32, Shape: clone(t.Shape)}
		q.out.Nodes = append(q.out.Nodes, ir.NewNode(f.Name, ir.OpDequantize, []*ir.Tensor{qt}, f))
		ins[i] = f
	}
	out := n.Out()
	f := &ir.Tensor{Name: q.unique(out.Name + "_float"), DType: ir.Float32, Shape: clone(out.Shape)}
	q.out.Nodes = append(q.out.Nodes, copyNode(n, ins, f))
	qt := q.outTensor(out)
	q.out.Nodes = append(q.out.Nodes, ir.NewNode(q.unique(out.Name+"_requant"), ir.OpQuantize, []*ir.Tensor{f}, qt))
	return nil
}
