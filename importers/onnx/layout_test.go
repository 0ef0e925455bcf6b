package onnx

import (
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/format/onnx/onnxtest"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// importModel imports a test-built model.
func importModel(t *testing.T, m *pb.ModelProto) *ir.Graph {
	t.Helper()
	g, err := Import("test.onnx", onnxtest.Marshal(m), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// runModel runs g on inputs given in ONNX layout and returns the outputs in
// ONNX layout.
func runModel(t *testing.T, g *ir.Graph, inputs ...*ir.Tensor) []*ir.Tensor {
	t.Helper()
	it, err := runtime.New(g)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range inputs {
		if err := it.SetInput(i, toRuntime(x, g.InputLayouts[i])); err != nil {
			t.Fatal(err)
		}
	}
	if err := runGuarded(it); err != nil {
		t.Fatal(err)
	}
	var outs []*ir.Tensor
	for k := range g.Outputs {
		outs = append(outs, fromRuntime(it.Output(k), g.OutputLayouts[k]))
	}
	return outs
}

func ramp(shape ...int) *ir.Tensor {
	x := &ir.Tensor{DType: ir.Float32, Shape: shape, Data: &ir.Data{F32: make([]float32, ir.NumElements(shape))}}
	for i := range x.Data.F32 {
		x.Data.F32[i] = float32(math.Sin(float64(i)*0.37)) * 2
	}
	return x
}

func assertClose(t *testing.T, got *ir.Tensor, want []float32, shape []int) {
	t.Helper()
	if !slices.Equal(got.Shape, shape) {
		t.Fatalf("shape %v, want %v", got.Shape, shape)
	}
	for i, w := range want {
		if d := math.Abs(float64(got.Data.F32[i] - w)); d > 1e-5+1e-4*math.Abs(float64(w)) {
			t.Fatalf("element %d: got %v, want %v", i, got.Data.F32[i], w)
		}
	}
}

func opCount(g *ir.Graph, op ir.Op) int { return countOps(g)[op] }

// A TensorFlow export: NHWC input, Transpose to NCHW, Conv, Relu, Transpose
// back. The transposes cancel against the layout translation.
func TestNHWCExportTransposesCancel(t *testing.T) {
	w := onnxtest.FloatInit("w", []int64{4, 3, 3, 3}, func(i int) float32 { return float32(i%7) * 0.1 })
	m := onnxtest.Model(13, &pb.GraphProto{
		Node: []*pb.NodeProto{
			onnxtest.Node("Transpose", []string{"x"}, []string{"xc"}, onnxtest.AttrInts("perm", 0, 3, 1, 2)),
			onnxtest.Node("Conv", []string{"xc", "w"}, []string{"c"}, onnxtest.AttrInts("pads", 1, 1, 1, 1)),
			onnxtest.Node("Relu", []string{"c"}, []string{"r"}),
			onnxtest.Node("Transpose", []string{"r"}, []string{"y"}, onnxtest.AttrInts("perm", 0, 2, 3, 1)),
		},
		Input:       []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 8, 8, 3)},
		Output:      []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 8, 8, 4)},
		Initializer: []*pb.TensorProto{w},
	})
	g := importModel(t, m)
	if n := opCount(g, ir.OpTranspose); n != 0 {
		t.Errorf("%d Transpose nodes, want 0:\n%s", n, g.Dump())
	}
	if g.InputLayouts[0] != ir.LayoutUnspecified || g.OutputLayouts[0] != ir.LayoutUnspecified || len(g.Nodes) != 2 {
		t.Errorf("layouts %q %q, %d nodes; want NHWC kept and Conv, Relu:\n%s", g.InputLayouts, g.OutputLayouts, len(g.Nodes), g.Dump())
	}
	if g.Outputs[0].Name != "y" {
		t.Errorf("output named %q, want y", g.Outputs[0].Name)
	}
}

