package tflite

import (
	"math"
	"slices"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/mnconv/mnconv/exporters"
	tfl "github.com/mnconv/mnconv/format/tflite"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/ir"
)

// node writes one IR node as one or more file operators.
func (w *writer) node(n *ir.Node) error {
	if n.Arith == ir.ArithONNX && isQuantized(n) && !w.warnedArith {
		w.warnedArith = true
		w.opts.Warnf("tflite: node %q (%s) follows ONNX Runtime's float requantization; TFLite computes it with its fixed-point arithmetic, which can differ by a quantum", n.Name, n.Op)
	}
	switch n.Op {
	case ir.OpConv:
		return w.conv(n)
	case ir.OpGemm:
		return w.gemm(n)
	case ir.OpMatMul:
		return w.matmul(n)
	case ir.OpAdd, ir.OpSub, ir.OpMul:
		return w.binary(n)
	case ir.OpDiv:
		return w.div(n)
	case ir.OpMax, ir.OpMin:
		return w.maxMin(n)
	case ir.OpAvgPool, ir.OpMaxPool:
		return w.pool(n)
	case ir.OpMean, ir.OpReduceMax:
		return w.reduce(n)
	case ir.OpReshape:
		return w.reshape(n)
	case ir.OpTranspose:
		return w.transpose(n)
	case ir.OpConcat:
		return w.concat(n)
	case ir.OpPad:
		return w.pad(n)
	case ir.OpSoftmax:
		return w.softmax(n)
	case ir.OpSigmoid:
		return w.oneToOne(n, int8Version(n.In(0), 2))
	case ir.OpHardSwish:
		return w.oneToOne(n, 1)
	case ir.OpRelu:
		return w.oneToOne(n, reluVersion(n.In(0)))
	case ir.OpClip:
		return w.clip(n)
	case ir.OpHardSigmoid:
		return w.hardSigmoid(n)
	case ir.OpBatchNorm:
		return w.batchNorm(n)
	case ir.OpQuantize:
		if n.Out().Quant == nil || !n.Out().DType.IsQuantized() {
			return n.Errorf("output %q is %v without quantization parameters; TFLite's QUANTIZE needs an int8 or uint8 output with them", n.Out().Name, n.Out().DType)
		}
		return w.oneToOne(n, 1)
	case ir.OpDequantize:
		if n.In(0).Quant == nil || n.Out().DType != ir.Float32 {
			return n.Errorf("TFLite's DEQUANTIZE needs a quantized input and a float32 output")
		}
		return w.oneToOne(n, int8Version(n.In(0), 2))
	case ir.OpArgMax:
		return w.argMax(n)
	case ir.OpDetectionPostProcess:
		return w.detectionPostProcess(n)
	case ir.OpResize:
		return w.resize(n)
	case ir.OpIdentity:
		// TFLite has no identity op; readers of the output read the input.
		w.alias[n.Out()] = n.In(0)
		return nil
	}
	return n.Errorf("has no TFLite equivalent in this exporter")
}

// isQuantized reports whether n touches an 8-bit tensor with quantization
// parameters.
func isQuantized(n *ir.Node) bool {
	for _, t := range append(slices.Clone(n.Inputs), n.Outputs...) {
		if t != nil && t.DType.IsQuantized() && t.Quant != nil {
			return true
		}
	}
	return false
}

// int8Version is v when t is int8 (TFLite versions most ops up for signed
// 8-bit kernels), else 1.
func int8Version(t *ir.Tensor, v int32) int32 {
	if t != nil && t.DType == ir.Int8 {
		return v
	}
	return 1
}

// reluVersion: RELU is version 2 for both 8-bit types.
func reluVersion(t *ir.Tensor) int32 {
	if t.DType.IsQuantized() {
		return 2
	}
	return 1
}

func allInt8(ts ...*ir.Tensor) bool {
	for _, t := range ts {
		if t == nil || t.DType != ir.Int8 {
			return false
		}
	}
	return true
}

// sameQuant reports whether two tensors hold their values the same way, so
// that an op that moves raw values (reshape, transpose, pad, max, min) needs
// no rescaling between them.
func sameQuant(a, b *ir.Tensor) bool {
	return a.DType == b.DType && a.Quant.Equal(b.Quant)
}

func actType(n *ir.Node, a ir.Activation) (fb.ActivationFunctionType, error) {
	if t, ok := tfl.ActivationType(a); ok {
		return t, nil
	}
	return 0, n.Errorf("fused activation %v has no TFLite equivalent", a)
}

// actOp writes activation act as an operator of its own from src to dst.
func (w *writer) actOp(n *ir.Node, act ir.Activation, src, dst *ftensor, like *ir.Tensor) error {
	switch act {
	case ir.ActRelu:
		w.emit(&fop{code: fb.BuiltinOperatorRELU, version: reluVersion(like), inputs: []*ftensor{src}, outputs: []*ftensor{dst}})
	case ir.ActRelu6:
		w.emit(&fop{code: fb.BuiltinOperatorRELU6, version: int8Version(like, 2), inputs: []*ftensor{src}, outputs: []*ftensor{dst}})
	case ir.ActReluN1To1:
		w.emit(&fop{code: fb.BuiltinOperatorRELU_N1_TO_1, version: 1, inputs: []*ftensor{src}, outputs: []*ftensor{dst}})
	default:
		return n.Errorf("fused activation %v has no TFLite equivalent", act)
	}
	return nil
}

// output returns where an op without a fused activation writes y: y itself
// when act is none, else an intermediate that finish runs act on into y.
func (w *writer) output(n *ir.Node, act ir.Activation) (dst *ftensor, finish func() error, err error) {
	y := n.Out()
	yt, err := w.tensor(y)
	if err != nil {
		return nil, nil, err
	}
	if act == ir.ActNone {
		return yt, func() error { return nil }, nil
	}
	mid, err := w.activation(y.Name+"/preact", y, y.Shape)
	if err != nil {
		return nil, nil, err
	}
	return mid, func() error { return w.actOp(n, act, mid, yt, y) }, nil
}

// tflitePadding returns the TFLite padding whose pads equal the explicit
// pads [top, left, bottom, right] for a window of size k over in: VALID for
// none, SAME when they are what TFLite computes for SAME (tfl.SamePads). ok
// is false when neither fits.
func tflitePadding(in, k, strides, dilations [2]int, pads [4]int) (p fb.Padding, ok bool) {
	if pads == [4]int{} {
		return fb.PaddingVALID, true
	}
	if pads == tfl.SamePads(in, k, strides, dilations) {
		return fb.PaddingSAME, true
	}
	return fb.PaddingVALID, false
}

