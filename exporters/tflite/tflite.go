// Package tflite writes ir graphs as TFLite flatbuffer models (.tflite), the
// mirror of importers/tflite.
//
// Phase: export. Export reads a graph and returns the bytes of a new file; it
// never changes the graph and writes no files. The package registers the
// format with exporters in init (extension .tflite), so programs import it
// for that side effect.
//
// The IR already uses TFLite's layouts (NHWC activations, OHWI convolution
// weights, [out,in] fully connected weights), so the only layout translated
// at the edge is the depthwise weight: the IR's [C*M,KH,KW,1] becomes
// TFLite's [1,KH,KW,C*M], its per-channel axis 0 axis 3. Explicit pads become
// SAME or VALID where they equal what TFLite computes for those, and an
// explicit PAD operator before the window op (VALID) otherwise, as TFLite's
// converter writes them; exporters.PadGrow writes such convolutions as
// SAME ones with a kernel grown by zero taps instead. Attributes that
// TFLite passes as constant tensors (reshape shapes, paddings, permutations,
// reduction axes) become small int32 constants. Ops TFLite lacks are written
// as equivalent sequences (BatchNorm as MUL and ADD, HardSigmoid as MUL, ADD
// with a fused RELU6 and MUL); Identity disappears.
//
// The file follows what TFLite's own converter writes: file identifier TFL3,
// schema version 3, one subgraph, buffer 0 the empty sentinel, every
// constant in its own buffer with 16-byte aligned data, both operator code
// fields filled, and each operator code at the version TFLite's versioning
// rules give its tensor types. The bytes depend only on the graph: nothing
// is written in map order.
package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/mnconv/mnconv/exporters"
	tfl "github.com/mnconv/mnconv/format/tflite"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/ir"
)

func init() {
	exporters.Register(exporters.Format{
		Name:   "tflite",
		Exts:   []string{".tflite"},
		Export: Export,
	})
}

// Description is the model description written into every file.
const Description = "mnconv"

// schemaVersion is Model.version of every TFLite file since schema 3.
const schemaVersion = 3

// maxFlatbufferBytes bounds the file: flatbuffer offsets are 32-bit, and
// weights past 2 GiB would need TFLite's external-buffer layout, which
// MobileNets never need.
const maxFlatbufferBytes = 1<<31 - 1

// Export writes g as a .tflite file. g must validate; it is not modified.
// Errors read `tflite: export: ...` and name the node they concern.
func Export(g *ir.Graph, opts exporters.Options) (out []byte, err error) {
	// The flatbuffers builder panics on misuse; should a graph reach a case
	// this package gets wrong, the caller gets an error, not a crash.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("tflite: export: internal error: %v", r)
		}
	}()
	switch opts.InputLayout {
	case ir.LayoutUnspecified, ir.NHWC:
	default:
		return nil, fmt.Errorf("tflite: export: input layout %q: TFLite image inputs are NHWC", opts.InputLayout)
	}
	w, err := newWriter(g, opts)
	if err != nil {
		return nil, fmt.Errorf("tflite: export: %w", err)
	}
	if err := w.lower(); err != nil {
		return nil, fmt.Errorf("tflite: export: %w", err)
	}
	if out, err = w.build(); err != nil {
		return nil, fmt.Errorf("tflite: export: %w", err)
	}
	return out, nil
}

// ftensor is one tensor of the file.
type ftensor struct {
	name  string
	typ   fb.TensorType
	shape []int32
	quant *ir.Quant
	data  []byte // little-endian elements; nil when the tensor is not a constant
	index int32  // position in the subgraph's tensor list
	// batchSig writes a shape_signature with -1 for the first dimension:
	// a graph input or output of a graph with a symbolic batch.
	batchSig bool
}

// fop is one operator of the file. A nil input is an optional input left
// out (-1).
type fop struct {
	code    fb.BuiltinOperator
	version int32
	inputs  []*ftensor
	outputs []*ftensor
	optType fb.BuiltinOptions
	// options writes the options table; nil writes none (TFLite then uses
	// the defaults, which is what the op needs).
	options func(b *flatbuffers.Builder) flatbuffers.UOffsetT
	// custom is a CUSTOM op's code, customOptions its FlexBuffer options.
	custom        string
	customOptions []byte
}

type opcodeKey struct {
	code    fb.BuiltinOperator
	version int32
	custom  string
}

// derivedKey names a tensor the exporter derives from an IR constant (a
// depthwise weight in TFLite's layout, a transposed matrix).
type derivedKey struct {
	t    *ir.Tensor
	kind string
}

