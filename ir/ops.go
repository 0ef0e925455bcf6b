package ir

import "fmt"

// Op is an operation kind. Every Op has a row in opTable.
type Op uint8

// The closed set of operations. Semantics are the ONNX ones in NHWC unless
// the attribute struct says otherwise; quantized variants are the same op on
// int8 / uint8 tensors with Quant set.
const (
	OpInvalid     Op = iota
	OpConv           // x[N,H,W,C], w[O,KH,KW,C/G], b[O]? -> y[N,OH,OW,O]
	OpGemm           // a, b, c? -> alpha*op(a)*op(b) + beta*c; a fully connected layer is TransB with w[out,in]
	OpMatMul         // numpy matmul with broadcasting
	OpBatchNorm      // x, scale, bias, mean, var (inference mode) along Axis
	OpRelu           //
	OpClip           // clamp to [Min, Max]
	OpSigmoid        //
	OpHardSigmoid    // max(0, min(1, alpha*x + beta))
	OpHardSwish      // x * relu6(x+3) / 6
	OpAdd            // broadcasting elementwise
	OpSub            //
	OpMul            //
	OpDiv            //
	OpMax            // elementwise maximum
	OpMin            // elementwise minimum
	OpAvgPool        //
	OpMaxPool        //
	OpMean           // mean over Axes (GlobalAveragePool is Mean over H and W)
	OpReduceMax      // max over Axes (GlobalMaxPool)
	OpReshape        // to the output tensor's shape (Flatten, Squeeze, Unsqueeze too)
	OpTranspose      // by Perm
	OpConcat         // along Axis
	OpPad            // by Pads (begins then ends), Mode
	OpSoftmax        // along Axis with Beta
	OpQuantize       // float -> quantized, or requantize between quantized params
	OpDequantize     // quantized -> float
	OpIdentity       // y = x (Identity, Dropout at inference)
	OpArgMax         // index of the largest value along Axis, as OutputType
	// OpOpaque is a source op the importer could not translate, kept in a
	// lenient import (importers.Options.Lenient) so that a graph can be
	// inspected whole: any inputs, one or more outputs with the shapes the
	// file declares (nil where it declares none). It has no kernel and no
	// format binding; every verb but inspect refuses it.
	OpOpaque
	// OpDetectionPostProcess is TFLite's TFLite_Detection_PostProcess: box
	// encodings [1,N,>=4], class scores [1,N,C] (column 0 the background
	// when C = NumClasses+1), anchors [N,4] (center-size y, x, h, w) ->
	// boxes [1,D,4] (ymin, xmin, ymax, xmax), classes [1,D], scores [1,D],
	// count [1], all float32, D = MaxDetections*MaxClassesPerDetection.
	OpDetectionPostProcess
	OpResize // NHWC resized over H and W (ResizeAttrs): bilinear or nearest
	numOps
)

// Activation is an activation fused into an op's output, as TFLite fuses them.
type Activation uint8

// Fused activations.
const (
	ActNone Activation = iota
	ActRelu
	ActRelu6
	ActReluN1To1
)

var actNames = [...]string{"none", "relu", "relu6", "relu_n1_to_1"}

func (a Activation) String() string {
	if int(a) < len(actNames) {
		return actNames[a]
	}
	return fmt.Sprintf("act(%d)", uint8(a))
}

// Bounds returns the clamp range of a (±Inf for none).
func (a Activation) Bounds() (lo, hi float32) {
	switch a {
	case ActRelu:
		return 0, inf
	case ActRelu6:
		return 0, 6
	case ActReluN1To1:
		return -1, 1
	}
	return -inf, inf
}

// Attrs is the closed set of attribute structs; the marker method keeps
// arbitrary values out.
type Attrs interface{ isAttrs() }

// ConvAttrs are Conv's attributes. Pads are explicit (auto_pad / SAME are
// resolved at import) in the order top, left, bottom, right.
type ConvAttrs struct {
	Strides   [2]int
	Dilations [2]int
	Pads      [4]int
	Group     int
	Act       Activation
}

// GemmAttrs are Gemm's attributes.
type GemmAttrs struct {
	TransA, TransB bool
	Alpha, Beta    float32
	Act            Activation
}

// BatchNormAttrs are BatchNorm's attributes; Axis is the channel axis.
type BatchNormAttrs struct {
	Epsilon float32
	Axis    int
}