// padded writes a PAD (or PADV2 with fill value fill, given in x's stored
// type) of NHWC x by pads [top, left, bottom, right] and returns the padded
// tensor, for window ops whose pads TFLite's SAME cannot express.
func (w *writer) padded(n *ir.Node, x *ir.Tensor, pads [4]int, fill *ftensor) (*ftensor, error) {
	xt, err := w.tensor(x)
	if err != nil {
		return nil, err
	}
	paddings, err := w.int32Const(n.Name+"/paddings", []int{4, 2}, []int{0, 0, pads[0], pads[2], pads[1], pads[3], 0, 0})
	if err != nil {
		return nil, err
	}
	shape := []int{x.Shape[0], x.Shape[1] + pads[0] + pads[2], x.Shape[2] + pads[1] + pads[3], x.Shape[3]}
	xp, err := w.activation(x.Name+"/padded", x, shape)
	if err != nil {
		return nil, err
	}
	op := &fop{code: fb.BuiltinOperatorPAD, version: int8Version(x, 2), inputs: []*ftensor{xt, paddings}, outputs: []*ftensor{xp},
		optType: fb.BuiltinOptionsPadOptions, options: emptyOptions(fb.PadOptionsStart, fb.PadOptionsEnd)}
	if fill != nil {
		op.code = fb.BuiltinOperatorPADV2
		op.inputs = append(op.inputs, fill)
		op.optType, op.options = fb.BuiltinOptionsPadV2Options, emptyOptions(fb.PadV2OptionsStart, fb.PadV2OptionsEnd)
	}
	w.emit(op)
	return xp, nil
}

func emptyOptions(start func(*flatbuffers.Builder), end func(*flatbuffers.Builder) flatbuffers.UOffsetT) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		start(b)
		return end(b)
	}
}

func (w *writer) conv(n *ir.Node) error {
	a := n.Attrs.(*ir.ConvAttrs)
	x, wt, y := n.In(0), n.In(1), n.Out()
	act, err := actType(n, a.Act)
	if err != nil {
		return err
	}
	k := [2]int{wt.Shape[1], wt.Shape[2]}
	pad, ok := tflitePadding([2]int{x.Shape[1], x.Shape[2]}, k, a.Strides, a.Dilations, a.Pads)
	if !ok && w.opts.PadMode == exporters.PadGrow {
		if grown := growForSame(n); grown != nil {
			return w.conv(grown)
		}
	}
	var xt *ftensor
	if ok {
		xt, err = w.tensor(x)
	} else {
		// PAD fills with zero, and a quantized PAD with the zero point:
		// the real zero a convolution's padding means either way.
		xt, err = w.padded(n, x, a.Pads, nil)
	}
	if err != nil {
		return err
	}
	bias, err := w.convBias(n)
	if err != nil {
		return err
	}
	yt, err := w.tensor(y)
	if err != nil {
		return err
	}
	sh, sw, dh, dw := int32(a.Strides[0]), int32(a.Strides[1]), int32(a.Dilations[0]), int32(a.Dilations[1])
	if n.IsDepthwise() {
		if !wt.IsConst() {
			return n.Errorf("depthwise weight %q is not a constant; TFLite's DEPTHWISE_CONV_2D needs one", wt.Name)
		}
		wf, err := w.depthwiseWeight(n, wt)
		if err != nil {
			return err
		}
		mult := int32(wt.Shape[0] / x.Shape[3])
		version := int32(1)
		switch {
		case allInt8(x, wt, y):
			version = 3
		case dh != 1 || dw != 1:
			version = 2
		}
		w.emit(&fop{code: fb.BuiltinOperatorDEPTHWISE_CONV_2D, version: version, inputs: []*ftensor{xt, wf, bias}, outputs: []*ftensor{yt},
			optType: fb.BuiltinOptionsDepthwiseConv2DOptions,
			options: func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
				fb.DepthwiseConv2DOptionsStart(b)
				fb.DepthwiseConv2DOptionsAddPadding(b, pad)
				fb.DepthwiseConv2DOptionsAddStrideW(b, sw)
				fb.DepthwiseConv2DOptionsAddStrideH(b, sh)
				fb.DepthwiseConv2DOptionsAddDepthMultiplier(b, mult)
				fb.DepthwiseConv2DOptionsAddFusedActivationFunction(b, act)
				fb.DepthwiseConv2DOptionsAddDilationWFactor(b, dw)
				fb.DepthwiseConv2DOptionsAddDilationHFactor(b, dh)
				return fb.DepthwiseConv2DOptionsEnd(b)
			}})
		return nil
	}
	wf, err := w.tensor(wt)
	if err != nil {
		return err
	}
	version := int32(1)
	switch {
	case a.Group > 1:
		// TFLite runs a grouped convolution (since 2.9) when the filter's
		// input channels divide the input's: the IR's weight layout is
		// already that, only the version says so.
		version = 6
	case allInt8(x, wt, y):
		version = 3
	}
	w.emit(&fop{code: fb.BuiltinOperatorCONV_2D, version: version, inputs: []*ftensor{xt, wf, bias}, outputs: []*ftensor{yt},
		optType: fb.BuiltinOptionsConv2DOptions,
		options: func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
			fb.Conv2DOptionsStart(b)
			fb.Conv2DOptionsAddPadding(b, pad)
			fb.Conv2DOptionsAddStrideW(b, sw)
			fb.Conv2DOptionsAddStrideH(b, sh)
			fb.Conv2DOptionsAddFusedActivationFunction(b, act)
			fb.Conv2DOptionsAddDilationWFactor(b, dw)
			fb.Conv2DOptionsAddDilationHFactor(b, dh)
			return fb.Conv2DOptionsEnd(b)
		}})
	return nil
}

// convBias returns a convolution's bias, or a zero one when the node has
// none: TFLite's converter always writes one, and so some delegates expect
// it. A quantized zero bias gets the scales TFLite's int32 bias has (input
// scale times each weight scale).
func (w *writer) convBias(n *ir.Node) (*ftensor, error) {
	if b := n.In(2); b != nil {
		return w.tensor(b)
	}
	x, wt := n.In(0), n.In(1)
	outCh := wt.Shape[0]
	name := n.Out().Name + "/bias"
	switch {
	case x.Quant == nil && wt.Quant == nil:
		return w.f32Const(name, []int{outCh}, make([]float32, outCh))
	case x.Quant != nil && wt.Quant != nil:
		q := &ir.Quant{Axis: 0}
		for c := range len(wt.Quant.Scale) {
			q.Scale = append(q.Scale, float32(float64(x.Quant.S(0))*float64(wt.Quant.S(c))))
			q.ZeroPoint = append(q.ZeroPoint, 0)
		}
		return w.newTensor(w.fresh(name), ir.Int32, []int{outCh}, q, make([]byte, 4*outCh))
	}
	return nil, n.Errorf("input %q and weight %q mix float and quantized tensors (hybrid convolutions are not supported)", x.Name, wt.Name)
}