// Per-channel and per-width constants broadcast against an NCHW image are
// re-laid-out at import; a rank-3 non-constant operand makes the op run in
// ONNX order. All compared with a direct computation.
func TestBroadcastAgainstImage(t *testing.T) {
	cc := onnxtest.FloatInit("cc", []int64{3, 1, 1}, func(i int) float32 { return float32(i + 1) })
	cw := onnxtest.FloatInit("cw", []int64{4}, func(i int) float32 { return float32(i) * 0.5 })
	m := onnxtest.Model(13, &pb.GraphProto{
		Node: []*pb.NodeProto{
			onnxtest.Node("Add", []string{"x", "cc"}, []string{"a"}),
			onnxtest.Node("Mul", []string{"a", "cw"}, []string{"b"}),
			onnxtest.Node("Sub", []string{"b", "z"}, []string{"y"}),
		},
		Input:       []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 3, 4, 4), onnxtest.FloatValue("z", 3, 4, 4)},
		Output:      []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 3, 4, 4)},
		Initializer: []*pb.TensorProto{cc, cw},
	})
	g := importModel(t, m)
	if n := opCount(g, ir.OpTranspose); n != 1 {
		t.Errorf("%d Transpose nodes, want 1 (for the rank-3 operand):\n%s", n, g.Dump())
	}
	x, z := ramp(1, 3, 4, 4), ramp(3, 4, 4)
	want := make([]float32, 48)
	for c := 0; c < 3; c++ {
		for h := 0; h < 4; h++ {
			for w := 0; w < 4; w++ {
				i := (c*4+h)*4 + w
				want[i] = (x.Data.F32[i]+float32(c+1))*(float32(w)*0.5) - z.Data.F32[i]
			}
		}
	}
	assertClose(t, runModel(t, g, x, z)[0], want, []int{1, 3, 4, 4})
}

// A classifier head: GlobalAveragePool, Flatten, Gemm, Softmax (opset 11,
// flattening semantics): no transpose, the 1x1 map reshaped in place.
func TestClassifierHead(t *testing.T) {
	w := onnxtest.FloatInit("w", []int64{5, 3}, func(i int) float32 { return float32(i%4) - 1.5 })
	b := onnxtest.FloatInit("b", []int64{5}, func(i int) float32 { return float32(i) * 0.1 })
	m := onnxtest.Model(11, &pb.GraphProto{
		Node: []*pb.NodeProto{
			onnxtest.Node("GlobalAveragePool", []string{"x"}, []string{"p"}),
			onnxtest.Node("Flatten", []string{"p"}, []string{"f"}),
			onnxtest.Node("Gemm", []string{"f", "w", "b"}, []string{"l"}, onnxtest.AttrInt("transB", 1)),
			onnxtest.Node("Softmax", []string{"l"}, []string{"y"}),
		},
		Input:       []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 3, 4, 4)},
		Output:      []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 5)},
		Initializer: []*pb.TensorProto{w, b},
	})
	g := importModel(t, m)
	if n := opCount(g, ir.OpTranspose); n != 0 {
		t.Errorf("%d Transpose nodes, want 0:\n%s", n, g.Dump())
	}
	x := ramp(1, 3, 4, 4)
	var mean [3]float32
	for c := range mean {
		for i := 0; i < 16; i++ {
			mean[c] += x.Data.F32[c*16+i] / 16
		}
	}
	logits := make([]float64, 5)
	sum := 0.0
	for o := range logits {
		l := float64(o) * 0.1
		for c := 0; c < 3; c++ {
			l += float64(mean[c]) * (float64((o*3+c)%4) - 1.5)
		}
		logits[o] = math.Exp(l)
		sum += logits[o]
	}
	want := make([]float32, 5)
	for o := range want {
		want[o] = float32(logits[o] / sum)
	}
	assertClose(t, runModel(t, g, x)[0], want, []int{1, 5})
}

// Softmax before opset 13 covers every dimension from axis on.
func TestSoftmaxFlattenSemantics(t *testing.T) {
	m := onnxtest.Model(11, &pb.GraphProto{
		Node:   []*pb.NodeProto{onnxtest.Node("Softmax", []string{"x"}, []string{"y"}, onnxtest.AttrInt("axis", 1))},
		Input:  []*pb.ValueInfoProto{onnxtest.FloatValue("x", 2, 3, 4)},
		Output: []*pb.ValueInfoProto{onnxtest.FloatValue("y", 2, 3, 4)},
	})
	g := importModel(t, m)
	x := ramp(2, 3, 4)
	want := make([]float32, 24)
	for b := 0; b < 2; b++ {
		sum := 0.0
		for i := 0; i < 12; i++ {
			sum += math.Exp(float64(x.Data.F32[b*12+i]))
		}
		for i := 0; i < 12; i++ {
			want[b*12+i] = float32(math.Exp(float64(x.Data.F32[b*12+i])) / sum)
		}
	}
	assertClose(t, runModel(t, g, x)[0], want, []int{2, 3, 4})
}

