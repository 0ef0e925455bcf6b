package tflite

import (
	"encoding/binary"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
)

// Tiny models written with the generated builders, so that tests can state
// exactly what a file holds.

type tTensor struct {
	name  string
	typ   fb.TensorType
	shape []int32
	data  []byte // nil: no constant data
	scale []float32
	zp    []int64
	qdim  int32
}

type tOp struct {
	code    fb.BuiltinOperator
	custom  string
	inputs  []int32
	outputs []int32
	optType fb.BuiltinOptions
	// opts writes the options table (called before the operator starts).
	opts func(b *flatbuffers.Builder) flatbuffers.UOffsetT
	// deprecatedOnly writes the code only in deprecated_builtin_code, as
	// files from before builtin_code did.
	deprecatedOnly bool
}

type tModel struct {
	tensors         []tTensor
	ops             []tOp
	inputs, outputs []int32
	description     string
}

func f32bytes(v ...float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

func i32bytes(v ...int32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], uint32(x))
	}
	return out
}

func int32s(b *flatbuffers.Builder, start func(*flatbuffers.Builder, int) flatbuffers.UOffsetT, v []int32) flatbuffers.UOffsetT {
	start(b, len(v))
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt32(v[i])
	}
	return b.EndVector(len(v))
}

func tables(b *flatbuffers.Builder, start func(*flatbuffers.Builder, int) flatbuffers.UOffsetT, v []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	start(b, len(v))
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependUOffsetT(v[i])
	}
	return b.EndVector(len(v))
}