// ClipAttrs are Clip's bounds (±Inf when open).
type ClipAttrs struct{ Min, Max float32 }

// HardSigmoidAttrs are HardSigmoid's coefficients.
type HardSigmoidAttrs struct{ Alpha, Beta float32 }

// BinaryAttrs hold an elementwise binary op's fused activation.
type BinaryAttrs struct{ Act Activation }

// PoolAttrs are AvgPool's and MaxPool's attributes over H and W. Pads are
// top, left, bottom, right. With CeilMode the output size rounds up.
type PoolAttrs struct {
	Kernel          [2]int
	Strides         [2]int
	Dilations       [2]int
	Pads            [4]int
	CeilMode        bool
	CountIncludePad bool
	Act             Activation
}

// ReduceAttrs are Mean's and ReduceMax's attributes.
type ReduceAttrs struct {
	Axes     []int
	KeepDims bool
}

// TransposeAttrs give the permutation: output dim i is input dim Perm[i].
type TransposeAttrs struct{ Perm []int }

// ConcatAttrs give the axis and a fused activation.
type ConcatAttrs struct {
	Axis int
	Act  Activation
}

// PadMode is how Pad fills.
type PadMode uint8

// Pad modes.
const (
	PadConstant PadMode = iota
	PadReflect
	PadEdge
	PadWrap
)

var padModeNames = [...]string{"constant", "reflect", "edge", "wrap"}

func (m PadMode) String() string {
	if int(m) < len(padModeNames) {
		return padModeNames[m]
	}
	return fmt.Sprintf("padmode(%d)", uint8(m))
}

// PadAttrs: Pads holds rank begins followed by rank ends. Value is the
// constant fill in real terms (a quantized pad fills with the zero point).
type PadAttrs struct {
	Pads  []int
	Mode  PadMode
	Value float32
}

// SoftmaxAttrs give the axis and TFLite's beta (1 for ONNX).
type SoftmaxAttrs struct {
	Axis int
	Beta float32
}

// ArgMaxAttrs are ArgMax's attributes. Axis is the reduced axis; with
// KeepDims it stays as a dimension of 1 (ONNX's keepdims), else it is
// removed (TFLite's ARG_MAX). Ties give the lowest index, or the highest
// with SelectLastIndex (ONNX's select_last_index). OutputType is the
// index dtype, Int32 or Int64.
type ArgMaxAttrs struct {
	Axis            int
	KeepDims        bool
	SelectLastIndex bool
	OutputType      DType
}

// OpaqueAttrs describe an OpOpaque node: the source op (TFLite builtin or
// custom code, ONNX op type with its domain), where it is in the file
// (`operator 64 "ResizeBilinear"`, `node "resize"`), and why it was not
// translated. Unsupported is set when the op type itself has no translation
// (rather than one of its attributes or inputs).
type OpaqueAttrs struct {
	Op          string
	Where       string
	Reason      string
	Unsupported bool
}

// DetectionPostProcessAttrs are TFLite_Detection_PostProcess's options
// (its FlexBuffer custom options, same names): box decoding scales,
// score and IoU thresholds, and fast NMS (one NMS over each anchor's best
// class) or, with UseRegularNMS, one NMS per class.
type DetectionPostProcessAttrs struct {
	MaxDetections          int
	MaxClassesPerDetection int
	DetectionsPerClass     int
	UseRegularNMS          bool
	ScoreThreshold         float32
	IoUThreshold           float32
	NumClasses             int
	YScale, XScale         float32
	HScale, WScale         float32
}

func (*DetectionPostProcessAttrs) isAttrs() {}

func (*ConvAttrs) isAttrs()        {}
func (*OpaqueAttrs) isAttrs()      {}
func (*GemmAttrs) isAttrs()        {}
func (*BatchNormAttrs) isAttrs()   {}
func (*ClipAttrs) isAttrs()        {}
func (*HardSigmoidAttrs) isAttrs() {}
func (*BinaryAttrs) isAttrs()      {}
func (*PoolAttrs) isAttrs()        {}
func (*ReduceAttrs) isAttrs()      {}
func (*TransposeAttrs) isAttrs()   {}
func (*ConcatAttrs) isAttrs()      {}
func (*PadAttrs) isAttrs()         {}
func (*SoftmaxAttrs) isAttrs()     {}
func (*ArgMaxAttrs) isAttrs()      {}

