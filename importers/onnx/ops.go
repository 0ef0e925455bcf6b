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
}

// has reports whether optional input i is present.
func (n *node) has(i int) bool { return i < len(n.in) && n.in[i].t != nil }

// handler translates one ONNX op.
type handler func(im *importer, n *node) error

// handlers maps op types (contrib ops with their domain prefix) to their
// translations. It is filled in init to break the initialization cycle
// through the handlers that call back into the importer.
var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		// constants and shape computations (folded)
		"Constant":        opConstant,
		"ConstantOfShape": opConstantOfShape,
		"Shape":           opShape,
		"Size":            opSize,
		"Gather":          opGather,
		"Cast":            opCast,
		"Identity":        opIdentity,
		"Dropout":         opDropout,
		// neural network ops
		"Conv":               opConv,
		"BatchNormalization": opBatchNorm,
		"AveragePool":        opPool(ir.OpAvgPool),
		"MaxPool":            opPool(ir.OpMaxPool),
		"GlobalAveragePool":  opGlobalPool(ir.OpMean),
		"GlobalMaxPool":      opGlobalPool(ir.OpReduceMax),
		"Gemm":               opGemm,
		"MatMul":             opMatMul,
		"Softmax":            opSoftmax,
		"ReduceMean":         opReduce(ir.OpMean),
		"ReduceMax":          opReduce(ir.OpReduceMax),
		// elementwise (and onnxfmt.UnaryOps, onnxfmt.BinaryOps below)
		"HardSigmoid": opHardSigmoid,
		"Clip":        opClip,
		// data movement
		"Reshape":   opReshape,
		"Flatten":   opFlatten,
		"Squeeze":   opSqueeze,
		"Unsqueeze": opUnsqueeze,
		"Transpose": opTranspose,
		"Concat":    opConcat,
		"Pad":       opPad,
		"Resize":    opResize,
		"Upsample":  opResize,
		// quantization
		"QuantizeLinear":                         opQuantizeLinear,
		"DequantizeLinear":                       opDequantizeLinear,
		"QLinearConv":                            opQLinearConv,
		"QLinearMatMul":                          opQLinearMatMul,
		"com.microsoft.QLinearAdd":               opQLinearAdd,
		"com.microsoft.QLinearGlobalAveragePool": opQLinearGlobalAveragePool,
	}
	for t, op := range onnxfmt.UnaryOps {
		handlers[t] = opUnary(op)
	}
	for t, op := range onnxfmt.BinaryOps {
		handlers[t] = opBinary(op)
	}
}

// notSupported explains ops that are refused on purpose.
var notSupported = map[string]string{
	"ConvInteger":           "integer convolution without requantization is not supported; use QLinearConv or QDQ (DequantizeLinear -> Conv -> QuantizeLinear)",
	"MatMulInteger":         "integer matmul without requantization is not supported; use QLinearMatMul or QDQ",
	"DynamicQuantizeLinear": "dynamic quantization (scales computed at run time) is not supported; quantize statically",
	"DepthToSpace":          "DepthToSpace is not supported",
}

// node translates one ONNX node; its errors name the node and op.
func (im *importer) node(p *pb.NodeProto, idx int) error {
	n := &node{p: p, idx: idx, label: label(p, idx)}
	if err := im.translate(n); err != nil {
		return nodeErr(p, idx, "%v", err)
	}
	return nil
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
		return fmt.Errorf("op domain %q is not supported", d)
	}
	h := handlers[key]
	if h == nil {
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
