// Package tflite imports TFLite flatbuffer models (.tflite) into ir graphs.
//
// Phase: import. Import reads a byte slice and returns a new ir.Graph; it
// touches no files and no state outside the graph it builds. The package
// registers the format with importers in init (extension .tflite, file
// identifier "TFL3" at bytes 4..8), so programs import it for that side effect.
//
// TFLite already uses mnconv's canonical layouts (NHWC activations, OHWI
// convolution weights, [out,in] fully connected weights), so the only layout
// translated at the edge is the depthwise weight: TFLite's [1,KH,KW,C*M]
// becomes the IR's [C*M,KH,KW,1], its per-channel quantization axis 3 axis 0.
// SAME / VALID padding becomes explicit pads, fused activations become Act
// attributes, and operands that TFLite passes as constant tensors (reshape
// shapes, paddings, permutations, reduction axes) become attributes.
//
// The file is untrusted: format/tflite's Verify checks every table the
// importer reads before the flatc-generated readers touch it, declared sizes
// are checked against the format's and limits.go's limits before anything
// is allocated, and a recover at
// the Import boundary turns any fault the verifier missed into an error.
// Only subgraph 0 is imported.
package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	tfl "github.com/mnconv/mnconv/format/tflite"
	"github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/ir"
)

func init() {
	importers.Register(importers.Format{
		Name:   "tflite",
		Exts:   []string{".tflite"},
		Magic:  Magic,
		Import: Import,
	})
}

// Magic reports whether head starts like a TFLite flatbuffer: the file
// identifier "TFL3" at bytes 4..8.
func Magic(head []byte) bool {
	return len(head) >= 8 && string(head[4:8]) == tflitefb.FileIdentifier
}

// Import converts a whole .tflite file to an ir graph. name is the file's
// name for error messages and the graph's name. Errors read
// `tflite: <name>: ...`; errors about an operator name it by index, by its
// first output and by its TFLite op name.
func Import(name string, data []byte, opts importers.Options) (g *ir.Graph, err error) {
	// The verifier is what keeps the generated readers in bounds; this is the
	// second line of defence, so that a gap in it costs an error, not the
	// process.
	defer func() {
		if r := recover(); r != nil {
			g, err = nil, fmt.Errorf("tflite: %s: corrupt file (reader fault: %v)", name, r)
		}
	}()
	return importModel(name, data, opts)
}

// importModel is Import without the recover, so that tests can show the
// verifier alone keeps corrupt files from faulting.
func importModel(name string, data []byte, opts importers.Options) (*ir.Graph, error) {
	if err := tfl.Verify(data); err != nil {
		return nil, fmt.Errorf("tflite: %s: %w", name, err)
	}
	im := &importer{
		file:       name,
		data:       data,
		opts:       opts,
		model:      tflitefb.GetRootAsModel(data, 0),
		raw:        map[int]*ir.Tensor{},
		dw:         map[int]*ir.Tensor{},
		used:       map[string]bool{},
		nextSuffix: map[string]int{},
		declared:   map[*ir.Tensor][]int{},
		nodeOp:     map[*ir.Node]*opCtx{},
	}
	g, err := im.run()
	if err != nil && im.sawUnsupported && !opts.Lenient {
		// Name every unsupported op, not only the first: import again
		// leniently and collect them.
		lenient := opts
		lenient.Lenient, lenient.Warn = true, nil
		if lg, lerr := importModel(name, data, lenient); lerr == nil {
			if uerr := importers.Unsupported("tflite: "+name, lg); uerr != nil {
				return nil, uerr
			}
		}
	}
	return g, err
}

// importer holds the state of one import.
type importer struct {
	file  string
	data  []byte
	opts  importers.Options
	model *tflitefb.Model
	sg    tflitefb.SubGraph

	opcodes  []opcode
	ntensors int
	// names holds each tensor's unique name; used every name handed out,
	// including those of tensors the importer adds.
	names []string
	used  map[string]bool
	// nextSuffix is, per base name, the suffix where suffixed resumes.
	nextSuffix map[string]int
	// raw and dw cache the IR tensor made for a file tensor, as stored and
	// as a depthwise weight translated to OHWI.
	raw, dw    map[int]*ir.Tensor
	constBytes int64

	g *ir.Graph
	// declared holds the file's shape of each node output, to compare with
	// shape inference; nodeOp the operator each node came from.
	declared map[*ir.Tensor][]int
	nodeOp   map[*ir.Node]*opCtx
	// sawUnsupported is set when an operator's type has no translation.
	sawUnsupported bool
}