// writer holds the state of one export.
type writer struct {
	g    *ir.Graph
	opts exporters.Options

	prod    map[*ir.Tensor]*ir.Node
	cons    map[*ir.Tensor][]*ir.Node
	outputs map[*ir.Tensor]bool
	inputs  map[*ir.Tensor]bool

	tensors []*ftensor
	byIR    map[*ir.Tensor]*ftensor
	derived map[derivedKey]*ftensor
	// alias maps the output of a skipped Identity to its input.
	alias map[*ir.Tensor]*ir.Tensor
	// reserved holds every IR tensor's name, claimed every name given to a
	// file tensor: names in the file are unique, so that a reader never
	// renames one.
	reserved, claimed map[string]bool

	ops []*fop
	// skip marks Reshape nodes folded into a FULLY_CONNECTED; fc holds the
	// plan for each Gemm that absorbs them.
	skip map[*ir.Node]bool
	fc   map[*ir.Node]*fcPlan

	constBytes  int64
	warnedArith bool
}

func newWriter(g *ir.Graph, opts exporters.Options) (*writer, error) {
	if g == nil {
		return nil, fmt.Errorf("nil graph")
	}
	// Validate normalizes attributes in place (negative axes); it is the
	// IR's own canonical form, so doing it here changes no meaning.
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if len(g.Inputs) == 0 && len(g.Nodes) == 0 {
		return nil, fmt.Errorf("graph %q is empty", g.Name)
	}
	w := &writer{
		g:        g,
		opts:     opts,
		prod:     g.Producers(),
		cons:     g.Consumers(),
		outputs:  map[*ir.Tensor]bool{},
		inputs:   map[*ir.Tensor]bool{},
		byIR:     map[*ir.Tensor]*ftensor{},
		derived:  map[derivedKey]*ftensor{},
		alias:    map[*ir.Tensor]*ir.Tensor{},
		reserved: map[string]bool{},
		claimed:  map[string]bool{},
		skip:     map[*ir.Node]bool{},
		fc:       map[*ir.Node]*fcPlan{},
	}
	for _, t := range g.Outputs {
		w.outputs[t] = true
	}
	for _, t := range g.Inputs {
		w.inputs[t] = true
	}
	for _, t := range g.Tensors() {
		w.reserved[t.Name] = true
	}
	return w, nil
}

// lower turns every node into file operators.
func (w *writer) lower() error {
	w.planFullyConnected()
	for _, t := range w.g.Inputs {
		if _, err := w.tensor(t); err != nil {
			return err
		}
	}
	for _, n := range w.g.Nodes {
		if w.skip[n] {
			continue
		}
		if err := w.node(n); err != nil {
			return err
		}
	}
	// A graph output that an Identity aliased onto an inner tensor gives
	// that tensor its name, so that the file's output reads as the graph's.
	for _, o := range w.g.Outputs {
		src := w.resolve(o)
		if src == o || w.inputs[src] || w.outputs[src] {
			continue
		}
		ft, err := w.tensor(src)
		if err != nil {
			return err
		}
		if ft.name == src.Name {
			ft.name = w.claim(o.Name)
		}
	}
	return nil
}

// resolve follows Identity aliases to the tensor the file holds.
func (w *writer) resolve(t *ir.Tensor) *ir.Tensor {
	for i := 0; t != nil && i <= len(w.alias); i++ {
		a, ok := w.alias[t]
		if !ok {
			return t
		}
		t = a
	}
	return t
}

// claim returns name when no file tensor has it yet, else the first free
// name/_2, name_3, ...
func (w *writer) claim(name string) string {
	if !w.claimed[name] {
		w.claimed[name] = true
		return name
	}
	return w.fresh(name)
}

// fresh returns a name built from base that no IR tensor has and no file
// tensor took.
func (w *writer) fresh(base string) string {
	n := base
	for k := 2; w.reserved[n] || w.claimed[n]; k++ {
		n = fmt.Sprintf("%s_%d", base, k)
	}
	w.claimed[n] = true
	return n
}

