package onnx

import (
	"fmt"
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/mnconv/mnconv/exporters"
	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/ir"
)

func init() {
	exporters.Register(exporters.Format{Name: "onnx", Exts: []string{".onnx"}, Export: Export})
}

// Producer is the producer_name written into every file.
const Producer = "mnconv"

// Opsets of the default domain. A file is written at the lowest that says
// everything the graph does: 13 (per-axis QuantizeLinear / DequantizeLinear,
// Clip bounds as inputs, single-axis Softmax), 14 for HardSwish, a Reshape
// to an empty shape (allowzero) or arithmetic on plain int8, 19 for a dilated AveragePool or a wrapping
// Pad (from 18 on, ReduceMean / ReduceMax take their axes as an input).
const (
	baseOpset  = 13
	opset14    = 14
	opset19    = 19
	axesAsData = 18
)

// irVersionFor is the IR version released with an opset: 8 with opsets up
// to 18, 9 with 19.
func irVersionFor(opset int64) int64 {
	if opset >= opset19 {
		return 9
	}
	return 8
}

// opsetFor picks the file's opset for g.
func opsetFor(g *ir.Graph) int64 {
	opset := int64(baseOpset)
	for _, n := range g.Nodes {
		need := int64(baseOpset)
		switch a := n.Attrs.(type) {
		case *ir.PoolAttrs:
			if n.Op == ir.OpAvgPool && a.Dilations != [2]int{1, 1} && a.Dilations != [2]int{} {
				need = opset19
			}
		case *ir.PadAttrs:
			if a.Mode == ir.PadWrap {
				need = opset19
			}
		}
		switch n.Op {
		case ir.OpHardSwish:
			need = max(need, opset14)
		case ir.OpReshape:
			if slices.Contains(n.Out().Shape, 0) {
				need = max(need, opset14)
			}
		case ir.OpAdd, ir.OpSub, ir.OpMul, ir.OpDiv:
			// Arithmetic on plain 8-bit integers (not quantized values,
			// which QDQ computes in float) came in opset 14.
			if x := n.In(0); x.DType.IsQuantized() && !quantized(x) {
				need = max(need, opset14)
			}
		}
		opset = max(opset, need)
	}
	return opset
}

// maxModelBytes bounds the serialized model: protobuf messages are limited
// to 2 GiB, and ONNX's way past it (external data) is not written.
const maxModelBytes = 1<<31 - 1

// Export writes g as an ONNX model. g must validate; it is not modified.
// Errors read `onnx: export: ...` and name the node they concern.
func Export(g *ir.Graph, opts exporters.Options) ([]byte, error) {
	m, err := Model(g, opts)
	if err != nil {
		return nil, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: export: %v", err)
	}
	if len(b) > maxModelBytes {
		return nil, fmt.Errorf("onnx: export: the model is %d bytes, more than protobuf's 2 GiB limit", len(b))
	}
	return b, nil
}

// Model builds the ModelProto that Export serializes.
func Model(g *ir.Graph, opts exporters.Options) (m *pb.ModelProto, err error) {
	// Every graph that validates is meant to export or fail with an
	// ordinary error; this is the net under that promise.
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("onnx: export: internal error (please report): %v", r)
		}
	}()
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("onnx: export: invalid graph: %w", err)
	}
	w, err := newWriter(g, opts)
	if err != nil {
		return nil, fmt.Errorf("onnx: export: %w", err)
	}
	if err := w.run(); err != nil {
		return nil, fmt.Errorf("onnx: export: %w", err)
	}
	return w.model(), nil
}

// tval is the ONNX side of one non-constant ir tensor.
type tval struct {
	// perm: the value is stored permuted to NCHW (rank 4 only).
	perm bool
	// f names the float value (for a quantized tensor its
	// DequantizeLinear, made on first read); q the integer value of a
	// quantized tensor.
	f, q string
	// other caches the tensor in the other layout, by (perm, integer).
	other map[[2]bool]string
}

// constMode says how a constant is laid out in the file.
type constMode uint8

const (
	asIs  constMode = iota // the ir's shape and order
	nchw                   // rank 4, transposed by onnxfmt.ToNCHW (OHWI -> OIHW)
	bcast                  // broadcast against an NCHW image: see layoutConst
)

type constKey struct {
	t    *ir.Tensor
	mode constMode
}

type pendingQ struct {
	t   *ir.Tensor
	pre string // the float value to quantize
}

