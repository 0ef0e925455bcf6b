package tflite

import (
	"fmt"
	"slices"
	"strings"

	flatbuffers "github.com/google/flatbuffers/go"

	tfl "github.com/mnconv/mnconv/format/tflite"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/ir"
)

// converters maps each supported builtin operator to the function that
// turns one such operator into IR nodes. Anything else, custom ops included,
// is an "unsupported op" error. Builtins that are one IR op both ways take
// the op from format/tflite's OpCodes (c.row).
var converters = map[fb.BuiltinOperator]func(*opCtx) error{
	fb.BuiltinOperatorCONV_2D:                 convertConv,
	fb.BuiltinOperatorDEPTHWISE_CONV_2D:       convertDepthwise,
	fb.BuiltinOperatorFULLY_CONNECTED:         convertFullyConnected,
	fb.BuiltinOperatorADD:                     binaryOp,
	fb.BuiltinOperatorSUB:                     binaryOp,
	fb.BuiltinOperatorMUL:                     binaryOp,
	fb.BuiltinOperatorAVERAGE_POOL_2D:         pool,
	fb.BuiltinOperatorMAX_POOL_2D:             pool,
	fb.BuiltinOperatorMEAN:                    convertMean,
	fb.BuiltinOperatorRESHAPE:                 convertReshape,
	fb.BuiltinOperatorSQUEEZE:                 convertSqueeze,
	fb.BuiltinOperatorSOFTMAX:                 convertSoftmax,
	fb.BuiltinOperatorLOGISTIC:                unary(nil),
	fb.BuiltinOperatorHARD_SWISH:              unary(nil),
	fb.BuiltinOperatorRELU:                    unary(nil),
	fb.BuiltinOperatorRELU6:                   clamp(0, 6),
	fb.BuiltinOperatorRELU_N1_TO_1:            clamp(-1, 1),
	fb.BuiltinOperatorPAD:                     convertPad,
	fb.BuiltinOperatorPADV2:                   convertPad,
	fb.BuiltinOperatorTRANSPOSE:               convertTranspose,
	fb.BuiltinOperatorCONCATENATION:           convertConcat,
	fb.BuiltinOperatorQUANTIZE:                convertQuantize,
	fb.BuiltinOperatorDEQUANTIZE:              convertDequantize,
	fb.BuiltinOperatorARG_MAX:                 convertArgMax,
	fb.BuiltinOperatorRESIZE_BILINEAR:         convertResize,
	fb.BuiltinOperatorRESIZE_NEAREST_NEIGHBOR: convertResize,
}

// opCtx is one operator being converted.
type opCtx struct {
	im    *importer
	index int
	code  opcode
	op    fb.Operator
	name  string // the node's name: its first output's
	nodes int    // nodes emitted so far
}

func (c *opCtx) errorf(format string, args ...any) error {
	return c.im.errorf("operator %d %q (%s): %s", c.index, c.name, c.code.name(), fmt.Sprintf(format, args...))
}

// row is the operator's one-to-one row in format/tflite's OpCodes; the
// converters that call it are registered only for such builtins.
func (c *opCtx) row() tfl.OpCode {
	r, ok := tfl.Op(c.code.code)
	if !ok {
		panic(fmt.Sprintf("tflite: %s has no OpCodes row", c.code.name()))
	}
	return r
}

func (im *importer) operator(i int) error {
	c := &opCtx{im: im, index: i, name: fmt.Sprintf("op_%d", i)}
	im.sg.Operators(&c.op, i)
	if c.op.OutputsLength() > 0 {
		if o := c.op.Outputs(0); o >= 0 && int(o) < im.ntensors {
			c.name = im.names[o]
		}
	}
	oi := c.op.OpcodeIndex()
	if int64(oi) >= int64(len(im.opcodes)) {
		return im.errorf("operator %d %q: opcode index %d; the model has %d operator codes", i, c.name, oi, len(im.opcodes))
	}
	c.code = im.opcodes[oi]
	convert, ok := converters[c.code.code]
	if c.code.code == fb.BuiltinOperatorCUSTOM {
		convert, ok = customConverters[c.code.custom]
	}
	if !ok {
		im.sawUnsupported = true
		return im.opaque(c, c.errorf("unsupported op %s", c.code.name()), fmt.Sprintf("unsupported op %s", c.code.name()), true)
	}
	mark := len(im.g.Nodes)
	err := c.convert(convert)
	if err != nil && im.opts.Lenient {
		for _, n := range im.g.Nodes[mark:] {
			delete(im.nodeOp, n)
		}
		clear(im.g.Nodes[mark:])
		im.g.Nodes = im.g.Nodes[:mark]
		c.nodes = 0
		return im.opaque(c, err, strings.TrimPrefix(err.Error(), c.errorf("").Error()), false)
	}
	return err
}

