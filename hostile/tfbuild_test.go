package hostile

import (
	"encoding/binary"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
)

// A small TFLite writer for the corpus: a model described by plain structs,
// written with the flatc-generated builders. It writes whatever it is told,
// so that each corpus file can break exactly one rule.

type tfTensor struct {
	name  string
	typ   fb.TensorType
	shape []int32
	data  []byte // constant contents; nil for activations
	// ext places the data outside the flatbuffer (Buffer.offset / size),
	// as files over 2 GiB do; the offset and size are written as given.
	ext       bool
	extOffset uint64
	extSize   uint64
	// quantization; scale nil means none
	scale []float32
	zp    []int64
	qdim  int32
}

type tfOp struct {
	code    fb.BuiltinOperator
	custom  string
	inputs  []int32
	outputs []int32
	optType fb.BuiltinOptions
	opts    func(b *flatbuffers.Builder) flatbuffers.UOffsetT
	// opcode, when set, overrides the opcode index the writer computes.
	opcode *uint32
}

type tfModel struct {
	tensors         []tfTensor
	ops             []tfOp
	inputs, outputs []int32
	description     string
}

func (m *tfModel) build() []byte {
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
	bufOf := make([]uint32, len(m.tensors))
	var buffers []flatbuffers.UOffsetT
	fb.BufferStart(b)
	buffers = append(buffers, fb.BufferEnd(b))
	for i, t := range m.tensors {
		if t.data == nil && !t.ext {
			continue
		}
		var data flatbuffers.UOffsetT
		if !t.ext {
			b.StartVector(1, len(t.data), 16)
			for j := len(t.data) - 1; j >= 0; j-- {
				b.PrependByte(t.data[j])
			}
			data = b.EndVector(len(t.data))
		}
		fb.BufferStart(b)
		if t.ext {
			fb.BufferAddOffset(b, t.extOffset)
			fb.BufferAddSize(b, t.extSize)
		} else {
			fb.BufferAddData(b, data)
		}
		bufOf[i] = uint32(len(buffers))
		buffers = append(buffers, fb.BufferEnd(b))
	}

	var tensors []flatbuffers.UOffsetT
	for i, t := range m.tensors {
		name := b.CreateString(t.name)
		shape := i32vec(t.shape)
		var quant flatbuffers.UOffsetT
		if t.scale != nil {
			b.StartVector(4, len(t.scale), 4)
			for j := len(t.scale) - 1; j >= 0; j-- {
				b.PrependFloat32(t.scale[j])
			}
			scales := b.EndVector(len(t.scale))
			b.StartVector(8, len(t.zp), 8)
			for j := len(t.zp) - 1; j >= 0; j-- {
				b.PrependInt64(t.zp[j])
			}
			zps := b.EndVector(len(t.zp))
			fb.QuantizationParametersStart(b)
			fb.QuantizationParametersAddScale(b, scales)
			fb.QuantizationParametersAddZeroPoint(b, zps)
			fb.QuantizationParametersAddQuantizedDimension(b, t.qdim)
			quant = fb.QuantizationParametersEnd(b)
		}
		fb.TensorStart(b)
		fb.TensorAddShape(b, shape)
		fb.TensorAddType(b, t.typ)
		fb.TensorAddBuffer(b, bufOf[i])
		fb.TensorAddName(b, name)
		if t.scale != nil {
			fb.TensorAddQuantization(b, quant)
		}
		tensors = append(tensors, fb.TensorEnd(b))
	}

	type key struct {
		code   fb.BuiltinOperator
		custom string
	}
	codeIndex := map[key]uint32{}
	var codes []key
	var ops []flatbuffers.UOffsetT
	for _, o := range m.ops {
		k := key{o.code, o.custom}
		idx, ok := codeIndex[k]
		if !ok {
			idx = uint32(len(codes))
			codeIndex[k] = idx
			codes = append(codes, k)
		}
		if o.opcode != nil {
			idx = *o.opcode
		}
		var opts flatbuffers.UOffsetT
		if o.opts != nil {
			opts = o.opts(b)
		}
		ins, outs := i32vec(o.inputs), i32vec(o.outputs)
		fb.OperatorStart(b)
		fb.OperatorAddOpcodeIndex(b, idx)
		fb.OperatorAddInputs(b, ins)
		fb.OperatorAddOutputs(b, outs)
		if o.opts != nil {
			fb.OperatorAddBuiltinOptionsType(b, o.optType)
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
		fb.OperatorCodeAddDeprecatedBuiltinCode(b, int8(min(k.code, 127)))
		fb.OperatorCodeAddBuiltinCode(b, k.code)
		fb.OperatorCodeAddVersion(b, 1)
		if k.custom != "" {
			fb.OperatorCodeAddCustomCode(b, custom)
		}
		opcodes = append(opcodes, fb.OperatorCodeEnd(b))
	}

	tensorVec, opVec := offvec(tensors), offvec(ops)
	inVec, outVec := i32vec(m.inputs), i32vec(m.outputs)
	sgName := b.CreateString("main")
	fb.SubGraphStart(b)
	fb.SubGraphAddTensors(b, tensorVec)
	fb.SubGraphAddInputs(b, inVec)
	fb.SubGraphAddOutputs(b, outVec)
	fb.SubGraphAddOperators(b, opVec)
	fb.SubGraphAddName(b, sgName)
	sg := fb.SubGraphEnd(b)

	sgVec, codeVec, bufVec := offvec([]flatbuffers.UOffsetT{sg}), offvec(opcodes), offvec(buffers)
	desc := b.CreateString(m.description)
	fb.ModelStart(b)
	fb.ModelAddVersion(b, 3)
	fb.ModelAddOperatorCodes(b, codeVec)
	fb.ModelAddSubgraphs(b, sgVec)
	fb.ModelAddDescription(b, desc)
	fb.ModelAddBuffers(b, bufVec)
	b.FinishWithFileIdentifier(fb.ModelEnd(b), []byte(fb.FileIdentifier))
	return b.FinishedBytes()
}

func f32le(v ...float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

func i32le(v ...int32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], uint32(x))
	}
	return out
}

