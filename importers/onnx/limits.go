package onnx

import "github.com/mnconv/mnconv/importers"

// Limits on what a file may declare. Every size read from a file is checked
// against these before anything is allocated for it, so a small hostile file
// cannot make the importer allocate gigabytes or recurse without bound.
const (
	// MaxFileSize bounds the whole serialized model.
	MaxFileSize = importers.MaxFileSize
	// MaxRecursion bounds protobuf message nesting (graphs inside attributes
	// inside nodes ...), so decoding never exhausts the stack.
	MaxRecursion = 64
	// MaxRank bounds the rank of any tensor.
	MaxRank = 8
	// MaxElements bounds the element count of one tensor (declared, constant
	// or inferred), computed with overflow checks.
	MaxElements = 1 << 28
	// MaxConstBytes bounds the total bytes of constants the import creates
	// (initializers, Constant nodes, folded and re-laid-out constants). A
	// file gets at most ConstBytesPerFileByte times its own size plus
	// ConstSlack of them, so a small file cannot make a large allocation:
	// a weight decoded once and re-laid-out once needs twice its bytes.
	MaxConstBytes         = 1 << 30
	ConstBytesPerFileByte = 2
	ConstSlack            = 64 << 20
	// MaxFoldElements bounds one constant made by the constant evaluator
	// (ConstantOfShape, Gather, Concat, arithmetic on constants): folding is
	// for shape arithmetic and small parameters, not for building tensors.
	MaxFoldElements = 1 << 22
	// MaxNodes bounds the nodes of the graph (ONNX nodes read, ir nodes made).
	MaxNodes = 1 << 18
	// MaxTensors bounds named values: inputs, initializers and node outputs.
	MaxTensors = 1 << 20
	// MaxNodeInputs and MaxNodeOutputs bound one node's arity.
	MaxNodeInputs  = 1 << 16
	MaxNodeOutputs = 64
	// MaxAttrs bounds the attributes of one node.
	MaxAttrs = 256
	// MaxAttrList bounds the length of one ints / floats / strings attribute.
	MaxAttrList = 1 << 20
	// MaxStringLen bounds every name, op type, domain and string attribute.
	MaxStringLen = 1 << 16
	// MinOpset and MaxOpset bound the default-domain opset. The range is the
	// one whose semantics for the supported ops are handled here: opset 6
	// (the oldest PyTorch exports in the ONNX test suite) to 25 (ops changed
	// after 21 only by gaining element types mnconv refuses by name).
	MinOpset = 6
	MaxOpset = 25
	// MaxIRVersion is the newest ONNX IR version this importer knows: 13,
	// that of ONNX 1.21 (2026), which wrote the operator tests under
	// shared/onnx-tests. IR 10 is ONNX 1.16-1.17, 11 ONNX 1.18 (May 2025),
	// 12 ONNX 1.19-1.20. A newer file may hold structures this reader would
	// silently skip, so it is refused.
	MaxIRVersion = 13
	// MaxMSOpset bounds the com.microsoft contrib opset.
	MaxMSOpset = 1
)