type writer struct {
	g      *ir.Graph
	opts   exporters.Options
	opset  int64
	inLay  []bool // per graph input: presented NCHW
	nodes  []*pb.NodeProto
	inits  []*pb.TensorProto
	bytes  int64
	inputs []*pb.ValueInfoProto
	output []*pb.ValueInfoProto

	tname     map[*ir.Tensor]string // each ir tensor's own ONNX name
	ownUsed   map[*ir.Tensor]bool   // a constant's own name went to one of its layouts
	taken     map[string]bool       // value names reserved or used
	nodeNames map[string]bool
	vals      map[*ir.Tensor]*tval
	consts    map[constKey]string // integer or float initializer per layout
	dqConsts  map[constKey]string // DequantizeLinear of a quantized constant
	qparams   map[*ir.Tensor][2]string
	scalars   map[string]string
	isInput   map[*ir.Tensor]bool
	outPres   map[*ir.Tensor]bool // graph outputs: presented NCHW
	pending   []pendingQ
	cur       *ir.Node // the node being written, for messages
	usesMS    bool     // a com.microsoft node was written (QOperator form)
}

func newWriter(g *ir.Graph, opts exporters.Options) (*writer, error) {
	w := &writer{
		g: g, opts: opts, opset: opsetFor(g),
		tname: map[*ir.Tensor]string{}, ownUsed: map[*ir.Tensor]bool{},
		taken: map[string]bool{}, nodeNames: map[string]bool{},
		vals: map[*ir.Tensor]*tval{}, consts: map[constKey]string{}, dqConsts: map[constKey]string{},
		qparams: map[*ir.Tensor][2]string{}, scalars: map[string]string{},
		isInput: map[*ir.Tensor]bool{}, outPres: map[*ir.Tensor]bool{},
	}
	layout := opts.InputLayout
	if layout != ir.LayoutUnspecified && layout != ir.NCHW && layout != ir.NHWC {
		return nil, fmt.Errorf("input layout %q: want NCHW, NHWC or empty (as the source declared)", layout)
	}
	// Every ir tensor keeps its name; an empty or repeated one gets a new
	// one. Reserving them all first keeps generated names off them.
	all := g.Tensors()
	for _, t := range all {
		if t.Name != "" && !w.taken[t.Name] {
			w.taken[t.Name] = true
			w.tname[t] = t.Name
		}
	}
	for _, t := range all {
		if _, ok := w.tname[t]; !ok {
			w.tname[t] = w.uniq("tensor")
		}
	}
	for i, t := range g.Inputs {
		w.isInput[t] = true
		l := layout
		if l == ir.LayoutUnspecified && i < len(g.InputLayouts) {
			l = g.InputLayouts[i]
		}
		w.inLay = append(w.inLay, t.Rank() == 4 && l == ir.NCHW)
	}
	for i, t := range g.Outputs {
		if _, seen := w.outPres[t]; !seen {
			w.outPres[t] = t.Rank() == 4 && i < len(g.OutputLayouts) && g.OutputLayouts[i] == ir.NCHW
		}
	}
	return w, nil
}

// uniq returns base, or base with a numeric suffix, as a value name no
// other value has, and reserves it.
func (w *writer) uniq(base string) string {
	name := base
	for i := 1; w.taken[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	w.taken[name] = true
	return name
}

func (w *writer) run() error {
	for i, t := range w.g.Inputs {
		if _, dup := w.vals[t]; dup {
			return fmt.Errorf("graph input %q is listed twice", t.Name)
		}
		name := w.tname[t]
		shape := t.Shape
		if w.inLay[i] {
			shape = onnxfmt.Permute(t.Shape, onnxfmt.ToNCHW)
		}
		v := &tval{perm: w.inLay[i]}
		if quantized(t) {
			v.q = name
		} else {
			v.f = name
		}
		w.vals[t] = v
		vi, err := valueInfo(name, t.DType, shape, w.batchDim(t, "input"))
		if err != nil {
			return fmt.Errorf("graph input %q: %v", t.Name, err)
		}
		w.inputs = append(w.inputs, vi)
		if t.Rank() == 4 && !v.perm {
			// An NHWC interface: one Transpose to NCHW right away, so
			// that the body works in NCHW from the start; the NHWC value
			// stays at hand for a reader that wants the ir's order.
			if err := w.nchwInput(t, v); err != nil {
				return err
			}
		}
	}
	for _, n := range w.g.Nodes {
		w.cur = n
		if err := w.lower(n); err != nil {
			return err
		}
		if err := w.flushQuantize(); err != nil {
			return n.Errorf("%v", err)
		}
	}
	w.cur = nil
	return w.writeOutputs()
}

// nchwInput transposes an NHWC graph input to NCHW and makes that its
// stored value.
func (w *writer) nchwInput(t *ir.Tensor, v *tval) error {
	integer := quantized(t)
	src := v.f
	if integer {
		src = v.q
	}
	dst := w.uniq(w.tname[t] + "_nchw")
	if err := w.relayout(src, dst, t.Shape, true, true, false); err != nil {
		return err
	}
	v.other = map[[2]bool]string{{false, integer}: src}
	v.perm = true
	if integer {
		v.q = dst
	} else {
		v.f = dst
	}
	return nil
}

// model assembles the ModelProto.
func (w *writer) model() *pb.ModelProto {
	name := w.g.Name
	if name == "" {
		name = Producer
	}
	opsets := []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(w.opset)}}
	if w.usesMS {
		opsets = append(opsets, &pb.OperatorSetIdProto{Domain: proto.String(msDomain), Version: proto.Int64(msOpset)})
	}
	return &pb.ModelProto{
		IrVersion:    proto.Int64(irVersionFor(w.opset)),
		ProducerName: proto.String(Producer),
		OpsetImport:  opsets,
		Graph: &pb.GraphProto{
			Name:        proto.String(name),
			Node:        w.nodes,
			Initializer: w.inits,
			Input:       w.inputs,
			Output:      w.output,
		},
	}
}

