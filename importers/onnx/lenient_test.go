package onnx

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/format/onnx/onnxtest"
	"github.com/mnconv/mnconv/importers"
)

// TestLenientImport: x -> Frobnicate -> Relu -> Tile -> Relu. Strictly
// both unsupported ops are named; leniently they become opaque nodes, the
// one with a declared value_info shape keeps it, and the Relus after them are
// translated.
func TestLenientImport(t *testing.T) {
	m := onnxtest.Model(13, &pb.GraphProto{
		Name: proto.String("g"),
		Node: []*pb.NodeProto{
			onnxtest.Node("Frobnicate", []string{"x"}, []string{"a"}),
			onnxtest.Node("Relu", []string{"a"}, []string{"b"}),
			onnxtest.Node("Tile", []string{"b"}, []string{"c"}),
			onnxtest.Node("Relu", []string{"c"}, []string{"y"}),
		},
		Input:     []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)},
		Output:    []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 8)},
		ValueInfo: []*pb.ValueInfoProto{onnxtest.FloatValue("a", 1, 4), onnxtest.FloatValue("c", 1, 8)},
	})
	data := onnxtest.Marshal(m)
	_, err := Import("m.onnx", data, importers.Options{})
	want := `onnx: m.onnx: 2 unsupported ops: 1 x Frobnicate (node "a_node"), 1 x Tile (node "c_node")`
	if err == nil || err.Error() != want {
		t.Fatalf("strict import: %v\nwant %s", err, want)
	}
	g, err := Import("m.onnx", data, importers.Options{Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, n := range g.Nodes {
		ops = append(ops, n.Op.String())
	}
	if strings.Join(ops, ",") != "Opaque,Relu,Opaque,Relu" {
		t.Fatalf("ops %v", ops)
	}
	if s := g.Nodes[3].Out().Shape; !slices.Equal(s, []int{1, 8}) {
		t.Errorf("y shape %v", s)
	}
	if a := g.Nodes[2].Opaque(); a == nil || a.Op != "Tile" || !a.Unsupported || a.Where != `node "c_node"` {
		t.Errorf("Tile node %+v", a)
	}

	// A supported op whose attributes are refused becomes opaque too.
	m.Graph.Node[1].OpType = proto.String("Softmax")
	m.Graph.Node[1].Attribute = []*pb.AttributeProto{onnxtest.AttrInt("axis", 7)}
	m.Graph.Node[0].OpType = proto.String("Relu")
	m.Graph.Node[2].OpType = proto.String("Relu")
	m.Graph.Output[0] = onnxtest.FloatValue("y", 1, 4)
	g, err = Import("m.onnx", onnxtest.Marshal(m), importers.Options{Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	if a := g.Nodes[1].Opaque(); a == nil || a.Unsupported || a.Op != "Softmax" || a.Reason == "" {
		t.Errorf("Softmax node %+v", a)
	}
	if err := g.Validate(); err != nil {
		t.Error(err)
	}
}
