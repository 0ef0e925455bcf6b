package tflite

import (
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/format/tflite/tflitetest"
)

// tinyModel is a small float network that exercises most converters: conv
// (SAME, stride 2), depthwise (multiplier 2), add, hard-swish, average pool,
// mean, reshape with -1, fully connected on a rank-4 input with
// keep_num_dims, squeeze, softmax with beta, PADV2 and a transpose.
func tinyModel() *tflitetest.Model {
	f := fb.TensorTypeFLOAT32
	seq := func(n int, scale float32) []byte {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(i%7-3) * scale
		}
		return tflitetest.F32(v...)
	}
	return &tflitetest.Model{
		Description: "tiny test model",
		Tensors: []tflitetest.Tensor{
			0:  {Name: "x", Type: f, Shape: []int32{1, 5, 5, 2}},
			1:  {Name: "conv_w", Type: f, Shape: []int32{4, 3, 3, 2}, Data: seq(72, 0.1)},
			2:  {Name: "conv_b", Type: f, Shape: []int32{4}, Data: tflitetest.F32(0.1, 0.2, 0.3, 0.4)},
			3:  {Name: "conv", Type: f, Shape: []int32{1, 3, 3, 4}},
			4:  {Name: "dw_w", Type: f, Shape: []int32{1, 3, 3, 8}, Data: seq(72, 0.05)},
			5:  {Name: "dw", Type: f, Shape: []int32{1, 3, 3, 8}},
			6:  {Name: "dw", Type: f, Shape: []int32{1, 3, 3, 8}}, // a repeated name
			7:  {Name: "sum", Type: f, Shape: []int32{1, 3, 3, 8}},
			8:  {Name: "hs", Type: f, Shape: []int32{1, 3, 3, 8}},
			9:  {Name: "pool", Type: f, Shape: []int32{1, 2, 2, 8}},
			10: {Name: "axes", Type: fb.TensorTypeINT32, Shape: []int32{2}, Data: tflitetest.I32(1, 2)},
			11: {Name: "mean", Type: f, Shape: []int32{1, 1, 1, 8}},
			12: {Name: "fc_w", Type: f, Shape: []int32{3, 8}, Data: seq(24, 0.2)},
			13: {Name: "fc", Type: f, Shape: []int32{1, 1, 1, 3}},
			14: {Name: "squeezed", Type: f, Shape: []int32{1, 3}},
			15: {Name: "prob", Type: f, Shape: []int32{1, 3}},
			16: {Name: "shape", Type: fb.TensorTypeINT32, Shape: []int32{2}, Data: tflitetest.I32(-1, 1)},
			17: {Name: "col", Type: f, Shape: []int32{3, 1}},
			18: {Name: "pads", Type: fb.TensorTypeINT32, Shape: []int32{2, 2}, Data: tflitetest.I32(0, 1, 1, 0)},
			19: {Name: "padval", Type: f, Shape: []int32{}, Data: tflitetest.F32(-2)},
			20: {Name: "padded", Type: f, Shape: []int32{4, 2}},
			21: {Name: "perm", Type: fb.TensorTypeINT32, Shape: []int32{2}, Data: tflitetest.I32(1, 0)},
			22: {Name: "out", Type: f, Shape: []int32{2, 4}},
		},
		Inputs:  []int32{0},
		Outputs: []int32{22},
		Ops: []tflitetest.Op{
			{Code: fb.BuiltinOperatorCONV_2D, Inputs: []int32{0, 1, 2}, Outputs: []int32{3},
				OptType: fb.BuiltinOptionsConv2DOptions, Opts: tflitetest.Conv2D(fb.PaddingSAME, 2, 1, fb.ActivationFunctionTypeRELU6)},
			{Code: fb.BuiltinOperatorDEPTHWISE_CONV_2D, Inputs: []int32{3, 4, -1}, Outputs: []int32{5},
				OptType: fb.BuiltinOptionsDepthwiseConv2DOptions, Opts: tflitetest.Depthwise(fb.PaddingSAME, 1, 2)},
			{Code: fb.BuiltinOperatorRELU, Inputs: []int32{5}, Outputs: []int32{6}},
			{Code: fb.BuiltinOperatorADD, Inputs: []int32{5, 6}, Outputs: []int32{7},
				OptType: fb.BuiltinOptionsAddOptions, Opts: tflitetest.Activation(fb.BuiltinOptionsAddOptions, fb.ActivationFunctionTypeRELU)},
			{Code: fb.BuiltinOperatorHARD_SWISH, Inputs: []int32{7}, Outputs: []int32{8}},
			{Code: fb.BuiltinOperatorAVERAGE_POOL_2D, Inputs: []int32{8}, Outputs: []int32{9},
				OptType: fb.BuiltinOptionsPool2DOptions, Opts: tflitetest.Pool2D(fb.PaddingSAME, 2, 2)},
			{Code: fb.BuiltinOperatorMEAN, Inputs: []int32{9, 10}, Outputs: []int32{11},
				OptType: fb.BuiltinOptionsReducerOptions, Opts: tflitetest.Reducer(true)},
			{Code: fb.BuiltinOperatorFULLY_CONNECTED, Inputs: []int32{11, 12, -1}, Outputs: []int32{13},
				OptType: fb.BuiltinOptionsFullyConnectedOptions, Opts: tflitetest.FullyConnected(true)},
			{Code: fb.BuiltinOperatorSQUEEZE, Inputs: []int32{13}, Outputs: []int32{14},
				OptType: fb.BuiltinOptionsSqueezeOptions, Opts: tflitetest.Squeeze(1, 2)},
			{Code: fb.BuiltinOperatorSOFTMAX, Inputs: []int32{14}, Outputs: []int32{15},
				OptType: fb.BuiltinOptionsSoftmaxOptions, Opts: tflitetest.Softmax(0.5)},
			{Code: fb.BuiltinOperatorRESHAPE, Inputs: []int32{15, 16}, Outputs: []int32{17},
				DeprecatedOnly: true},
			{Code: fb.BuiltinOperatorPADV2, Inputs: []int32{17, 18, 19}, Outputs: []int32{20}},
			{Code: fb.BuiltinOperatorTRANSPOSE, Inputs: []int32{20, 21}, Outputs: []int32{22}},
		},
	}
}