func (im *importer) errorf(format string, args ...any) error {
	return fmt.Errorf("tflite: %s: %s", im.file, fmt.Sprintf(format, args...))
}

func (im *importer) warnf(format string, args ...any) {
	if im.opts.Warn != nil {
		im.opts.Warn(fmt.Sprintf("tflite: %s: %s", im.file, fmt.Sprintf(format, args...)))
	}
}

func (im *importer) run() (*ir.Graph, error) {
	m := im.model
	if v := m.Version(); v != tfl.SchemaVersion {
		return nil, im.errorf("schema version %d is not supported (TFLite reads version %d only)", v, tfl.SchemaVersion)
	}
	if n := m.SubgraphsLength(); n == 0 {
		return nil, im.errorf("model has no subgraphs")
	} else if n > 1 {
		im.warnf("model has %d subgraphs; only subgraph 0 is imported", n)
	}
	m.Subgraphs(&im.sg, 0)
	if err := im.readOpcodes(); err != nil {
		return nil, err
	}
	im.ntensors = im.sg.TensorsLength()
	im.nameTensors()

	base := filepath.Base(im.file)
	im.g = &ir.Graph{
		Name: strings.TrimSuffix(base, filepath.Ext(base)),
		Meta: map[string]string{
			"format":         "tflite",
			"tflite_version": strconv.FormatUint(uint64(m.Version()), 10),
		},
	}
	if d := m.Description(); len(d) > 0 {
		im.g.Meta["description"] = string(d)
		im.sourceQuant(string(d))
	}
	if s := im.sg.Name(); len(s) > 0 {
		im.g.Meta["subgraph"] = string(s)
	}

	if err := im.checkIODuplicates(); err != nil {
		return nil, err
	}
	for i := 0; i < im.sg.InputsLength(); i++ {
		t, err := im.ioTensor(im.sg.Inputs(i), "input")
		if err != nil {
			return nil, err
		}
		if t.IsConst() {
			return nil, im.errorf("graph input %q is a constant", t.Name)
		}
		if im.opts.Batch > 0 && (t.Rank() == 0 || t.Shape[0] != im.opts.Batch) {
			return nil, im.errorf("graph input %q has shape %v; TFLite shapes are static and batch %d was asked for", t.Name, t.Shape, im.opts.Batch)
		}
		im.g.Inputs = append(im.g.Inputs, t)
		if im.opts.ShapeSignature {
			im.readSignature(im.sg.Inputs(i), t)
		}
	}
	for i := 0; i < im.sg.OperatorsLength(); i++ {
		if err := im.operator(i); err != nil {
			return nil, err
		}
	}
	for i := 0; i < im.sg.OutputsLength(); i++ {
		t, err := im.ioTensor(im.sg.Outputs(i), "output")
		if err != nil {
			return nil, err
		}
		im.g.Outputs = append(im.g.Outputs, t)
	}
	if err := im.inferAndCheck(); err != nil {
		return nil, err
	}
	if err := im.g.Validate(); err != nil {
		return nil, im.errorf("%v", err)
	}
	if err := im.g.ValidateTFLiteQuant(); err != nil {
		return nil, im.errorf("%v", err)
	}
	return im.g, nil
}

// checkIODuplicates refuses a subgraph that lists one tensor twice among its
// inputs or among its outputs.
func (im *importer) checkIODuplicates() error {
	for _, io := range []struct {
		what string
		n    int
		at   func(int) int32
	}{{"input", im.sg.InputsLength(), im.sg.Inputs}, {"output", im.sg.OutputsLength(), im.sg.Outputs}} {
		seen := make(map[int32]bool, io.n)
		for i := 0; i < io.n; i++ {
			idx := io.at(i)
			if seen[idx] {
				name := fmt.Sprint(idx)
				if idx >= 0 && int(idx) < im.ntensors {
					name = fmt.Sprintf("%d %q", idx, im.names[idx])
				}
				return im.errorf("graph %s tensor %s is listed twice", io.what, name)
			}
			seen[idx] = true
		}
	}
	return nil
}