// depthwiseWeight writes the IR's depthwise weight [C*M,KH,KW,1] in
// TFLite's layout [1,KH,KW,C*M], a per-channel axis 0 becoming 3. It keeps
// the IR tensor's name.
func (w *writer) depthwiseWeight(n *ir.Node, t *ir.Tensor) (*ftensor, error) {
	key := derivedKey{t, "depthwise"}
	if ft := w.derived[key]; ft != nil {
		return ft, nil
	}
	cm, kh, kw := t.Shape[0], t.Shape[1], t.Shape[2]
	q := t.Quant.Clone()
	if q.PerAxis() {
		if q.Axis != 0 {
			return nil, n.Errorf("depthwise weight %q is quantized along axis %d, want 0 (output channels)", t.Name, q.Axis)
		}
		q.Axis = 3
	}
	data := encode(t.DType, tfl.DepthwiseFromIR(t.Data, kh, kw, cm))
	ft, err := w.newTensor(w.claim(t.Name), t.DType, []int{1, kh, kw, cm}, q, data)
	if err != nil {
		return nil, err
	}
	w.derived[key] = ft
	return ft, nil
}

// transposedMatrix writes constant matrix t [K,N] as [N,K] (a MatMul's or an
// untransposed Gemm's weight turned into FULLY_CONNECTED's [out,in]); a
// per-channel axis 1 becomes 0.
func (w *writer) transposedMatrix(n *ir.Node, t *ir.Tensor) (*ftensor, error) {
	key := derivedKey{t, "transposed"}
	if ft := w.derived[key]; ft != nil {
		return ft, nil
	}
	if !t.IsConst() || t.Rank() != 2 {
		return nil, n.Errorf("weight %q must be a constant matrix to be written as TFLite's [out,in]", t.Name)
	}
	q := t.Quant.Clone()
	if q.PerAxis() {
		if q.Axis != 1 {
			return nil, n.Errorf("weight %q is quantized along axis %d; FULLY_CONNECTED wants per output channel (axis 1 of [in,out])", t.Name, q.Axis)
		}
		q.Axis = 0
	}
	k, m := t.Shape[0], t.Shape[1]
	ft, err := w.newTensor(w.claim(t.Name), t.DType, []int{m, k}, q, encode(t.DType, tfl.TransposeMatrix(t.Data, k, m)))
	if err != nil {
		return nil, err
	}
	w.derived[key] = ft
	return ft, nil
}

// fcPlan is how a Gemm becomes a FULLY_CONNECTED: src and dst are the
// tensors it reads and writes after absorbing a Reshape on either side
// (TFLite's FULLY_CONNECTED flattens its input itself, and with
// keep_num_dims restores the input's leading dimensions on its output).
type fcPlan struct {
	src, dst *ir.Tensor
	keep     bool
}

// planFullyConnected finds, for each Gemm, the Reshapes it can absorb:
//
//	Reshape(x)->[rows,in] -> Gemm           =>  FULLY_CONNECTED(x)
//	Gemm -> Reshape->x.shape[:-1]+[out]     =>  FULLY_CONNECTED{keep_num_dims}
//
// which is exactly what the importer makes of those FULLY_CONNECTED forms.
// Only Reshapes split off the same file operator are absorbed: the importer
// gives the nodes of one operator the same ir.Origin. A Reshape of its own
// (a Flatten) stays a RESHAPE, as
// TFLite's converter writes it, so that the operator structure survives a
// round trip. A Reshape is absorbed only when the Gemm is its sole reader
// and its output is no graph output.
func (w *writer) planFullyConnected() {
	for _, n := range w.g.Nodes {
		if n.Op != ir.OpGemm {
			continue
		}
		a := n.Attrs.(*ir.GemmAttrs)
		if a.TransA {
			continue
		}
		wt := n.In(1)
		in, out := wt.Shape[1], wt.Shape[0]
		if !a.TransB {
			in, out = out, in
		}
		p := &fcPlan{src: n.In(0), dst: n.Out()}
		x := n.In(0)
		if r := w.prod[x]; r != nil && r.Op == ir.OpReshape && !w.skip[r] && len(w.cons[x]) == 1 && !w.outputs[x] &&
			sameQuant(r.In(0), x) && r.In(0).Rank() >= 1 && ir.SameOrigin(r, n) {
			p.src = r.In(0)
			w.skip[r] = true
		}
		y := n.Out()
		if cs := w.cons[y]; len(cs) == 1 && cs[0].Op == ir.OpReshape && !w.outputs[y] && sameQuant(y, cs[0].Out()) && ir.SameOrigin(cs[0], n) &&
			p.src.Rank() >= 1 && p.src.Shape[p.src.Rank()-1] == in {
			want := append(slices.Clone(p.src.Shape[:p.src.Rank()-1]), out)
			if r := cs[0]; slices.Equal(r.Out().Shape, want) {
				p.dst = r.Out()
				p.keep = p.src.Rank() != 2
				w.skip[r] = true
			}
		}
		w.fc[n] = p
	}
}

func (w *writer) gemm(n *ir.Node) error {
	a := n.Attrs.(*ir.GemmAttrs)
	wt, c := n.In(1), n.In(2)
	switch {
	case a.TransA:
		return n.Errorf("transA has no TFLite equivalent")
	case a.Alpha != 1:
		return n.Errorf("alpha %g has no TFLite equivalent (fold it into the weight first)", a.Alpha)
	case c != nil && a.Beta != 1:
		return n.Errorf("beta %g has no TFLite equivalent (fold it into the bias first)", a.Beta)
	}
	act, err := actType(n, a.Act)
	if err != nil {
		return err
	}
	p := w.fc[n]
	xt, err := w.tensor(p.src)
	if err != nil {
		return err
	}
	var wf *ftensor
	if a.TransB {
		wf, err = w.tensor(wt)
	} else {
		wf, err = w.transposedMatrix(n, wt)
	}
	if err != nil {
		return err
	}
	outCh := n.Out().Shape[1]
	var bias *ftensor
	if c != nil {
		if bias, err = w.vectorBias(n, c, outCh); err != nil {
			return err
		}
	}
	yt, err := w.tensor(p.dst)
	if err != nil {
		return err
	}
	w.fullyConnected(xt, wf, bias, yt, act, p.keep, allInt8(n.In(0), wt, n.Out()))
	return nil
}

func (w *writer) fullyConnected(x, wt, bias, y *ftensor, act fb.ActivationFunctionType, keep, int8 bool) {
	version := int32(1)
	switch {
	case keep:
		version = 5
	case int8:
		version = 4
	}
	// A missing bias is written as the optional input -1, which every
	// FULLY_CONNECTED version reads.
	w.emit(&fop{code: fb.BuiltinOperatorFULLY_CONNECTED, version: version, inputs: []*ftensor{x, wt, bias}, outputs: []*ftensor{y},
		optType: fb.BuiltinOptionsFullyConnectedOptions,
		options: func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
			fb.FullyConnectedOptionsStart(b)
			fb.FullyConnectedOptionsAddFusedActivationFunction(b, act)
			fb.FullyConnectedOptionsAddKeepNumDims(b, keep)
			return fb.FullyConnectedOptionsEnd(b)
		}})
}

