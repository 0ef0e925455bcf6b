package onnx

import (
	"fmt"
	"math/rand"
	"runtime/debug"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/format/onnx/onnxtest"
	"github.com/mnconv/mnconv/hostile"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/ir"
)

// TestBadInputs feeds malformed and unsupported models: each must come back
// as an error that names the file and what is wrong, never a panic.
func TestBadInputs(t *testing.T) {
	good := onnxtest.Marshal(reluModel())
	random := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(random)

	// edit returns the Relu model changed by f.
	edit := func(f func(m *pb.ModelProto)) []byte {
		m := reluModel()
		f(m)
		return onnxtest.Marshal(m)
	}
	graph := func(opset int64, nodes []*pb.NodeProto, in, out []*pb.ValueInfoProto, inits ...*pb.TensorProto) []byte {
		return onnxtest.Marshal(onnxtest.Model(opset, &pb.GraphProto{Name: proto.String("g"), Node: nodes, Input: in, Output: out, Initializer: inits}))
	}
	w := onnxtest.FloatInit("w", []int64{4, 3, 3, 3}, func(i int) float32 { return 0.01 * float32(i) })

	cases := []struct {
		name string
		data []byte
		want []string // every one must appear in the error
	}{
		{"empty file", nil, []string{"empty file"}},
		{"truncated", good[:len(good)/2], []string{"not a valid ONNX model"}},
		{"random bytes", random, []string{"not a valid ONNX model"}},
		{"no graph", onnxtest.Marshal(&pb.ModelProto{IrVersion: proto.Int64(8)}), []string{"model has no graph"}},
		{"missing tensor", edit(func(m *pb.ModelProto) { m.Graph.Node[0].Input[0] = "ghost" }),
			[]string{`node "y_node" (Relu)`, `reads "ghost", which no node, graph input or initializer defines`}},
		{"declared shape of 2^40 elements", edit(func(m *pb.ModelProto) { m.Graph.Input[0] = onnxtest.FloatValue("x", 1<<20, 1<<20) }),
			[]string{`graph input "x"`, "more than the limit"}},
		{"initializer of 2^40 elements", graph(13, []*pb.NodeProto{onnxtest.Node("Add", []string{"x", "c"}, []string{"y"})},
			[]*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)}, []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 4)},
			&pb.TensorProto{Name: proto.String("c"), Dims: []int64{1 << 20, 1 << 20}, DataType: proto.Int32(1), RawData: []byte{0, 0, 0, 0}}),
			[]string{`tensor "c"`, "more than the limit"}},
		{"shape overflowing int64", edit(func(m *pb.ModelProto) { m.Graph.Input[0] = onnxtest.FloatValue("x", 1<<62, 8) }),
			[]string{`graph input "x"`, "overflows int64"}},
		{"cyclic graph", graph(13, []*pb.NodeProto{
			onnxtest.Node("Relu", []string{"b"}, []string{"a"}), onnxtest.Node("Relu", []string{"a"}, []string{"b"}), onnxtest.Node("Relu", []string{"b"}, []string{"y"})},
			[]*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)}, []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 4)}),
			[]string{`node "a_node" (Relu)`, "cycle"}},
		{"external data", graph(13, []*pb.NodeProto{onnxtest.Node("Add", []string{"x", "c"}, []string{"y"})},
			[]*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)}, []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 4)},
			&pb.TensorProto{Name: proto.String("c"), Dims: []int64{4}, DataType: proto.Int32(1), DataLocation: pb.TensorProto_EXTERNAL.Enum(),
				ExternalData: []*pb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("../../etc/passwd")}}}),
			[]string{`tensor "c"`, "external file"}},
		{"unsupported op", edit(func(m *pb.ModelProto) { m.Graph.Node[0].OpType = proto.String("Frobnicate") }),
			[]string{`node "y_node" (Frobnicate)`, "unsupported op Frobnicate"}},
		{"ConvInteger", edit(func(m *pb.ModelProto) { m.Graph.Node[0].OpType = proto.String("ConvInteger") }),
			[]string{`(ConvInteger)`, "integer convolution"}},
		{"unknown domain", edit(func(m *pb.ModelProto) { m.Graph.Node[0].Domain = proto.String("com.example") }),
			[]string{`(com.example.Relu)`, `domain "com.example"`}},
		{"opset too new", edit(func(m *pb.ModelProto) { m.OpsetImport[0].Version = proto.Int64(99) }), []string{"opset 99", "not supported"}},
		{"opset too old", edit(func(m *pb.ModelProto) { m.OpsetImport[0].Version = proto.Int64(1) }), []string{"opset 1 ", "not supported"}},
		{"no default opset", edit(func(m *pb.ModelProto) { m.OpsetImport[0].Domain = proto.String("com.microsoft") }),
			[]string{"imports no opset of the default ONNX domain"}},
		{"deep nesting", onnxtest.Marshal(onnxtest.Model(13, onnxtest.Nested(200))), []string{"not a valid ONNX model", "recursion"}},
		{"attribute of the wrong type", graph(13, []*pb.NodeProto{onnxtest.Node("Conv", []string{"x", "w"}, []string{"y"}, onnxtest.AttrFloat("group", 1))},
			[]*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 3, 8, 8)}, []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 4, 6, 6)}, w),
			[]string{`node "y_node" (Conv)`, `attribute "group" is FLOAT, want INT`}},
		{"raw data of the wrong size", graph(13, []*pb.NodeProto{onnxtest.Node("Add", []string{"x", "c"}, []string{"y"})},
			[]*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)}, []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 4)},
			&pb.TensorProto{Name: proto.String("c"), Dims: []int64{4}, DataType: proto.Int32(1), RawData: make([]byte, 8)}),
			[]string{`tensor "c" has 8 bytes of raw data`}},
		{"unsupported element type", edit(func(m *pb.ModelProto) { m.Graph.Input[0] = onnxtest.Value("x", pb.TensorProto_FLOAT16, 1, 4) }),
			[]string{`graph input "x"`, "FLOAT16 is not supported"}},
		{"symbolic spatial dimension", edit(func(m *pb.ModelProto) {
			m.Graph.Input[0].Type.GetTensorType().Shape.Dim[1].Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "width"}
		}), []string{`graph input "x" dimension 1 is symbolic ("width")`}},
		{"dynamic reshape", graph(13, []*pb.NodeProto{onnxtest.Node("Reshape", []string{"x", "s"}, []string{"y"})},
			[]*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4), onnxtest.Value("s", pb.TensorProto_INT64, 2)}, []*pb.ValueInfoProto{onnxtest.FloatValue("y", 4, 1)}),
			[]string{`node "y_node" (Reshape)`, "shape input must be a constant"}},
		{"two writers", graph(13, []*pb.NodeProto{onnxtest.Node("Relu", []string{"x"}, []string{"y"}), onnxtest.Node("Sigmoid", []string{"x"}, []string{"y"})},
			[]*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)}, []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 4)}),
			[]string{`(Sigmoid)`, `writes "y", which node "y_node" also writes`}},
		{"training BatchNormalization", graph(15, []*pb.NodeProto{onnxtest.Node("BatchNormalization", []string{"x", "s", "s", "s", "s"}, []string{"y", "m", "v"}, onnxtest.AttrInt("training_mode", 1))},
			[]*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)}, []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 4)}, onnxtest.FloatInit("s", []int64{4}, func(int) float32 { return 1 })),
			[]string{`(BatchNormalization)`, "training-mode"}},
		{"3D convolution", graph(13, []*pb.NodeProto{onnxtest.Node("Conv", []string{"x", "w5"}, []string{"y"})},
			[]*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 3, 4, 4, 4)}, []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 4, 2, 2, 2)},
			onnxtest.FloatInit("w5", []int64{4, 3, 3, 3, 3}, func(int) float32 { return 1 })),
			[]string{`(Conv)`, "only 2D convolution is supported"}},
		{"Dropout mask read", graph(13, []*pb.NodeProto{onnxtest.Node("Dropout", []string{"x"}, []string{"d", "mask"}), onnxtest.Node("Relu", []string{"mask"}, []string{"y"})},
			[]*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)}, []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 4)}),
			[]string{`node "y_node" (Relu)`, "Dropout mask"}},
		{"int16 quantization", graph(13, []*pb.NodeProto{onnxtest.Node("QuantizeLinear", []string{"x", "s", "z"}, []string{"y"})},
			[]*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)}, []*pb.ValueInfoProto{onnxtest.Value("y", pb.TensorProto_INT16, 1, 4)},
			onnxtest.FloatData("s", 0.1), onnxtest.Int32Data("z", pb.TensorProto_INT16, 0)),
			[]string{`(QuantizeLinear)`, `tensor "z"`, "INT16 is not supported"}},
		{"arithmetic on raw quantized integers", graph(13, []*pb.NodeProto{
			onnxtest.Node("QuantizeLinear", []string{"x", "s", "z"}, []string{"q"}), onnxtest.Node("Relu", []string{"q"}, []string{"y"})},
			[]*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)}, []*pb.ValueInfoProto{onnxtest.Value("y", pb.TensorProto_UINT8, 1, 4)},
			onnxtest.FloatData("s", 0.1), onnxtest.Int32Data("z", pb.TensorProto_UINT8, 128)),
			[]string{`node "y_node" (Relu)`, `raw integers of quantized tensor "q"`}},
		{"too long a name", edit(func(m *pb.ModelProto) { m.Graph.Node[0].Name = proto.String(strings.Repeat("n", MaxStringLen+1)) }),
			[]string{"more than the limit"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := Import("bad.onnx", c.data, importers.Options{})
			if err == nil {
				t.Fatalf("imported without error:\n%s", g.Dump())
			}
			msg := err.Error()
			t.Log(msg)
			if strings.Contains(msg, "internal error") {
				t.Fatalf("panicked: %v", err)
			}
			for _, w := range append([]string{"onnx: bad.onnx: "}, c.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// TestLongChain imports a 10,000-node Relu chain, in file order and in
// reverse (which needs the topological sort): no recursion, no stack trouble.
func TestLongChain(t *testing.T) {
	const n = 10000
	for _, reversed := range []bool{false, true} {
		nodes := make([]*pb.NodeProto, n)
		for i := range nodes {
			in, out := fmt.Sprintf("t%d", i), fmt.Sprintf("t%d", i+1)
			if i == 0 {
				in = "x"
			}
			if i == n-1 {
				out = "y"
			}
			nodes[i] = onnxtest.Node("Relu", []string{in}, []string{out})
		}
		if reversed {
			for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
				nodes[i], nodes[j] = nodes[j], nodes[i]
			}
		}
		data := onnxtest.Marshal(onnxtest.Model(13, &pb.GraphProto{Node: nodes, Input: []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)}, Output: []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 4)}}))
		g, err := Import("chain.onnx", data, importers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Nodes) != n || g.Nodes[0].Inputs[0] != g.Inputs[0] || g.Nodes[n-1].Out() != g.Outputs[0] {
			t.Fatalf("reversed=%v: %d nodes, chain not in order", reversed, len(g.Nodes))
		}
	}
}