// SymbolicBatchName is the name a symbolic batch read from a shape_signature
// gets (TFLite keeps only the -1, not ONNX's dim_param).
const SymbolicBatchName = "N"

// readSignature reads graph input t's shape_signature (tensor idx), when
// importers.Options.ShapeSignature asks: a -1
// first dimension over a batch of 1 makes the graph's batch symbolic
// (ir.Graph.SymbolicBatch); shapes inside stay as the file has them. Any
// other -1 is read as the static dimension the shape gives, with a warning.
func (im *importer) readSignature(idx int32, t *ir.Tensor) {
	var ft tflitefb.Tensor
	im.sg.Tensors(&ft, int(idx))
	n := ft.ShapeSignatureLength()
	if n == 0 {
		return
	}
	if n != t.Rank() {
		im.warnf("graph input %q: shape_signature has %d entries, shape %v; the signature is ignored", t.Name, n, t.Shape)
		return
	}
	for j := range n {
		if ft.ShapeSignature(j) >= 0 {
			continue
		}
		if j == 0 && t.Shape[0] == 1 {
			im.g.SymbolicBatch = SymbolicBatchName
			continue
		}
		im.warnf("graph input %q: dimension %d is dynamic (shape_signature -1); read as its static size %d", t.Name, j, t.Shape[j])
	}
}

func (im *importer) ioTensor(idx int32, what string) (*ir.Tensor, error) {
	if idx < 0 || int(idx) >= im.ntensors {
		return nil, im.errorf("graph %s refers to tensor %d; the subgraph has %d", what, idx, im.ntensors)
	}
	return im.tensor(int(idx))
}

// inferAndCheck runs shape inference node by node, so that an error names
// the operator, and checks each inferred shape against the file's.
func (im *importer) inferAndCheck() error {
	for _, n := range im.g.Nodes {
		c := im.nodeOp[n]
		one := &ir.Graph{Nodes: []*ir.Node{n}}
		if err := one.InferShapes(); err != nil {
			return c.errorf("%v", err)
		}
		for _, o := range n.Outputs {
			if want, ok := im.declared[o]; ok && !slices.Equal(want, o.Shape) {
				return c.errorf("output %q is declared %v, inference gives %v", o.Name, want, o.Shape)
			}
		}
	}
	return nil
}

// opcode is one OperatorCode entry.
type opcode struct {
	code    tflitefb.BuiltinOperator
	custom  string
	version int32
}

// name is the op's TFLite name: the builtin's enum name, or a custom op's
// code.
func (o opcode) name() string { return tfl.OpName(o.code, o.custom) }

func (im *importer) readOpcodes() error {
	var oc tflitefb.OperatorCode
	for i := 0; i < im.model.OperatorCodesLength(); i++ {
		im.model.OperatorCodes(&oc, i)
		im.opcodes = append(im.opcodes, opcode{
			code:    tfl.ReadCode(&oc),
			custom:  string(oc.CustomCode()),
			version: oc.Version(),
		})
	}
	return nil
}

// nameTensors gives every tensor a unique, deterministic name: its own when
// no earlier tensor took it, else the name with the smallest free suffix
// "_2", "_3", ... (free among all the file's names); "tensor_<index>" for
// unnamed tensors.
func (im *importer) nameTensors() {
	var t tflitefb.Tensor
	orig := make([]string, im.ntensors)
	taken := map[string]bool{}
	for i := range orig {
		im.sg.Tensors(&t, i)
		orig[i] = string(t.Name())
		if orig[i] == "" {
			orig[i] = fmt.Sprintf("tensor_%d", i)
		}
		taken[orig[i]] = true
	}
	im.names = make([]string, im.ntensors)
	for i, n := range orig {
		if im.used[n] {
			n = im.suffixed(n, taken)
		}
		im.names[i] = n
		im.used[n] = true
	}
}

