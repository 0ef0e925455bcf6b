package onnx

import (
	"errors"
	"fmt"
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/ir"
)

func init() {
	importers.Register(importers.Format{Name: "onnx", Exts: []string{".onnx"}, Magic: Magic, Import: Import})
}

// Magic reports whether head starts like a serialized ModelProto as every
// ONNX writer emits it: field 1 (ir_version) as a one-byte varint first,
// then the tag of another ModelProto field. It is deliberately strict; a file
// it misses is still found by its extension.
func Magic(head []byte) bool {
	if len(head) < 3 || head[0] != 0x08 || head[1] == 0 || head[1] > 32 {
		return false
	}
	switch head[2] {
	case 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72: // fields 2-8 and 14 with their wire types
		return true
	}
	return false
}

// Import decodes an ONNX model and translates it to an ir graph. name is the
// file name used in error messages.
func Import(name string, data []byte, opts importers.Options) (g *ir.Graph, err error) {
	// Every bad input is meant to come back as an ordinary error; this is the
	// net under that promise, so a missed check still cannot crash a caller.
	defer func() {
		if r := recover(); r != nil {
			g, err = nil, fmt.Errorf("onnx: %s: internal error while importing (please report): %v", name, r)
		}
	}()
	return importUnguarded(name, data, opts)
}

// importUnguarded is Import without the panic net, so that the fuzz target sees
// a missed check as the panic it is, with its stack.
func importUnguarded(name string, data []byte, opts importers.Options) (*ir.Graph, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("onnx: %s: empty file", name)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("onnx: %s: file is %d bytes, more than the %d-byte limit", name, len(data), MaxFileSize)
	}
	m := &pb.ModelProto{}
	if err := (proto.UnmarshalOptions{RecursionLimit: MaxRecursion}).Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("onnx: %s: not a valid ONNX model (protobuf: %v)", name, err)
	}
	im := &importer{file: name, opts: opts, fileSize: int64(len(data))}
	im.budget = im.limit()
	g, err := im.run(m)
	if err != nil {
		if im.sawUnsupported && !opts.Lenient {
			// Name every unsupported op, not only the first: import again
			// leniently and collect them.
			lenient := opts
			lenient.Lenient, lenient.Warn = true, nil
			lim := &importer{file: name, opts: lenient, fileSize: int64(len(data))}
			lim.budget = lim.limit()
			if lg, lerr := lim.run(m); lerr == nil {
				if uerr := importers.Unsupported("onnx: "+name, lg); uerr != nil {
					return nil, uerr
				}
			}
		}
		return nil, fmt.Errorf("onnx: %s: %w", name, err)
	}
	return g, nil
}

// value is what an ONNX name refers to during import: an ir tensor and
// whether that tensor holds an NCHW (ONNX-order) rank-4 tensor stored
// permuted as NHWC. Constants are always kept in ONNX order.
type value struct {
	t    *ir.Tensor
	perm bool
}

// shape is the ONNX (logical) shape of v.
func (v value) shape() []int {
	if !v.perm {
		return v.t.Shape
	}
	return onnxfmt.Permute(v.t.Shape, onnxfmt.ToNCHW)
}

func (v value) rank() int        { return len(v.t.Shape) }
func (v value) isConst() bool    { return v.t.IsConst() }
func (v value) dtype() ir.DType  { return v.t.DType }
func (v value) present() bool    { return v.t != nil }
func (v value) quant() *ir.Quant { return v.t.Quant }