func (m *tModel) build() []byte {
	b := flatbuffers.NewBuilder(1024)

	// Buffers: 0 is the empty sentinel, then one per constant tensor.
	bufOffs := []flatbuffers.UOffsetT{}
	fb.BufferStart(b)
	bufOffs = append(bufOffs, fb.BufferEnd(b))
	bufIndex := make([]uint32, len(m.tensors))
	for i, t := range m.tensors {
		if t.data == nil {
			continue
		}
		b.StartVector(1, len(t.data), fb.BufferDataAlign)
		for j := len(t.data) - 1; j >= 0; j-- {
			b.PrependByte(t.data[j])
		}
		data := b.EndVector(len(t.data))
		fb.BufferStart(b)
		fb.BufferAddData(b, data)
		bufIndex[i] = uint32(len(bufOffs))
		bufOffs = append(bufOffs, fb.BufferEnd(b))
	}

	tensorOffs := make([]flatbuffers.UOffsetT, len(m.tensors))
	for i, t := range m.tensors {
		name := b.CreateString(t.name)
		shape := int32s(b, fb.TensorStartShapeVector, t.shape)
		var quant flatbuffers.UOffsetT
		if t.scale != nil {
			fb.QuantizationParametersStartScaleVector(b, len(t.scale))
			for j := len(t.scale) - 1; j >= 0; j-- {
				b.PrependFloat32(t.scale[j])
			}
			scale := b.EndVector(len(t.scale))
			fb.QuantizationParametersStartZeroPointVector(b, len(t.zp))
			for j := len(t.zp) - 1; j >= 0; j-- {
				b.PrependInt64(t.zp[j])
			}
			zp := b.EndVector(len(t.zp))
			fb.QuantizationParametersStart(b)
			fb.QuantizationParametersAddScale(b, scale)
			fb.QuantizationParametersAddZeroPoint(b, zp)
			fb.QuantizationParametersAddQuantizedDimension(b, t.qdim)
			quant = fb.QuantizationParametersEnd(b)
		}
		fb.TensorStart(b)
		fb.TensorAddShape(b, shape)
		fb.TensorAddType(b, t.typ)
		fb.TensorAddBuffer(b, bufIndex[i])
		fb.TensorAddName(b, name)
		if quant != 0 {
			fb.TensorAddQuantization(b, quant)
		}
		tensorOffs[i] = fb.TensorEnd(b)
	}

	type key struct {
		code   fb.BuiltinOperator
		custom string
		dep    bool
	}
	codeIndex := map[key]uint32{}
	var codeOffs []flatbuffers.UOffsetT
	opOffs := make([]flatbuffers.UOffsetT, len(m.ops))
	for i, op := range m.ops {
		k := key{op.code, op.custom, op.deprecatedOnly}
		if _, ok := codeIndex[k]; !ok {
			var custom flatbuffers.UOffsetT
			if op.custom != "" {
				custom = b.CreateString(op.custom)
			}
			fb.OperatorCodeStart(b)
			fb.OperatorCodeAddDeprecatedBuiltinCode(b, int8(min(int32(op.code), 127)))
			if !op.deprecatedOnly {
				fb.OperatorCodeAddBuiltinCode(b, op.code)
			}
			if custom != 0 {
				fb.OperatorCodeAddCustomCode(b, custom)
			}
			fb.OperatorCodeAddVersion(b, 1)
			codeIndex[k] = uint32(len(codeOffs))
			codeOffs = append(codeOffs, fb.OperatorCodeEnd(b))
		}
		var opts flatbuffers.UOffsetT
		if op.opts != nil {
			opts = op.opts(b)
		}
		ins := int32s(b, fb.OperatorStartInputsVector, op.inputs)
		outs := int32s(b, fb.OperatorStartOutputsVector, op.outputs)
		fb.OperatorStart(b)
		fb.OperatorAddOpcodeIndex(b, codeIndex[k])
		fb.OperatorAddInputs(b, ins)
		fb.OperatorAddOutputs(b, outs)
		if opts != 0 {
			fb.OperatorAddBuiltinOptionsType(b, op.optType)
			fb.OperatorAddBuiltinOptions(b, opts)
		}
		opOffs[i] = fb.OperatorEnd(b)
	}

	tensors := tables(b, fb.SubGraphStartTensorsVector, tensorOffs)
	ops := tables(b, fb.SubGraphStartOperatorsVector, opOffs)
	ins := int32s(b, fb.SubGraphStartInputsVector, m.inputs)
	outs := int32s(b, fb.SubGraphStartOutputsVector, m.outputs)
	sgName := b.CreateString("main")
	fb.SubGraphStart(b)
	fb.SubGraphAddTensors(b, tensors)
	fb.SubGraphAddInputs(b, ins)
	fb.SubGraphAddOutputs(b, outs)
	fb.SubGraphAddOperators(b, ops)
	fb.SubGraphAddName(b, sgName)
	sg := fb.SubGraphEnd(b)

	subgraphs := tables(b, fb.ModelStartSubgraphsVector, []flatbuffers.UOffsetT{sg})
	codes := tables(b, fb.ModelStartOperatorCodesVector, codeOffs)
	buffers := tables(b, fb.ModelStartBuffersVector, bufOffs)
	desc := b.CreateString(m.description)
	fb.ModelStart(b)
	fb.ModelAddVersion(b, 3)
	fb.ModelAddOperatorCodes(b, codes)
	fb.ModelAddSubgraphs(b, subgraphs)
	fb.ModelAddDescription(b, desc)
	fb.ModelAddBuffers(b, buffers)
	b.FinishWithFileIdentifier(fb.ModelEnd(b), []byte(fb.FileIdentifier))
	return b.FinishedBytes()
}

// Options writers.

func convOpts(pad fb.Padding, sh, sw int32, act fb.ActivationFunctionType) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.Conv2DOptionsStart(b)
		fb.Conv2DOptionsAddPadding(b, pad)
		fb.Conv2DOptionsAddStrideH(b, sh)
		fb.Conv2DOptionsAddStrideW(b, sw)
		fb.Conv2DOptionsAddFusedActivationFunction(b, act)
		return fb.Conv2DOptionsEnd(b)
	}
}

func dwOpts(pad fb.Padding, sh, sw, mult int32) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.DepthwiseConv2DOptionsStart(b)
		fb.DepthwiseConv2DOptionsAddPadding(b, pad)
		fb.DepthwiseConv2DOptionsAddStrideH(b, sh)
		fb.DepthwiseConv2DOptionsAddStrideW(b, sw)
		fb.DepthwiseConv2DOptionsAddDepthMultiplier(b, mult)
		return fb.DepthwiseConv2DOptionsEnd(b)
	}
}