// OpInfo is the table of facts about one op: everything a package asks
// about an op lives in its row, not in a switch of the package.
type OpInfo struct {
	Name                 string
	MinInputs, MaxInputs int
	// Outputs is the op's output count; with MaxOutputs set, the least.
	Outputs, MaxOutputs int
	// NewAttrs returns a zero attribute struct of the op's type, or nil when
	// the op takes none.
	NewAttrs func() Attrs
	// Infer sets the output shape (and dtype when unset) from the inputs.
	Infer func(n *Node) error
	// Traits are the op's group facts (traits.go).
	Traits Traits
	// MACs counts a node's multiply-accumulates (macs.go); nil for the ops
	// that do none.
	MACs func(n *Node) int64
	// Bounds is the interval the op's output always lies in whatever its
	// input (before a fused activation); nil when unbounded.
	Bounds func(n *Node) (lo, hi float32)
}

// Trait groups shared by several rows.
const (
	unaryElementwise  = Elementwise
	binaryElementwise = Elementwise | Broadcasting | FusedActivation
	passThrough       = QuantPassThrough | QuantPlain
	pool              = Windowed | FusedActivation | passThrough
)

var opTable = [numOps]OpInfo{
	OpConv: {Name: "Conv", MinInputs: 2, MaxInputs: 3, Outputs: 1,
		NewAttrs: func() Attrs { return &ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1} }, Infer: inferConv,
		Traits: Weighted | Windowed | FusedActivation, MACs: macsConv},
	OpGemm: {Name: "Gemm", MinInputs: 2, MaxInputs: 3, Outputs: 1,
		NewAttrs: func() Attrs { return &GemmAttrs{Alpha: 1, Beta: 1} }, Infer: inferGemm,
		Traits: Weighted | FusedActivation, MACs: macsGemm},
	OpMatMul: {Name: "MatMul", MinInputs: 2, MaxInputs: 2, Outputs: 1, Infer: inferMatMul,
		Traits: Weighted, MACs: macsMatMul},
	OpBatchNorm: {Name: "BatchNorm", MinInputs: 5, MaxInputs: 5, Outputs: 1,
		NewAttrs: func() Attrs { return &BatchNormAttrs{} }, Infer: inferSame,
		Traits: PerChannel},
	OpRelu: {Name: "Relu", MinInputs: 1, MaxInputs: 1, Outputs: 1, Infer: inferSame,
		Traits: unaryElementwise | QuantPlain, Bounds: boundsRelu},
	OpClip: {Name: "Clip", MinInputs: 1, MaxInputs: 1, Outputs: 1,
		NewAttrs: func() Attrs { return &ClipAttrs{Min: -inf, Max: inf} }, Infer: inferSame,
		Traits: unaryElementwise | QuantPlain, Bounds: boundsClip},
	OpSigmoid: {Name: "Sigmoid", MinInputs: 1, MaxInputs: 1, Outputs: 1, Infer: inferSame,
		Traits: unaryElementwise | QuantPlain | FixedOutputRange, Bounds: boundsUnit},
	OpHardSigmoid: {Name: "HardSigmoid", MinInputs: 1, MaxInputs: 1, Outputs: 1,
		NewAttrs: func() Attrs { return &HardSigmoidAttrs{} }, Infer: inferSame,
		Traits: unaryElementwise, Bounds: boundsUnit},
	OpHardSwish: {Name: "HardSwish", MinInputs: 1, MaxInputs: 1, Outputs: 1, Infer: inferSame,
		Traits: unaryElementwise | QuantPlain},
	OpAdd: {Name: "Add", MinInputs: 2, MaxInputs: 2, Outputs: 1,
		NewAttrs: func() Attrs { return &BinaryAttrs{} }, Infer: inferBroadcast,
		Traits: binaryElementwise | Arithmetic | QuantPlain},
	OpSub: {Name: "Sub", MinInputs: 2, MaxInputs: 2, Outputs: 1,
		NewAttrs: func() Attrs { return &BinaryAttrs{} }, Infer: inferBroadcast,
		Traits: binaryElementwise | Arithmetic | QuantPlain},
	OpMul: {Name: "Mul", MinInputs: 2, MaxInputs: 2, Outputs: 1,
		NewAttrs: func() Attrs { return &BinaryAttrs{} }, Infer: inferBroadcast,
		Traits: binaryElementwise | Arithmetic | QuantPlain},
	OpDiv: {Name: "Div", MinInputs: 2, MaxInputs: 2, Outputs: 1,
		NewAttrs: func() Attrs { return &BinaryAttrs{} }, Infer: inferBroadcast,
		Traits: binaryElementwise | Arithmetic},
	OpMax: {Name: "Max", MinInputs: 2, MaxInputs: 2, Outputs: 1,
		NewAttrs: func() Attrs { return &BinaryAttrs{} }, Infer: inferBroadcast,
		Traits: binaryElementwise | QuantPlain},
	OpMin: {Name: "Min", MinInputs: 2, MaxInputs: 2, Outputs: 1,
		NewAttrs: func() Attrs { return &BinaryAttrs{} }, Infer: inferBroadcast,
		Traits: binaryElementwise | QuantPlain},
	OpAvgPool: {Name: "AvgPool", MinInputs: 1, MaxInputs: 1, Outputs: 1,
		NewAttrs: func() Attrs { return &PoolAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}} }, Infer: inferPool,
		Traits: pool},
	OpMaxPool: {Name: "MaxPool", MinInputs: 1, MaxInputs: 1, Outputs: 1,
		NewAttrs: func() Attrs { return &PoolAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}} }, Infer: inferPool,
		Traits: pool},
	OpMean: {Name: "Mean", MinInputs: 1, MaxInputs: 1, Outputs: 1,
		NewAttrs: func() Attrs { return &ReduceAttrs{} }, Infer: inferReduce,
		Traits: passThrough},
	OpReduceMax: {Name: "ReduceMax", MinInputs: 1, MaxInputs: 1, Outputs: 1,
		NewAttrs: func() Attrs { return &ReduceAttrs{} }, Infer: inferReduce},
	OpReshape: {Name: "Reshape", MinInputs: 1, MaxInputs: 1, Outputs: 1, Infer: inferReshape,
		Traits: passThrough | ValuePreserving},
	OpTranspose: {Name: "Transpose", MinInputs: 1, MaxInputs: 1, Outputs: 1,
		NewAttrs: func() Attrs { return &TransposeAttrs{} }, Infer: inferTranspose,
		Traits: passThrough | ValuePreserving},
	OpConcat: {Name: "Concat", MinInputs: 1, MaxInputs: maxInputs, Outputs: 1,
		NewAttrs: func() Attrs { return &ConcatAttrs{} }, Infer: inferConcat,
		Traits: FusedActivation | QuantPlain},
	OpPad: {Name: "Pad", MinInputs: 1, MaxInputs: 1, Outputs: 1,
		NewAttrs: func() Attrs { return &PadAttrs{} }, Infer: inferPad,
		Traits: passThrough},
	OpSoftmax: {Name: "Softmax", MinInputs: 1, MaxInputs: 1, Outputs: 1,
		NewAttrs: func() Attrs { return &SoftmaxAttrs{Axis: -1, Beta: 1} }, Infer: inferSame,
		Traits: QuantPlain | FixedOutputRange, Bounds: boundsUnit},
	OpQuantize: {Name: "Quantize", MinInputs: 1, MaxInputs: 1, Outputs: 1, Infer: inferSame,
		Traits: unaryElementwise | ValuePreserving},
	OpDequantize: {Name: "Dequantize", MinInputs: 1, MaxInputs: 1, Outputs: 1, Infer: inferDequantize,
		Traits: unaryElementwise | ValuePreserving},
	OpIdentity: {Name: "Identity", MinInputs: 1, MaxInputs: 1, Outputs: 1, Infer: inferSame,
		Traits: unaryElementwise | passThrough | ValuePreserving},
	OpArgMax: {Name: "ArgMax", MinInputs: 1, MaxInputs: 1, Outputs: 1,
		NewAttrs: func() Attrs { return &ArgMaxAttrs{KeepDims: true, OutputType: Int64} }, Infer: inferArgMax,
		Traits: IndexOutput},
	OpOpaque: {Name: "Opaque", MinInputs: 0, MaxInputs: maxInputs, Outputs: 1, MaxOutputs: maxOutputs,
		NewAttrs: func() Attrs { return &OpaqueAttrs{} }, Infer: inferOpaque,
		Traits: Opaque},
	OpDetectionPostProcess: {Name: "DetectionPostProcess", MinInputs: 3, MaxInputs: 3, Outputs: 4,
		NewAttrs: func() Attrs { return &DetectionPostProcessAttrs{DetectionsPerClass: 100} }, Infer: inferDetectionPostProcess},
	OpResize: {Name: "Resize", MinInputs: 1, MaxInputs: 1, Outputs: 1,
		NewAttrs: func() Attrs { return &ResizeAttrs{} }, Infer: inferResize,
		Traits: passThrough},
}

