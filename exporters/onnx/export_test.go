package onnx

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/exporters"
	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/ir"
)

func TestRegistered(t *testing.T) {
	f, err := exporters.ByName("onnx")
	if err != nil {
		t.Fatal(err)
	}
	p, err := exporters.ForPath("model.ONNX")
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "onnx" || p.Name != "onnx" || f.Export == nil {
		t.Fatalf("registered as %q / %q", f.Name, p.Name)
	}
}

// find returns the file's nodes of an op type.
func find(m *pb.ModelProto, op string) []*pb.NodeProto {
	var out []*pb.NodeProto
	for _, n := range m.GetGraph().GetNode() {
		if n.GetOpType() == op {
			out = append(out, n)
		}
	}
	return out
}

func initializer(m *pb.ModelProto, name string) *pb.TensorProto {
	for _, t := range m.GetGraph().GetInitializer() {
		if t.GetName() == name {
			return t
		}
	}
	return nil
}

func attr(n *pb.NodeProto, name string) *pb.AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// TestFileLayout checks the written file itself: header, an NHWC interface
// with one Transpose at each end, a depthwise weight as [C*M,1,KH,KW] with
// group C, pads in ONNX order, a per-channel constant as [C,1,1], and
// magic bytes the importers recognize.
func TestFileLayout(t *testing.T) {
	b, x := newGB(ir.Float32, 1, 8, 7, 3)
	c := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{2, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{0, 1, 2, 3}, Group: 3, Act: ir.ActRelu6},
		x, b.konst(6, 3, 3, 1), b.konst(6))
	y := b.node(ir.OpAdd, nil, c, b.konst(6))
	g := b.finish(t, y)
	data, warns := export(t, g, "")
	if len(warns) != 0 {
		t.Errorf("warnings %v", warns)
	}
	m := decode(t, data)
	if m.GetIrVersion() != 8 || m.GetProducerName() != "mnconv" || len(m.GetOpsetImport()) != 1 ||
		m.GetOpsetImport()[0].GetDomain() != "" || m.GetOpsetImport()[0].GetVersion() != 13 {
		t.Errorf("header: ir %d producer %q opsets %v", m.GetIrVersion(), m.GetProducerName(), m.GetOpsetImport())
	}
	if s := inputShape(m, 0); !slices.Equal(s, []int{1, 8, 7, 3}) {
		t.Errorf("input shape %v, want NHWC [1 8 7 3]", s)
	}
	tr := find(m, "Transpose")
	if len(tr) != 2 || !slices.Equal(attr(tr[0], "perm").GetInts(), []int64{0, 3, 1, 2}) || !slices.Equal(attr(tr[1], "perm").GetInts(), []int64{0, 2, 3, 1}) {
		t.Fatalf("transposes %v, want the input's [0 3 1 2] and the output's [0 2 3 1]", tr)
	}
	conv := find(m, "Conv")[0]
	if w := initializer(m, conv.GetInput()[1]); !slices.Equal(w.GetDims(), []int64{6, 1, 3, 3}) {
		t.Errorf("depthwise weight dims %v, want [6 1 3 3]", w.GetDims())
	}
	if attr(conv, "group").GetI() != 3 || !slices.Equal(attr(conv, "pads").GetInts(), []int64{0, 1, 2, 3}) ||
		!slices.Equal(attr(conv, "strides").GetInts(), []int64{2, 1}) || !slices.Equal(attr(conv, "kernel_shape").GetInts(), []int64{3, 3}) {
		t.Errorf("conv attributes %v", conv.GetAttribute())
	}
	if clip := find(m, "Clip"); len(clip) != 1 || clip[0].GetInput()[0] != conv.GetOutput()[0] {
		t.Errorf("relu6 is not a Clip after the Conv: %v", clip)
	}
	add := find(m, "Add")[0]
	if k := initializer(m, add.GetInput()[1]); !slices.Equal(k.GetDims(), []int64{6, 1, 1}) {
		t.Errorf("per-channel addend dims %v, want [6 1 1]", k.GetDims())
	}
	if out := m.GetGraph().GetOutput()[0]; out.GetName() != y.Name || tr[1].GetOutput()[0] != y.Name {
		t.Errorf("output %q, want %q written by the last Transpose", out.GetName(), y.Name)
	}
	f, err := importers.Detect("model.bin", data)
	if err != nil || f.Name != "onnx" {
		t.Errorf("importers.Detect: %v, %v", f, err)
	}
}