// Shape -> Gather -> Unsqueeze -> Concat -> Reshape folds to a constant
// shape; Constant and Cast fold too.
func TestShapeChainFolds(t *testing.T) {
	idx := &pb.TensorProto{Name: proto.String("i0"), DataType: proto.Int32(int32(pb.TensorProto_INT64)), Int64Data: []int64{0}}
	m := onnxtest.Model(11, &pb.GraphProto{
		Node: []*pb.NodeProto{
			onnxtest.Node("Shape", []string{"x"}, []string{"s"}),
			onnxtest.Node("Gather", []string{"s", "i0"}, []string{"n"}, onnxtest.AttrInt("axis", 0)),
			onnxtest.Node("Unsqueeze", []string{"n"}, []string{"n1"}, onnxtest.AttrInts("axes", 0)),
			onnxtest.Node("Constant", nil, []string{"m1"}, onnxtest.AttrTensor("value", onnxtest.Int64Data("", -1))),
			onnxtest.Node("Concat", []string{"n1", "m1"}, []string{"shape"}, onnxtest.AttrInt("axis", 0)),
			onnxtest.Node("Reshape", []string{"x", "shape"}, []string{"r"}),
			onnxtest.Node("Constant", nil, []string{"k"}, &pb.AttributeProto{Name: proto.String("value_ints"), Type: pb.AttributeProto_INTS.Enum(), Ints: []int64{2}}),
			onnxtest.Node("Cast", []string{"k"}, []string{"kf"}, onnxtest.AttrInt("to", int64(pb.TensorProto_FLOAT))),
			onnxtest.Node("Mul", []string{"r", "kf"}, []string{"y"}),
		},
		Input:       []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 3, 4, 4)},
		Output:      []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 48)},
		Initializer: []*pb.TensorProto{idx},
	})
	g := importModel(t, m)
	// The flatten of an NCHW 3x4x4 map needs the ONNX element order: one
	// Transpose back, then Reshape and Mul.
	if len(g.Nodes) != 3 || g.Nodes[0].Op != ir.OpTranspose || g.Nodes[1].Op != ir.OpReshape || g.Nodes[2].Op != ir.OpMul {
		t.Fatalf("want Transpose, Reshape, Mul:\n%s", g.Dump())
	}
	x := ramp(1, 3, 4, 4)
	want := make([]float32, 48)
	for i := range want {
		want[i] = 2 * x.Data.F32[i]
	}
	assertClose(t, runModel(t, g, x)[0], want, []int{1, 48})
}

// A QDQ graph: DequantizeLinear -> Conv -> QuantizeLinear. Simulated, the
// int8 weight is re-laid-out to OHWI before its Dequantize and no transpose
// appears; fused (the default), the region is one integer Conv.
func TestQDQConv(t *testing.T) {
	wq := &pb.TensorProto{Name: proto.String("wq"), Dims: []int64{2, 3, 3, 3}, DataType: proto.Int32(int32(pb.TensorProto_INT8))}
	for i := 0; i < 54; i++ {
		wq.Int32Data = append(wq.Int32Data, int32(i%11-5))
	}
	bq := &pb.TensorProto{Name: proto.String("bq"), Dims: []int64{2}, DataType: proto.Int32(int32(pb.TensorProto_INT32)), Int32Data: []int32{100, -50}}
	m := onnxtest.Model(13, &pb.GraphProto{
		Node: []*pb.NodeProto{
			onnxtest.Node("QuantizeLinear", []string{"x", "xs", "xz"}, []string{"xq"}),
			onnxtest.Node("DequantizeLinear", []string{"xq", "xs", "xz"}, []string{"xd"}),
			onnxtest.Node("DequantizeLinear", []string{"wq", "ws"}, []string{"wd"}, onnxtest.AttrInt("axis", 0)),
			onnxtest.Node("DequantizeLinear", []string{"bq", "bs"}, []string{"bd"}, onnxtest.AttrInt("axis", 0)),
			onnxtest.Node("Conv", []string{"xd", "wd", "bd"}, []string{"c"}, onnxtest.AttrInts("pads", 1, 1, 1, 1)),
			onnxtest.Node("QuantizeLinear", []string{"c", "ys", "yz"}, []string{"yq"}),
			onnxtest.Node("DequantizeLinear", []string{"yq", "ys", "yz"}, []string{"y"}),
		},
		Input:  []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 3, 5, 5)},
		Output: []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 2, 5, 5)},
		Initializer: []*pb.TensorProto{wq, bq,
			onnxtest.FloatData("xs", 0.02), onnxtest.Int32Data("xz", pb.TensorProto_UINT8, 128),
			onnxtest.FloatData("ws", 0.01, 0.02), onnxtest.FloatData("bs", 0.0002, 0.0004),
			onnxtest.FloatData("ys", 0.05), onnxtest.Int32Data("yz", pb.TensorProto_UINT8, 100)},
	})
	fused := importModel(t, m)
	if ops := countOps(fused); ops[ir.OpTranspose] != 0 || ops[ir.OpQuantize] != 1 || ops[ir.OpDequantize] != 1 || ops[ir.OpConv] != 1 {
		t.Fatalf("fused: ops %v, want Quantize, Conv, Dequantize:\n%s", ops, fused.Dump())
	}
	g, err := Import("test.onnx", onnxtest.Marshal(m), importers.Options{QDQSimulate: true})
	if err != nil {
		t.Fatal(err)
	}
	ops := countOps(g)
	if ops[ir.OpTranspose] != 0 || ops[ir.OpQuantize] != 2 || ops[ir.OpDequantize] != 4 || ops[ir.OpConv] != 1 {
		t.Fatalf("ops %v, want 2 Quantize, 4 Dequantize, 1 Conv, no Transpose:\n%s", ops, g.Dump())
	}
	for _, n := range g.Nodes {
		if n.Op == ir.OpConv {
			w := g.Producers()[n.In(1)]
			if w == nil || w.Op != ir.OpDequantize || !slices.Equal(w.In(0).Shape, []int{2, 3, 3, 3}) || w.In(0).Quant.Axis != 0 {
				t.Fatalf("Conv weight is not a Dequantize of an OHWI int8 constant:\n%s", g.Dump())
			}
			// OIHW element [o=1, i=2, h=0, w=1] is at OHWI [1, 0, 1, 2].
			if got, want := w.In(0).Data.I8[((1*3+0)*3+1)*3+2], int8((((1*3+2)*3+0)*3+1)%11-5); got != want {
				t.Errorf("OHWI weight element = %d, want %d", got, want)
			}
		}
	}
}

