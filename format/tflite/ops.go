package tflite

import (
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/ir"
)

// OpCode is a builtin operator that is one IR op both ways: the importer
// turns Code into Op, the exporter Op into Code. Options is the builtin's
// options union member (BuiltinOptionsNONE: it has none the IR needs), and
// Fields its table's scalar fields, which Verify checks before the importer
// reads them: a new options table is described here, not in verify.go.
// Builtins that lower differently each way (CONV_2D and DEPTHWISE_CONV_2D
// from one ir.OpConv, FULLY_CONNECTED, RESHAPE, SQUEEZE, PAD, the RELU
// clamps) are not rows: their converters decide, and their options tables
// are in verify.go.
type OpCode struct {
	Code    fb.BuiltinOperator
	Op      ir.Op
	Options fb.BuiltinOptions
	Fields  []OptionField
}

// OptionField is a scalar field of an options table: the i-th of a row's
// Fields is field id i of schema.fbs (its vtable slot), Size its bytes
// (1 for bool, byte and the enums, 4 for int and float).
type OptionField struct {
	Name string
	Size int
}

// Options tables shared by several rows.
var (
	activationFields = []OptionField{{"fused_activation_function", 1}}
	pool2DFields     = []OptionField{{"padding", 1}, {"stride_w", 4}, {"stride_h", 4},
		{"filter_width", 4}, {"filter_height", 4}, {"fused_activation_function", 1}}
)

// OpCodes lists the one-to-one builtins.
var OpCodes = []OpCode{
	{fb.BuiltinOperatorADD, ir.OpAdd, fb.BuiltinOptionsAddOptions, activationFields},
	{fb.BuiltinOperatorSUB, ir.OpSub, fb.BuiltinOptionsSubOptions, activationFields},
	{fb.BuiltinOperatorMUL, ir.OpMul, fb.BuiltinOptionsMulOptions, activationFields},
	{fb.BuiltinOperatorAVERAGE_POOL_2D, ir.OpAvgPool, fb.BuiltinOptionsPool2DOptions, pool2DFields},
	{fb.BuiltinOperatorMAX_POOL_2D, ir.OpMaxPool, fb.BuiltinOptionsPool2DOptions, pool2DFields},
	{fb.BuiltinOperatorMEAN, ir.OpMean, fb.BuiltinOptionsReducerOptions, []OptionField{{"keep_dims", 1}}},
	{fb.BuiltinOperatorSOFTMAX, ir.OpSoftmax, fb.BuiltinOptionsSoftmaxOptions, []OptionField{{"beta", 4}}},
	{fb.BuiltinOperatorCONCATENATION, ir.OpConcat, fb.BuiltinOptionsConcatenationOptions,
		[]OptionField{{"axis", 4}, {"fused_activation_function", 1}}},
	{fb.BuiltinOperatorTRANSPOSE, ir.OpTranspose, fb.BuiltinOptionsNONE, nil},
	{fb.BuiltinOperatorLOGISTIC, ir.OpSigmoid, fb.BuiltinOptionsNONE, nil},
	{fb.BuiltinOperatorHARD_SWISH, ir.OpHardSwish, fb.BuiltinOptionsNONE, nil},
	{fb.BuiltinOperatorRELU, ir.OpRelu, fb.BuiltinOptionsNONE, nil},
	{fb.BuiltinOperatorQUANTIZE, ir.OpQuantize, fb.BuiltinOptionsNONE, nil},
	{fb.BuiltinOperatorDEQUANTIZE, ir.OpDequantize, fb.BuiltinOptionsNONE, nil},
	{fb.BuiltinOperatorARG_MAX, ir.OpArgMax, fb.BuiltinOptionsArgMaxOptions, []OptionField{{"output_type", 1}}},
}

var (
	byCode = map[fb.BuiltinOperator]OpCode{}
	byOp   = map[ir.Op]OpCode{}
)

func init() {
	for _, r := range OpCodes {
		byCode[r.Code], byOp[r.Op] = r, r
	}
}

// Op returns the one-to-one row of builtin code.
func Op(code fb.BuiltinOperator) (OpCode, bool) {
	r, ok := byCode[code]
	return r, ok
}