// ramp returns n float32 values (i%7-3)/8, as little-endian bytes.
func ramp(n int) []byte {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i%7-3) / 8
	}
	return f32le(v...)
}

func convOptions(pad fb.Padding, stride, dilation int32, act fb.ActivationFunctionType) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
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

func depthwiseOptions(pad fb.Padding, stride, mult int32) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
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

func poolOptions(k, stride int32) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.Pool2DOptionsStart(b)
		fb.Pool2DOptionsAddPadding(b, fb.PaddingVALID)
		fb.Pool2DOptionsAddStrideH(b, stride)
		fb.Pool2DOptionsAddStrideW(b, stride)
		fb.Pool2DOptionsAddFilterHeight(b, k)
		fb.Pool2DOptionsAddFilterWidth(b, k)
		return fb.Pool2DOptionsEnd(b)
	}
}

func fcOptions() func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.FullyConnectedOptionsStart(b)
		return fb.FullyConnectedOptionsEnd(b)
	}
}

func softmaxOptions(beta float32) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.SoftmaxOptionsStart(b)
		fb.SoftmaxOptionsAddBeta(b, beta)
		return fb.SoftmaxOptionsEnd(b)
	}
}

// floatTFLite is the float base model: x [1,8,8,3] -> CONV_2D 3x3 stride 2
// SAME + ReLU6 -> AVERAGE_POOL_2D 4x4 -> RESHAPE [1,4] -> FULLY_CONNECTED
// -> SOFTMAX -> y [1,2].
//
// Tensors: 0 x, 1 conv_w, 2 conv_b, 3 conv, 4 pool, 5 shape, 6 flat,
// 7 fc_w, 8 fc_b, 9 logits, 10 y.
func floatTFLite() *tfModel {
	f32 := fb.TensorTypeFLOAT32
	return &tfModel{
		tensors: []tfTensor{
			{name: "x", typ: f32, shape: []int32{1, 8, 8, 3}},
			{name: "conv_w", typ: f32, shape: []int32{4, 3, 3, 3}, data: ramp(4 * 3 * 3 * 3)},
			{name: "conv_b", typ: f32, shape: []int32{4}, data: f32le(0.1, -0.1, 0.2, 0)},
			{name: "conv", typ: f32, shape: []int32{1, 4, 4, 4}},
			{name: "pool", typ: f32, shape: []int32{1, 1, 1, 4}},
			{name: "shape", typ: fb.TensorTypeINT32, shape: []int32{2}, data: i32le(1, 4)},
			{name: "flat", typ: f32, shape: []int32{1, 4}},
			{name: "fc_w", typ: f32, shape: []int32{2, 4}, data: ramp(8)},
			{name: "fc_b", typ: f32, shape: []int32{2}, data: f32le(0, 0.5)},
			{name: "logits", typ: f32, shape: []int32{1, 2}},
			{name: "y", typ: f32, shape: []int32{1, 2}},
		},
		ops: []tfOp{
			{code: fb.BuiltinOperatorCONV_2D, inputs: []int32{0, 1, 2}, outputs: []int32{3},
				optType: fb.BuiltinOptionsConv2DOptions, opts: convOptions(fb.PaddingSAME, 2, 1, fb.ActivationFunctionTypeRELU6)},
			{code: fb.BuiltinOperatorAVERAGE_POOL_2D, inputs: []int32{3}, outputs: []int32{4},
				optType: fb.BuiltinOptionsPool2DOptions, opts: poolOptions(4, 1)},
			{code: fb.BuiltinOperatorRESHAPE, inputs: []int32{4, 5}, outputs: []int32{6}},
			{code: fb.BuiltinOperatorFULLY_CONNECTED, inputs: []int32{6, 7, 8}, outputs: []int32{9},
				optType: fb.BuiltinOptionsFullyConnectedOptions, opts: fcOptions()},
			{code: fb.BuiltinOperatorSOFTMAX, inputs: []int32{9}, outputs: []int32{10},
				optType: fb.BuiltinOptionsSoftmaxOptions, opts: softmaxOptions(1)},
		},
		inputs:      []int32{0},
		outputs:     []int32{10},
		description: "mnconv hostile corpus: float base",
	}
}