// maxInputs bounds variadic ops (Concat, Opaque), maxOutputs the outputs of
// an Opaque node.
const (
	maxInputs  = 1 << 16
	maxOutputs = 1 << 10
)

// inferOpaque keeps the shapes the source file declared: nothing is known
// of an untranslated op's semantics.
func inferOpaque(*Node) error { return nil }

// Opaque returns the attributes of an OpOpaque node, nil for any other.
func (n *Node) Opaque() *OpaqueAttrs {
	a, _ := n.Attrs.(*OpaqueAttrs)
	if n.Op != OpOpaque {
		return nil
	}
	return a
}

// Info returns op's row of the op table.
func (op Op) Info() *OpInfo {
	if op < numOps {
		return &opTable[op]
	}
	return &opTable[OpInvalid]
}

func (op Op) String() string {
	if op > OpInvalid && op < numOps {
		return opTable[op].Name
	}
	return fmt.Sprintf("op(%d)", uint8(op))
}

// AllOps lists every valid op.
func AllOps() []Op {
	ops := make([]Op, 0, numOps-1)
	for op := OpInvalid + 1; op < numOps; op++ {
		ops = append(ops, op)
	}
	return ops
}

// OpByName finds an op by its table name.
func OpByName(name string) (Op, bool) {
	for op := OpInvalid + 1; op < numOps; op++ {
		if opTable[op].Name == name {
			return op, true
		}
	}
	return OpInvalid, false
}

