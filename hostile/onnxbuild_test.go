package hostile

import (
	"encoding/binary"
	"github.com/mnconv/mnconv/format/tflite/tflitetest"
	"math"

	"google.golang.org/protobuf/proto"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
)

// Builders for the ONNX models of the corpus, on the importer's own
// protobuf subset.

func onnxValue(name string, elem pb.TensorProto_DataType, dims ...int64) *pb.ValueInfoProto {
	shape := &pb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(elem)), Shape: shape}}}}
}

func floatValue(name string, dims ...int64) *pb.ValueInfoProto {
	return onnxValue(name, pb.TensorProto_FLOAT, dims...)
}

func node(op string, ins, outs []string, attrs ...*pb.AttributeProto) *pb.NodeProto {
	return &pb.NodeProto{OpType: proto.String(op), Name: proto.String(outs[0] + "_node"), Input: ins, Output: outs, Attribute: attrs}
}

func intsAttr(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: v}
}

func intAttr(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func floatAttr(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// floatConst is a float32 initializer with raw data (i%7-3)/8.
func floatConst(name string, dims ...int64) *pb.TensorProto {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), RawData: tflitetest.Ramp(int(n))}
}

// floatList is a float32 initializer in float_data; one value is a scalar.
func floatList(name string, v ...float32) *pb.TensorProto {
	t := &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), FloatData: v}
	if len(v) != 1 {
		t.Dims = []int64{int64(len(v))}
	}
	return t
}

// intList is an 8- or 32-bit integer initializer in int32_data; one value
// is a scalar.
func intList(name string, dt pb.TensorProto_DataType, v ...int32) *pb.TensorProto {
	t := &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Int32Data: v}
	if len(v) != 1 {
		t.Dims = []int64{int64(len(v))}
	}
	return t
}

func int64List(name string, v ...int64) *pb.TensorProto {
	return &pb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(v))}, DataType: proto.Int32(int32(pb.TensorProto_INT64)), Int64Data: v}
}

func onnxModel(opset int64, g *pb.GraphProto) *pb.ModelProto {
	return &pb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("mnconv hostile corpus"),
		OpsetImport:  []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
		Graph:        g,
	}
}

// marshal writes m deterministically, so that the corpus regenerates to the
// same bytes.
func marshal(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// floatONNX is the float base model: x [1,3,8,8] -> Conv 3x3 stride 2
// pads 1 -> Relu -> GlobalAveragePool -> Flatten -> Gemm (transB) ->
// Softmax -> y [1,2]. Node 0 is the Conv.
func floatONNX() *pb.ModelProto {
	return onnxModel(13, &pb.GraphProto{
		Name: proto.String("float_base"),
		Node: []*pb.NodeProto{
			node("Conv", []string{"x", "conv_w", "conv_b"}, []string{"conv"},
				intsAttr("pads", 1, 1, 1, 1), intsAttr("strides", 2, 2), intsAttr("kernel_shape", 3, 3), intAttr("group", 1)),
			node("Relu", []string{"conv"}, []string{"relu"}),
			node("GlobalAveragePool", []string{"relu"}, []string{"pool"}),
			node("Flatten", []string{"pool"}, []string{"flat"}),
			node("Gemm", []string{"flat", "fc_w", "fc_b"}, []string{"logits"}, intAttr("transB", 1)),
			node("Softmax", []string{"logits"}, []string{"y"}),
		},
		Input:  []*pb.ValueInfoProto{floatValue("x", 1, 3, 8, 8)},
		Output: []*pb.ValueInfoProto{floatValue("y", 1, 2)},
		Initializer: []*pb.TensorProto{
			floatConst("conv_w", 4, 3, 3, 3), floatList("conv_b", 0.1, -0.1, 0.2, 0),
			floatConst("fc_w", 2, 4), floatList("fc_b", 0, 0.5),
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
			node("QuantizeLinear", []string{"x", "x_s", "x_z"}, []string{"xq"}),
			node("QLinearConv", []string{"xq", "x_s", "x_z", "w", "w_s", "w_z", "y_s", "y_z", "b"}, []string{"yq"}, intsAttr("pads", 1, 1, 1, 1)),
			node("DequantizeLinear", []string{"yq", "y_s", "y_z"}, []string{"y"}),
		},
		Input:  []*pb.ValueInfoProto{floatValue("x", 1, 3, 8, 8)},
		Output: []*pb.ValueInfoProto{floatValue("y", 1, 4, 8, 8)},
		Initializer: []*pb.TensorProto{
			floatList("x_s", 1.0/255), intList("x_z", pb.TensorProto_UINT8, 0),
			w, floatList("w_s", 0.01, 0.02, 0.03, 0.04), intList("w_z", pb.TensorProto_INT8, 0, 0, 0, 0),
			floatList("y_s", 0.05), intList("y_z", pb.TensorProto_UINT8, 128),
			intList("b", pb.TensorProto_INT32, 1, 2, 3, 4),
		},
	})
}

// putU32 and u32 read and write little-endian words inside a file.
func putU32(b []byte, at int64, v uint32) { binary.LittleEndian.PutUint32(b[at:], v) }
func u32(b []byte, at int64) int64        { return int64(binary.LittleEndian.Uint32(b[at:])) }

var nan32 = float32(math.NaN())
var inf32 = float32(math.Inf(1))
