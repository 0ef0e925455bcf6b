package hostile

import (
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/format/tflite/tflitetest"
)

// The two TFLite base models of the corpus, written with
// format/tflite/tflitetest. Each corpus file changes one thing in one of
// them.

// floatTFLite is the float base model: x [1,8,8,3] -> CONV_2D 3x3 stride 2
// SAME + ReLU6 -> AVERAGE_POOL_2D 4x4 -> RESHAPE [1,4] -> FULLY_CONNECTED
// -> SOFTMAX -> y [1,2].
//
// Tensors: 0 x, 1 conv_w, 2 conv_b, 3 conv, 4 pool, 5 shape, 6 flat,
// 7 fc_w, 8 fc_b, 9 logits, 10 y.
func floatTFLite() *tflitetest.Model {
	f32 := fb.TensorTypeFLOAT32
	return &tflitetest.Model{
		Tensors: []tflitetest.Tensor{
			{Name: "x", Type: f32, Shape: []int32{1, 8, 8, 3}},
			{Name: "conv_w", Type: f32, Shape: []int32{4, 3, 3, 3}, Data: tflitetest.Ramp(4 * 3 * 3 * 3)},
			{Name: "conv_b", Type: f32, Shape: []int32{4}, Data: tflitetest.F32(0.1, -0.1, 0.2, 0)},
			{Name: "conv", Type: f32, Shape: []int32{1, 4, 4, 4}},
			{Name: "pool", Type: f32, Shape: []int32{1, 1, 1, 4}},
			{Name: "shape", Type: fb.TensorTypeINT32, Shape: []int32{2}, Data: tflitetest.I32(1, 4)},
			{Name: "flat", Type: f32, Shape: []int32{1, 4}},
			{Name: "fc_w", Type: f32, Shape: []int32{2, 4}, Data: tflitetest.Ramp(8)},
			{Name: "fc_b", Type: f32, Shape: []int32{2}, Data: tflitetest.F32(0, 0.5)},
			{Name: "logits", Type: f32, Shape: []int32{1, 2}},
			{Name: "y", Type: f32, Shape: []int32{1, 2}},
		},
		Ops: []tflitetest.Op{
			{Code: fb.BuiltinOperatorCONV_2D, Inputs: []int32{0, 1, 2}, Outputs: []int32{3},
				OptType: fb.BuiltinOptionsConv2DOptions, Opts: tflitetest.Conv2D(fb.PaddingSAME, 2, 1, fb.ActivationFunctionTypeRELU6)},
			{Code: fb.BuiltinOperatorAVERAGE_POOL_2D, Inputs: []int32{3}, Outputs: []int32{4},
				OptType: fb.BuiltinOptionsPool2DOptions, Opts: tflitetest.Pool2D(fb.PaddingVALID, 4, 1)},
			{Code: fb.BuiltinOperatorRESHAPE, Inputs: []int32{4, 5}, Outputs: []int32{6}},
			{Code: fb.BuiltinOperatorFULLY_CONNECTED, Inputs: []int32{6, 7, 8}, Outputs: []int32{9},
				OptType: fb.BuiltinOptionsFullyConnectedOptions, Opts: tflitetest.FullyConnected(false)},
			{Code: fb.BuiltinOperatorSOFTMAX, Inputs: []int32{9}, Outputs: []int32{10},
				OptType: fb.BuiltinOptionsSoftmaxOptions, Opts: tflitetest.Softmax(1)},
		},
		Inputs:      []int32{0},
		Outputs:     []int32{10},
		Description: "mnconv hostile corpus: float base",
	}
}

// int8TFLite is the quantized base model, following TFLite's int8 scheme:
// x int8 [1,8,8,3] -> CONV_2D (int8 per-channel weights, int32 bias) ->
// DEPTHWISE_CONV_2D (weights [1,3,3,4], quantized_dimension 3) -> y.
//
// Tensors: 0 x, 1 conv_w, 2 conv_b, 3 conv, 4 dw_w, 5 dw_b, 6 y.
func int8TFLite() *tflitetest.Model {
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
	return &tflitetest.Model{
		Tensors: []tflitetest.Tensor{
			{Name: "x", Type: i8, Shape: []int32{1, 8, 8, 3}, Scale: []float32{1.0 / 255}, ZP: []int64{-128}},
			{Name: "conv_w", Type: i8, Shape: []int32{4, 3, 3, 3}, Data: wdata, Scale: ws, ZP: []int64{0, 0, 0, 0}},
			{Name: "conv_b", Type: fb.TensorTypeINT32, Shape: []int32{4}, Data: tflitetest.I32(10, -20, 30, 0), Scale: bs, ZP: []int64{0, 0, 0, 0}},
			{Name: "conv", Type: i8, Shape: []int32{1, 8, 8, 4}, Scale: []float32{0.05}, ZP: []int64{-128}},
			{Name: "dw_w", Type: i8, Shape: []int32{1, 3, 3, 4}, Data: dwdata, Scale: []float32{0.1, 0.1, 0.2, 0.2}, ZP: []int64{0, 0, 0, 0}, QDim: 3},
			{Name: "dw_b", Type: fb.TensorTypeINT32, Shape: []int32{4}, Data: tflitetest.I32(1, 2, 3, 4), Scale: []float32{0.005, 0.005, 0.01, 0.01}, ZP: []int64{0, 0, 0, 0}},
			{Name: "y", Type: i8, Shape: []int32{1, 8, 8, 4}, Scale: []float32{0.1}, ZP: []int64{-128}},
		},
		Ops: []tflitetest.Op{
			{Code: fb.BuiltinOperatorCONV_2D, Inputs: []int32{0, 1, 2}, Outputs: []int32{3},
				OptType: fb.BuiltinOptionsConv2DOptions, Opts: tflitetest.Conv2D(fb.PaddingSAME, 1, 1, fb.ActivationFunctionTypeRELU)},
			{Code: fb.BuiltinOperatorDEPTHWISE_CONV_2D, Inputs: []int32{3, 4, 5}, Outputs: []int32{6},
				OptType: fb.BuiltinOptionsDepthwiseConv2DOptions, Opts: tflitetest.Depthwise(fb.PaddingSAME, 1, 1)},
		},
		Inputs:      []int32{0},
		Outputs:     []int32{6},
		Description: "mnconv hostile corpus: int8 base",
	}
}