type importer struct {
	file  string
	opts  importers.Options
	opset int64 // default domain
	ms    int64 // com.microsoft, 0 when not imported
	g     *ir.Graph

	vals     map[string]value
	inits    map[string]*pb.TensorProto // initializers, decoded on first use
	poisoned map[string]string          // outputs that exist but cannot be used, with the reason
	names    map[string]bool            // ir tensor names taken or reserved
	// nextSuffix is, per base name, the suffix where uniqueName resumes.
	nextSuffix map[string]int
	producer   map[*ir.Tensor]*ir.Node
	budget     int64 // constant bytes left
	fileSize   int64
	nhwcOf     map[*ir.Tensor]*ir.Tensor
	nchwOf     map[*ir.Tensor]*ir.Tensor
	// declared holds the file's value_info and graph outputs by name: the
	// types a lenient import gives an opaque node's outputs.
	declared map[string]*pb.ValueInfoProto
	// sawUnsupported is set when a node's op type has no translation.
	sawUnsupported bool
	// shapeUnknown marks the outputs of opaque nodes whose shape the file
	// does not declare: their ir Shape is a placeholder, not a fact.
	shapeUnknown map[*ir.Tensor]bool
}

func (im *importer) run(m *pb.ModelProto) (*ir.Graph, error) {
	gp := m.GetGraph()
	if gp == nil {
		return nil, errors.New("model has no graph")
	}
	if m.GetIrVersion() < 1 {
		return nil, errors.New("model has no ir_version")
	}
	if v := m.GetIrVersion(); v > MaxIRVersion {
		return nil, fmt.Errorf("ir_version %d is newer than the newest this importer knows (%d, ONNX 1.21)", v, MaxIRVersion)
	}
	if err := im.readOpsets(m); err != nil {
		return nil, err
	}
	if err := checkGraphLimits(gp); err != nil {
		return nil, err
	}
	im.g = &ir.Graph{Name: gp.GetName(), Meta: map[string]string{
		"producer":   strings.TrimSpace(m.GetProducerName() + " " + m.GetProducerVersion()),
		"ir_version": strconv.FormatInt(m.GetIrVersion(), 10),
		"opset":      strconv.FormatInt(im.opset, 10),
		"format":     "onnx",
	}}
	for _, p := range m.MetadataProps {
		im.g.Meta["onnx."+p.GetKey()] = p.GetValue()
	}
	im.vals = map[string]value{}
	im.inits = map[string]*pb.TensorProto{}
	im.poisoned = map[string]string{}
	im.names = map[string]bool{}
	im.nextSuffix = map[string]int{}
	im.producer = map[*ir.Tensor]*ir.Node{}
	im.nhwcOf = map[*ir.Tensor]*ir.Tensor{}
	im.nchwOf = map[*ir.Tensor]*ir.Tensor{}
	im.shapeUnknown = map[*ir.Tensor]bool{}
	if im.opts.Lenient {
		im.declared = map[string]*pb.ValueInfoProto{}
		for _, vi := range append(slices.Clone(gp.ValueInfo), gp.Output...) {
			im.declared[vi.GetName()] = vi
		}
	}

	for _, t := range gp.Initializer {
		if t.GetName() == "" {
			return nil, errors.New("an initializer has no name")
		}
		if im.inits[t.GetName()] != nil {
			return nil, fmt.Errorf("two initializers are named %q", t.GetName())
		}
		im.inits[t.GetName()] = t
		im.names[t.GetName()] = true
	}
	order, consumers, err := im.sortNodes(gp)
	if err != nil {
		return nil, err
	}
	if err := im.readInputs(gp, consumers); err != nil {
		return nil, err
	}
	for _, i := range order {
		if err := im.node(gp.Node[i], i); err != nil {
			return nil, err
		}
	}
	if err := im.readOutputs(gp); err != nil {
		return nil, err
	}
	if !im.opts.QDQSimulate {
		fuseQDQ(im.g)
	}
	im.removeDead()
	if err := im.g.InferShapes(); err != nil {
		return nil, err
	}
	if err := im.g.Validate(); err != nil {
		return nil, err
	}
	return im.g, nil
}