// Transposes of a permuted image: those that land on the stored tensor are
// aliases, the others run; every result is ONNX's.
func TestTransposeOnImages(t *testing.T) {
	perms := [][]int64{{0, 2, 3, 1}, {0, 1, 3, 2}, {3, 2, 1, 0}, {0, 3, 1, 2}, {0, 1, 2, 3}}
	for _, p := range perms {
		x := ramp(1, 2, 3, 4)
		perm := []int{int(p[0]), int(p[1]), int(p[2]), int(p[3])}
		oshape := onnxfmt.Permute(x.Shape, perm)
		o64 := []int64{int64(oshape[0]), int64(oshape[1]), int64(oshape[2]), int64(oshape[3])}
		m := onnxtest.Model(13, &pb.GraphProto{
			Node: []*pb.NodeProto{
				onnxtest.Node("Relu", []string{"x"}, []string{"r"}),
				onnxtest.Node("Transpose", []string{"r"}, []string{"t"}, onnxtest.AttrInts("perm", p...)),
				onnxtest.Node("Sigmoid", []string{"t"}, []string{"y"}),
			},
			Input:  []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 2, 3, 4)},
			Output: []*pb.ValueInfoProto{onnxtest.FloatValue("y", o64...)},
		})
		g := importModel(t, m)
		want := onnxfmt.TransposeData(x.Data, ir.Float32, x.Shape, perm).F32
		for i, v := range want {
			want[i] = float32(1 / (1 + math.Exp(-math.Max(float64(v), 0))))
		}
		assertClose(t, runModel(t, g, x)[0], want, oshape)
		// NCHW -> NHWC is the stored tensor itself; the identity too.
		alias := p[0] == 0 && ((p[1] == 2 && p[2] == 3 && p[3] == 1) || (p[1] == 1 && p[2] == 2 && p[3] == 3))
		if n := opCount(g, ir.OpTranspose); (n == 0) != alias {
			t.Errorf("perm %v: %d Transpose nodes:\n%s", p, n, g.Dump())
		}
	}
}