// suffixed returns base_k for the smallest k >= 2 that is neither used nor
// in avoid. The search for a base resumes where the last one ended (a
// rejected candidate stays rejected: used only grows), so a file whose
// tensors all share one name costs linear time, not quadratic.
func (im *importer) suffixed(base string, avoid map[string]bool) string {
	k := max(im.nextSuffix[base], 2)
	for {
		c := base + "_" + strconv.Itoa(k)
		k++
		if !avoid[c] && !im.used[c] {
			im.nextSuffix[base] = k
			return c
		}
	}
}

// fresh returns an unused name built from base.
func (im *importer) fresh(base string) string {
	n := base
	if im.used[n] {
		n = im.suffixed(base, nil)
	}
	im.used[n] = true
	return n
}

// tensor returns the IR tensor for file tensor i as stored in the file.
func (im *importer) tensor(i int) (*ir.Tensor, error) {
	if t := im.raw[i]; t != nil {
		return t, nil
	}
	t, err := im.load(i, im.dw[i] == nil)
	if err != nil {
		return nil, err
	}
	im.raw[i] = t
	return t, nil
}

// load builds a new IR tensor from file tensor i: name (the tensor's own
// when own is set, else a fresh one), dtype, shape, quantization and
// constant data.
func (im *importer) load(i int, own bool) (*ir.Tensor, error) {
	var ft tflitefb.Tensor
	im.sg.Tensors(&ft, i)
	name := im.names[i]
	if !own {
		name = im.fresh(name)
	}
	terr := func(format string, args ...any) error {
		return im.errorf("tensor %d %q: %s", i, im.names[i], fmt.Sprintf(format, args...))
	}
	dt, ok := tfl.DType(ft.Type())
	if !ok {
		return nil, terr("type %v is not supported (float32, int8, uint8, int32, int64 are)", ft.Type())
	}
	if ft.Sparsity(nil) != nil {
		return nil, terr("sparse tensors are not supported")
	}
	if ft.IsVariable() {
		return nil, terr("variable tensors are not supported")
	}
	// The verifier bounded the rank by maxRank.
	shape := make([]int, ft.ShapeLength())
	shape64 := make([]int64, len(shape))
	for j := range shape {
		d := ft.Shape(j)
		if d < 0 {
			return nil, terr("shape has dimension %d; only static shapes are supported", d)
		}
		shape[j], shape64[j] = int(d), int64(d)
	}
	count, err := ir.CheckedElements(shape64, maxElements)
	if err != nil {
		return nil, terr("%v", err)
	}
	t := &ir.Tensor{Name: name, DType: dt, Shape: shape}
	if t.Quant, err = im.quant(&ft, shape, im.names[i], terr); err != nil {
		return nil, err
	}
	raw, err := im.bufferData(ft.Buffer(), terr)
	if err != nil {
		return nil, err
	}
	if raw != nil {
		want := count * int64(dt.Size())
		if int64(len(raw)) != want {
			return nil, terr("buffer %d holds %d bytes; %v%v needs %d", ft.Buffer(), len(raw), dt, shape, want)
		}
		im.constBytes += want
		if limit := constLimit(len(im.data)); im.constBytes > limit {
			return nil, terr("constants exceed the import's limit of %d bytes in all (twice the file size plus %d, at most %d; buffers may be shared)", limit, constSlack, maxConstBytes)
		}
		t.Data = decode(dt, raw, int(count))
	}
	return t, nil
}

// bufferData returns the bytes of buffer b, or nil when it holds none (the
// tensor is not a constant).
func (im *importer) bufferData(b uint32, terr func(string, ...any) error) ([]byte, error) {
	if int(b) >= im.model.BuffersLength() {
		return nil, terr("refers to buffer %d; the model has %d", b, im.model.BuffersLength())
	}
	var fb tflitefb.Buffer
	im.model.Buffers(&fb, int(b))
	if d := fb.DataBytes(); len(d) > 0 {
		return d, nil
	}
	// Offsets 0 and 1 are the format's "no external data" markers.
	if off, size := fb.Offset(), fb.Size(); off > 1 && size > 0 {
		if off > uint64(len(im.data)) || size > uint64(len(im.data))-off {
			return nil, terr("buffer %d lies at bytes %d..%d+%d, past the end of the %d-byte file", b, off, off, size, len(im.data))
		}
		return im.data[off : off+size], nil
	}
	return nil, nil
}