func (c *opCtx) convert(convert func(*opCtx) error) error {
	if n := c.op.OutputsLength(); n != 1 && c.code.code != fb.BuiltinOperatorCUSTOM {
		return c.errorf("has %d outputs, want 1", n)
	}
	return convert(c)
}

// opaque keeps operator c, which could not be translated (err says why), as
// an ir.OpOpaque node in a lenient import; a strict one fails with err.
func (im *importer) opaque(c *opCtx, err error, reason string, unsupported bool) error {
	if !im.opts.Lenient {
		return err
	}
	ins := make([]*ir.Tensor, c.op.InputsLength())
	for j := range ins {
		t, ierr := c.in(j)
		if ierr != nil {
			return err
		}
		ins[j] = t
	}
	outs := make([]*ir.Tensor, c.op.OutputsLength())
	if len(outs) == 0 || len(outs) > ir.OpOpaque.Info().MaxOutputs {
		return err
	}
	for j := range outs {
		idx := c.op.Outputs(j)
		if idx < 0 || int(idx) >= im.ntensors {
			return err
		}
		t, terr := im.tensor(int(idx))
		if terr != nil || t.IsConst() {
			return err
		}
		outs[j] = t
	}
	n := ir.NewNode(c.name, ir.OpOpaque, ins, outs...)
	n.Attrs = &ir.OpaqueAttrs{Op: c.code.name(), Where: fmt.Sprintf("operator %d %q", c.index, c.name), Reason: reason, Unsupported: unsupported}
	im.g.Nodes = append(im.g.Nodes, n)
	im.nodeOp[n] = c
	return nil
}

// arity checks the operator's input count.
func (c *opCtx) arity(lo, hi int) error {
	if n := c.op.InputsLength(); n < lo || n > hi {
		if lo == hi {
			return c.errorf("has %d inputs, want %d", n, lo)
		}
		return c.errorf("has %d inputs, want %d to %d", n, lo, hi)
	}
	return nil
}

// inputIndex returns the file tensor index of input j (-1 when left out).
func (c *opCtx) inputIndex(j int) (int, error) {
	if j >= c.op.InputsLength() {
		return -1, nil
	}
	idx := c.op.Inputs(j)
	if idx == -1 {
		return -1, nil
	}
	if idx < 0 || int(idx) >= c.im.ntensors {
		return 0, c.errorf("input %d refers to tensor %d; the subgraph has %d", j, idx, c.im.ntensors)
	}
	return int(idx), nil
}

// in returns input j, nil when it is left out.
func (c *opCtx) in(j int) (*ir.Tensor, error) {
	idx, err := c.inputIndex(j)
	if err != nil || idx < 0 {
		return nil, err
	}
	t, err := c.im.tensor(idx)
	if err != nil {
		return nil, fmt.Errorf("%w (input %d of operator %d)", err, j, c.index)
	}
	return t, nil
}

// need returns input j, which must be present.
func (c *opCtx) need(j int) (*ir.Tensor, error) {
	t, err := c.in(j)
	if err == nil && t == nil {
		err = c.errorf("required input %d is missing", j)
	}
	return t, err
}