func TestMagic(t *testing.T) {
	if !Magic(onnxtest.Marshal(reluModel())) {
		t.Error("Magic rejects a model written by protobuf")
	}
	tflite := []byte{0x1c, 0, 0, 0, 'T', 'F', 'L', '3', 0x14, 0, 0x20, 0}
	for _, head := range [][]byte{tflite, []byte("\x08\x00\x12"), []byte("hello world"), nil} {
		if Magic(head) {
			t.Errorf("Magic accepts %q", head)
		}
	}
	f, err := importers.Detect("model.bin", onnxtest.Marshal(reluModel()))
	if err != nil || f.Name != "onnx" {
		t.Errorf("Detect: %v, %v", f, err)
	}
}

// FuzzImport: whatever the bytes, the importer returns an error or a graph,
// never panics (it runs without Import's panic net, so a panic is reported
// with its stack), and stays within the fuzz time and allocation budgets. A
// graph it returns validates, the ONNX exporter writes it, and the importer
// reads that back. scripts/fuzz.sh runs it; by default `go test` runs only
// the seeds and testdata/fuzz/FuzzImport.
func FuzzImport(f *testing.F) {
	f.Add(onnxtest.Marshal(reluModel()))
	w := onnxtest.FloatInit("w", []int64{2, 1, 3, 3}, func(i int) float32 { return float32(i) })
	f.Add(onnxtest.Marshal(onnxtest.Model(13, &pb.GraphProto{
		Node: []*pb.NodeProto{
			onnxtest.Node("Conv", []string{"x", "w"}, []string{"c"}, onnxtest.AttrInts("pads", 1, 1, 1, 1), onnxtest.AttrInt("group", 1)),
			onnxtest.Node("GlobalAveragePool", []string{"c"}, []string{"p"}),
			onnxtest.Node("Flatten", []string{"p"}, []string{"y"}),
		},
		Input:       []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 1, 4, 4)},
		Output:      []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 2)},
		Initializer: []*pb.TensorProto{w},
	})))
	hostile.AddCorpusSeeds(f, ".", ".onnx")
	f.Fuzz(func(t *testing.T, data []byte) {
		defer hostile.Watchdog("import, export and re-import")()
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		var g *ir.Graph
		var err error
		// The budget is the importer's on the hostile bytes; the round trip
		// below reads mnconv's own output, bounded by the watchdog alone.
		alloc, took := hostile.Measure(func() { g, err = importUnguarded("fuzz.onnx", data, importers.Options{}) })
		if err := hostile.CheckBudget(alloc, took, len(data)); err != nil {
			t.Fatal(err)
		}
		if err != nil {
			lenient := func() (*ir.Graph, error) { return importUnguarded("fuzz.onnx", data, importers.Options{Lenient: true}) }
			if err := hostile.CheckLenient(len(data), lenient); err != nil {
				t.Fatal(err)
			}
			return
		}
		err = hostile.RoundTrip(g, ".onnx", func(b []byte) (*ir.Graph, error) {
			return importUnguarded("fuzz-again.onnx", b, importers.Options{})
		})
		if err != nil {
			t.Fatalf("%v\ngraph:\n%s", err, g.Dump())
		}
	})
}

// reluModel is y = Relu(x) for x [1,4].
func reluModel() *pb.ModelProto {
	return onnxtest.Model(13, &pb.GraphProto{
		Name:   proto.String("relu"),
		Node:   []*pb.NodeProto{onnxtest.Node("Relu", []string{"x"}, []string{"y"})},
		Input:  []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)},
		Output: []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 4)},
	})
}