// newTensor adds a file tensor. data is nil for activations.
func (w *writer) newTensor(name string, dt ir.DType, shape []int, q *ir.Quant, data []byte) (*ftensor, error) {
	typ, ok := tfl.TensorType(dt)
	if !ok {
		return nil, fmt.Errorf("tensor %q: dtype %v has no TFLite type", name, dt)
	}
	s := make([]int32, len(shape))
	for i, d := range shape {
		if d < 0 || d > math.MaxInt32 {
			return nil, fmt.Errorf("tensor %q: dimension %d of shape %v does not fit TFLite's int32", name, d, shape)
		}
		s[i] = int32(d)
	}
	if data != nil {
		w.constBytes += int64(len(data))
		if w.constBytes > maxFlatbufferBytes {
			return nil, fmt.Errorf("tensor %q: constants exceed the 2 GiB a flatbuffer can hold", name)
		}
	}
	ft := &ftensor{name: name, typ: typ, shape: s, quant: q.Clone(), data: data, index: int32(len(w.tensors))}
	w.tensors = append(w.tensors, ft)
	return ft, nil
}

// tensor returns the file tensor of IR tensor t (after Identity aliases),
// making it on first use.
func (w *writer) tensor(t *ir.Tensor) (*ftensor, error) {
	t = w.resolve(t)
	if ft := w.byIR[t]; ft != nil {
		return ft, nil
	}
	var data []byte
	if t.IsConst() {
		data = encode(t.DType, t.Data)
	}
	ft, err := w.newTensor(w.claim(t.Name), t.DType, t.Shape, t.Quant, data)
	if err != nil {
		return nil, err
	}
	w.byIR[t] = ft
	return ft, nil
}

// optTensor is tensor for an optional input: nil stays nil.
func (w *writer) optTensor(t *ir.Tensor) (*ftensor, error) {
	if t == nil {
		return nil, nil
	}
	return w.tensor(t)
}

// activation makes a new activation tensor (an intermediate the exporter
// adds) like t: same dtype and quantization, with shape.
func (w *writer) activation(name string, like *ir.Tensor, shape []int) (*ftensor, error) {
	return w.newTensor(w.fresh(name), like.DType, shape, like.Quant, nil)
}

// int32Const adds a 1-D int32 constant (a shape, axes, a permutation).
func (w *writer) int32Const(name string, shape []int, v []int) (*ftensor, error) {
	d := make([]int32, len(v))
	for i, x := range v {
		if x < math.MinInt32 || x > math.MaxInt32 {
			return nil, fmt.Errorf("constant %q: %d does not fit int32", name, x)
		}
		d[i] = int32(x)
	}
	return w.newTensor(w.fresh(name), ir.Int32, shape, nil, encode(ir.Int32, &ir.Data{I32: d}))
}

// f32Const adds a float32 constant.
func (w *writer) f32Const(name string, shape []int, v []float32) (*ftensor, error) {
	return w.newTensor(w.fresh(name), ir.Float32, shape, nil, encode(ir.Float32, &ir.Data{F32: v}))
}

// emit appends an operator.
func (w *writer) emit(op *fop) { w.ops = append(w.ops, op) }

// encode writes a constant's elements little-endian.
func encode(dt ir.DType, d *ir.Data) []byte {
	le := binary.LittleEndian
	switch dt {
	case ir.Float32:
		out := make([]byte, 4*len(d.F32))
		for i, v := range d.F32 {
			le.PutUint32(out[4*i:], math.Float32bits(v))
		}
		return out
	case ir.Int8:
		out := make([]byte, len(d.I8))
		for i, v := range d.I8 {
			out[i] = byte(v)
		}
		return out
	case ir.Uint8:
		return slices.Clone(d.U8)
	case ir.Int32:
		out := make([]byte, 4*len(d.I32))
		for i, v := range d.I32 {
			le.PutUint32(out[4*i:], uint32(v))
		}
		return out
	case ir.Int64:
		out := make([]byte, 8*len(d.I64))
		for i, v := range d.I64 {
			le.PutUint64(out[8*i:], uint64(v))
		}
		return out
	}
	return nil
}