func poolOpts(pad fb.Padding, k, s int32) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.Pool2DOptionsStart(b)
		fb.Pool2DOptionsAddPadding(b, pad)
		fb.Pool2DOptionsAddFilterHeight(b, k)
		fb.Pool2DOptionsAddFilterWidth(b, k)
		fb.Pool2DOptionsAddStrideH(b, s)
		fb.Pool2DOptionsAddStrideW(b, s)
		return fb.Pool2DOptionsEnd(b)
	}
}

func fcOpts(keep bool) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.FullyConnectedOptionsStart(b)
		fb.FullyConnectedOptionsAddKeepNumDims(b, keep)
		return fb.FullyConnectedOptionsEnd(b)
	}
}

func softmaxOpts(beta float32) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.SoftmaxOptionsStart(b)
		fb.SoftmaxOptionsAddBeta(b, beta)
		return fb.SoftmaxOptionsEnd(b)
	}
}

func squeezeOpts(dims ...int32) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		v := int32s(b, fb.SqueezeOptionsStartSqueezeDimsVector, dims)
		fb.SqueezeOptionsStart(b)
		fb.SqueezeOptionsAddSqueezeDims(b, v)
		return fb.SqueezeOptionsEnd(b)
	}
}

func reshapeOpts(shape ...int32) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		v := int32s(b, fb.ReshapeOptionsStartNewShapeVector, shape)
		fb.ReshapeOptionsStart(b)
		fb.ReshapeOptionsAddNewShape(b, v)
		return fb.ReshapeOptionsEnd(b)
	}
}

func reducerOpts(keep bool) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.ReducerOptionsStart(b)
		fb.ReducerOptionsAddKeepDims(b, keep)
		return fb.ReducerOptionsEnd(b)
	}
}

func addOpts(act fb.ActivationFunctionType) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.AddOptionsStart(b)
		fb.AddOptionsAddFusedActivationFunction(b, act)
		return fb.AddOptionsEnd(b)
	}
}

func concatOpts(axis int32) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.ConcatenationOptionsStart(b)
		fb.ConcatenationOptionsAddAxis(b, axis)
		return fb.ConcatenationOptionsEnd(b)
	}
}