// vectorBias returns a Gemm bias as FULLY_CONNECTED's [out] vector; a
// constant [1,out] is written with shape [out].
func (w *writer) vectorBias(n *ir.Node, c *ir.Tensor, outCh int) (*ftensor, error) {
	if c.Len() != outCh {
		return nil, n.Errorf("bias %q has shape %v; FULLY_CONNECTED needs one value per output (%d)", c.Name, c.Shape, outCh)
	}
	if c.Rank() == 1 {
		return w.tensor(c)
	}
	if !c.IsConst() {
		return nil, n.Errorf("bias %q of shape %v is not a constant; FULLY_CONNECTED needs a [%d] vector", c.Name, c.Shape, outCh)
	}
	key := derivedKey{c, "vector"}
	if ft := w.derived[key]; ft != nil {
		return ft, nil
	}
	q := c.Quant.Clone()
	if q.PerAxis() {
		q.Axis = 0
	}
	ft, err := w.newTensor(w.claim(c.Name), c.DType, []int{outCh}, q, encode(c.DType, c.Data))
	if err != nil {
		return nil, err
	}
	w.derived[key] = ft
	return ft, nil
}

// matmul writes x @ B with a constant 2-D B as FULLY_CONNECTED (B
// transposed to [out,in], keep_num_dims for inputs of rank above 2), which
// every TFLite build and delegate runs; anything else as BATCH_MATMUL.
func (w *writer) matmul(n *ir.Node) error {
	x, m, y := n.In(0), n.In(1), n.Out()
	xt, err := w.tensor(x)
	if err != nil {
		return err
	}
	yt, err := w.tensor(y)
	if err != nil {
		return err
	}
	if m.IsConst() && m.Rank() == 2 && x.Rank() >= 2 {
		wf, err := w.transposedMatrix(n, m)
		if err != nil {
			return err
		}
		w.fullyConnected(xt, wf, nil, yt, fb.ActivationFunctionTypeNONE, x.Rank() > 2, allInt8(x, m, y))
		return nil
	}
	if x.Rank() < 2 || m.Rank() < 2 {
		return n.Errorf("BATCH_MATMUL needs inputs of rank 2 or more, got %v and %v", x.Shape, m.Shape)
	}
	mt, err := w.tensor(m)
	if err != nil {
		return err
	}
	w.emit(&fop{code: fb.BuiltinOperatorBATCH_MATMUL, version: int8Version(x, 2), inputs: []*ftensor{xt, mt}, outputs: []*ftensor{yt}})
	return nil
}

func (w *writer) binary(n *ir.Node) error {
	a := n.Attrs.(*ir.BinaryAttrs)
	act, err := actType(n, a.Act)
	if err != nil {
		return err
	}
	x0, x1, y := n.In(0), n.In(1), n.Out()
	ins, err := w.tensorsOf(x0, x1)
	if err != nil {
		return err
	}
	yt, err := w.tensor(y)
	if err != nil {
		return err
	}
	row := tfl.MustCode(n.Op)
	op := &fop{code: row.Code, inputs: ins, outputs: []*ftensor{yt}, version: 1, optType: row.Options,
		options: func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
			return tfl.WriteActivationOptions(b, row.Options, act)
		}}
	int8 := x0.DType == ir.Int8
	broadcast5 := !slices.Equal(x0.Shape, x1.Shape) && max(x0.Rank(), x1.Rank()) > 4
	switch n.Op {
	case ir.OpAdd:
		op.version = int8Version(x0, 2)
	case ir.OpSub:
		switch {
		case broadcast5:
			op.version = 3
		case int8:
			op.version = 2
		}
	case ir.OpMul:
		switch {
		case x0.Quant != nil && x1.Quant != nil && y.Quant != nil &&
			float64(x0.Quant.S(0))*float64(x1.Quant.S(0))/float64(y.Quant.S(0)) >= 1:
			// Version 3 is the kernel that accepts a rescale of 1 or more.
			op.version = 3
		case int8:
			op.version = 2
		}
	}
	w.emit(op)
	return nil
}