// Code returns the one-to-one row of IR op op.
func Code(op ir.Op) (OpCode, bool) {
	r, ok := byOp[op]
	return r, ok
}

// MustCode is Code for an op the caller knows has a row.
func MustCode(op ir.Op) OpCode {
	r, ok := byOp[op]
	if !ok {
		panic(fmt.Sprintf("tflite: op %v has no builtin row", op))
	}
	return r
}

// OpName is the op's TFLite name: the builtin's enum name, or a custom op's
// code.
func OpName(code fb.BuiltinOperator, custom string) string {
	if code == fb.BuiltinOperatorCUSTOM {
		if custom != "" {
			return custom
		}
		return "CUSTOM"
	}
	if s, ok := fb.EnumNamesBuiltinOperator[code]; ok {
		return s
	}
	return fmt.Sprintf("BUILTIN_%d", int32(code))
}

// ReadCode is an OperatorCode's builtin. Codes above 126 live only in
// builtin_code; older files set only the one-byte deprecated field. The
// format's rule is to take the larger of the two.
func ReadCode(oc *fb.OperatorCode) fb.BuiltinOperator {
	return fb.BuiltinOperator(max(int32(oc.DeprecatedBuiltinCode()), int32(oc.BuiltinCode())))
}

// DeprecatedCode is what a writer puts in deprecated_builtin_code beside
// builtin_code: the code itself, or 127 (the placeholder) past 126.
func DeprecatedCode(code fb.BuiltinOperator) int8 {
	return int8(min(int32(code), 127))
}

var (
	dtypes      = map[fb.TensorType]ir.DType{}
	tensorTypes = map[ir.DType]fb.TensorType{
		ir.Float32: fb.TensorTypeFLOAT32,
		ir.Int8:    fb.TensorTypeINT8,
		ir.Uint8:   fb.TensorTypeUINT8,
		ir.Int32:   fb.TensorTypeINT32,
		ir.Int64:   fb.TensorTypeINT64,
	}
)

func init() {
	for dt, tt := range tensorTypes {
		dtypes[tt] = dt
	}
}

// DType is the IR type of a file tensor type; ok is false for the types
// mnconv has no equivalent of.
func DType(t fb.TensorType) (ir.DType, bool) {
	dt, ok := dtypes[t]
	return dt, ok
}

// TensorType is the file type of an IR type.
func TensorType(dt ir.DType) (fb.TensorType, bool) {
	t, ok := tensorTypes[dt]
	return t, ok
}

// Activation is the IR activation of a fused activation function.
func Activation(a fb.ActivationFunctionType) (ir.Activation, bool) {
	switch a {
	case fb.ActivationFunctionTypeNONE:
		return ir.ActNone, true
	case fb.ActivationFunctionTypeRELU:
		return ir.ActRelu, true
	case fb.ActivationFunctionTypeRELU6:
		return ir.ActRelu6, true
	case fb.ActivationFunctionTypeRELU_N1_TO_1:
		return ir.ActReluN1To1, true
	}
	return 0, false
}

// ActivationType is the fused activation function of an IR activation.
func ActivationType(a ir.Activation) (fb.ActivationFunctionType, bool) {
	switch a {
	case ir.ActNone:
		return fb.ActivationFunctionTypeNONE, true
	case ir.ActRelu:
		return fb.ActivationFunctionTypeRELU, true
	case ir.ActRelu6:
		return fb.ActivationFunctionTypeRELU6, true
	case ir.ActReluN1To1:
		return fb.ActivationFunctionTypeRELU_N1_TO_1, true
	}
	return 0, false
}

// SamePads is what TFLite's SAME padding means for input size in, kernel k,
// strides and dilations (each [h, w]), as explicit [top, left, bottom,
// right] pads: total = max((out-1)*stride + (k-1)*dilation + 1 - in, 0)
// with out = ceil(in/stride), the smaller half before. Strides must be >= 1.
func SamePads(in, k, strides, dilations [2]int) [4]int {
	var pads [4]int
	for i := 0; i < 2; i++ {
		out := (in[i] + strides[i] - 1) / strides[i]
		total := max((out-1)*strides[i]+(k[i]-1)*dilations[i]+1-in[i], 0)
		pads[i], pads[i+2] = total/2, total-total/2
	}
	return pads
}