// build serializes the collected tensors and operators.
func (w *writer) build() ([]byte, error) {
	var outs []*ftensor
	for _, o := range w.g.Outputs {
		ft, err := w.tensor(o)
		if err != nil {
			return nil, err
		}
		outs = append(outs, ft)
	}
	var ins []*ftensor
	for _, t := range w.g.Inputs {
		ft, err := w.tensor(t)
		if err != nil {
			return nil, err
		}
		ins = append(ins, ft)
	}
	if w.g.SymbolicBatch != "" {
		for _, ft := range append(slices.Clone(ins), outs...) {
			if len(ft.shape) == 0 || ft.shape[0] != 1 || ft.data != nil {
				w.opts.Warnf("tflite: graph input or output %q %v: its first dimension is not the batch; symbolic batch %q written as static", ft.name, ft.shape, w.g.SymbolicBatch)
				continue
			}
			ft.batchSig = true
		}
	}

	b := flatbuffers.NewBuilder(int(min(w.constBytes+w.constBytes/8+1<<16, maxFlatbufferBytes)))

	// Buffers: 0 is the empty sentinel every non-constant tensor points
	// at; then one per constant, in tensor order.
	bufOffs := []flatbuffers.UOffsetT{}
	fb.BufferStart(b)
	bufOffs = append(bufOffs, fb.BufferEnd(b))
	bufIndex := make([]uint32, len(w.tensors))
	for i, t := range w.tensors {
		if t.data == nil {
			continue
		}
		// Prep aligns the end of what follows, i.e. the data's first byte,
		// as the schema's force_align asks; CreateByteVector then needs no
		// further padding.
		b.Prep(fb.BufferDataAlign, len(t.data))
		data := b.CreateByteVector(t.data)
		fb.BufferStart(b)
		fb.BufferAddData(b, data)
		bufIndex[i] = uint32(len(bufOffs))
		bufOffs = append(bufOffs, fb.BufferEnd(b))
	}

	tensorOffs := make([]flatbuffers.UOffsetT, len(w.tensors))
	for i, t := range w.tensors {
		name := b.CreateString(t.name)
		shape := int32Vector(b, fb.TensorStartShapeVector, t.shape)
		var sig flatbuffers.UOffsetT
		if t.batchSig {
			sig = int32Vector(b, fb.TensorStartShapeSignatureVector, append([]int32{-1}, t.shape[1:]...))
		}
		var quant flatbuffers.UOffsetT
		if t.quant != nil {
			quant = writeQuant(b, t.quant)
		}
		fb.TensorStart(b)
		fb.TensorAddShape(b, shape)
		if t.batchSig {
			fb.TensorAddShapeSignature(b, sig)
		}
		fb.TensorAddType(b, t.typ)
		fb.TensorAddBuffer(b, bufIndex[i])
		fb.TensorAddName(b, name)
		if t.quant != nil {
			fb.TensorAddQuantization(b, quant)
		}
		tensorOffs[i] = fb.TensorEnd(b)
	}

	var codes []opcodeKey
	codeIndex := map[opcodeKey]uint32{}
	opOffs := make([]flatbuffers.UOffsetT, len(w.ops))
	for i, op := range w.ops {
		k := opcodeKey{op.code, op.version, op.custom}
		idx, ok := codeIndex[k]
		if !ok {
			idx = uint32(len(codes))
			codeIndex[k] = idx
			codes = append(codes, k)
		}
		inputs := int32Vector(b, fb.OperatorStartInputsVector, indices(op.inputs))
		outputs := int32Vector(b, fb.OperatorStartOutputsVector, indices(op.outputs))
		var opts, custom flatbuffers.UOffsetT
		if op.options != nil {
			opts = op.options(b)
		}
		if op.customOptions != nil {
			custom = b.CreateByteVector(op.customOptions)
		}
		fb.OperatorStart(b)
		fb.OperatorAddOpcodeIndex(b, idx)
		fb.OperatorAddInputs(b, inputs)
		fb.OperatorAddOutputs(b, outputs)
		if op.options != nil {
			fb.OperatorAddBuiltinOptionsType(b, op.optType)
			fb.OperatorAddBuiltinOptions(b, opts)
		}
		if op.customOptions != nil {
			fb.OperatorAddCustomOptions(b, custom)
		}
		opOffs[i] = fb.OperatorEnd(b)
	}

	tensorsVec := offsetVector(b, fb.SubGraphStartTensorsVector, tensorOffs)
	inputsVec := int32Vector(b, fb.SubGraphStartInputsVector, indices(ins))
	outputsVec := int32Vector(b, fb.SubGraphStartOutputsVector, indices(outs))
	opsVec := offsetVector(b, fb.SubGraphStartOperatorsVector, opOffs)
	sgName := "main"
	if s := w.g.Meta["subgraph"]; s != "" {
		sgName = s
	}
	sgNameOff := b.CreateString(sgName)
	fb.SubGraphStart(b)
	fb.SubGraphAddTensors(b, tensorsVec)
	fb.SubGraphAddInputs(b, inputsVec)
	fb.SubGraphAddOutputs(b, outputsVec)
	fb.SubGraphAddOperators(b, opsVec)
	fb.SubGraphAddName(b, sgNameOff)
	subgraph := fb.SubGraphEnd(b)

	codeOffs := make([]flatbuffers.UOffsetT, len(codes))
	for i, k := range codes {
		var custom flatbuffers.UOffsetT
		if k.custom != "" {
			custom = b.CreateString(k.custom)
		}
		fb.OperatorCodeStart(b)
		if k.custom != "" {
			fb.OperatorCodeAddCustomCode(b, custom)
		}
		// Readers take the larger of the two fields (tfl.ReadCode).
		fb.OperatorCodeAddDeprecatedBuiltinCode(b, tfl.DeprecatedCode(k.code))
		fb.OperatorCodeAddVersion(b, k.version)
		fb.OperatorCodeAddBuiltinCode(b, k.code)
		codeOffs[i] = fb.OperatorCodeEnd(b)
	}

	codesVec := offsetVector(b, fb.ModelStartOperatorCodesVector, codeOffs)
	subgraphsVec := offsetVector(b, fb.ModelStartSubgraphsVector, []flatbuffers.UOffsetT{subgraph})
	buffersVec := offsetVector(b, fb.ModelStartBuffersVector, bufOffs)
	desc := b.CreateString(description(w.g))
	fb.ModelStart(b)
	fb.ModelAddVersion(b, schemaVersion)
	fb.ModelAddOperatorCodes(b, codesVec)
	fb.ModelAddSubgraphs(b, subgraphsVec)
	fb.ModelAddDescription(b, desc)
	fb.ModelAddBuffers(b, buffersVec)
	b.FinishWithFileIdentifier(fb.ModelEnd(b), []byte(fb.FileIdentifier))
	out := b.FinishedBytes()
	if len(out) > maxFlatbufferBytes {
		return nil, fmt.Errorf("model is %d bytes, more than a flatbuffer can hold", len(out))
	}
	return out, nil
}

