package onnx

import (
	"fmt"
	onnxfmt "github.com/mnconv/mnconv/format/onnx"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/ir"
)

// node is one ONNX node being translated.
type node struct {
	p     *pb.NodeProto
	idx   int
	label string
	a     attrs
	in    []value // an absent optional input has a nil tensor
	// quantized marks nodes from ONNX's quantized ops: the ir nodes they
	// produce follow ONNX Runtime's arithmetic.
	quantized bool
	// unsupported is set when the op type has no translation.
	unsupported bool
}

// has reports whether optional input i is present.
func (n *node) has(i int) bool { return i < len(n.in) && n.in[i].t != nil }

// handler translates one ONNX op.
type handler func(im *importer, n *node) error

// handlers maps op types (contrib ops with their domain prefix) to their
// translations. Each file registers the handlers it writes, in its init, so
// that a new op's entry stands in the file of its handler; init breaks the
// initialization cycle through the handlers that call back into the
// importer.
var handlers = map[string]handler{}

// handle registers translations; an op type registered twice panics.
func handle(hs map[string]handler) {
	for t, h := range hs {
		if _, dup := handlers[t]; dup {
			panic("onnx: two handlers for " + t)
		}
		handlers[t] = h
	}
}

// notSupported explains ops that are refused on purpose.
var notSupported = map[string]string{
	"ConvInteger":           "integer convolution without requantization is not supported; use QLinearConv or QDQ (DequantizeLinear -> Conv -> QuantizeLinear)",
	"MatMulInteger":         "integer matmul without requantization is not supported; use QLinearMatMul or QDQ",
	"DynamicQuantizeLinear": "dynamic quantization (scales computed at run time) is not supported; quantize statically",
	"DepthToSpace":          "DepthToSpace is not supported",
}

// node translates one ONNX node; its errors name the node and op. In a
// lenient import a node that cannot be translated becomes an ir.OpOpaque
// node instead.
func (im *importer) node(p *pb.NodeProto, idx int) error {
	n := &node{p: p, idx: idx, label: label(p, idx)}
	mark := len(im.g.Nodes)
	err := im.translate(n)
	if err == nil {
		return nil
	}
	if !im.opts.Lenient {
		if n.unsupported {
			im.sawUnsupported = true
		}
		return nodeErr(p, idx, "%v", err)
	}
	im.rollback(mark)
	if oerr := im.opaque(n, err.Error()); oerr != nil {
		return nodeErr(p, idx, "%v", err)
	}
	return nil
}

// rollback drops the ir nodes made after the first mark ones (a translation
// that failed half way) and every cached layout variant they produced.
func (im *importer) rollback(mark int) {
	gone := map[*ir.Tensor]bool{}
	for _, n := range im.g.Nodes[mark:] {
		for _, o := range n.Outputs {
			gone[o] = true
			delete(im.producer, o)
		}
	}
	clear(im.g.Nodes[mark:])
	im.g.Nodes = im.g.Nodes[:mark]
	for _, m := range []map[*ir.Tensor]*ir.Tensor{im.nhwcOf, im.nchwOf} {
		for k, v := range m {
			if gone[k] || gone[v] {
				delete(m, k)
			}
		}
	}
}

// opaque keeps n as an ir.OpOpaque node: its present inputs as they are,
// its outputs with the element type and shape the file declares for them
// (value_info or graph outputs), else the first input's element type and no
// shape.
func (im *importer) opaque(n *node, reason string) error {
	var ins []*ir.Tensor
	dt := ir.Float32
	for i, name := range n.p.Input {
		if name == "" {
			continue
		}
		v, err := im.lookup(name)
		if err != nil {
			continue // a poisoned value: the opaque node does without it
		}
		if i == 0 || len(ins) == 0 {
			dt = v.t.DType
		}
		ins = append(ins, v.t)
	}
	var outs []*ir.Tensor
	for _, o := range n.p.Output {
		if o == "" {
			continue
		}
		t := &ir.Tensor{Name: o, DType: dt}
		known := false
		if vi := im.declared[o]; vi != nil {
			tt := vi.GetType().GetTensorType()
			if d, err := onnxfmt.DType(tt.GetElemType()); err == nil {
				t.DType = d
			}
			if s, ok := staticShape(tt.GetShape()); ok {
				t.Shape, known = s, true
			}
		}
		if !known {
			im.shapeUnknown[t] = true
		}
		outs = append(outs, t)
	}
	if len(outs) == 0 || len(outs) > ir.OpOpaque.Info().MaxOutputs {
		return fmt.Errorf("has %d outputs", len(outs))
	}
	on := ir.NewNode(n.label, ir.OpOpaque, ins, outs...)
	on.Attrs = &ir.OpaqueAttrs{Op: opName(n.p), Where: fmt.Sprintf("node %q", n.label), Reason: reason, Unsupported: n.unsupported}
	if err := im.add(on); err != nil {
		return err
	}
	for _, t := range outs {
		delete(im.poisoned, t.Name)
		im.vals[t.Name] = value{t: t}
	}
	return nil
}