func (w *writer) tensorsOf(ts ...*ir.Tensor) ([]*ftensor, error) {
	out := make([]*ftensor, len(ts))
	for i, t := range ts {
		var err error
		if out[i], err = w.tensor(t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// div writes DIV (float only; TFLite's quantized DIV is uint8-only and
// differently scaled). The schema subset has no DivOptions, so a fused
// activation becomes its own operator.
func (w *writer) div(n *ir.Node) error {
	if isQuantized(n) {
		return n.Errorf("quantized Div has no TFLite equivalent in this exporter")
	}
	ins, err := w.tensorsOf(n.In(0), n.In(1))
	if err != nil {
		return err
	}
	dst, finish, err := w.output(n, n.FusedAct())
	if err != nil {
		return err
	}
	version := int32(1)
	if !slices.Equal(n.In(0).Shape, n.In(1).Shape) && max(n.In(0).Rank(), n.In(1).Rank()) > 4 {
		version = 2
	}
	w.emit(&fop{code: fb.BuiltinOperatorDIV, version: version, inputs: ins, outputs: []*ftensor{dst}})
	return finish()
}

// maxMin writes MAXIMUM / MINIMUM. TFLite compares raw values, so the
// quantized form needs all three tensors quantized alike.
func (w *writer) maxMin(n *ir.Node) error {
	x0, x1, y := n.In(0), n.In(1), n.Out()
	if isQuantized(n) && !(sameQuant(x0, y) && sameQuant(x1, y)) {
		return n.Errorf("quantized %s needs inputs and output with the same quantization (TFLite compares raw values)", n.Op)
	}
	ins, err := w.tensorsOf(x0, x1)
	if err != nil {
		return err
	}
	dst, finish, err := w.output(n, n.FusedAct())
	if err != nil {
		return err
	}
	code := fb.BuiltinOperatorMAXIMUM
	if n.Op == ir.OpMin {
		code = fb.BuiltinOperatorMINIMUM
	}
	w.emit(&fop{code: code, version: maxMinVersion(x0, x1), inputs: ins, outputs: []*ftensor{dst}})
	return finish()
}

func maxMinVersion(x0, x1 *ir.Tensor) int32 {
	switch {
	case !slices.Equal(x0.Shape, x1.Shape) && max(x0.Rank(), x1.Rank()) > 4:
		return 3
	case x0.DType == ir.Int8:
		return 2
	}
	return 1
}

func (w *writer) pool(n *ir.Node) error {
	a := n.Attrs.(*ir.PoolAttrs)
	x, y := n.In(0), n.Out()
	if a.Dilations != [2]int{1, 1} && a.Dilations != [2]int{} {
		return n.Errorf("dilations %v: TFLite's pooling has none", a.Dilations)
	}
	if n.Op == ir.OpMaxPool && isQuantized(n) && !sameQuant(x, y) {
		return n.Errorf("quantized MaxPool needs the same quantization on input and output")
	}
	in := [2]int{x.Shape[1], x.Shape[2]}
	if a.CeilMode {
		for i := 0; i < 2; i++ {
			floor := ir.ConvOutSize(in[i], a.Kernel[i], a.Strides[i], 1, a.Pads[i], a.Pads[i+2], false)
			if floor != y.Shape[1+i] {
				return n.Errorf("ceil_mode changes the output size (%d, not %d); TFLite's pooling rounds down", y.Shape[1+i], floor)
			}
		}
	}
	act, err := actType(n, a.Act)
	if err != nil {
		return err
	}
	pad, ok := tflitePadding(in, a.Kernel, a.Strides, [2]int{1, 1}, a.Pads)
	var xt *ftensor
	switch {
	case ok && !(n.Op == ir.OpAvgPool && a.CountIncludePad && pad == fb.PaddingSAME):
		// TFLite's SAME leaves padding out of both the max and the
		// average's count, as the IR's pooling does unless
		// CountIncludePad.
		xt, err = w.tensor(x)
	case n.Op == ir.OpAvgPool && a.CountIncludePad:
		// Zeros padded in explicitly are counted, as asked.
		xt, err = w.padded(n, x, a.Pads, nil)
		pad = fb.PaddingVALID
	case n.Op == ir.OpMaxPool:
		// A fill below every value keeps padding out of the maximum.
		var fill *ftensor
		if fill, err = w.lowestValue(n, x); err == nil {
			xt, err = w.padded(n, x, a.Pads, fill)
		}
		pad = fb.PaddingVALID
	default:
		return n.Errorf("pads %v are not TFLite's SAME for this window, and an average that leaves padding out of its count cannot be written with explicit padding", a.Pads)
	}
	if err != nil {
		return err
	}
	yt, err := w.tensor(y)
	if err != nil {
		return err
	}
	code := tfl.MustCode(n.Op).Code
	kh, kw, sh, sw := int32(a.Kernel[0]), int32(a.Kernel[1]), int32(a.Strides[0]), int32(a.Strides[1])
	w.emit(&fop{code: code, version: int8Version(x, 2), inputs: []*ftensor{xt}, outputs: []*ftensor{yt},
		optType: fb.BuiltinOptionsPool2DOptions,
		options: func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
			fb.Pool2DOptionsStart(b)
			fb.Pool2DOptionsAddPadding(b, pad)
			fb.Pool2DOptionsAddStrideW(b, sw)
			fb.Pool2DOptionsAddStrideH(b, sh)
			fb.Pool2DOptionsAddFilterWidth(b, kw)
			fb.Pool2DOptionsAddFilterHeight(b, kh)
			fb.Pool2DOptionsAddFusedActivationFunction(b, act)
			return fb.Pool2DOptionsEnd(b)
		}})
	return nil
}

// lowestValue is a scalar of x's type below (or at) every value x can hold,
// PADV2's fill for a max pool.
func (w *writer) lowestValue(n *ir.Node, x *ir.Tensor) (*ftensor, error) {
	name := n.Name + "/lowest"
	switch x.DType {
	case ir.Float32:
		return w.f32Const(name, nil, []float32{-math.MaxFloat32})
	case ir.Int8:
		return w.newTensor(w.fresh(name), x.DType, nil, x.Quant, []byte{0x80})
	case ir.Uint8:
		return w.newTensor(w.fresh(name), x.DType, nil, x.Quant, []byte{0})
	}
	return nil, n.Errorf("max pool over %v has no TFLite padding value", x.DType)
}

func (w *writer) reduce(n *ir.Node) error {
	a := n.Attrs.(*ir.ReduceAttrs)
	x, y := n.In(0), n.Out()
	xt, err := w.tensor(x)
	if err != nil {
		return err
	}
	axes, err := w.int32Const(y.Name+"/axes", []int{len(a.Axes)}, a.Axes)
	if err != nil {
		return err
	}
	yt, err := w.tensor(y)
	if err != nil {
		return err
	}
	code := fb.BuiltinOperatorMEAN
	if n.Op == ir.OpReduceMax {
		code = fb.BuiltinOperatorREDUCE_MAX
	}
	keep := a.KeepDims
	w.emit(&fop{code: code, version: int8Version(x, 2), inputs: []*ftensor{xt, axes}, outputs: []*ftensor{yt},
		optType: fb.BuiltinOptionsReducerOptions,
		options: func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
			fb.ReducerOptionsStart(b)
			fb.ReducerOptionsAddKeepDims(b, keep)
			return fb.ReducerOptionsEnd(b)
		}})
	return nil
}

// reshape writes RESHAPE with the target both as the shape input (what
// current TFLite reads) and as new_shape (what older readers read).
func (w *writer) reshape(n *ir.Node) error {
	x, y := n.In(0), n.Out()
	if isQuantized(n) && !sameQuant(x, y) {
		return n.Errorf("quantized Reshape changes the quantization; TFLite's RESHAPE moves raw values")
	}
	xt, err := w.tensor(x)
	if err != nil {
		return err
	}
	yt, err := w.tensor(y)
	if err != nil {
		return err
	}
	return w.reshapeOp(xt, yt, y.Name, y.Shape)
}

// reshapeOp writes RESHAPE of xt into yt, whose shape is shape; name names
// the shape constant.
func (w *writer) reshapeOp(xt, yt *ftensor, name string, shape []int) error {
	ins := []*ftensor{xt}
	if len(shape) > 0 {
		st, err := w.int32Const(name+"/shape", []int{len(shape)}, shape)
		if err != nil {
			return err
		}
		ins = append(ins, st)
	}
	shape = slices.Clone(shape)
	w.emit(&fop{code: fb.BuiltinOperatorRESHAPE, version: 1, inputs: ins, outputs: []*ftensor{yt},
		optType: fb.BuiltinOptionsReshapeOptions,
		options: func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
			var vec flatbuffers.UOffsetT
			if len(shape) > 0 {
				fb.ReshapeOptionsStartNewShapeVector(b, len(shape))
				for i := len(shape) - 1; i >= 0; i-- {
					b.PrependInt32(int32(shape[i]))
				}
				vec = b.EndVector(len(shape))
			}
			fb.ReshapeOptionsStart(b)
			if len(shape) > 0 {
				fb.ReshapeOptionsAddNewShape(b, vec)
			}
			return fb.ReshapeOptionsEnd(b)
		}})
	return nil
}

func (w *writer) transpose(n *ir.Node) error {
	a := n.Attrs.(*ir.TransposeAttrs)
	x, y := n.In(0), n.Out()
	if isQuantized(n) && !sameQuant(x, y) {
		return n.Errorf("quantized Transpose changes the quantization; TFLite's TRANSPOSE moves raw values")
	}
	xt, err := w.tensor(x)
	if err != nil {
		return err
	}
	perm, err := w.int32Const(y.Name+"/perm", []int{len(a.Perm)}, a.Perm)
	if err != nil {
		return err
	}
	yt, err := w.tensor(y)
	if err != nil {
		return err
	}
	version := int8Version(x, 2)
	if x.Rank() > 4 {
		version = 4
	}
	w.emit(&fop{code: fb.BuiltinOperatorTRANSPOSE, version: version, inputs: []*ftensor{xt, perm}, outputs: []*ftensor{yt},
		optType: fb.BuiltinOptionsTransposeOptions, options: emptyOptions(fb.TransposeOptionsStart, fb.TransposeOptionsEnd)})
	return nil
}