// int8TFLite is the quantized base model, following TFLite's int8 scheme:
// x int8 [1,8,8,3] -> CONV_2D (int8 per-channel weights, int32 bias) ->
// DEPTHWISE_CONV_2D (weights [1,3,3,4], quantized_dimension 3) -> y.
//
// Tensors: 0 x, 1 conv_w, 2 conv_b, 3 conv, 4 dw_w, 5 dw_b, 6 y.
func int8TFLite() *tfModel {
	i8 := fb.TensorTypeINT8
	wdata := make([]byte, 4*3*3*3)
	for i := range wdata {
		wdata[i] = byte(int8(i%11 - 5))
	}
	dwdata := make([]byte, 3*3*4)
	for i := range dwdata {
		dwdata[i] = byte(int8(i%5 - 2))
	}
	ws := []float32{0.02, 0.03, 0.025, 0.01}
	bs := make([]float32, 4)
	for i := range bs {
		bs[i] = ws[i] / 255
	}
	return &tfModel{
		tensors: []tfTensor{
			{name: "x", typ: i8, shape: []int32{1, 8, 8, 3}, scale: []float32{1.0 / 255}, zp: []int64{-128}},
			{name: "conv_w", typ: i8, shape: []int32{4, 3, 3, 3}, data: wdata, scale: ws, zp: []int64{0, 0, 0, 0}},
			{name: "conv_b", typ: fb.TensorTypeINT32, shape: []int32{4}, data: i32le(10, -20, 30, 0), scale: bs, zp: []int64{0, 0, 0, 0}},
			{name: "conv", typ: i8, shape: []int32{1, 8, 8, 4}, scale: []float32{0.05}, zp: []int64{-128}},
			{name: "dw_w", typ: i8, shape: []int32{1, 3, 3, 4}, data: dwdata, scale: []float32{0.1, 0.1, 0.2, 0.2}, zp: []int64{0, 0, 0, 0}, qdim: 3},
			{name: "dw_b", typ: fb.TensorTypeINT32, shape: []int32{4}, data: i32le(1, 2, 3, 4), scale: []float32{0.005, 0.005, 0.01, 0.01}, zp: []int64{0, 0, 0, 0}},
			{name: "y", typ: i8, shape: []int32{1, 8, 8, 4}, scale: []float32{0.1}, zp: []int64{-128}},
		},
		ops: []tfOp{
			{code: fb.BuiltinOperatorCONV_2D, inputs: []int32{0, 1, 2}, outputs: []int32{3},
				optType: fb.BuiltinOptionsConv2DOptions, opts: convOptions(fb.PaddingSAME, 1, 1, fb.ActivationFunctionTypeRELU)},
			{code: fb.BuiltinOperatorDEPTHWISE_CONV_2D, inputs: []int32{3, 4, 5}, outputs: []int32{6},
				optType: fb.BuiltinOptionsDepthwiseConv2DOptions, opts: depthwiseOptions(fb.PaddingSAME, 1, 1)},
		},
		inputs:      []int32{0},
		outputs:     []int32{6},
		description: "mnconv hostile corpus: int8 base",
	}
}