// decode copies little-endian elements into a new ir.Data.
func decode(dt ir.DType, raw []byte, n int) *ir.Data {
	d := &ir.Data{}
	le := binary.LittleEndian
	switch dt {
	case ir.Float32:
		d.F32 = make([]float32, n)
		for i := range d.F32 {
			d.F32[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case ir.Int8:
		d.I8 = make([]int8, n)
		for i := range d.I8 {
			d.I8[i] = int8(raw[i])
		}
	case ir.Uint8:
		d.U8 = slices.Clone(raw[:n])
	case ir.Int32:
		d.I32 = make([]int32, n)
		for i := range d.I32 {
			d.I32[i] = int32(le.Uint32(raw[4*i:]))
		}
	case ir.Int64:
		d.I64 = make([]int64, n)
		for i := range d.I64 {
			d.I64[i] = int64(le.Uint64(raw[8*i:]))
		}
	}
	return d
}

// quant reads a tensor's quantization parameters; nil when it has no
// scales (float tensors, and min/max-only annotations).
func (im *importer) quant(ft *tflitefb.Tensor, shape []int, name string, terr func(string, ...any) error) (*ir.Quant, error) {
	q := ft.Quantization(nil)
	if q == nil || q.ScaleLength() == 0 {
		return nil, nil
	}
	if q.DetailsType() != tflitefb.QuantizationDetailsNONE {
		return nil, terr("custom quantization details are not supported")
	}
	n := q.ScaleLength()
	out := &ir.Quant{Scale: make([]float32, n)}
	for j := range out.Scale {
		out.Scale[j] = q.Scale(j)
	}
	switch zn := q.ZeroPointLength(); {
	case zn == 0:
		out.ZeroPoint = make([]int64, n)
	case zn == n:
		out.ZeroPoint = make([]int64, n)
		for j := range out.ZeroPoint {
			out.ZeroPoint[j] = q.ZeroPoint(j)
		}
	default:
		return nil, terr("quantization has %d scales and %d zero points", n, zn)
	}
	if n == 1 {
		// Per-tensor: the axis means nothing.
		return out, nil
	}
	axis := int(q.QuantizedDimension())
	if axis < 0 || axis >= len(shape) {
		// TFLite Micro's person detection model declares axis 3 on rank-1
		// biases. TFLite rejects such files, TFLite Micro runs them (it
		// reads a rank-1 tensor's channels along its only axis); so do we.
		if len(shape) == 1 && shape[0] == n {
			im.warnf("tensor %q: quantized_dimension %d is outside its rank 1; using axis 0 for its %d scales, as TFLite Micro does", name, axis, n)
			axis = 0
		} else {
			return nil, terr("quantized_dimension %d is outside rank %d", axis, len(shape))
		}
	}
	out.Axis = axis
	return out, nil
}

// sourceQuant reads the facts mnconv writes after its name in the
// description (exporters/tflite): a dequantized model's former input and
// output quantization, as "dequantize.input.<name>=<ir.SourceQuant text>"
// and "dequantize.output.<name>=..." lines. A line that does not parse is
// not ours and is skipped.
func (im *importer) sourceQuant(desc string) {
	for _, line := range strings.Split(desc, "\n")[1:] {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		m := &im.g.SourceInputQuant
		name, ok := strings.CutPrefix(k, "dequantize.input.")
		if !ok {
			m = &im.g.SourceOutputQuant
			if name, ok = strings.CutPrefix(k, "dequantize.output."); !ok {
				continue
			}
		}
		q, err := ir.ParseSourceQuant(v)
		if err != nil {
			continue
		}
		if *m == nil {
			*m = map[string]ir.SourceQuant{}
		}
		(*m)[name] = q
	}
}