func (im *importer) readOpsets(m *pb.ModelProto) error {
	for _, o := range m.OpsetImport {
		switch o.GetDomain() {
		case "", "ai.onnx":
			im.opset = o.GetVersion()
		case "com.microsoft":
			im.ms = o.GetVersion()
		}
	}
	if im.opset == 0 {
		return errors.New("model imports no opset of the default ONNX domain")
	}
	if im.opset < MinOpset || im.opset > MaxOpset {
		return fmt.Errorf("opset %d of the default domain is not supported (mnconv reads opsets %d to %d)", im.opset, MinOpset, MaxOpset)
	}
	return nil
}

// checkGraphLimits bounds counts and string lengths before any work
// proportional to them is done.
func checkGraphLimits(gp *pb.GraphProto) error {
	if len(gp.Node) > MaxNodes {
		return fmt.Errorf("graph has %d nodes, more than the limit %d", len(gp.Node), MaxNodes)
	}
	tensors := len(gp.Initializer) + len(gp.Input) + len(gp.Output)
	str := func(what, s string) error {
		if len(s) > MaxStringLen {
			return fmt.Errorf("%s is %d bytes long, more than the limit %d", what, len(s), MaxStringLen)
		}
		return nil
	}
	for _, t := range gp.Initializer {
		if err := str("an initializer name", t.GetName()); err != nil {
			return err
		}
	}
	for _, v := range append(append([]*pb.ValueInfoProto(nil), gp.Input...), gp.Output...) {
		if err := str("a graph input or output name", v.GetName()); err != nil {
			return err
		}
	}
	for i, n := range gp.Node {
		if len(n.Input) > MaxNodeInputs || len(n.Output) > MaxNodeOutputs {
			return fmt.Errorf("node %d has %d inputs and %d outputs, more than the limits %d and %d", i, len(n.Input), len(n.Output), MaxNodeInputs, MaxNodeOutputs)
		}
		tensors += len(n.Output)
		if tensors > MaxTensors {
			return fmt.Errorf("graph names more than %d tensors", MaxTensors)
		}
		for _, s := range []string{n.GetName(), n.GetOpType(), n.GetDomain()} {
			if err := str(fmt.Sprintf("node %d's name, op type or domain", i), s); err != nil {
				return err
			}
		}
		for _, s := range append(append([]string(nil), n.Input...), n.Output...) {
			if err := str(fmt.Sprintf("a tensor name of node %d", i), s); err != nil {
				return err
			}
		}
		for _, a := range n.Attribute {
			if err := str(fmt.Sprintf("an attribute of node %d", i), a.GetName()); err != nil {
				return err
			}
			if err := str(fmt.Sprintf("attribute %q of node %d", a.GetName(), i), string(a.GetS())); err != nil {
				return err
			}
			for _, s := range a.Strings {
				if err := str(fmt.Sprintf("attribute %q of node %d", a.GetName(), i), string(s)); err != nil {
					return err
				}
			}
		}
	}
	if tensors > MaxTensors {
		return fmt.Errorf("graph names more than %d tensors", MaxTensors)
	}
	return nil
}

// label names an ONNX node in messages and ir node names: its name, or its
// first output when it has none.
func label(n *pb.NodeProto, i int) string {
	if n.GetName() != "" {
		return n.GetName()
	}
	for _, o := range n.Output {
		if o != "" {
			return o
		}
	}
	return fmt.Sprintf("#%d", i)
}

func nodeErr(n *pb.NodeProto, i int, format string, args ...any) error {
	return fmt.Errorf("node %q (%s): %s", label(n, i), opName(n), fmt.Sprintf(format, args...))
}

func opName(n *pb.NodeProto) string {
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		return d + "." + n.GetOpType()
	}
	return n.GetOpType()
}