// quantized reports whether t carries quantization parameters that QDQ
// writes: 8-bit tensors and int32 biases with Quant.
func quantized(t *ir.Tensor) bool {
	return t != nil && t.Quant != nil && (t.DType.IsQuantized() || t.DType == ir.Int32)
}

// node appends a node; its name is name, made unique among node names.
func (w *writer) node(op, name string, ins, outs []string, attrs ...*pb.AttributeProto) {
	if name == "" {
		name = op
	}
	n := name
	for i := 1; w.nodeNames[n]; i++ {
		n = name + "_" + strconv.Itoa(i)
	}
	w.nodeNames[n] = true
	// Trailing absent optional inputs are left out.
	for len(ins) > 0 && ins[len(ins)-1] == "" {
		ins = ins[:len(ins)-1]
	}
	var kept []*pb.AttributeProto
	for _, a := range attrs {
		if a != nil {
			kept = append(kept, a)
		}
	}
	w.nodes = append(w.nodes, &pb.NodeProto{
		Name: proto.String(n), OpType: proto.String(op),
		Input: slices.Clone(ins), Output: slices.Clone(outs), Attribute: kept,
	})
}

// nodeName is the ONNX name for a helper of the current node.
func (w *writer) nodeName(suffix string) string {
	if w.cur == nil {
		return suffix
	}
	if suffix == "" {
		return w.cur.Name
	}
	return w.cur.Name + "/" + suffix
}

func (w *writer) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if w.cur != nil {
		msg = fmt.Sprintf("node %q (%s): %s", w.cur.Name, w.cur.Op, msg)
	}
	w.opts.Warnf("onnx: export: %s", msg)
}

// layoutOf is the layout a layout-transparent op works in for input t: the
// one t is stored in (perm for rank-4 constants, which are re-laid-out for
// free).
func (w *writer) layoutOf(t *ir.Tensor) bool {
	if t.Rank() != 4 {
		return false
	}
	if t.IsConst() {
		return true
	}
	if v := w.vals[t]; v != nil {
		return v.perm
	}
	return true
}

// read returns the name of a value holding t's real values (float for a
// quantized tensor) in the given layout (ignored below rank 4).
func (w *writer) read(t *ir.Tensor, perm bool) (string, error) {
	if t.IsConst() {
		mode := asIs
		if perm && t.Rank() == 4 {
			mode = nchw
		}
		return w.constant(t, mode)
	}
	return w.value(t, perm, false)
}