// staticShape returns a declared shape whose dimensions are all known and
// within the limits.
func staticShape(sp *pb.TensorShapeProto) ([]int, bool) {
	if sp == nil || len(sp.GetDim()) > MaxRank {
		return nil, false
	}
	dims := make([]int64, len(sp.GetDim()))
	for i, d := range sp.GetDim() {
		v, ok := d.GetValue().(*pb.TensorShapeProto_Dimension_DimValue)
		if !ok || v.DimValue < 0 {
			return nil, false
		}
		dims[i] = v.DimValue
	}
	s, _, err := checkShape(dims)
	return s, err == nil
}

func (im *importer) translate(n *node) error {
	key := n.p.GetOpType()
	switch d := n.p.GetDomain(); d {
	case "", "ai.onnx":
	case "com.microsoft":
		if im.ms == 0 {
			return fmt.Errorf("uses domain com.microsoft, which the model does not import")
		}
		if im.ms > MaxMSOpset {
			return fmt.Errorf("com.microsoft opset %d is not supported (mnconv reads version %d)", im.ms, MaxMSOpset)
		}
		key = d + "." + key
	default:
		n.unsupported = true
		return fmt.Errorf("op domain %q is not supported", d)
	}
	h := handlers[key]
	if h == nil {
		n.unsupported = true
		if why, ok := notSupported[key]; ok {
			return fmt.Errorf("unsupported op: %s", why)
		}
		return fmt.Errorf("unsupported op %s", opName(n.p))
	}
	a, err := newAttrs(n.p)
	if err != nil {
		return err
	}
	n.a = a
	n.in = make([]value, len(n.p.Input))
	for i, name := range n.p.Input {
		if name == "" {
			continue
		}
		v, err := im.lookup(name)
		if err != nil {
			return fmt.Errorf("input %d: %v", i, err)
		}
		n.in[i] = v
	}
	if err := h(im, n); err != nil {
		return err
	}
	for i, o := range n.p.Output {
		if o == "" {
			continue
		}
		if _, ok := im.vals[o]; !ok {
			if _, ok := im.poisoned[o]; !ok {
				return fmt.Errorf("output %d (%q) is not supported", i, o)
			}
		}
	}
	return nil
}

// set binds ONNX output i of n.
func (im *importer) set(n *node, i int, v value) {
	im.vals[n.p.Output[i]] = v
}

// outTensor makes the ir tensor for ONNX output i, named after it.
func (n *node) outTensor(i int, dt ir.DType) *ir.Tensor {
	return &ir.Tensor{Name: n.p.Output[i], DType: dt}
}

// need checks the input count is within [lo, hi] and the first lo present.
func (n *node) need(lo, hi int) error {
	if len(n.in) < lo || len(n.in) > hi {
		if lo == hi {
			return fmt.Errorf("has %d inputs, want %d", len(n.in), lo)
		}
		return fmt.Errorf("has %d inputs, want %d to %d", len(n.in), lo, hi)
	}
	for i := 0; i < lo; i++ {
		if !n.has(i) {
			return fmt.Errorf("required input %d is missing", i)
		}
	}
	if len(n.p.Output) < 1 || n.p.Output[0] == "" {
		return fmt.Errorf("has no output")
	}
	return nil
}

// onlyOutputs refuses outputs past the first k (training outputs, indices).
func (n *node) onlyOutputs(k int, what string) error {
	for i := k; i < len(n.p.Output); i++ {
		if n.p.Output[i] != "" {
			return fmt.Errorf("output %d (%s) is not supported", i, what)
		}
	}
	return nil
}

// noRawQuant refuses arithmetic on quantized tensors: ONNX ops compute on
// the stored integers, while an ir op on a tensor with Quant computes on the
// real values, so the two would disagree.
func (n *node) noRawQuant() error {
	for _, v := range n.in {
		if v.t != nil && v.t.Quant != nil && v.t.DType.IsQuantized() {
			return fmt.Errorf("computes on the raw integers of quantized tensor %q; only data movement, DequantizeLinear and the QLinear ops may read it", v.t.Name)
		}
	}
	return nil
}