// The older attribute forms (Clip bounds, Squeeze and Unsqueeze axes) and
// the ops the official tests leave out (Max, Min with three inputs, Dropout,
// Identity, VALID padding).
func TestAttributeFormsAndSmallOps(t *testing.T) {
	half := onnxtest.FloatInit("half", nil, func(int) float32 { return 0.5 })
	m := onnxtest.Model(10, &pb.GraphProto{
		Node: []*pb.NodeProto{
			onnxtest.Node("Clip", []string{"x"}, []string{"c"}, onnxtest.AttrFloat("min", -1), onnxtest.AttrFloat("max", 1)),
			onnxtest.Node("Squeeze", []string{"c"}, []string{"s"}, onnxtest.AttrInts("axes", 2, 3)),
			onnxtest.Node("Unsqueeze", []string{"s"}, []string{"u"}, onnxtest.AttrInts("axes", 2)),
			onnxtest.Node("Dropout", []string{"u"}, []string{"d"}, onnxtest.AttrFloat("ratio", 0.3)),
			onnxtest.Node("Max", []string{"d", "half"}, []string{"mx"}),
			onnxtest.Node("Min", []string{"mx", "d", "half"}, []string{"mn"}),
			onnxtest.Node("Identity", []string{"mn"}, []string{"y"}),
		},
		Input:       []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 3, 1, 1)},
		Output:      []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 3, 1)},
		Initializer: []*pb.TensorProto{half},
	})
	g := importModel(t, m)
	if n := opCount(g, ir.OpTranspose); n != 0 {
		t.Errorf("%d Transpose nodes, want 0:\n%s", n, g.Dump())
	}
	x := &ir.Tensor{DType: ir.Float32, Shape: []int{1, 3, 1, 1}, Data: &ir.Data{F32: []float32{-3, 0.7, 2}}}
	// clip [-1, 0.7, 1]; max with .5 [.5, .7, 1]; min of that, clip, .5: [-1, .5, .5]
	assertClose(t, runModel(t, g, x)[0], []float32{-1, 0.5, 0.5}, []int{1, 3, 1})

	w := onnxtest.FloatInit("w", []int64{1, 1, 2, 2}, func(int) float32 { return 1 })
	m = onnxtest.Model(13, &pb.GraphProto{
		Node:        []*pb.NodeProto{onnxtest.Node("Conv", []string{"x", "w"}, []string{"y"}, &pb.AttributeProto{Name: proto.String("auto_pad"), Type: pb.AttributeProto_STRING.Enum(), S: []byte("VALID")})},
		Input:       []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 1, 3, 3)},
		Output:      []*pb.ValueInfoProto{onnxtest.FloatValue("y", 1, 1, 2, 2)},
		Initializer: []*pb.TensorProto{w},
	})
	g = importModel(t, m)
	x = &ir.Tensor{DType: ir.Float32, Shape: []int{1, 1, 3, 3}, Data: &ir.Data{F32: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}}}
	assertClose(t, runModel(t, g, x)[0], []float32{12, 16, 24, 28}, []int{1, 1, 2, 2})
}

// ReduceMean over H and W of an image (a Keras global pool) with and
// without keepdims, and over N without keepdims (which needs ONNX order).
func TestReduceOnImages(t *testing.T) {
	x := ramp(2, 3, 2, 2)
	mean := func(keep func(n, c, h, w int) int, size int) []float32 {
		out := make([]float32, size)
		cnt := make([]float32, size)
		for i, v := range x.Data.F32 {
			w, h, c, nn := i%2, (i/2)%2, (i/4)%3, i/12
			out[keep(nn, c, h, w)] += v
			cnt[keep(nn, c, h, w)]++
		}
		for i := range out {
			out[i] /= cnt[i]
		}
		return out
	}
	cases := []struct {
		axes  []int64
		keep  int64
		shape []int
		want  []float32
		trans int
	}{
		{[]int64{2, 3}, 1, []int{2, 3, 1, 1}, mean(func(n, c, h, w int) int { return n*3 + c }, 6), 0},
		{[]int64{2, 3}, 0, []int{2, 3}, mean(func(n, c, h, w int) int { return n*3 + c }, 6), 0},
		{[]int64{0}, 0, []int{3, 2, 2}, mean(func(n, c, h, w int) int { return (c*2+h)*2 + w }, 12), 1},
	}
	for _, c := range cases {
		s64 := make([]int64, len(c.shape))
		for i, d := range c.shape {
			s64[i] = int64(d)
		}
		m := onnxtest.Model(13, &pb.GraphProto{
			Node:   []*pb.NodeProto{onnxtest.Node("ReduceMean", []string{"x"}, []string{"y"}, onnxtest.AttrInts("axes", c.axes...), onnxtest.AttrInt("keepdims", c.keep))},
			Input:  []*pb.ValueInfoProto{onnxtest.FloatValue("x", 2, 3, 2, 2)},
			Output: []*pb.ValueInfoProto{onnxtest.FloatValue("y", s64...)},
		})
		g := importModel(t, m)
		if n := opCount(g, ir.OpTranspose); n != c.trans {
			t.Errorf("axes %v keepdims %d: %d Transpose nodes, want %d:\n%s", c.axes, c.keep, n, c.trans, g.Dump())
		}
		assertClose(t, runModel(t, g, x)[0], c.want, c.shape)
	}
}