// value returns non-constant t in the given layout: its integer value when
// integer is set (quantized tensors only), else its float one. A value in
// the other layout is made on first use: a Reshape where both orders are the
// same, else a Transpose; a quantized value is converted as integers, then
// dequantized, so that each DequantizeLinear sits right before its readers.
func (w *writer) value(t *ir.Tensor, perm, integer bool) (string, error) {
	v := w.vals[t]
	if v == nil {
		return "", fmt.Errorf("tensor %q is read before it is computed", t.Name)
	}
	if t.Rank() != 4 {
		perm = v.perm
	}
	q := quantized(t)
	if integer && !q {
		return "", fmt.Errorf("tensor %q is not quantized", t.Name)
	}
	if perm == v.perm {
		switch {
		case integer:
			return v.q, nil
		case !q:
			return v.f, nil
		}
		if v.f == "" {
			f, err := w.dequantize(v.q, t, perm, w.tname[t]+"_dq")
			if err != nil {
				return "", err
			}
			v.f = f
		}
		return v.f, nil
	}
	key := [2]bool{perm, integer}
	if s := v.other[key]; s != "" {
		return s, nil
	}
	var name string
	var err error
	if q && !integer {
		var src string
		if src, err = w.value(t, perm, true); err != nil {
			return "", err
		}
		name, err = w.dequantize(src, t, perm, src+"_dq")
	} else {
		src := v.f
		if integer {
			src = v.q
		}
		suffix := "_nhwc"
		if perm {
			suffix = "_nchw"
		}
		name = w.uniq(w.tname[t] + suffix)
		err = w.relayout(src, name, t.Shape, perm, w.isInput[t], false)
	}
	if err != nil {
		return "", err
	}
	if v.other == nil {
		v.other = map[[2]bool]string{}
	}
	v.other[key] = name
	return name, nil
}

// relayout writes dst = src converted between the ir's order and NCHW;
// shape is the ir (NHWC) shape. In the body, where the two orders are the
// same (one channel, or one pixel), it is a Reshape; otherwise, and always
// at a graph input or output (where a reader, the importer included, looks
// for the Transpose that says "this interface is NHWC"), a Transpose, which
// in the body is reported.
func (w *writer) relayout(src, dst string, shape []int, toPerm, atInput, atOutput bool) error {
	nc := onnxfmt.Permute(shape, onnxfmt.ToNCHW)
	if onnxfmt.OrderKept(nc) && !atInput && !atOutput {
		target := shape
		if toPerm {
			target = nc
		}
		s, err := w.int64s(dst+"_shape", target)
		if err != nil {
			return err
		}
		w.node("Reshape", w.relayoutName(dst, atInput, atOutput), []string{src, s}, []string{dst})
		return nil
	}
	perm := onnxfmt.ToNHWC
	if toPerm {
		perm = onnxfmt.ToNCHW
	}
	if !atInput && !atOutput {
		w.warnf("a Transpose converts %q between NHWC and NCHW (the op needs the other element order)", src)
	}
	w.node("Transpose", w.relayoutName(dst, atInput, atOutput), []string{src}, []string{dst}, intsAttr("perm", perm...))
	return nil
}

func (w *writer) relayoutName(dst string, atInput, atOutput bool) string {
	if atInput || atOutput || w.cur == nil {
		return dst
	}
	return w.nodeName("to_" + dst)
}

// out names the value that the current node writes for t, in the given
// layout. For a quantized t that is a float value, which flushQuantize then
// quantizes into t's integer value.
func (w *writer) out(t *ir.Tensor, perm bool) string {
	if t.Rank() != 4 {
		perm = false
	}
	home := w.homeName(t, perm)
	if !quantized(t) {
		w.vals[t] = &tval{perm: perm, f: home}
		return home
	}
	pre := w.uniq(w.tname[t] + "_float")
	w.vals[t] = &tval{perm: perm, q: home}
	w.pending = append(w.pending, pendingQ{t: t, pre: pre})
	return pre
}

// outInteger names the integer value the current node writes for quantized
// t directly (QuantizeLinear).
func (w *writer) outInteger(t *ir.Tensor, perm bool) string {
	if t.Rank() != 4 {
		perm = false
	}
	home := w.homeName(t, perm)
	w.vals[t] = &tval{perm: perm, q: home}
	return home
}

// homeName is t's own name, unless t is a graph output presented in the
// other layout: then the output keeps the name and this value gets another.
func (w *writer) homeName(t *ir.Tensor, perm bool) string {
	if pres, isOut := w.outPres[t]; isOut && t.Rank() == 4 && pres != perm {
		suffix := "_nhwc"
		if perm {
			suffix = "_nchw"
		}
		return w.uniq(w.tname[t] + suffix)
	}
	return w.tname[t]
}

// alias makes y share x's stored values, y in layout perm (a Transpose that
// only re-reads x's storage, as x's NCHW value read as an ir-order tensor).
// Only tensors with the same quantization alias.
func (w *writer) alias(y, x *ir.Tensor, perm bool) error {
	v := w.vals[x]
	if v == nil {
		return fmt.Errorf("tensor %q is read before it is computed", x.Name)
	}
	c := *v
	c.perm = perm
	c.other = nil
	if quantized(x) && c.f == "" {
		// share the dequantized value too, made once
		f, err := w.value(x, v.perm, false)
		if err != nil {
			return err
		}
		c.f = f
	}
	w.vals[y] = &c
	return nil
}

