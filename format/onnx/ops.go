package onnx

import (
	"fmt"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/ir"
)

// UnaryOps are the default-domain one-input op_types without attributes
// that are one IR op both ways.
var UnaryOps = map[string]ir.Op{
	"Relu":      ir.OpRelu,
	"Sigmoid":   ir.OpSigmoid,
	"HardSwish": ir.OpHardSwish,
}

// BinaryOps are the default-domain broadcasting two-input op_types that are
// one IR op both ways.
var BinaryOps = map[string]ir.Op{
	"Add": ir.OpAdd,
	"Sub": ir.OpSub,
	"Mul": ir.OpMul,
	"Div": ir.OpDiv,
	"Max": ir.OpMax,
	"Min": ir.OpMin,
}

var opTypes = map[ir.Op]string{}

func init() {
	for _, m := range []map[string]ir.Op{UnaryOps, BinaryOps} {
		for t, op := range m {
			opTypes[op] = t
		}
	}
}

// OpType is the op_type of an IR op in UnaryOps or BinaryOps.
func OpType(op ir.Op) (string, bool) {
	t, ok := opTypes[op]
	return t, ok
}

// PadModes names the IR's pad modes as Pad's mode attribute spells them.
var PadModes = map[ir.PadMode]string{ir.PadConstant: "constant", ir.PadReflect: "reflect", ir.PadEdge: "edge", ir.PadWrap: "wrap"}

// DType maps an ONNX element type code to an IR dtype; types mnconv does
// not have are an error that names them.
func DType(code int32) (ir.DType, error) {
	switch pb.TensorProto_DataType(code) {
	case pb.TensorProto_FLOAT:
		return ir.Float32, nil
	case pb.TensorProto_UINT8:
		return ir.Uint8, nil
	case pb.TensorProto_INT8:
		return ir.Int8, nil
	case pb.TensorProto_INT32:
		return ir.Int32, nil
	case pb.TensorProto_INT64:
		return ir.Int64, nil
	}
	return ir.Invalid, fmt.Errorf("element type %s is not supported (mnconv has float32, int8, uint8, int32, int64)", DTypeName(code))
}

// DTypeName names an ONNX element type code for messages.
func DTypeName(code int32) string {
	if s, ok := pb.TensorProto_DataType_name[code]; ok {
		return s
	}
	return fmt.Sprintf("type code %d", code)
}

// ElemType maps an IR dtype to ONNX's element type code.
func ElemType(dt ir.DType) (int32, error) {
	switch dt {
	case ir.Float32:
		return int32(pb.TensorProto_FLOAT), nil
	case ir.Uint8:
		return int32(pb.TensorProto_UINT8), nil
	case ir.Int8:
		return int32(pb.TensorProto_INT8), nil
	case ir.Int32:
		return int32(pb.TensorProto_INT32), nil
	case ir.Int64:
		return int32(pb.TensorProto_INT64), nil
	}
	return 0, fmt.Errorf("element type %v has no ONNX equivalent here", dt)
}

// PadMode is the IR pad mode Pad's mode attribute names.
func PadMode(name string) (ir.PadMode, bool) {
	for m, s := range PadModes {
		if s == name {
			return m, true
		}
	}
	return 0, false
}