func (w *writer) concat(n *ir.Node) error {
	a := n.Attrs.(*ir.ConcatAttrs)
	act, err := actType(n, a.Act)
	if err != nil {
		return err
	}
	ins, err := w.tensorsOf(n.Inputs...)
	if err != nil {
		return err
	}
	if ins, err = w.requantizeConcatInputs(n, ins); err != nil {
		return err
	}
	yt, err := w.tensor(n.Out())
	if err != nil {
		return err
	}
	axis := int32(a.Axis)
	w.emit(&fop{code: fb.BuiltinOperatorCONCATENATION, version: int8Version(n.In(0), 2), inputs: ins, outputs: []*ftensor{yt},
		optType: fb.BuiltinOptionsConcatenationOptions,
		options: func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
			fb.ConcatenationOptionsStart(b)
			fb.ConcatenationOptionsAddAxis(b, axis)
			fb.ConcatenationOptionsAddFusedActivationFunction(b, act)
			return fb.ConcatenationOptionsEnd(b)
		}})
	return nil
}

// pad writes PAD, or PADV2 when the fill is not the (real) zero that PAD
// writes.
func (w *writer) pad(n *ir.Node) error {
	a := n.Attrs.(*ir.PadAttrs)
	x, y := n.In(0), n.Out()
	if a.Mode != ir.PadConstant {
		return n.Errorf("%v padding has no TFLite equivalent in this exporter (constant only)", a.Mode)
	}
	if isQuantized(n) && !sameQuant(x, y) {
		return n.Errorf("quantized Pad changes the quantization; TFLite's PAD moves raw values")
	}
	r := x.Rank()
	p := make([]int, 2*r)
	for i := 0; i < r; i++ {
		p[2*i], p[2*i+1] = a.Pads[i], a.Pads[r+i]
	}
	xt, err := w.tensor(x)
	if err != nil {
		return err
	}
	paddings, err := w.int32Const(y.Name+"/paddings", []int{r, 2}, p)
	if err != nil {
		return err
	}
	yt, err := w.tensor(y)
	if err != nil {
		return err
	}
	fill, err := w.padFill(n, x, a.Value)
	if err != nil {
		return err
	}
	version := int8Version(x, 2)
	if r > 4 {
		version = 4
	}
	op := &fop{code: fb.BuiltinOperatorPAD, version: version, inputs: []*ftensor{xt, paddings}, outputs: []*ftensor{yt},
		optType: fb.BuiltinOptionsPadOptions, options: emptyOptions(fb.PadOptionsStart, fb.PadOptionsEnd)}
	if fill != nil {
		op.code = fb.BuiltinOperatorPADV2
		op.inputs = append(op.inputs, fill)
		op.optType, op.options = fb.BuiltinOptionsPadV2Options, emptyOptions(fb.PadV2OptionsStart, fb.PadV2OptionsEnd)
	}
	w.emit(op)
	return nil
}

// padFill returns PADV2's scalar fill for real value v in x's type, or nil
// when v is what PAD fills with anyway (zero, the zero point when
// quantized).
func (w *writer) padFill(n *ir.Node, x *ir.Tensor, v float32) (*ftensor, error) {
	name := n.Out().Name + "/fill"
	q := x.Quant
	switch {
	case x.DType == ir.Float32:
		if v == 0 {
			return nil, nil
		}
		return w.f32Const(name, nil, []float32{v})
	case x.DType.IsQuantized() && q != nil:
		lo, hi := x.DType.Range()
		raw := min(max(int64(math.Round(float64(v)/float64(q.S(0))))+q.ZP(0), lo), hi)
		if raw == q.ZP(0) {
			return nil, nil
		}
		return w.newTensor(w.fresh(name), x.DType, nil, q, []byte{byte(raw)})
	case v == 0:
		return nil, nil
	}
	return nil, n.Errorf("fill value %g for a %v pad without quantization is not supported", v, x.DType)
}

func (w *writer) softmax(n *ir.Node) error {
	a := n.Attrs.(*ir.SoftmaxAttrs)
	x := n.In(0)
	if a.Axis != x.Rank()-1 && a.Axis != -1 {
		return n.Errorf("softmax along axis %d of rank %d; TFLite's SOFTMAX works on the last axis", a.Axis, x.Rank())
	}
	ins, err := w.tensorsOf(x)
	if err != nil {
		return err
	}
	yt, err := w.tensor(n.Out())
	if err != nil {
		return err
	}
	beta := a.Beta
	w.emit(&fop{code: fb.BuiltinOperatorSOFTMAX, version: int8Version(x, 2), inputs: ins, outputs: []*ftensor{yt},
		optType: fb.BuiltinOptionsSoftmaxOptions,
		options: func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
			fb.SoftmaxOptionsStart(b)
			fb.SoftmaxOptionsAddBeta(b, beta)
			return fb.SoftmaxOptionsEnd(b)
		}})
	return nil
}

// oneToOne writes n as the builtin of its op in tfl.OpCodes, a one-input
// operator without options.
func (w *writer) oneToOne(n *ir.Node, version int32) error {
	return w.unary(n, tfl.MustCode(n.Op).Code, version)
}

// unary writes a one-input operator without options.
func (w *writer) unary(n *ir.Node, code fb.BuiltinOperator, version int32) error {
	ins, err := w.tensorsOf(n.In(0))
	if err != nil {
		return err
	}
	yt, err := w.tensor(n.Out())
	if err != nil {
		return err
	}
	w.emit(&fop{code: code, version: version, inputs: ins, outputs: []*ftensor{yt}})
	return nil
}