func indices(ts []*ftensor) []int32 {
	out := make([]int32, len(ts))
	for i, t := range ts {
		if t == nil {
			out[i] = -1
		} else {
			out[i] = t.index
		}
	}
	return out
}

func int32Vector(b *flatbuffers.Builder, start func(*flatbuffers.Builder, int) flatbuffers.UOffsetT, v []int32) flatbuffers.UOffsetT {
	start(b, len(v))
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt32(v[i])
	}
	return b.EndVector(len(v))
}

func offsetVector(b *flatbuffers.Builder, start func(*flatbuffers.Builder, int) flatbuffers.UOffsetT, v []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	start(b, len(v))
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependUOffsetT(v[i])
	}
	return b.EndVector(len(v))
}

// writeQuant writes quantization parameters: one zero point per scale (a
// single IR zero point is repeated, none means zeros), and the axis for
// per-channel parameters.
func writeQuant(b *flatbuffers.Builder, q *ir.Quant) flatbuffers.UOffsetT {
	n := len(q.Scale)
	fb.QuantizationParametersStartScaleVector(b, n)
	for i := n - 1; i >= 0; i-- {
		b.PrependFloat32(q.Scale[i])
	}
	scale := b.EndVector(n)
	fb.QuantizationParametersStartZeroPointVector(b, n)
	for i := n - 1; i >= 0; i-- {
		b.PrependInt64(q.ZP(i))
	}
	zp := b.EndVector(n)
	fb.QuantizationParametersStart(b)
	fb.QuantizationParametersAddScale(b, scale)
	fb.QuantizationParametersAddZeroPoint(b, zp)
	if n > 1 {
		fb.QuantizationParametersAddQuantizedDimension(b, int32(q.Axis))
	}
	return fb.QuantizationParametersEnd(b)
}

// Description lines after the first carry the graph's source quantization
// (a dequantized model's former input and output quantization) as sorted
// "dequantize.input.<name>=<ir.SourceQuant text>" and
// "dequantize.output.<name>=..." lines, which importers/tflite reads back.
const (
	descInputQuant  = "dequantize.input."
	descOutputQuant = "dequantize.output."
)

// description is Description followed by the graph's source quantization
// facts; a name that would break the line format is left out.
func description(g *ir.Graph) string {
	lines := map[string]string{}
	add := func(prefix string, m map[string]ir.SourceQuant) {
		for name, q := range m {
			if !strings.ContainsAny(name, "\n=") {
				lines[prefix+name] = q.String()
			}
		}
	}
	add(descInputQuant, g.SourceInputQuant)
	add(descOutputQuant, g.SourceOutputQuant)
	keys := make([]string, 0, len(lines))
	for k := range lines {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := Description
	for _, k := range keys {
		d += "\n" + k + "=" + lines[k]
	}
	return d
}
