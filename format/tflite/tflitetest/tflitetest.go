// Package tflitetest writes small TFLite models byte by byte for tests: a
// model described by plain structs, written with the flatc-generated
// builders. It writes whatever it is told (bad indices, external buffers,
// wrong opcode indices), so that a test can state exactly what a file holds
// and a corpus file can break exactly one rule.
//
// Phase: tests only (as net/http/httptest). Importer, exporter and hostile
// tests share it; the bytes it writes for a given Model never change, since
// committed corpus files are made with it.
package tflitetest

import (
	"encoding/binary"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"

	tfl "github.com/mnconv/mnconv/format/tflite"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
)

// Tensor is one tensor of the model.
type Tensor struct {
	Name  string
	Type  fb.TensorType
	Shape []int32
	Data  []byte // constant contents; nil for activations
	// Ext places the data outside the flatbuffer (Buffer.offset / size),
	// as files over 2 GiB do; the offset and size are written as given.
	Ext       bool
	ExtOffset uint64
	ExtSize   uint64
	// Quantization; Scale nil means none.
	Scale []float32
	ZP    []int64
	QDim  int32
}

// Op is one operator.
type Op struct {
	Code    fb.BuiltinOperator
	Custom  string
	Inputs  []int32
	Outputs []int32
	OptType fb.BuiltinOptions
	// Opts writes the options table (called before the operator starts).
	Opts func(b *flatbuffers.Builder) flatbuffers.UOffsetT
	// Opcode, when set, overrides the opcode index the writer computes.
	Opcode *uint32
	// DeprecatedOnly writes the code only in deprecated_builtin_code, as
	// files from before builtin_code did.
	DeprecatedOnly bool
}

// Model is a one-subgraph model.
type Model struct {
	Tensors         []Tensor
	Ops             []Op
	Inputs, Outputs []int32
	Description     string
}

// Build writes the model: buffer 0 empty, then one buffer per constant
// tensor (16-byte aligned), one operator code per distinct (code, custom
// code, DeprecatedOnly), at version 1.
func (m *Model) Build() []byte {
	b := flatbuffers.NewBuilder(1024)
	i32vec := func(v []int32) flatbuffers.UOffsetT {
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependInt32(v[i])
		}
		return b.EndVector(len(v))
	}
	offvec := func(v []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependUOffsetT(v[i])
		}
		return b.EndVector(len(v))
	}

	// Buffers: 0 is the empty buffer, then one per constant tensor.
	bufOf := make([]uint32, len(m.Tensors))
	var buffers []flatbuffers.UOffsetT
	fb.BufferStart(b)
	buffers = append(buffers, fb.BufferEnd(b))
	for i, t := range m.Tensors {
		if t.Data == nil && !t.Ext {
			continue
		}
		var data flatbuffers.UOffsetT
		if !t.Ext {
			b.StartVector(1, len(t.Data), fb.BufferDataAlign)
			for j := len(t.Data) - 1; j >= 0; j-- {
				b.PrependByte(t.Data[j])
			}
			data = b.EndVector(len(t.Data))
		}
		fb.BufferStart(b)
		if t.Ext {
			fb.BufferAddOffset(b, t.ExtOffset)
			fb.BufferAddSize(b, t.ExtSize)
		} else {
			fb.BufferAddData(b, data)
		}
		bufOf[i] = uint32(len(buffers))
		buffers = append(buffers, fb.BufferEnd(b))
	}

	var tensors []flatbuffers.UOffsetT
	for i, t := range m.Tensors {
		name := b.CreateString(t.Name)
		shape := i32vec(t.Shape)
		var quant flatbuffers.UOffsetT
		if t.Scale != nil {
			b.StartVector(4, len(t.Scale), 4)
			for j := len(t.Scale) - 1; j >= 0; j-- {
				b.PrependFloat32(t.Scale[j])
			}
			scales := b.EndVector(len(t.Scale))
			b.StartVector(8, len(t.ZP), 8)
			for j := len(t.ZP) - 1; j >= 0; j-- {
				b.PrependInt64(t.ZP[j])
			}
			zps := b.EndVector(len(t.ZP))
			fb.QuantizationParametersStart(b)
			fb.QuantizationParametersAddScale(b, scales)
			fb.QuantizationParametersAddZeroPoint(b, zps)
			fb.QuantizationParametersAddQuantizedDimension(b, t.QDim)
			quant = fb.QuantizationParametersEnd(b)
		}
		fb.TensorStart(b)
		fb.TensorAddShape(b, shape)
		fb.TensorAddType(b, t.Type)
		fb.TensorAddBuffer(b, bufOf[i])
		fb.TensorAddName(b, name)
		if t.Scale != nil {
			fb.TensorAddQuantization(b, quant)
		}
		tensors = append(tensors, fb.TensorEnd(b))
	}

	type key struct {
		code   fb.BuiltinOperator
		custom string
		dep    bool
	}
	codeIndex := map[key]uint32{}
	var codes []key
	var ops []flatbuffers.UOffsetT
	for _, o := range m.Ops {
		k := key{o.Code, o.Custom, o.DeprecatedOnly}
		idx, ok := codeIndex[k]
		if !ok {
			idx = uint32(len(codes))
			codeIndex[k] = idx
			codes = append(codes, k)
		}
		if o.Opcode != nil {
			idx = *o.Opcode
		}
		var opts flatbuffers.UOffsetT
		if o.Opts != nil {
			opts = o.Opts(b)
		}
		ins, outs := i32vec(o.Inputs), i32vec(o.Outputs)
		fb.OperatorStart(b)
		fb.OperatorAddOpcodeIndex(b, idx)
		fb.OperatorAddInputs(b, ins)
		fb.OperatorAddOutputs(b, outs)
		if o.Opts != nil {
			fb.OperatorAddBuiltinOptionsType(b, o.OptType)
			fb.OperatorAddBuiltinOptions(b, opts)
		}
		ops = append(ops, fb.OperatorEnd(b))
	}
	var opcodes []flatbuffers.UOffsetT
	for _, k := range codes {
		var custom flatbuffers.UOffsetT
		if k.custom != "" {
			custom = b.CreateString(k.custom)
		}
		fb.OperatorCodeStart(b)
		fb.OperatorCodeAddDeprecatedBuiltinCode(b, tfl.DeprecatedCode(k.code))
		if !k.dep {
			fb.OperatorCodeAddBuiltinCode(b, k.code)
		}
		fb.OperatorCodeAddVersion(b, 1)
		if k.custom != "" {
			fb.OperatorCodeAddCustomCode(b, custom)
		}
		opcodes = append(opcodes, fb.OperatorCodeEnd(b))
	}

	tensorVec, opVec := offvec(tensors), offvec(ops)
	inVec, outVec := i32vec(m.Inputs), i32vec(m.Outputs)
	sgName := b.CreateString("main")
	fb.SubGraphStart(b)
	fb.SubGraphAddTensors(b, tensorVec)
	fb.SubGraphAddInputs(b, inVec)
	fb.SubGraphAddOutputs(b, outVec)
	fb.SubGraphAddOperators(b, opVec)
	fb.SubGraphAddName(b, sgName)
	sg := fb.SubGraphEnd(b)

	sgVec, codeVec, bufVec := offvec([]flatbuffers.UOffsetT{sg}), offvec(opcodes), offvec(buffers)
	desc := b.CreateString(m.Description)
	fb.ModelStart(b)
	fb.ModelAddVersion(b, 3)
	fb.ModelAddOperatorCodes(b, codeVec)
	fb.ModelAddSubgraphs(b, sgVec)
	fb.ModelAddDescription(b, desc)
	fb.ModelAddBuffers(b, bufVec)
	b.FinishWithFileIdentifier(fb.ModelEnd(b), []byte(fb.FileIdentifier))
	return b.FinishedBytes()
}