// flushQuantize quantizes the float results of the node just written into
// their integer values.
func (w *writer) flushQuantize() error {
	for _, p := range w.pending {
		v := w.vals[p.t]
		if err := w.quantizeInto(w.nodeName("quantize"), p.pre, v.q, p.t, v.perm); err != nil {
			return err
		}
	}
	w.pending = w.pending[:0]
	return nil
}

// writeOutputs binds the graph outputs: each gets its own ONNX name (the ir
// tensor's) and the layout g.OutputLayouts asks for, with one Transpose (or
// Reshape, or Identity) where the body left it otherwise.
func (w *writer) writeOutputs() error {
	done := map[string]bool{}
	for i, t := range w.g.Outputs {
		pres := t.Rank() == 4 && i < len(w.g.OutputLayouts) && w.g.OutputLayouts[i] == ir.NCHW
		integer := quantized(t)
		name := w.tname[t]
		if done[name] || w.isInput[t] || t.IsConst() {
			name = w.uniq(name + "_out")
		}
		var src string
		var srcPerm bool
		switch {
		case t.IsConst():
			mode := asIs
			if pres {
				mode = nchw
			}
			var err error
			if integer {
				src, err = w.constRaw(t, mode)
			} else {
				src, err = w.constant(t, mode)
			}
			if err != nil {
				return fmt.Errorf("graph output %q: %v", t.Name, err)
			}
			srcPerm = pres
		default:
			v := w.vals[t]
			if v == nil {
				return fmt.Errorf("graph output %q is never computed", t.Name)
			}
			src, srcPerm = v.f, v.perm
			if integer {
				src = v.q
			} else if src == "" {
				return fmt.Errorf("internal error: graph output %q has no value", t.Name)
			}
		}
		switch {
		case t.Rank() == 4 && srcPerm != pres:
			if err := w.relayout(src, name, t.Shape, pres, false, true); err != nil {
				return err
			}
		case src != name:
			w.node("Identity", name, []string{src}, []string{name})
		}
		done[name] = true
		shape := t.Shape
		if pres {
			shape = onnxfmt.Permute(t.Shape, onnxfmt.ToNCHW)
		}
		vi, err := valueInfo(name, t.DType, shape, w.batchDim(t, "output"))
		if err != nil {
			return fmt.Errorf("graph output %q: %v", t.Name, err)
		}
		w.output = append(w.output, vi)
	}
	return nil
}

// batchDim is the dim_param for graph input or output t's first dimension:
// the graph's SymbolicBatch when t's first dimension is the batch (1), ""
// (static) otherwise, with a warning that the symbol is lost for t.
func (w *writer) batchDim(t *ir.Tensor, what string) string {
	if w.g.SymbolicBatch == "" {
		return ""
	}
	if t.Rank() == 0 || t.Shape[0] != 1 || t.IsConst() {
		w.opts.Warnf("onnx: graph %s %q %v: its first dimension is not the batch; symbolic batch %q written as static", what, t.Name, t.Shape, w.g.SymbolicBatch)
		return ""
	}
	return w.g.SymbolicBatch
}

// valueInfo describes a graph input or output.
// batch, when not "", is written as the first dimension's dim_param.
func valueInfo(name string, dt ir.DType, shape []int, batch string) (*pb.ValueInfoProto, error) {
	code, err := onnxfmt.ElemType(dt)
	if err != nil {
		return nil, err
	}
	dims := make([]*pb.TensorShapeProto_Dimension, len(shape))
	for i, d := range shape {
		dims[i] = &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}}
		if i == 0 && batch != "" {
			dims[i] = &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: batch}}
		}
	}
	return &pb.ValueInfoProto{
		Name: proto.String(name),
		Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: proto.Int32(code),
			Shape:    &pb.TensorShapeProto{Dim: dims},
		}}},
	}, nil
}

// Attribute constructors.

func intAttr(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func floatAttr(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func stringAttr(name, v string) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func intsAttr(name string, v ...int) *pb.AttributeProto {
	ints := make([]int64, len(v))
	for i, x := range v {
		ints[i] = int64(x)
	}
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: ints}
}

func boolAttr(name string, v bool) *pb.AttributeProto {
	if !v {
		return nil
	}
	return intAttr(name, 1)
}
