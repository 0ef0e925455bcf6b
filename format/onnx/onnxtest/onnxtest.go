// Package onnxtest builds small ONNX models for tests: ModelProto messages
// made from the generated protobuf types with a few short constructors, so
// that a test can state exactly what a file holds and a corpus file can
// break exactly one rule (the builders check nothing).
//
// Phase: tests only (as net/http/httptest). Importer and hostile tests
// share it; the bytes Marshal writes for a given model never change, since
// committed corpus files are made with it.
package onnxtest

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/proto"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
)

// Value is a graph input / output / value_info of a tensor type with fixed
// dimensions.
func Value(name string, elem pb.TensorProto_DataType, dims ...int64) *pb.ValueInfoProto {
	shape := &pb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(elem)), Shape: shape}}}}
}

// FloatValue is a float32 Value.
func FloatValue(name string, dims ...int64) *pb.ValueInfoProto {
	return Value(name, pb.TensorProto_FLOAT, dims...)
}

// Node is a node of the default domain named after its first output
// ("<out>_node").
func Node(op string, ins, outs []string, attrs ...*pb.AttributeProto) *pb.NodeProto {
	return &pb.NodeProto{OpType: proto.String(op), Name: proto.String(outs[0] + "_node"), Input: ins, Output: outs, Attribute: attrs}
}

// AttrInts is an INTS attribute.
func AttrInts(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: v}
}

// AttrInt is an INT attribute.
func AttrInt(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

// AttrFloat is a FLOAT attribute.
func AttrFloat(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// AttrTensor is a TENSOR attribute (Constant's value).
func AttrTensor(name string, t *pb.TensorProto) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_TENSOR.Enum(), T: t}
}

// FloatInit is a float32 initializer in raw_data; f(i) gives element i.
func FloatInit(name string, dims []int64, f func(i int) float32) *pb.TensorProto {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	raw := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f(i)))
	}
	return &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), RawData: raw}
}

// Ramp gives (i%7-3)/8: small weights of both signs, the same values as
// tflitetest.Ramp.
func Ramp(i int) float32 { return float32(i%7-3) / 8 }

// FloatData is a float32 initializer in float_data; one value is a scalar,
// other counts a vector.
func FloatData(name string, v ...float32) *pb.TensorProto {
	t := &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), FloatData: v}
	if len(v) != 1 {
		t.Dims = []int64{int64(len(v))}
	}
	return t
}

// Int32Data is an initializer of an 8-, 16- or 32-bit integer type dt in
// int32_data; one value is a scalar, other counts a vector.
func Int32Data(name string, dt pb.TensorProto_DataType, v ...int32) *pb.TensorProto {
	t := &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Int32Data: v}
	if len(v) != 1 {
		t.Dims = []int64{int64(len(v))}
	}
	return t
}

// Int64Data is an int64 vector initializer in int64_data.
func Int64Data(name string, v ...int64) *pb.TensorProto {
	return &pb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(v))}, DataType: proto.Int32(int32(pb.TensorProto_INT64)), Int64Data: v}
}

// Nested is a graph whose If node holds a graph in its then_branch holding
// such a node, depth times: deeper than a decoder's recursion limit.
func Nested(depth int) *pb.GraphProto {
	var g *pb.GraphProto
	for i := 0; i < depth; i++ {
		n := Node("If", []string{"c"}, []string{"y"})
		if g != nil {
			n.Attribute = []*pb.AttributeProto{{Name: proto.String("then_branch"), Type: pb.AttributeProto_GRAPH.Enum(), G: g}}
		}
		g = &pb.GraphProto{Node: []*pb.NodeProto{n}}
	}
	return g
}

// Option changes a field of the ModelProto that Model writes.
type Option func(*pb.ModelProto)

// Producer sets producer_name (default "mnconv-test").
func Producer(name string) Option {
	return func(m *pb.ModelProto) { m.ProducerName = proto.String(name) }
}

// IRVersion sets ir_version (default 8).
func IRVersion(v int64) Option {
	return func(m *pb.ModelProto) { m.IrVersion = proto.Int64(v) }
}

// Model is a model of graph g importing the default domain at opset.
func Model(opset int64, g *pb.GraphProto, opts ...Option) *pb.ModelProto {
	m := &pb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("mnconv-test"),
		OpsetImport:  []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
		Graph:        g,
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Marshal writes m deterministically (the same message, the same bytes) and
// panics on error.
func Marshal(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}