// F32 returns float32 values as little-endian bytes.
func F32(v ...float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

// I32 returns int32 values as little-endian bytes.
func I32(v ...int32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], uint32(x))
	}
	return out
}

// Ramp returns n float32 values (i%7-3)/8 as little-endian bytes.
func Ramp(n int) []byte {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i%7-3) / 8
	}
	return F32(v...)
}

// Int32s writes an int32 vector with a generated Start...Vector function.
func Int32s(b *flatbuffers.Builder, start func(*flatbuffers.Builder, int) flatbuffers.UOffsetT, v []int32) flatbuffers.UOffsetT {
	start(b, len(v))
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt32(v[i])
	}
	return b.EndVector(len(v))
}

// Options writes one options table; Op.Opts holds one.
type Options = func(b *flatbuffers.Builder) flatbuffers.UOffsetT

// Conv2D writes Conv2DOptions with the same stride and dilation both ways.
func Conv2D(pad fb.Padding, stride, dilation int32, act fb.ActivationFunctionType) Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.Conv2DOptionsStart(b)
		fb.Conv2DOptionsAddPadding(b, pad)
		fb.Conv2DOptionsAddStrideH(b, stride)
		fb.Conv2DOptionsAddStrideW(b, stride)
		fb.Conv2DOptionsAddDilationHFactor(b, dilation)
		fb.Conv2DOptionsAddDilationWFactor(b, dilation)
		fb.Conv2DOptionsAddFusedActivationFunction(b, act)
		return fb.Conv2DOptionsEnd(b)
	}
}

// Depthwise writes DepthwiseConv2DOptions (dilation 1).
func Depthwise(pad fb.Padding, stride, mult int32) Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.DepthwiseConv2DOptionsStart(b)
		fb.DepthwiseConv2DOptionsAddPadding(b, pad)
		fb.DepthwiseConv2DOptionsAddStrideH(b, stride)
		fb.DepthwiseConv2DOptionsAddStrideW(b, stride)
		fb.DepthwiseConv2DOptionsAddDepthMultiplier(b, mult)
		fb.DepthwiseConv2DOptionsAddDilationHFactor(b, 1)
		fb.DepthwiseConv2DOptionsAddDilationWFactor(b, 1)
		return fb.DepthwiseConv2DOptionsEnd(b)
	}
}

