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

func (*ConvAttrs) isAttrs()        {}
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

// OpInfo is the table of facts about one op.
type OpInfo struct {
	Name                 string
	MinInputs, MaxInputs int
	Outputs              int
	// NewAttrs returns a zero attribute struct of the op's type, or nil when
	// the op takes none.
	NewAttrs func() Attrs
	// Infer sets the output shape (and dtype when unset) from the inputs.
	Infer func(n *Node) error
}

var opTable = [numOps]OpInfo{
	OpConv:        {"Conv", 2, 3, 1, func() Attrs { return &ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1} }, inferConv},
	OpGemm:        {"Gemm", 2, 3, 1, func() Attrs { return &GemmAttrs{Alpha: 1, Beta: 1} }, inferGemm},
	OpMatMul:      {"MatMul", 2, 2, 1, nil, inferMatMul},
	OpBatchNorm:   {"BatchNorm", 5, 5, 1, func() Attrs { return &BatchNormAttrs{} }, inferSame},
	OpRelu:        {"Relu", 1, 1, 1, nil, inferSame},
	OpClip:        {"Clip", 1, 1, 1, func() Attrs { return &ClipAttrs{Min: -inf, Max: inf} }, inferSame},
	OpSigmoid:     {"Sigmoid", 1, 1, 1, nil, inferSame},
	OpHardSigmoid: {"HardSigmoid", 1, 1, 1, func() Attrs { return &HardSigmoidAttrs{} }, inferSame},
	OpHardSwish:   {"HardSwish", 1, 1, 1, nil, inferSame},
	OpAdd:         {"Add", 2, 2, 1, func() Attrs { return &BinaryAttrs{} }, inferBroadcast},
	OpSub:         {"Sub", 2, 2, 1, func() Attrs { return &BinaryAttrs{} }, inferBroadcast},
	OpMul:         {"Mul", 2, 2, 1, func() Attrs { return &BinaryAttrs{} }, inferBroadcast},
	OpDiv:         {"Div", 2, 2, 1, func() Attrs { return &BinaryAttrs{} }, inferBroadcast},
	OpMax:         {"Max", 2, 2, 1, func() Attrs { return &BinaryAttrs{} }, inferBroadcast},
	OpMin:         {"Min", 2, 2, 1, func() Attrs { return &BinaryAttrs{} }, inferBroadcast},
	OpAvgPool:     {"AvgPool", 1, 1, 1, func() Attrs { return &PoolAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}} }, inferPool},
	OpMaxPool:     {"MaxPool", 1, 1, 1, func() Attrs { return &PoolAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}} }, inferPool},
	OpMean:        {"Mean", 1, 1, 1, func() Attrs { return &ReduceAttrs{} }, inferReduce},
	OpReduceMax:   {"ReduceMax", 1, 1, 1, func() Attrs { return &ReduceAttrs{} }, inferReduce},
	OpReshape:     {"Reshape", 1, 1, 1, nil, inferReshape},
	OpTranspose:   {"Transpose", 1, 1, 1, func() Attrs { return &TransposeAttrs{} }, inferTranspose},
	OpConcat:      {"Concat", 1, maxInputs, 1, func() Attrs { return &ConcatAttrs{} }, inferConcat},
	OpPad:         {"Pad", 1, 1, 1, func() Attrs { return &PadAttrs{} }, inferPad},
	OpSoftmax:     {"Softmax", 1, 1, 1, func() Attrs { return &SoftmaxAttrs{Axis: -1, Beta: 1} }, inferSame},
	OpQuantize:    {"Quantize", 1, 1, 1, nil, inferSame},
	OpDequantize:  {"Dequantize", 1, 1, 1, nil, inferDequantize},
	OpIdentity:    {"Identity", 1, 1, 1, nil, inferSame},
}

// maxInputs bounds variadic ops (Concat).
const maxInputs = 1 << 16

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

// FusedAct returns the activation fused into n's attributes, if the op has one.
func (n *Node) FusedAct() Activation {
	switch a := n.Attrs.(type) {
	case *ConvAttrs:
		return a.Act
	case *GemmAttrs:
		return a.Act
	case *BinaryAttrs:
		return a.Act
	case *PoolAttrs:
		return a.Act
	case *ConcatAttrs:
		return a.Act
	}
	return ActNone
}

// SetFusedAct sets the fused activation; it reports false when the op has none.
func (n *Node) SetFusedAct(act Activation) bool {
	switch a := n.Attrs.(type) {
	case *ConvAttrs:
		a.Act = act
	case *GemmAttrs:
		a.Act = act
	case *BinaryAttrs:
		a.Act = act
	case *PoolAttrs:
		a.Act = act
	case *ConcatAttrs:
		a.Act = act
	default:
		return false
	}
	return true
}

// IsDepthwise reports whether a Conv is depthwise: one group per input channel.
func (n *Node) IsDepthwise() bool {
	a, ok := n.Attrs.(*ConvAttrs)
	if !ok || n.Op != OpConv || len(n.Inputs) == 0 || n.Inputs[0] == nil || n.Inputs[0].Rank() != 4 {
		return false
	}
	return a.Group > 1 && a.Group == n.Inputs[0].Shape[3]
}