// clip writes Clip as TFLite's clamp ops where the bounds are theirs
// (RELU, RELU6, RELU_N1_TO_1), else as MAXIMUM and MINIMUM with scalar
// constants.
func (w *writer) clip(n *ir.Node) error {
	a := n.Attrs.(*ir.ClipAttrs)
	x, y := n.In(0), n.Out()
	lo, hi := float64(a.Min), float64(a.Max)
	switch {
	case lo == 0 && hi == 6:
		return w.unary(n, fb.BuiltinOperatorRELU6, int8Version(x, 2))
	case lo == -1 && hi == 1:
		return w.unary(n, fb.BuiltinOperatorRELU_N1_TO_1, 1)
	case lo == 0 && math.IsInf(hi, 1):
		return w.unary(n, fb.BuiltinOperatorRELU, reluVersion(x))
	}
	if isQuantized(n) && !sameQuant(x, y) {
		return n.Errorf("quantized Clip(%g, %g) with different input and output quantization has no TFLite equivalent", lo, hi)
	}
	// Bounds in the stored type; a bound the type cannot pass is dropped.
	type bound struct {
		v    float64
		code fb.BuiltinOperator
		need bool
	}
	bounds := []bound{{lo, fb.BuiltinOperatorMAXIMUM, !math.IsInf(lo, -1)}, {hi, fb.BuiltinOperatorMINIMUM, !math.IsInf(hi, 1)}}
	var consts []*ftensor
	for i := range bounds {
		b := &bounds[i]
		if !b.need {
			consts = append(consts, nil)
			continue
		}
		var c *ftensor
		var err error
		switch {
		case x.DType == ir.Float32:
			c, err = w.f32Const(y.Name+"/bound", []int{1}, []float32{float32(b.v)})
		case x.DType.IsQuantized() && x.Quant != nil:
			dlo, dhi := x.DType.Range()
			raw := int64(math.Round(b.v/float64(x.Quant.S(0)))) + x.Quant.ZP(0)
			if (b.code == fb.BuiltinOperatorMAXIMUM && raw <= dlo) || (b.code == fb.BuiltinOperatorMINIMUM && raw >= dhi) {
				b.need = false
				break
			}
			raw = min(max(raw, dlo), dhi)
			c, err = w.newTensor(w.fresh(y.Name+"/bound"), x.DType, []int{1}, x.Quant, []byte{byte(raw)})
		default:
			return n.Errorf("Clip on %v tensors has no TFLite equivalent in this exporter", x.DType)
		}
		if err != nil {
			return err
		}
		consts = append(consts, c)
	}
	var steps []int
	for i, b := range bounds {
		if b.need {
			steps = append(steps, i)
		}
	}
	if len(steps) == 0 {
		w.alias[y] = x
		return nil
	}
	cur, err := w.tensor(x)
	if err != nil {
		return err
	}
	yt, err := w.tensor(y)
	if err != nil {
		return err
	}
	for j, i := range steps {
		dst := yt
		if j < len(steps)-1 {
			if dst, err = w.activation(y.Name+"/lower", y, y.Shape); err != nil {
				return err
			}
		}
		w.emit(&fop{code: bounds[i].code, version: maxMinVersion(x, x), inputs: []*ftensor{cur, consts[i]}, outputs: []*ftensor{dst}})
		cur = dst
	}
	return nil
}

// hardSigmoid writes max(0, min(1, alpha*x + beta)) as
// relu6(6*alpha*x + 6*beta) / 6: MUL, ADD with a fused RELU6, MUL. TFLite
// has no hard sigmoid, and these three ops run everywhere (a MUL by 1 is
// left out, as it is for MobileNetV3's alpha 1/6).
func (w *writer) hardSigmoid(n *ir.Node) error {
	a := n.Attrs.(*ir.HardSigmoidAttrs)
	x, y := n.In(0), n.Out()
	if isQuantized(n) || x.DType != ir.Float32 {
		return n.Errorf("quantized HardSigmoid has no TFLite equivalent (TFLite has no hard sigmoid op; quantize it as HardSwish's parts or keep it float)")
	}
	scale, shift := float32(6*float64(a.Alpha)), float32(6*float64(a.Beta))
	cur, err := w.tensor(x)
	if err != nil {
		return err
	}
	if scale != 1 {
		c, err := w.f32Const(y.Name+"/alpha6", []int{1}, []float32{scale})
		if err != nil {
			return err
		}
		mid, err := w.activation(y.Name+"/scaled", y, y.Shape)
		if err != nil {
			return err
		}
		w.emit(binaryOp(fb.BuiltinOperatorMUL, cur, c, mid, fb.ActivationFunctionTypeNONE))
		cur = mid
	}
	clamped, err := w.activation(y.Name+"/relu6", y, y.Shape)
	if err != nil {
		return err
	}
	if shift != 0 {
		c, err := w.f32Const(y.Name+"/beta6", []int{1}, []float32{shift})
		if err != nil {
			return err
		}
		w.emit(binaryOp(fb.BuiltinOperatorADD, cur, c, clamped, fb.ActivationFunctionTypeRELU6))
	} else {
		w.emit(&fop{code: fb.BuiltinOperatorRELU6, version: 1, inputs: []*ftensor{cur}, outputs: []*ftensor{clamped}})
	}
	sixth, err := w.f32Const(y.Name+"/sixth", []int{1}, []float32{float32(1.0 / 6)})
	if err != nil {
		return err
	}
	yt, err := w.tensor(y)
	if err != nil {
		return err
	}
	w.emit(binaryOp(fb.BuiltinOperatorMUL, clamped, sixth, yt, fb.ActivationFunctionTypeNONE))
	return nil
}

// binaryOp is a float ADD or MUL with its options.
func binaryOp(code fb.BuiltinOperator, a, b, y *ftensor, act fb.ActivationFunctionType) *fop {
	row, _ := tfl.Op(code)
	return &fop{code: code, version: 1, inputs: []*ftensor{a, b}, outputs: []*ftensor{y}, optType: row.Options,
		options: func(bl *flatbuffers.Builder) flatbuffers.UOffsetT {
			return tfl.WriteActivationOptions(bl, row.Options, act)
		}}
}

// batchNorm writes inference batch normalization as y = x*s + t with
// s = scale/sqrt(var+eps) and t = bias - mean*s (computed in float64), a
// MUL and an ADD broadcasting along the channel axis. (The FoldBatchNorm
// pass folds it into the convolution before it instead, which is better
// where it applies.)
func (w *writer) batchNorm(n *ir.Node) error {
	a := n.Attrs.(*ir.BatchNormAttrs)
	x, y := n.In(0), n.Out()
	if isQuantized(n) || x.DType != ir.Float32 {
		return n.Errorf("quantized BatchNorm has no TFLite equivalent (run the FoldBatchNorm pass before quantizing)")
	}
	axis, err := ir.NormAxis(a.Axis, x.Rank())
	if err != nil {
		return n.Errorf("%v", err)
	}
	ch := x.Shape[axis]
	params := n.Inputs[1:5]
	for _, p := range params {
		if !p.IsConst() || p.DType != ir.Float32 || p.Len() != ch {
			return n.Errorf("parameter %q must be a float32 constant of %d values to be written for TFLite", p.Name, ch)
		}
	}
	gamma, beta, mean, variance := params[0].Data.F32, params[1].Data.F32, params[2].Data.F32, params[3].Data.F32
	s, t := make([]float32, ch), make([]float32, ch)
	for c := range ch {
		k := float64(gamma[c]) / math.Sqrt(float64(variance[c])+float64(a.Epsilon))
		s[c] = float32(k)
		t[c] = float32(float64(beta[c]) - float64(mean[c])*k)
	}
	// [C] broadcasts along the last axis; an earlier channel axis needs
	// trailing ones.
	shape := []int{ch}
	for range x.Rank() - 1 - axis {
		shape = append(shape, 1)
	}
	sc, err := w.f32Const(y.Name+"/bn_scale", shape, s)
	if err != nil {
		return err
	}
	tc, err := w.f32Const(y.Name+"/bn_shift", shape, t)
	if err != nil {
		return err
	}
	xt, err := w.tensor(x)
	if err != nil {
		return err
	}
	mid, err := w.activation(y.Name+"/bn_scaled", y, y.Shape)
	if err != nil {
		return err
	}
	yt, err := w.tensor(y)
	if err != nil {
		return err
	}
	w.emit(binaryOp(fb.BuiltinOperatorMUL, xt, sc, mid, fb.ActivationFunctionTypeNONE))
	w.emit(binaryOp(fb.BuiltinOperatorADD, mid, tc, yt, fb.ActivationFunctionTypeNONE))
	return nil
}