// Pool2D writes Pool2DOptions for a k x k window.
func Pool2D(pad fb.Padding, k, stride int32) Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.Pool2DOptionsStart(b)
		fb.Pool2DOptionsAddPadding(b, pad)
		fb.Pool2DOptionsAddStrideH(b, stride)
		fb.Pool2DOptionsAddStrideW(b, stride)
		fb.Pool2DOptionsAddFilterHeight(b, k)
		fb.Pool2DOptionsAddFilterWidth(b, k)
		return fb.Pool2DOptionsEnd(b)
	}
}

// FullyConnected writes FullyConnectedOptions.
func FullyConnected(keepNumDims bool) Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.FullyConnectedOptionsStart(b)
		fb.FullyConnectedOptionsAddKeepNumDims(b, keepNumDims)
		return fb.FullyConnectedOptionsEnd(b)
	}
}

// Softmax writes SoftmaxOptions.
func Softmax(beta float32) Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.SoftmaxOptionsStart(b)
		fb.SoftmaxOptionsAddBeta(b, beta)
		return fb.SoftmaxOptionsEnd(b)
	}
}

// Squeeze writes SqueezeOptions.
func Squeeze(dims ...int32) Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		v := Int32s(b, fb.SqueezeOptionsStartSqueezeDimsVector, dims)
		fb.SqueezeOptionsStart(b)
		fb.SqueezeOptionsAddSqueezeDims(b, v)
		return fb.SqueezeOptionsEnd(b)
	}
}

// Reshape writes ReshapeOptions.
func Reshape(shape ...int32) Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		v := Int32s(b, fb.ReshapeOptionsStartNewShapeVector, shape)
		fb.ReshapeOptionsStart(b)
		fb.ReshapeOptionsAddNewShape(b, v)
		return fb.ReshapeOptionsEnd(b)
	}
}

// Reducer writes ReducerOptions.
func Reducer(keepDims bool) Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.ReducerOptionsStart(b)
		fb.ReducerOptionsAddKeepDims(b, keepDims)
		return fb.ReducerOptionsEnd(b)
	}
}

// Activation writes the options of ADD, SUB or MUL (t names the table).
func Activation(t fb.BuiltinOptions, act fb.ActivationFunctionType) Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		return tfl.WriteActivationOptions(b, t, act)
	}
}

// Concat writes ConcatenationOptions.
func Concat(axis int32) Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.ConcatenationOptionsStart(b)
		fb.ConcatenationOptionsAddAxis(b, axis)
		return fb.ConcatenationOptionsEnd(b)
	}
}

// StridedSlice writes StridedSliceOptions.
func StridedSlice(beginMask, endMask, ellipsisMask, newAxisMask, shrinkMask int32, offset bool) Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.StridedSliceOptionsStart(b)
		fb.StridedSliceOptionsAddBeginMask(b, beginMask)
		fb.StridedSliceOptionsAddEndMask(b, endMask)
		fb.StridedSliceOptionsAddEllipsisMask(b, ellipsisMask)
		fb.StridedSliceOptionsAddNewAxisMask(b, newAxisMask)
		fb.StridedSliceOptionsAddShrinkAxisMask(b, shrinkMask)
		fb.StridedSliceOptionsAddOffset(b, offset)
		return fb.StridedSliceOptionsEnd(b)
	}
}

// Pack writes PackOptions.
func Pack(count, axis int32) Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.PackOptionsStart(b)
		fb.PackOptionsAddValuesCount(b, count)
		fb.PackOptionsAddAxis(b, axis)
		return fb.PackOptionsEnd(b)
	}
}

// Shape writes ShapeOptions.
func Shape(outType fb.TensorType) Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.ShapeOptionsStart(b)
		fb.ShapeOptionsAddOutType(b, outType)
		return fb.ShapeOptionsEnd(b)
	}
}

// UnsupportedModel is x f32 [1,4] -> FULLY_CONNECTED (w [2,4]) -> TANH ->
// y [1,2]: a model with one op mnconv does not translate (TANH), for the
// tests of lenient imports and of the verbs that list or refuse such ops.
func UnsupportedModel() *Model {
	f := fb.TensorTypeFLOAT32
	return &Model{
		Tensors: []Tensor{
			{Name: "x", Type: f, Shape: []int32{1, 4}},
			{Name: "w", Type: f, Shape: []int32{2, 4}, Data: F32(1, 2, 3, 4, -1, -2, -3, -4)},
			{Name: "h", Type: f, Shape: []int32{1, 2}},
			{Name: "y", Type: f, Shape: []int32{1, 2}},
		},
		Inputs:  []int32{0},
		Outputs: []int32{3},
		Ops: []Op{
			{Code: fb.BuiltinOperatorFULLY_CONNECTED, Inputs: []int32{0, 1}, Outputs: []int32{2},
				OptType: fb.BuiltinOptionsFullyConnectedOptions, Opts: FullyConnected(false)},
			{Code: fb.BuiltinOperatorTANH, Inputs: []int32{2}, Outputs: []int32{3}},
		},
	}
}