// NewNode makes a node with op's default attributes: unit strides and
// dilations, one group, Gemm alpha = beta = 1, softmax over the last axis with
// beta 1, an open Clip.
func NewNode(name string, op Op, inputs []*Tensor, outputs ...*Tensor) *Node {
	n := &Node{Name: name, Op: op, Inputs: inputs, Outputs: outputs}
	if f := op.Info().NewAttrs; f != nil {
		n.Attrs = f()
	}
	return n
}

// IsDepthwise reports whether a Conv is depthwise: one group per input channel.
func (n *Node) IsDepthwise() bool {
	a, ok := n.Attrs.(*ConvAttrs)
	if !ok || n.Op != OpConv || len(n.Inputs) == 0 || n.Inputs[0] == nil || n.Inputs[0].Rank() != 4 {
		return false
	}
	return a.Group > 1 && a.Group == n.Inputs[0].Shape[3]
}

// OpaqueGroup counts the OpOpaque nodes of one source op.
type OpaqueGroup struct {
	Op          string `json:"op"`
	Count       int    `json:"count"`
	First       string `json:"first"`  // where the first one is: `operator 64 "ResizeBilinear"`
	Reason      string `json:"reason"` // why the first one was not translated
	Unsupported bool   `json:"unsupported"`
}

func (o OpaqueGroup) String() string {
	if o.Count == 1 {
		return fmt.Sprintf("1 x %s (%s)", o.Op, o.First)
	}
	return fmt.Sprintf("%d x %s (first %s)", o.Count, o.Op, o.First)
}

// OpaqueOps groups g's OpOpaque nodes by source op (and whether the op type
// itself is unsupported), in the order each first appears.
func (g *Graph) OpaqueOps() []OpaqueGroup {
	var out []OpaqueGroup
	at := map[OpaqueAttrs]int{}
	for _, n := range g.Nodes {
		a := n.Opaque()
		if a == nil {
			continue
		}
		key := OpaqueAttrs{Op: a.Op, Unsupported: a.Unsupported}
		i, ok := at[key]
		if !ok {
			i = len(out)
			at[key] = i
			out = append(out, OpaqueGroup{Op: a.Op, First: a.Where, Reason: a.Reason, Unsupported: a.Unsupported})
		}
		out[i].Count++
	}
	return out
}