// ins returns inputs 0..n-1 (all required).
func (c *opCtx) ins(n int) ([]*ir.Tensor, error) {
	out := make([]*ir.Tensor, n)
	for j := range out {
		var err error
		if out[j], err = c.need(j); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// out returns the output tensor and records its declared shape.
func (c *opCtx) out() (*ir.Tensor, error) {
	idx := c.op.Outputs(0)
	if idx < 0 || int(idx) >= c.im.ntensors {
		return nil, c.errorf("output refers to tensor %d; the subgraph has %d", idx, c.im.ntensors)
	}
	t, err := c.im.tensor(int(idx))
	if err != nil {
		return nil, err
	}
	if t.IsConst() {
		return nil, c.errorf("output %q is a constant", t.Name)
	}
	if _, ok := c.im.declared[t]; !ok {
		c.im.declared[t] = slices.Clone(t.Shape)
	}
	return t, nil
}

// emit appends a node. Absent trailing inputs are dropped; attrs nil keeps
// the op's zero attributes.
func (c *opCtx) emit(op ir.Op, ins []*ir.Tensor, out *ir.Tensor, attrs ir.Attrs) {
	for len(ins) > 0 && ins[len(ins)-1] == nil {
		ins = ins[:len(ins)-1]
	}
	name := c.name
	if c.nodes > 0 {
		name = fmt.Sprintf("%s/%d", c.name, c.nodes)
	}
	c.nodes++
	n := ir.NewNode(name, op, ins, out)
	if attrs != nil {
		n.Attrs = attrs
	}
	n.Origin = ir.Origin(c.index + 1)
	c.im.g.Nodes = append(c.im.g.Nodes, n)
	c.im.nodeOp[n] = c
}

// initer is what every generated options table implements.
type initer interface {
	Init(buf []byte, i flatbuffers.UOffsetT)
}

// options initializes dst on the operator's builtin options, which must be
// of type want, or on defaults when the operator has none.
func (c *opCtx) options(want fb.BuiltinOptions, dst initer) error {
	typ := c.op.BuiltinOptionsType()
	var t flatbuffers.Table
	if typ != fb.BuiltinOptionsNONE {
		if typ != want {
			return c.errorf("builtin options are %v, want %v", typ, want)
		}
		if c.op.BuiltinOptions(&t) {
			dst.Init(t.Bytes, t.Pos)
			return nil
		}
	}
	dst.Init(tfl.DefaultOptions, flatbuffers.GetUOffsetT(tfl.DefaultOptions))
	return nil
}

func (c *opCtx) act(a fb.ActivationFunctionType) (ir.Activation, error) {
	if act, ok := tfl.Activation(a); ok {
		return act, nil
	}
	return 0, c.errorf("fused activation %v is not supported", a)
}

// window checks strides and dilations (given as [h, w]) and resolves TFLite
// padding to explicit [top, left, bottom, right] pads for input size in and
// kernel size k (tfl.SamePads).
func (c *opCtx) window(p fb.Padding, in, k, strides, dilations [2]int) ([4]int, error) {
	var pads [4]int
	for i := 0; i < 2; i++ {
		if strides[i] < 1 || dilations[i] < 1 {
			return pads, c.errorf("strides %v and dilations %v must be >= 1", strides, dilations)
		}
		if k[i] < 1 {
			return pads, c.errorf("kernel %v must be >= 1", k)
		}
	}
	switch p {
	case fb.PaddingVALID:
		return pads, nil
	case fb.PaddingSAME:
		return tfl.SamePads(in, k, strides, dilations), nil
	}
	return pads, c.errorf("padding %v is not supported", p)
}

// constInts reads input j, a constant int32 or int64 tensor of a few
// entries (a shape, axes, a permutation, paddings).
func (c *opCtx) constInts(j int) ([]int, *ir.Tensor, error) {
	t, err := c.need(j)
	if err != nil {
		return nil, nil, err
	}
	if !t.IsConst() {
		return nil, nil, c.errorf("input %d (%q) must be a constant", j, t.Name)
	}
	if t.Len() > 2*maxRank {
		return nil, nil, c.errorf("input %d (%q) has %d entries, more than %d", j, t.Name, t.Len(), 2*maxRank)
	}
	var out []int
	switch t.DType {
	case ir.Int32:
		for _, v := range t.Data.I32 {
			out = append(out, int(v))
		}
	case ir.Int64:
		for _, v := range t.Data.I64 {
			if v < -1<<31 || v > 1<<31-1 {
				return nil, nil, c.errorf("input %d (%q) holds %d, out of range", j, t.Name, v)
			}
			out = append(out, int(v))
		}
	default:
		return nil, nil, c.errorf("input %d (%q) is %v, want int32 or int64", j, t.Name, t.DType)
	}
	return out, t, nil
}

func rank4(c *opCtx, ts ...*ir.Tensor) error {
	for _, t := range ts {
		if t.Rank() != 4 {
			return c.errorf("%q has shape %v, want rank 4", t.Name, t.Shape)
		}
	}
	return nil
}

func convertConv(c *opCtx) error {
	if err := c.arity(2, 3); err != nil {
		return err
	}
	x, w, b, y, err := c.convOperands()
	if err != nil {
		return err
	}
	var o fb.Conv2DOptions
	if err := c.options(fb.BuiltinOptionsConv2DOptions, &o); err != nil {
		return err
	}
	strides := [2]int{int(o.StrideH()), int(o.StrideW())}
	dil := [2]int{int(o.DilationHFactor()), int(o.DilationWFactor())}
	pads, err := c.window(o.Padding(), [2]int{x.Shape[1], x.Shape[2]}, [2]int{w.Shape[1], w.Shape[2]}, strides, dil)
	if err != nil {
		return err
	}
	act, err := c.act(o.FusedActivationFunction())
	if err != nil {
		return err
	}
	// TFLite runs a grouped convolution when the input has a multiple of the
	// filter's input channels.
	group := 1
	if w.Shape[3] > 0 && x.Shape[3] != w.Shape[3] && x.Shape[3]%w.Shape[3] == 0 {
		group = x.Shape[3] / w.Shape[3]
	}
	c.emit(ir.OpConv, []*ir.Tensor{x, w, b}, y, &ir.ConvAttrs{Strides: strides, Dilations: dil, Pads: pads, Group: group, Act: act})
	return nil
}

// convOperands reads a convolution's input, weight, optional bias and
// output; the weight as stored (CONV_2D's is already OHWI).
func (c *opCtx) convOperands() (x, w, b, y *ir.Tensor, err error) {
	if x, err = c.need(0); err != nil {
		return
	}
	if w, err = c.need(1); err != nil {
		return
	}
	if b, err = c.in(2); err != nil {
		return
	}
	if y, err = c.out(); err != nil {
		return
	}
	err = rank4(c, x, w)
	return
}

func convertDepthwise(c *opCtx) error {
	if err := c.arity(2, 3); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	if err := rank4(c, x); err != nil {
		return err
	}
	w, err := c.depthwiseWeight(1)
	if err != nil {
		return err
	}
	b, err := c.in(2)
	if err != nil {
		return err
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	var o fb.DepthwiseConv2DOptions
	if err := c.options(fb.BuiltinOptionsDepthwiseConv2DOptions, &o); err != nil {
		return err
	}
	ch, cm := x.Shape[3], w.Shape[0]
	if ch < 1 || cm%ch != 0 {
		return c.errorf("weight %q has %d output channels, not a multiple of the input's %d", w.Name, cm, ch)
	}
	if m := int(o.DepthMultiplier()); m != 0 && m != cm/ch {
		c.im.warnf("operator %d %q: depth_multiplier %d disagrees with the weight's %d channels for %d input channels; using %d", c.index, c.name, m, cm, ch, cm/ch)
	}
	strides := [2]int{int(o.StrideH()), int(o.StrideW())}
	dil := [2]int{int(o.DilationHFactor()), int(o.DilationWFactor())}
	pads, err := c.window(o.Padding(), [2]int{x.Shape[1], x.Shape[2]}, [2]int{w.Shape[1], w.Shape[2]}, strides, dil)
	if err != nil {
		return err
	}
	act, err := c.act(o.FusedActivationFunction())
	if err != nil {
		return err
	}
	c.emit(ir.OpConv, []*ir.Tensor{x, w, b}, y, &ir.ConvAttrs{Strides: strides, Dilations: dil, Pads: pads, Group: ch, Act: act})
	return nil
}

// depthwiseWeight returns input j, a TFLite depthwise weight [1,KH,KW,C*M],
// translated to the IR's [C*M,KH,KW,1] with a per-channel axis 3 moved to 0.
// The translated tensor keeps the file tensor's name; should the file
// tensor also be used as stored, that use gets a fresh name.
func (c *opCtx) depthwiseWeight(j int) (*ir.Tensor, error) {
	idx, err := c.inputIndex(j)
	if err != nil {
		return nil, err
	}
	if idx < 0 {
		return nil, c.errorf("required input %d is missing", j)
	}
	im := c.im
	if t := im.dw[idx]; t != nil {
		return t, nil
	}
	t, err := im.load(idx, im.raw[idx] == nil)
	if err != nil {
		return nil, err
	}
	if t.Rank() != 4 || t.Shape[0] != 1 {
		return nil, c.errorf("depthwise weight %q has shape %v, want [1 KH KW C*M]", t.Name, t.Shape)
	}
	if !t.IsConst() {
		return nil, c.errorf("depthwise weight %q is not a constant", t.Name)
	}
	kh, kw, cm := t.Shape[1], t.Shape[2], t.Shape[3]
	t.Shape = []int{cm, kh, kw, 1}
	t.Data = tfl.DepthwiseToIR(t.Data, kh, kw, cm)
	if q := t.Quant; q.PerAxis() {
		if q.Axis != 3 {
			return nil, c.errorf("depthwise weight %q is quantized along axis %d, want 3 (channels)", t.Name, q.Axis)
		}
		q.Axis = 0
	}
	im.dw[idx] = t
	return t, nil
}

func convertFullyConnected(c *opCtx) error {
	if err := c.arity(2, 3); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	w, err := c.need(1)
	if err != nil {
		return err
	}
	b, err := c.in(2)
	if err != nil {
		return err
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	var o fb.FullyConnectedOptions
	if err := c.options(fb.BuiltinOptionsFullyConnectedOptions, &o); err != nil {
		return err
	}
	if f := o.WeightsFormat(); f != fb.FullyConnectedOptionsWeightsFormatDEFAULT {
		return c.errorf("weights_format %v is not supported", f)
	}
	act, err := c.act(o.FusedActivationFunction())
	if err != nil {
		return err
	}
	if w.Rank() != 2 || w.Shape[1] < 1 {
		return c.errorf("weight %q has shape %v, want [out in]", w.Name, w.Shape)
	}
	in, outCh := w.Shape[1], w.Shape[0]
	if x.Rank() < 1 || x.Len()%in != 0 {
		return c.errorf("input %q of shape %v does not split into rows of %d", x.Name, x.Shape, in)
	}
	// TFLite flattens the input to [rows, in]; keep_num_dims restores the
	// input's leading dimensions on the output.
	rows := x.Len() / in
	want := []int{rows, outCh}
	if o.KeepNumDims() {
		want = append(slices.Clone(x.Shape[:x.Rank()-1]), outCh)
	}
	if !slices.Equal(want, y.Shape) {
		return c.errorf("output %q is declared %v, want %v", y.Name, y.Shape, want)
	}
	src := x
	if x.Rank() != 2 || x.Shape[1] != in {
		src = &ir.Tensor{Name: c.im.fresh(x.Name + "/rows"), DType: x.DType, Shape: []int{rows, in}, Quant: x.Quant.Clone()}
		c.emit(ir.OpReshape, []*ir.Tensor{x}, src, nil)
	}
	dst := y
	if y.Rank() != 2 {
		dst = &ir.Tensor{Name: c.im.fresh(y.Name + "/rows"), DType: y.DType, Shape: []int{rows, outCh}, Quant: y.Quant.Clone()}
	}
	c.emit(ir.OpGemm, []*ir.Tensor{src, w, b}, dst, &ir.GemmAttrs{TransB: true, Alpha: 1, Beta: 1, Act: act})
	if dst != y {
		c.emit(ir.OpReshape, []*ir.Tensor{dst}, y, nil)
	}
	return nil
}

// binaryOp converts ADD, SUB and MUL, whose options hold only a fused
// activation.
func binaryOp(c *opCtx) error {
	row := c.row()
	if err := c.arity(2, 2); err != nil {
		return err
	}
	ins, err := c.ins(2)
	if err != nil {
		return err
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	o := tfl.NewActivationOptions(row.Options)
	if err := c.options(row.Options, o); err != nil {
		return err
	}
	act, err := c.act(o.FusedActivationFunction())
	if err != nil {
		return err
	}
	c.emit(row.Op, ins, y, &ir.BinaryAttrs{Act: act})
	return nil
}

// pool converts AVERAGE_POOL_2D and MAX_POOL_2D.
func pool(c *opCtx) error {
	op := c.row().Op
	if err := c.arity(1, 1); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	if err := rank4(c, x); err != nil {
		return err
	}
	var o fb.Pool2DOptions
	if err := c.options(fb.BuiltinOptionsPool2DOptions, &o); err != nil {
		return err
	}
	kernel := [2]int{int(o.FilterHeight()), int(o.FilterWidth())}
	strides := [2]int{int(o.StrideH()), int(o.StrideW())}
	dil := [2]int{1, 1}
	pads, err := c.window(o.Padding(), [2]int{x.Shape[1], x.Shape[2]}, kernel, strides, dil)
	if err != nil {
		return err
	}
	act, err := c.act(o.FusedActivationFunction())
	if err != nil {
		return err
	}
	// TFLite's average pool divides by the number of input elements
	// under the window, padding excluded.
	c.emit(op, []*ir.Tensor{x}, y, &ir.PoolAttrs{Kernel: kernel, Strides: strides, Dilations: dil, Pads: pads, Act: act})
	return nil
}

func convertMean(c *opCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	axes, _, err := c.constInts(1)
	if err != nil {
		return err
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	var o fb.ReducerOptions
	if err := c.options(fb.BuiltinOptionsReducerOptions, &o); err != nil {
		return err
	}
	c.emit(ir.OpMean, []*ir.Tensor{x}, y, &ir.ReduceAttrs{Axes: axes, KeepDims: o.KeepDims()})
	return nil
}

// reshapeTo emits a Reshape of x to target, which must be the output's
// declared shape (an IR Reshape takes its target from its output tensor).
func (c *opCtx) reshapeTo(x *ir.Tensor, target []int) error {
	y, err := c.out()
	if err != nil {
		return err
	}
	if !slices.Equal(target, y.Shape) {
		return c.errorf("output %q is declared %v, the operator gives %v", y.Name, y.Shape, target)
	}
	c.emit(ir.OpReshape, []*ir.Tensor{x}, y, nil)
	return nil
}

func convertReshape(c *opCtx) error {
	if err := c.arity(1, 2); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	// The shape input wins over the options' new_shape, as in TFLite; with
	// neither, the output's declared shape is the target.
	var spec []int
	shapeIdx, err := c.inputIndex(1)
	if err != nil {
		return err
	}
	switch {
	case shapeIdx >= 0:
		if spec, _, err = c.constInts(1); err != nil {
			return err
		}
	default:
		var o fb.ReshapeOptions
		if err := c.options(fb.BuiltinOptionsReshapeOptions, &o); err != nil {
			return err
		}
		for j := 0; j < o.NewShapeLength(); j++ {
			spec = append(spec, int(o.NewShape(j)))
		}
		if o.NewShapeLength() == 0 {
			y, err := c.out()
			if err != nil {
				return err
			}
			spec = slices.Clone(y.Shape)
		}
	}
	target, err := resolveShape(spec, x.Len())
	if err != nil {
		return c.errorf("new shape %v for input %q %v: %v", spec, x.Name, x.Shape, err)
	}
	return c.reshapeTo(x, target)
}

// resolveShape fills in a reshape target's one -1 from the element count.
func resolveShape(spec []int, count int) ([]int, error) {
	out := slices.Clone(spec)
	known, hole := 1, -1
	for i, d := range out {
		switch {
		case d == -1 && hole < 0:
			hole = i
		case d < 0:
			return nil, fmt.Errorf("dimension %d is invalid", d)
		default:
			if d != 0 && known > maxElements/d {
				return nil, fmt.Errorf("too many elements")
			}
			known *= d
		}
	}
	if hole >= 0 {
		if known == 0 || count%known != 0 {
			return nil, fmt.Errorf("cannot infer the -1 for %d elements", count)
		}
		out[hole] = count / known
		known = count
	}
	if known != count {
		return nil, fmt.Errorf("it has %d elements, the input %d", known, count)
	}
	return out, nil
}

func convertSqueeze(c *opCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	var o fb.SqueezeOptions
	if err := c.options(fb.BuiltinOptionsSqueezeOptions, &o); err != nil {
		return err
	}
	drop := make([]bool, x.Rank())
	for j := 0; j < o.SqueezeDimsLength(); j++ {
		ax, err := ir.NormAxis(int(o.SqueezeDims(j)), x.Rank())
		if err != nil {
			return c.errorf("squeeze_dims: %v", err)
		}
		if x.Shape[ax] != 1 {
			return c.errorf("cannot squeeze dimension %d of %q %v: it is not 1", ax, x.Name, x.Shape)
		}
		drop[ax] = true
	}
	target := []int{}
	for i, d := range x.Shape {
		// No squeeze_dims means every dimension of size 1.
		if drop[i] || (o.SqueezeDimsLength() == 0 && d == 1) {
			continue
		}
		target = append(target, d)
	}
	return c.reshapeTo(x, target)
}

func convertSoftmax(c *opCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	if x.Rank() < 1 {
		return c.errorf("input %q is a scalar", x.Name)
	}
	var o fb.SoftmaxOptions
	if err := c.options(fb.BuiltinOptionsSoftmaxOptions, &o); err != nil {
		return err
	}
	c.emit(ir.OpSoftmax, []*ir.Tensor{x}, y, &ir.SoftmaxAttrs{Axis: x.Rank() - 1, Beta: o.Beta()})
	return nil
}

// clamp converts RELU6 and RELU_N1_TO_1 to a Clip to [lo, hi].
func clamp(lo, hi float32) func(*opCtx) error {
	return unaryAs(ir.OpClip, func() ir.Attrs { return &ir.ClipAttrs{Min: lo, Max: hi} })
}

// unary converts a one-to-one one-input op without options; attrs makes its
// attributes (nil: the op takes none).
func unary(attrs func() ir.Attrs) func(*opCtx) error {
	return func(c *opCtx) error {
		return unaryAs(c.row().Op, attrs)(c)
	}
}

// unaryAs converts a one-input op without options to op.
func unaryAs(op ir.Op, attrs func() ir.Attrs) func(*opCtx) error {
	return func(c *opCtx) error {
		if err := c.arity(1, 1); err != nil {
			return err
		}
		x, err := c.need(0)
		if err != nil {
			return err
		}
		y, err := c.out()
		if err != nil {
			return err
		}
		var a ir.Attrs
		if attrs != nil {
			a = attrs()
		}
		c.emit(op, []*ir.Tensor{x}, y, a)
		return nil
	}
}

// convertPad handles PAD and PADV2 (whose optional third input is the fill
// value).
func convertPad(c *opCtx) error {
	v2 := c.code.code == fb.BuiltinOperatorPADV2
	hi := 2
	if v2 {
		hi = 3
	}
	if err := c.arity(2, hi); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	p, pt, err := c.constInts(1)
	if err != nil {
		return err
	}
	r := x.Rank()
	if !slices.Equal(pt.Shape, []int{r, 2}) {
		return c.errorf("paddings %q have shape %v, want [%d 2]", pt.Name, pt.Shape, r)
	}
	pads := make([]int, 2*r)
	for i := 0; i < r; i++ {
		pads[i], pads[r+i] = p[2*i], p[2*i+1]
		if p[2*i] < 0 || p[2*i+1] < 0 {
			return c.errorf("paddings %v are negative", p)
		}
	}
	var value float32
	if v2 {
		if value, err = c.padValue(x); err != nil {
			return err
		}
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	c.emit(ir.OpPad, []*ir.Tensor{x}, y, &ir.PadAttrs{Pads: pads, Mode: ir.PadConstant, Value: value})
	return nil
}

// padValue reads PADV2's fill value in real terms (0 when left out).
func (c *opCtx) padValue(x *ir.Tensor) (float32, error) {
	v, err := c.in(2)
	if err != nil || v == nil {
		return 0, err
	}
	if !v.IsConst() || v.Len() != 1 || v.DType != x.DType {
		return 0, c.errorf("fill value %q must be a one-element %v constant", v.Name, x.DType)
	}
	var raw float64
	switch v.DType {
	case ir.Float32:
		return v.Data.F32[0], nil
	case ir.Int8:
		raw = float64(v.Data.I8[0])
	case ir.Uint8:
		raw = float64(v.Data.U8[0])
	case ir.Int32:
		raw = float64(v.Data.I32[0])
	case ir.Int64:
		raw = float64(v.Data.I64[0])
	}
	q := v.Quant
	if q == nil {
		q = x.Quant
	}
	if q == nil {
		return float32(raw), nil
	}
	return float32(float64(q.S(0)) * (raw - float64(q.ZP(0)))), nil
}

func convertTranspose(c *opCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	perm, _, err := c.constInts(1)
	if err != nil {
		return err
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	c.emit(ir.OpTranspose, []*ir.Tensor{x}, y, &ir.TransposeAttrs{Perm: perm})
	return nil
}

func convertConcat(c *opCtx) error {
	if err := c.arity(1, maxOpTensors); err != nil {
		return err
	}
	ins, err := c.ins(c.op.InputsLength())
	if err != nil {
		return err
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	var o fb.ConcatenationOptions
	if err := c.options(fb.BuiltinOptionsConcatenationOptions, &o); err != nil {
		return err
	}
	act, err := c.act(o.FusedActivationFunction())
	if err != nil {
		return err
	}
	c.emit(ir.OpConcat, ins, y, &ir.ConcatAttrs{Axis: int(o.Axis()), Act: act})
	return nil
}

func convertQuantize(c *opCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	if !y.DType.IsQuantized() || y.Quant == nil {
		return c.errorf("output %q is %v without quantization parameters, want int8 or uint8 with them", y.Name, y.DType)
	}
	c.emit(ir.OpQuantize, []*ir.Tensor{x}, y, nil)
	return nil
}

func convertDequantize(c *opCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	if x.Quant == nil || y.DType != ir.Float32 {
		return c.errorf("dequantizes %q (%v, quantized: %v) to %v; want a quantized input and a float32 output", x.Name, x.DType, x.Quant != nil, y.DType)
	}
	c.emit(ir.OpDequantize, []*ir.Tensor{x}, y, nil)
	return nil
}

// convertArgMax reads ARG_MAX: the axis is a constant input (int32 or
// int64, one entry), the axis is removed (TFLite has no keepdims), and
// ArgMaxOptions.output_type says INT32 or INT64. Where a file writes no
// options, or an options table without output_type (which reads FLOAT32,
// the schema's default), the output tensor's own type decides.
func convertArgMax(c *opCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	axis, _, err := c.constInts(1)
	if err != nil {
		return err
	}
	if len(axis) != 1 {
		return c.errorf("axis input has %d entries, want 1", len(axis))
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	var o fb.ArgMaxOptions
	if err := c.options(c.row().Options, &o); err != nil {
		return err
	}
	if t := o.OutputType(); t != fb.TensorTypeFLOAT32 {
		if dt, ok := tfl.DType(t); !ok || dt != y.DType {
			return c.errorf("output_type %v does not match output %q of type %v", t, y.Name, y.DType)
		}
	}
	if y.DType != ir.Int32 && y.DType != ir.Int64 {
		return c.errorf("output %q is %v, want int32 or int64", y.Name, y.DType)
	}
	c.emit(c.row().Op, []*ir.Tensor{x}, y, &ir.ArgMaxAttrs{Axis: axis[0], OutputType: y.DType})
	return nil
}