// TestFileQDQ checks the QDQ form of a quantized conv: int8 weights with a
// per-axis DequantizeLinear on axis 0 of OIHW, an int32 bias with scale
// in*w, a QuantizeLinear / DequantizeLinear pair around the activation, and
// the quantized interface kept as int8 (NCHW at both ends here, so no
// Transpose at all).
func TestFileQDQ(t *testing.T) {
	b, x := newGB(ir.Int8, 1, 4, 4, 2)
	x.Quant = &ir.Quant{Scale: []float32{0.05}, ZeroPoint: []int64{-3}}
	ws := []float32{0.01, 0.02, 0.03}
	y := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1, Act: ir.ActRelu}, x, quantWeight("w", []int{3, 1, 1, 2}, ws), quantBias("b", 0.05, ws))
	y.DType, y.Quant = ir.Int8, &ir.Quant{Scale: []float32{0.1}, ZeroPoint: []int64{-128}}
	g := b.finish(t, y)
	g.OutputLayouts = []ir.Layout{ir.NCHW}
	data, _ := export(t, g, "NCHW")
	m := decode(t, data)
	in := m.GetGraph().GetInput()[0].GetType().GetTensorType()
	out := m.GetGraph().GetOutput()[0].GetType().GetTensorType()
	if in.GetElemType() != int32(pb.TensorProto_INT8) || out.GetElemType() != int32(pb.TensorProto_INT8) {
		t.Errorf("interface types %d and %d, want int8", in.GetElemType(), out.GetElemType())
	}
	if s := inputShape(m, 0); !slices.Equal(s, []int{1, 2, 4, 4}) {
		t.Errorf("input shape %v, want NCHW [1 2 4 4]", s)
	}
	conv := find(m, "Conv")[0]
	producer := map[string]*pb.NodeProto{}
	for _, n := range m.GetGraph().GetNode() {
		producer[n.GetOutput()[0]] = n
	}
	for i, want := range []struct {
		dtype pb.TensorProto_DataType
		dims  []int64
		axis  bool
	}{{pb.TensorProto_INT8, []int64{1, 2, 4, 4}, false}, {pb.TensorProto_INT8, []int64{3, 2, 1, 1}, true}, {pb.TensorProto_INT32, []int64{3}, true}} {
		dq := producer[conv.GetInput()[i]]
		if dq.GetOpType() != "DequantizeLinear" {
			t.Fatalf("conv input %d comes from %s, want DequantizeLinear", i, dq.GetOpType())
		}
		if a := attr(dq, "axis"); (a != nil) != want.axis || (a != nil && a.GetI() != 0) {
			t.Errorf("input %d: axis attribute %v, want per-axis %v on axis 0", i, a, want.axis)
		}
		if i == 0 {
			continue
		}
		w := initializer(m, dq.GetInput()[0])
		if pb.TensorProto_DataType(w.GetDataType()) != want.dtype || !slices.Equal(w.GetDims(), want.dims) {
			t.Errorf("input %d: %v %v, want %v %v", i, pb.TensorProto_DataType(w.GetDataType()), w.GetDims(), want.dtype, want.dims)
		}
	}
	bias := producer[conv.GetInput()[2]]
	if s := initializer(m, bias.GetInput()[1]); fmt.Sprint(s.GetDims()) != "[3]" {
		t.Errorf("bias scale dims %v", s.GetDims())
	}
	relu := find(m, "Relu")
	q := find(m, "QuantizeLinear")
	if len(relu) != 1 || len(q) != 1 || q[0].GetInput()[0] != relu[0].GetOutput()[0] || q[0].GetOutput()[0] != y.Name {
		t.Errorf("want Conv -> Relu -> QuantizeLinear -> %q, got relu %v quantize %v", y.Name, relu, q)
	}
	if k := len(find(m, "Transpose")); k != 0 {
		t.Errorf("%d Transpose nodes, want 0", k)
	}
}

// TestExportErrors: what the ONNX ops cannot say, and bad options, are
// errors that name the node or the option.
func TestExportErrors(t *testing.T) {
	cases := []struct {
		name   string
		layout ir.Layout
		want   string
		build  func(b *gb, x *ir.Tensor) *ir.Tensor
	}{
		{"layout", ir.Layout(9), "input layout", func(b *gb, x *ir.Tensor) *ir.Tensor { return b.node(ir.OpRelu, nil, x) }},
		{"quantize-to-int32", ir.LayoutUnspecified, `node "n1" (Quantize): tensor "t1": QuantizeLinear writes int8 or uint8`, func(b *gb, x *ir.Tensor) *ir.Tensor {
			y := b.node(ir.OpQuantize, nil, x)
			y.DType, y.Quant = ir.Int32, &ir.Quant{Scale: []float32{0.5}}
			return y
		}},
		{"batchnorm-axis", ir.LayoutUnspecified, `node "n5" (BatchNorm): normalization along axis 2`, func(b *gb, x *ir.Tensor) *ir.Tensor {
			return b.node(ir.OpBatchNorm, &ir.BatchNormAttrs{Epsilon: 1e-5, Axis: 2}, x, b.konst(5), b.konst(5), b.konst(5), b.konst(5))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, x := newGB(ir.Float32, 1, 4, 5, 3)
			g := b.finish(t, c.build(b, x))
			_, err := Export(g, exporters.Options{InputLayout: c.layout})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "onnx: export: ") {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	// An invalid graph is refused before anything is written.
	x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: []int{1, 2}}
	ghost := &ir.Tensor{Name: "ghost", DType: ir.Float32, Shape: []int{1, 2}}
	y := &ir.Tensor{Name: "y", DType: ir.Float32, Shape: []int{1, 2}}
	g := &ir.Graph{Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{y},
		Nodes: []*ir.Node{ir.NewNode("add", ir.OpAdd, []*ir.Tensor{x, ghost}, y)}}
	if _, err := Export(g, exporters.Options{}); err == nil || !strings.Contains(err.Error(), "invalid graph") {
		t.Errorf("error %v, want an invalid graph", err)
	}
}

// TestExportLeavesGraph: export does not change the graph.
func TestExportLeavesGraph(t *testing.T) {
	for _, c := range opCases {
		g := c.build(t)
		before := g.Dump()
		export(t, g, c.layout)
		if g.Dump() != before {
			t.Errorf("%s: export changed the graph: %s", c.name, firstDiff(before, g.Dump()))
		}
	}
}
