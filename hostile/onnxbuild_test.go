package hostile

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/proto"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/format/onnx/onnxtest"
)

// The ONNX base models of the corpus, built with onnxtest.

// onnxModel is onnxtest.Model with the corpus's producer name, which the
// committed corpus files carry.
func onnxModel(opset int64, g *pb.GraphProto) *pb.ModelProto {
	return onnxtest.Model(opset, g, onnxtest.Producer("mnconv hostile corpus"), onnxtest.IRVersion(8))
}

// floatONNX is the float base model: x [1,3,8,8] -> Conv 3x3 stride 2
// pads 1 -> Relu -> GlobalAveragePool -> Flatten -> Gemm (transB) ->
// Softmax -> y [1,2]. Node 0 is the Conv.
func floatONNX() *pb.ModelProto {
	return onnxModel(13, &pb.GraphProto{
		Name: proto.String("float_base"),
		Node: []*pb.NodeProto{
			onnxtest.Node("Conv", []string{"x", "conv_w", "conv_b"}, []string{"conv"},
				onnxtest.AttrInts("pads", 1, 1, 1, 1), onnxtest.AttrInts("strides", 2, 2), onnxtest.AttrInts("kernel_shape", 3, 3), onnxtest.AttrInt("group", 1)),
			onnxtest.Node("Relu", []string{"conv"}, []string{"relu"}),
			onnxtest.Node("GlobalAveragePool", []string{"relu"}, []string{"pool"}),
			onnxtest.Node("Flatten", []string{"pool"}, []string{"flat"}),
			onnxtest.Node("Gemm", []string{"flat", "fc_w", "fc_b"}, []string{"logits"}, onnxtest.AttrInt("transB", 1)),
			onnxtest.Node("Softmax", []string{"logits"}, []string{"y"}),
		},
		Input:  []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 3, 8, 8)},
		Output: []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 2)},
		Initializer: []*pb.TensorProto{
			onnxtest.FloatInit("conv_w", []int64{4, 3, 3, 3}, onnxtest.Ramp), onnxtest.FloatData("conv_b", 0.1, -0.1, 0.2, 0),
			onnxtest.FloatInit("fc_w", []int64{2, 4}, onnxtest.Ramp), onnxtest.FloatData("fc_b", 0, 0.5),
		},
	})
}

// quantONNX is the quantized base model in ONNX Runtime's QOperator form:
// x -> QuantizeLinear -> QLinearConv (int8 per-channel weights) ->
// DequantizeLinear -> y.
func quantONNX() *pb.ModelProto {
	w := &pb.TensorProto{Name: proto.String("w"), Dims: []int64{4, 3, 3, 3}, DataType: proto.Int32(int32(pb.TensorProto_INT8)), RawData: make([]byte, 108)}
	for i := range w.RawData {
		w.RawData[i] = byte(int8(i%9 - 4))
	}
	return onnxModel(13, &pb.GraphProto{
		Name: proto.String("quant_base"),
		Node: []*pb.NodeProto{
			onnxtest.Node("QuantizeLinear", []string{"x", "x_s", "x_z"}, []string{"xq"}),
			onnxtest.Node("QLinearConv", []string{"xq", "x_s", "x_z", "w", "w_s", "w_z", "y_s", "y_z", "b"}, []string{"yq"}, onnxtest.AttrInts("pads", 1, 1, 1, 1)),
			onnxtest.Node("DequantizeLinear", []string{"yq", "y_s", "y_z"}, []string{"y"}),
		},
		Input:  []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 3, 8, 8)},
		Output: []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 4, 8, 8)},
		Initializer: []*pb.TensorProto{
			onnxtest.FloatData("x_s", 1.0/255), onnxtest.Int32Data("x_z", pb.TensorProto_UINT8, 0),
			w, onnxtest.FloatData("w_s", 0.01, 0.02, 0.03, 0.04), onnxtest.Int32Data("w_z", pb.TensorProto_INT8, 0, 0, 0, 0),
			onnxtest.FloatData("y_s", 0.05), onnxtest.Int32Data("y_z", pb.TensorProto_UINT8, 128),
			onnxtest.Int32Data("b", pb.TensorProto_INT32, 1, 2, 3, 4),
		},
	})
}

// putU32 and u32 read and write little-endian words inside a file.
func putU32(b []byte, at int64, v uint32) { binary.LittleEndian.PutUint32(b[at:], v) }
func u32(b []byte, at int64) int64        { return int64(binary.LittleEndian.Uint32(b[at:])) }

var nan32 = float32(math.NaN())
var inf32 = float32(math.Inf(1))