// ActivationOptions is an options table whose only field mnconv reads is a
// fused activation (AddOptions, SubOptions, MulOptions).
type ActivationOptions interface {
	Init(buf []byte, i flatbuffers.UOffsetT)
	FusedActivationFunction() fb.ActivationFunctionType
}

// NewActivationOptions returns a reader for options table t, nil when t is
// not an activation-only table.
func NewActivationOptions(t fb.BuiltinOptions) ActivationOptions {
	switch t {
	case fb.BuiltinOptionsAddOptions:
		return &fb.AddOptions{}
	case fb.BuiltinOptionsSubOptions:
		return &fb.SubOptions{}
	case fb.BuiltinOptionsMulOptions:
		return &fb.MulOptions{}
	}
	return nil
}

// WriteActivationOptions writes options table t (AddOptions, SubOptions or
// MulOptions) holding act; 0 for any other table.
func WriteActivationOptions(b *flatbuffers.Builder, t fb.BuiltinOptions, act fb.ActivationFunctionType) flatbuffers.UOffsetT {
	switch t {
	case fb.BuiltinOptionsAddOptions:
		fb.AddOptionsStart(b)
		fb.AddOptionsAddFusedActivationFunction(b, act)
		return fb.AddOptionsEnd(b)
	case fb.BuiltinOptionsSubOptions:
		fb.SubOptionsStart(b)
		fb.SubOptionsAddFusedActivationFunction(b, act)
		return fb.SubOptionsEnd(b)
	case fb.BuiltinOptionsMulOptions:
		fb.MulOptionsStart(b)
		fb.MulOptionsAddFusedActivationFunction(b, act)
		return fb.MulOptionsEnd(b)
	}
	return 0
}

// DefaultOptions is a flatbuffer whose root is a table with no fields: any
// options table initialized on it (Init(DefaultOptions,
// flatbuffers.GetUOffsetT(DefaultOptions))) reads the schema's defaults,
// which is what an operator without options means.
var DefaultOptions = func() []byte {
	b := flatbuffers.NewBuilder(16)
	fb.PadOptionsStart(b)
	b.Finish(fb.PadOptionsEnd(b))
	return b.FinishedBytes()
}()

// DepthwiseToIR turns the data of a depthwise weight in the file's layout
// [1,KH,KW,C*M] into the IR's [C*M,KH,KW,1]; a per-channel quantization
// axis moves from 3 to 0. DepthwiseFromIR is its inverse.
func DepthwiseToIR(d *ir.Data, kh, kw, cm int) *ir.Data {
	return transposeData(d, kh*kw, cm)
}

// DepthwiseFromIR turns IR depthwise weight data [C*M,KH,KW,1] into the
// file's [1,KH,KW,C*M].
func DepthwiseFromIR(d *ir.Data, kh, kw, cm int) *ir.Data {
	return transposeData(d, cm, kh*kw)
}

// TransposeMatrix returns the data of a [rows, cols] matrix transposed to
// [cols, rows] (a MatMul's [K,N] weight as FULLY_CONNECTED's [N,K]).
func TransposeMatrix(d *ir.Data, rows, cols int) *ir.Data {
	return transposeData(d, rows, cols)
}

func transposeData(d *ir.Data, rows, cols int) *ir.Data {
	return &ir.Data{
		F32: transpose(d.F32, rows, cols),
		I8:  transpose(d.I8, rows, cols),
		U8:  transpose(d.U8, rows, cols),
		I32: transpose(d.I32, rows, cols),
		I64: transpose(d.I64, rows, cols),
	}
}

// transpose: dst[c*rows+r] = src[r*cols+c]. nil stays nil.
func transpose[T any](src []T, rows, cols int) []T {
	if src == nil {
		return nil
	}
	dst := make([]T, len(src))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			dst[c*rows+r] = src[r*cols+c]
		}
	}
	return dst
}
