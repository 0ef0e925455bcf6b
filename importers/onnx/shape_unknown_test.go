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

// TestShapeOfUnknownShape: x -> Frobnicate -> a -> Relu -> b -> Shape / Size.
// a's shape is not declared, so neither is b's (a placeholder inferred from
// a placeholder): Shape and Size of b cannot be folded. A lenient import
// keeps them as opaque nodes naming the reason, never as the constant [0]
// the placeholder would give; with a's shape declared they fold as before.
func TestShapeOfUnknownShape(t *testing.T) {
	graph := func(valueInfo ...*pb.ValueInfoProto) []byte {
		return onnxtest.Marshal(onnxtest.Model(13, &pb.GraphProto{
			Name: proto.String("g"),
			Node: []*pb.NodeProto{
				onnxtest.Node("Frobnicate", []string{"x"}, []string{"a"}),
				onnxtest.Node("Relu", []string{"a"}, []string{"b"}),
				onnxtest.Node("Shape", []string{"b"}, []string{"s"}),
				onnxtest.Node("Size", []string{"b"}, []string{"n"}),
			},
			Input: []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)},
			Output: []*pb.ValueInfoProto{
				onnxtest.Value("s", pb.TensorProto_INT64, 2),
				onnxtest.Value("n", pb.TensorProto_INT64),
			},
			ValueInfo: valueInfo,
		}))
	}

	if _, err := Import("m.onnx", graph(), importers.Options{}); err == nil || !strings.Contains(err.Error(), "Frobnicate") {
		t.Fatalf("strict import: %v, want the unsupported Frobnicate named", err)
	}

	g, err := Import("m.onnx", graph(), importers.Options{Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	opaque := map[string]string{}
	for _, n := range g.Nodes {
		if a := n.Opaque(); a != nil {
			opaque[a.Op] = a.Reason
		}
	}
	for _, op := range []string{"Shape", "Size"} {
		r, ok := opaque[op]
		if !ok {
			t.Errorf("%s of a value of unknown shape was folded; want an opaque node", op)
			continue
		}
		if !strings.Contains(r, `"b"`) || !strings.Contains(r, "not known at import") {
			t.Errorf("%s reason %q does not name input b and why", op, r)
		}
	}
	for _, o := range g.Outputs {
		if o.IsConst() {
			t.Errorf("output %q is a constant %v", o.Name, o.Shape)
		}
	}

	// Declared: a is [1,4] and Shape folds to that constant.
	g, err = Import("m.onnx", graph(onnxtest.FloatValue("a", 1, 4)), importers.Options{Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		if a := n.Opaque(); a != nil && a.Op != "Frobnicate" {
			t.Errorf("%s stayed opaque with a declared input shape: %s", a.Op, a.Reason)
		}
	}
	// A constant graph output is bound through an Identity.
	s := g.Outputs[0]
	for _, n := range g.Nodes {
		if n.Out() == s && n.Op.String() == "Identity" {
			s = n.In(0)
		}
	}
	if !s.IsConst() || !slices.Equal(s.Data.I64, []int64{1, 4}) {
		t.Errorf("Shape with a declared input: %v %+v, want the constant [1 4]", s.Name, s.Data)
	}
}