// growForSame rewrites a convolution whose explicit pads TFLite's SAME cannot
// express into an exactly equivalent one that SAME does express, by adding
// zero taps to the kernel, or returns nil when no small growth fits. Only
// with exporters.PadGrow; the default writes PAD then VALID, as TFLite's
// converter does.
//
// Keras' ZeroPadding2D(1) before a stride-2 3x3 convolution pads the top and
// left by one; SAME at stride 2 on an even input pads the bottom and right.
// A 4x4 kernel whose last row and column are zero has SAME pads of one on
// each side and computes the same sums: the extra taps multiply real zeros
// (or the padding) by a zero weight. This costs 16/9 of those layers'
// multiply-adds but saves a PAD op, which copies the whole activation.
func growForSame(n *ir.Node) *ir.Node {
	a := n.Attrs.(*ir.ConvAttrs)
	x, wt := n.In(0), n.In(1)
	if !wt.IsConst() || a.Dilations != [2]int{1, 1} {
		return nil
	}
	in := [2]int{x.Shape[1], x.Shape[2]}
	k := [2]int{wt.Shape[1], wt.Shape[2]}
	out := [2]int{n.Out().Shape[1], n.Out().Shape[2]}
	var pre, post [2]int
	for i := 0; i < 2; i++ {
		s := a.Strides[i]
		if (in[i]+s-1)/s != out[i] {
			return nil // SAME would change the output size
		}
		found := false
		for e := 0; e <= 2 && !found; e++ {
			for ep := 0; ep <= e && !found; ep++ {
				kk := k[i] + e
				total := max((out[i]-1)*s+kk-in[i], 0)
				if total/2 == a.Pads[i]+ep {
					pre[i], post[i], found = ep, e-ep, true
				}
			}
		}
		if !found {
			return nil
		}
	}
	if pre == [2]int{} && post == [2]int{} {
		return nil
	}
	kh, kw := k[0]+pre[0]+post[0], k[1]+pre[1]+post[1]
	o, ci := wt.Shape[0], wt.Shape[3]
	grown := &ir.Tensor{Name: wt.Name + "/grown", DType: wt.DType, Shape: []int{o, kh, kw, ci}, Quant: wt.Quant.Clone(), Data: &ir.Data{}}
	size := o * kh * kw * ci
	switch wt.DType {
	case ir.Float32:
		grown.Data.F32 = make([]float32, size)
	case ir.Int8:
		grown.Data.I8 = make([]int8, size)
	case ir.Uint8:
		grown.Data.U8 = make([]uint8, size)
		if wt.Quant != nil {
			// a zero weight is stored as the zero point
			for i := range grown.Data.U8 {
				grown.Data.U8[i] = uint8(wt.Quant.ZP(0))
			}
		}
	default:
		return nil
	}
	for oc := 0; oc < o; oc++ {
		for y := 0; y < k[0]; y++ {
			for xx := 0; xx < k[1]; xx++ {
				src := ((oc*k[0]+y)*k[1] + xx) * ci
				dst := ((oc*kh+y+pre[0])*kw + xx + pre[1]) * ci
				switch wt.DType {
				case ir.Float32:
					copy(grown.Data.F32[dst:dst+ci], wt.Data.F32[src:src+ci])
				case ir.Int8:
					copy(grown.Data.I8[dst:dst+ci], wt.Data.I8[src:src+ci])
				case ir.Uint8:
					copy(grown.Data.U8[dst:dst+ci], wt.Data.U8[src:src+ci])
				}
			}
		}
	}
	c := *n
	ca := *a
	for i := 0; i < 2; i++ {
		total := (out[i]-1)*a.Strides[i] + []int{kh, kw}[i] - in[i]
		ca.Pads[i], ca.Pads[i+2] = total/2, total-total/2
	}
	c.Attrs = &ca
	c.Inputs = append([]*ir.Tensor{x, grown}, n.Inputs[2:]...)
	return &c
}

// argMax writes ARG_MAX: the axis as a scalar int32 constant (as TFLite's
// converter writes it), output_type INT32 or INT64 in ArgMaxOptions. TFLite
// removes the axis; KeepDims adds a RESHAPE to the kept shape. A quantized
// input goes in as it is: TFLite compares its stored integers, which give
// the real values' indices under one positive scale.
func (w *writer) argMax(n *ir.Node) error {
	a := n.Attrs.(*ir.ArgMaxAttrs)
	x, y := n.In(0), n.Out()
	if q := x.Quant; q != nil && q.PerAxis() && q.Axis == a.Axis {
		return n.Errorf("input %q has per-channel scales along the reduced axis; TFLite's ARG_MAX compares stored integers", x.Name)
	}
	row := tfl.MustCode(ir.OpArgMax)
	outType, ok := tfl.TensorType(a.OutputType)
	if !ok || (a.OutputType != ir.Int32 && a.OutputType != ir.Int64) {
		return n.Errorf("output type %v; TFLite's ARG_MAX writes int32 or int64", a.OutputType)
	}
	xt, err := w.tensor(x)
	if err != nil {
		return err
	}
	axis, err := w.int32Const(y.Name+"/axis", nil, []int{a.Axis})
	if err != nil {
		return err
	}
	yt, err := w.tensor(y)
	if err != nil {
		return err
	}
	dst := yt
	if a.KeepDims {
		dropped := slices.Delete(slices.Clone(x.Shape), a.Axis, a.Axis+1)
		if dst, err = w.newTensor(w.fresh(y.Name+"/argmax"), a.OutputType, dropped, nil, nil); err != nil {
			return err
		}
	}
	w.emit(&fop{code: row.Code, version: int8Version(x, 2), inputs: []*ftensor{xt, axis}, outputs: []*ftensor{dst},
		optType: row.Options,
		options: func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
			fb.ArgMaxOptionsStart(b)
			fb.ArgMaxOptionsAddOutputType(b, outType)
			return fb.ArgMaxOptionsEnd(b)
		}})
	if a.KeepDims {
		return w.reshapeOp(dst, yt, y.Name, y.Shape)
	}
	return nil
}