// sortNodes checks every node input refers to something that exists and
// returns the nodes in a topological order (the file's when it already is
// one) and the consumers of each name. It is iterative: a long chain costs
// no stack.
func (im *importer) sortNodes(gp *pb.GraphProto) ([]int, map[string][]*pb.NodeProto, error) {
	prod := make(map[string]int, len(gp.Node))
	inputs := make(map[string]bool, len(gp.Input))
	for _, v := range gp.Input {
		inputs[v.GetName()] = true
	}
	for i, n := range gp.Node {
		for _, o := range n.Output {
			if o == "" {
				continue
			}
			if j, dup := prod[o]; dup {
				return nil, nil, nodeErr(n, i, "writes %q, which node %q also writes", o, label(gp.Node[j], j))
			}
			if inputs[o] || im.inits[o] != nil {
				return nil, nil, nodeErr(n, i, "writes %q, which is a graph input or initializer", o)
			}
			prod[o] = i
			im.names[o] = true
		}
	}
	consumers := map[string][]*pb.NodeProto{}
	sorted := true
	pending := make([]int, len(gp.Node))
	users := make([][]int, len(gp.Node))
	done := map[string]bool{}
	for name := range inputs {
		done[name] = true
	}
	for i, n := range gp.Node {
		for _, in := range n.Input {
			if in == "" {
				continue
			}
			consumers[in] = append(consumers[in], n)
			j, isProd := prod[in]
			if !isProd {
				if !inputs[in] && im.inits[in] == nil {
					return nil, nil, nodeErr(n, i, "reads %q, which no node, graph input or initializer defines", in)
				}
				continue
			}
			if !done[in] {
				sorted = false
			}
			pending[i]++
			users[j] = append(users[j], i)
		}
		for _, o := range n.Output {
			done[o] = true
		}
	}
	order := make([]int, 0, len(gp.Node))
	if sorted {
		for i := range gp.Node {
			order = append(order, i)
		}
		return order, consumers, nil
	}
	var ready []int
	for i := range gp.Node {
		if pending[i] == 0 {
			ready = append(ready, i)
		}
	}
	for len(ready) > 0 {
		i := ready[0]
		ready = ready[1:]
		order = append(order, i)
		for _, u := range users[i] {
			pending[u]--
			if pending[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(order) != len(gp.Node) {
		for i, n := range gp.Node {
			if pending[i] > 0 {
				return nil, nil, nodeErr(n, i, "is on a cycle: the graph is not acyclic")
			}
		}
	}
	return order, consumers, nil
}

// readInputs makes the graph inputs (those that are not initializers).
// Rank-4 inputs become NHWC, unless every reader transposes them from NHWC
// to NCHW (a model exported from NHWC), in which case they stay as they are
// and the transposes cancel.
func (im *importer) readInputs(gp *pb.GraphProto, consumers map[string][]*pb.NodeProto) error {
	for _, vi := range gp.Input {
		name := vi.GetName()
		if im.inits[name] != nil {
			continue // an initializer listed as input (IR < 4): a constant
		}
		if name == "" {
			return errors.New("a graph input has no name")
		}
		if _, dup := im.vals[name]; dup {
			return fmt.Errorf("two graph inputs are named %q", name)
		}
		tt := vi.GetType().GetTensorType()
		if tt == nil {
			return fmt.Errorf("graph input %q is not a tensor", name)
		}
		dt, err := onnxfmt.DType(tt.GetElemType())
		if err != nil {
			return fmt.Errorf("graph input %q: %v", name, err)
		}
		if tt.GetShape() == nil {
			return fmt.Errorf("graph input %q has no declared shape; mnconv needs static shapes", name)
		}
		dims := tt.GetShape().GetDim()
		if len(dims) > MaxRank {
			return fmt.Errorf("graph input %q has rank %d, more than the limit %d", name, len(dims), MaxRank)
		}
		shape := make([]int64, len(dims))
		for i, d := range dims {
			switch v := d.GetValue().(type) {
			case *pb.TensorShapeProto_Dimension_DimValue:
				if v.DimValue < 0 {
					return fmt.Errorf("graph input %q has negative dimension %d", name, v.DimValue)
				}
				shape[i] = v.DimValue
			default:
				if i != 0 {
					return fmt.Errorf("graph input %q dimension %d is symbolic (%q); mnconv needs static shapes except the batch", name, i, d.GetDimParam())
				}
				shape[i] = int64(max(im.opts.Batch, 1))
				if p := d.GetDimParam(); p != "" && im.g.SymbolicBatch == "" {
					im.g.SymbolicBatch = p
				}
			}
		}
		s, _, err := checkShape(shape)
		if err != nil {
			return fmt.Errorf("graph input %q: %v", name, err)
		}
		t := &ir.Tensor{Name: name, DType: dt, Shape: s}
		im.names[name] = true
		layout := ir.LayoutUnspecified
		v := value{t: t}
		if len(s) == 4 && !allTransposeFromNHWC(consumers[name]) {
			t.Shape = onnxfmt.Permute(s, onnxfmt.ToNHWC)
			v.perm = true
			layout = ir.NCHW
		}
		im.vals[name] = v
		im.g.Inputs = append(im.g.Inputs, t)
		im.g.InputLayouts = append(im.g.InputLayouts, layout)
	}
	return nil
}

// allTransposeFromNHWC reports whether users is non-empty and every user is
// a Transpose with perm [0,3,1,2].
func allTransposeFromNHWC(users []*pb.NodeProto) bool {
	if len(users) == 0 {
		return false
	}
	for _, n := range users {
		if n.GetOpType() != "Transpose" || (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") {
			return false
		}
		a, err := newAttrs(n)
		if err != nil {
			return false
		}
		p, err := a.ints("perm")
		if err != nil || len(p) != 4 || p[0] != 0 || p[1] != 3 || p[2] != 1 || p[3] != 2 {
			return false
		}
	}
	return true
}

// lookup resolves an ONNX name, decoding an initializer on first use.
func (im *importer) lookup(name string) (value, error) {
	if v, ok := im.vals[name]; ok {
		return v, nil
	}
	if why, ok := im.poisoned[name]; ok {
		return value{}, fmt.Errorf("tensor %q cannot be used: %s", name, why)
	}
	if tp := im.inits[name]; tp != nil {
		t, err := im.decodeConst(tp)
		if err != nil {
			return value{}, err
		}
		v := value{t: t}
		im.vals[name] = v
		return v, nil
	}
	return value{}, fmt.Errorf("tensor %q is not defined", name)
}

// decodeConst decodes a TensorProto within the constant budget.
func (im *importer) decodeConst(tp *pb.TensorProto) (*ir.Tensor, error) {
	if dt, err := onnxfmt.DType(tp.GetDataType()); err == nil {
		if _, n, err := checkShape(tp.Dims); err == nil {
			if err := im.spend(n * int64(dt.Size())); err != nil {
				return nil, fmt.Errorf("tensor %q: %v", tp.GetName(), err)
			}
		}
	}
	return tensorFromProto(tp)
}

// limit is the constant budget the import started with.
func (im *importer) limit() int64 {
	return min(MaxConstBytes, ConstBytesPerFileByte*im.fileSize+ConstSlack)
}

// spend takes n bytes from the constant budget.
func (im *importer) spend(n int64) error {
	if n > im.budget {
		return fmt.Errorf("constants exceed the import's limit of %d bytes (twice the file size plus %d, at most %d)", im.limit(), int64(ConstSlack), int64(MaxConstBytes))
	}
	im.budget -= n
	return nil
}

// readOutputs binds the graph outputs. An output that is an alias of a graph
// input, a constant, or another output gets an Identity so that each output
// is its own tensor with its ONNX name.
func (im *importer) readOutputs(gp *pb.GraphProto) error {
	listed := make(map[string]bool, len(gp.Output))
	for _, vi := range gp.Output {
		if listed[vi.GetName()] {
			return fmt.Errorf("graph output %q is listed twice", vi.GetName())
		}
		listed[vi.GetName()] = true
	}
	used := map[*ir.Tensor]bool{}
	inputs := map[*ir.Tensor]bool{}
	for _, t := range im.g.Inputs {
		inputs[t] = true
	}
	for _, vi := range gp.Output {
		name := vi.GetName()
		v, err := im.lookup(name)
		if err != nil {
			return fmt.Errorf("graph output %q: %v", name, err)
		}
		t := v.t
		if used[t] || inputs[t] || t.IsConst() {
			// The Identity's output takes the ONNX name; a constant that held
			// the name gives it up, a graph input keeps its own.
			outName := name
			if t.Name == name {
				if t.IsConst() {
					t.Name = im.uniqueName(name + "_const")
				} else {
					outName = im.uniqueName(name + "_out")
				}
			}
			out := &ir.Tensor{Name: outName, DType: t.DType, Quant: t.Quant.Clone()}
			n := ir.NewNode(outName, ir.OpIdentity, []*ir.Tensor{t}, out)
			if err := im.add(n); err != nil {
				return err
			}
			t = out
		} else if t.Name != name {
			t.Name = name
		}
		if !im.shapeUnknown[v.t] {
			im.checkDeclared(vi, v)
		}
		used[t] = true
		layout := ir.LayoutUnspecified
		if v.perm {
			layout = ir.NCHW
		}
		im.g.Outputs = append(im.g.Outputs, t)
		im.g.OutputLayouts = append(im.g.OutputLayouts, layout)
	}
	if len(im.g.Outputs) == 0 {
		return errors.New("graph has no outputs")
	}
	return nil
}

// checkDeclared warns when a graph output's declared static shape differs
// from the one the import computed (symbolic dimensions match anything).
func (im *importer) checkDeclared(vi *pb.ValueInfoProto, v value) {
	dims := vi.GetType().GetTensorType().GetShape().GetDim()
	if im.opts.Warn == nil || dims == nil {
		return
	}
	got := v.shape()
	same := len(dims) == len(got)
	for i := 0; same && i < len(dims); i++ {
		if d, ok := dims[i].GetValue().(*pb.TensorShapeProto_Dimension_DimValue); ok && d.DimValue != int64(got[i]) {
			same = false
		}
	}
	if !same {
		im.opts.Warn(fmt.Sprintf("onnx: %s: graph output %q is declared with %d dims %v, the import computes %v", im.file, vi.GetName(), len(dims), dimsString(dims), got))
	}
}

func dimsString(dims []*pb.TensorShapeProto_Dimension) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		if p := d.GetDimParam(); p != "" {
			parts[i] = p
		} else {
			parts[i] = strconv.FormatInt(d.GetDimValue(), 10)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// removeDead drops nodes none of whose outputs reaches a graph output (a
// Shape's source that was folded away, helper transposes not used in the
// end). It walks backwards once.
func (im *importer) removeDead() {
	live := map[*ir.Tensor]bool{}
	for _, t := range im.g.Outputs {
		live[t] = true
	}
	keep := make([]bool, len(im.g.Nodes))
	for i := len(im.g.Nodes) - 1; i >= 0; i-- {
		n := im.g.Nodes[i]
		for _, o := range n.Outputs {
			if live[o] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, t := range n.Inputs {
				if t != nil {
					live[t] = true
				}
			}
		}
	}
	nodes := im.g.Nodes[:0]
	for i, n := range im.g.Nodes {
		if keep[i] {
			nodes = append(nodes, n)
		}
	}
	for i := len(nodes); i < len(im.g.Nodes); i++ {
		im.g.Nodes[i] = nil
	}
	im.g.Nodes = nodes
}

// uniqueName returns base, or base with a numeric suffix, not yet taken.
// The suffix search for a base resumes where the last one ended (names are
// never released), so many requests for one base cost linear time: a file
// with thousands of outputs named like its input must not take minutes.
func (im *importer) uniqueName(base string) string {
	name := base
	if im.names[name] {
		i := max(im.nextSuffix[base], 1)
		for {
			name = base + "_" + strconv.Itoa(i)
			i++
			if !im.names[name] {
				break
			}
		}
		im.nextSuffix[base] = i
	}
	im.names[name] = true
	return name
}