// tinyModel is a small float network that exercises most converters: conv
// (SAME, stride 2), depthwise (multiplier 2), add, hard-swish, average pool,
// mean, reshape with -1, fully connected on a rank-4 input with
// keep_num_dims, squeeze, softmax with beta, PADV2 and a transpose.
func tinyModel() *tModel {
	f := fb.TensorTypeFLOAT32
	seq := func(n int, scale float32) []byte {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(i%7-3) * scale
		}
		return f32bytes(v...)
	}
	return &tModel{
		description: "tiny test model",
		tensors: []tTensor{
			0:  {name: "x", typ: f, shape: []int32{1, 5, 5, 2}},
			1:  {name: "conv_w", typ: f, shape: []int32{4, 3, 3, 2}, data: seq(72, 0.1)},
			2:  {name: "conv_b", typ: f, shape: []int32{4}, data: f32bytes(0.1, 0.2, 0.3, 0.4)},
			3:  {name: "conv", typ: f, shape: []int32{1, 3, 3, 4}},
			4:  {name: "dw_w", typ: f, shape: []int32{1, 3, 3, 8}, data: seq(72, 0.05)},
			5:  {name: "dw", typ: f, shape: []int32{1, 3, 3, 8}},
			6:  {name: "dw", typ: f, shape: []int32{1, 3, 3, 8}}, // a repeated name
			7:  {name: "sum", typ: f, shape: []int32{1, 3, 3, 8}},
			8:  {name: "hs", typ: f, shape: []int32{1, 3, 3, 8}},
			9:  {name: "pool", typ: f, shape: []int32{1, 2, 2, 8}},
			10: {name: "axes", typ: fb.TensorTypeINT32, shape: []int32{2}, data: i32bytes(1, 2)},
			11: {name: "mean", typ: f, shape: []int32{1, 1, 1, 8}},
			12: {name: "fc_w", typ: f, shape: []int32{3, 8}, data: seq(24, 0.2)},
			13: {name: "fc", typ: f, shape: []int32{1, 1, 1, 3}},
			14: {name: "squeezed", typ: f, shape: []int32{1, 3}},
			15: {name: "prob", typ: f, shape: []int32{1, 3}},
			16: {name: "shape", typ: fb.TensorTypeINT32, shape: []int32{2}, data: i32bytes(-1, 1)},
			17: {name: "col", typ: f, shape: []int32{3, 1}},
			18: {name: "pads", typ: fb.TensorTypeINT32, shape: []int32{2, 2}, data: i32bytes(0, 1, 1, 0)},
			19: {name: "padval", typ: f, shape: []int32{}, data: f32bytes(-2)},
			20: {name: "padded", typ: f, shape: []int32{4, 2}},
			21: {name: "perm", typ: fb.TensorTypeINT32, shape: []int32{2}, data: i32bytes(1, 0)},
			22: {name: "out", typ: f, shape: []int32{2, 4}},
		},
		inputs:  []int32{0},
		outputs: []int32{22},
		ops: []tOp{
			{code: fb.BuiltinOperatorCONV_2D, inputs: []int32{0, 1, 2}, outputs: []int32{3},
				optType: fb.BuiltinOptionsConv2DOptions, opts: convOpts(fb.PaddingSAME, 2, 2, fb.ActivationFunctionTypeRELU6)},
			{code: fb.BuiltinOperatorDEPTHWISE_CONV_2D, inputs: []int32{3, 4, -1}, outputs: []int32{5},
				optType: fb.BuiltinOptionsDepthwiseConv2DOptions, opts: dwOpts(fb.PaddingSAME, 1, 1, 2)},
			{code: fb.BuiltinOperatorRELU, inputs: []int32{5}, outputs: []int32{6}},
			{code: fb.BuiltinOperatorADD, inputs: []int32{5, 6}, outputs: []int32{7},
				optType: fb.BuiltinOptionsAddOptions, opts: addOpts(fb.ActivationFunctionTypeRELU)},
			{code: fb.BuiltinOperatorHARD_SWISH, inputs: []int32{7}, outputs: []int32{8}},
			{code: fb.BuiltinOperatorAVERAGE_POOL_2D, inputs: []int32{8}, outputs: []int32{9},
				optType: fb.BuiltinOptionsPool2DOptions, opts: poolOpts(fb.PaddingSAME, 2, 2)},
			{code: fb.BuiltinOperatorMEAN, inputs: []int32{9, 10}, outputs: []int32{11},
				optType: fb.BuiltinOptionsReducerOptions, opts: reducerOpts(true)},
			{code: fb.BuiltinOperatorFULLY_CONNECTED, inputs: []int32{11, 12, -1}, outputs: []int32{13},
				optType: fb.BuiltinOptionsFullyConnectedOptions, opts: fcOpts(true)},
			{code: fb.BuiltinOperatorSQUEEZE, inputs: []int32{13}, outputs: []int32{14},
				optType: fb.BuiltinOptionsSqueezeOptions, opts: squeezeOpts(1, 2)},
			{code: fb.BuiltinOperatorSOFTMAX, inputs: []int32{14}, outputs: []int32{15},
				optType: fb.BuiltinOptionsSoftmaxOptions, opts: softmaxOpts(0.5)},
			{code: fb.BuiltinOperatorRESHAPE, inputs: []int32{15, 16}, outputs: []int32{17},
				deprecatedOnly: true},
			{code: fb.BuiltinOperatorPADV2, inputs: []int32{17, 18, 19}, outputs: []int32{20}},
			{code: fb.BuiltinOperatorTRANSPOSE, inputs: []int32{20, 21}, outputs: []int32{22}},
		},
	}
}
