package passes

import (
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

func TestPassTable(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range All {
		if p.Name == "" || p.Doc == "" || !strings.Contains(p.Doc, "=>") && p.Name != "dequantize" {
			t.Errorf("pass %q needs a name and a doc with a before => after line", p.Name)
		}
		if (p.rules == nil) == (p.whole == nil) {
			t.Errorf("pass %q must have rules or a whole-graph function, not both or neither", p.Name)
		}
		if seen[p.Name] {
			t.Errorf("two passes are named %q", p.Name)
		}
		seen[p.Name] = true
	}
	for _, p := range Default {
		if p.Name == Dequantize.Name {
			t.Errorf("dequantize must not be in Default")
		}
		if !seen[p.Name] {
			t.Errorf("Default's %q is missing from All", p.Name)
		}
	}
}

func TestByName(t *testing.T) {
	tests := []struct {
		list    string
		want    []string
		wantErr string
	}{
		{"", nil, ""},
		{"fold-batchnorm,fuse-activation", []string{"fold-batchnorm", "fuse-activation"}, ""},
		{" FoldPad , dequantize ", []string{"fold-pad", "dequantize"}, ""},
		{"remove_identity,default", append([]string{"remove-identity"}, Names()[:len(Default)]...), ""},
		{"fold-batchnorm,fuse-activations", nil, `unknown pass "fuse-activations" (known: default, remove-identity,`},
		{"fold-pad,,fold-pad", nil, "empty name"},
	}
	for _, tc := range tests {
		got, err := ByName(tc.list)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ByName(%q) error %v, want one containing %q", tc.list, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ByName(%q): %v", tc.list, err)
			continue
		}
		var names []string
		for _, p := range got {
			names = append(names, p.Name)
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("ByName(%q) = %v, want %v", tc.list, names, tc.want)
		}
	}
}

// mobilenetBlock is a MobileNetV2-like block as an unfused exporter writes
// it: Pad, Conv, BatchNorm, Clip(0,6), depthwise Conv, BatchNorm, Relu6 as
// Min/Max, projection Conv, BatchNorm, residual Add, an Identity and a dead
// branch.
func mobilenetBlock(t *testing.T) *ir.Graph {
	b := newBuilder(t, "block")
	x := b.input("x", 1, 8, 8, 4)
	p := b.node(ir.OpPad, "pad", &ir.PadAttrs{Pads: []int{0, 1, 1, 0, 0, 1, 1, 0}}, x)
	c1 := b.node(ir.OpConv, "expand", convAttrs([4]int{}), p, b.weights("expand_w", 8, 3, 3, 4))
	r1 := b.clip("relu6_1", b.bn("bn1", c1), 0, 6)
	dw := b.node(ir.OpConv, "dw", &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 8}, r1, b.weights("dw_w", 8, 3, 3, 1), b.weights("dw_b", 8))
	mx := b.node(ir.OpMax, "max", &ir.BinaryAttrs{}, b.bn("bn2", dw), b.scalar("zero", 0))
	r2 := b.node(ir.OpMin, "min", &ir.BinaryAttrs{}, mx, b.scalar("six", 6))
	id := b.node(ir.OpIdentity, "dropout", nil, r2)
	pr := b.bn("bn3", b.node(ir.OpConv, "project", convAttrs([4]int{}), id, b.weights("project_w", 4, 1, 1, 8)))
	b.node(ir.OpSigmoid, "unused", nil, pr)
	return b.build(b.node(ir.OpAdd, "residual", &ir.BinaryAttrs{}, pr, x))
}

func TestRunDefault(t *testing.T) {
	g := mobilenetBlock(t)
	after, rep := runPasses(t, g, Default...)
	if got, want := ops(after), "Conv Conv Conv Add"; got != want {
		t.Fatalf("ops %q, want %q\n%s", got, want, rep)
	}
	if !rep.Converged || rep.NodesBefore != 13 || rep.NodesAfter != 4 {
		t.Errorf("report: converged %v, %d -> %d nodes; want converged, 13 -> 4", rep.Converged, rep.NodesBefore, rep.NodesAfter)
	}
	want := map[string]int{"remove-identity": 1, "fold-pad": 1, "fold-batchnorm": 3, "fuse-activation": 3, "eliminate-dead-code": 1}
	for _, p := range rep.Passes {
		if p.Changes() != want[p.Name] {
			t.Errorf("%s: %d changes (%v), want %d", p.Name, p.Changes(), p.Nodes, want[p.Name])
		}
	}
	if s := rep.String(); !strings.Contains(s, "fold-batchnorm         3  bn1, bn2, bn3") || !strings.Contains(s, "13 -> 4 nodes") {
		t.Errorf("report text:\n%s", s)
	}
	for _, name := range []string{"expand", "dw"} {
		if a := findNode(after, name).FusedAct(); a != ir.ActRelu6 {
			t.Errorf("%s has activation %v, want relu6", name, a)
		}
	}
	sameOutputs(t, g, after)
	golden(t, "default_block", after)
}

// With the passes in an order that needs two iterations, one iteration
// stops short and says so.
func TestRunIterationLimit(t *testing.T) {
	b := newBuilder(t, "order")
	x := b.input("x", 1, 4, 4, 3)
	g := b.build(b.node(ir.OpRelu, "relu", nil, b.bn("bn", b.conv("conv", x, 3, 1, 1))))
	list := []Pass{FuseActivation, FoldBatchNorm}

	one := cloneGraph(g)
	rep, err := Run(one, list, &Options{MaxIterations: 1, Validate: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Converged || ops(one) != "Conv Relu" {
		t.Errorf("one iteration: converged %v, ops %q; want not converged, Conv Relu", rep.Converged, ops(one))
	}
	all, rep := runPasses(t, g, list...)
	if !rep.Converged || rep.Iterations != 3 || ops(all) != "Conv" {
		t.Errorf("to fixpoint: converged %v after %d iterations, ops %q; want converged after 3 (the last changes nothing), Conv", rep.Converged, rep.Iterations, ops(all))
	}
}

func TestRunRejectsInvalidGraph(t *testing.T) {
	b := newBuilder(t, "bad")
	x := b.input("x", 1, 3)
	y := b.node(ir.OpRelu, "relu", nil, x)
	g := b.build(y)
	g.Nodes[0].Inputs[0] = &ir.Tensor{Name: "nowhere", DType: ir.Float32, Shape: []int{1, 3}}
	if _, err := Run(g, Default, nil); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("Run on an invalid graph: %v, want an error naming the tensor", err)
	}
}

// quantizedConvGraph is u8 input -> Conv (int8 per-channel weights, int32
// bias) -> u8 -> Dequantize -> float output, as a TFLite-style model.
func quantizedConvGraph(t *testing.T) *ir.Graph {
	rng := rand.New(rand.NewSource(3))
	inQ := &ir.Quant{Scale: []float32{1.0 / 128}, ZeroPoint: []int64{128}}
	x := &ir.Tensor{Name: "image", DType: ir.Uint8, Shape: []int{1, 5, 5, 3}, Quant: inQ}
	wq := &ir.Quant{Scale: []float32{0.02, 0.01}, ZeroPoint: []int64{0, 0}, Axis: 0}
	w := &ir.Tensor{Name: "w", DType: ir.Int8, Shape: []int{2, 3, 3, 3}, Quant: wq, Data: &ir.Data{I8: make([]int8, 54)}}
	for i := range w.Data.I8 {
		w.Data.I8[i] = int8(rng.Intn(255) - 127)
	}
	bq := &ir.Quant{Scale: []float32{0.02 / 128, 0.01 / 128}, ZeroPoint: []int64{0, 0}}
	bias := &ir.Tensor{Name: "b", DType: ir.Int32, Shape: []int{2}, Quant: bq, Data: &ir.Data{I32: []int32{300, -700}}}
	y := &ir.Tensor{Name: "conv", DType: ir.Uint8, Quant: &ir.Quant{Scale: []float32{0.05}, ZeroPoint: []int64{100}}}
	out := &ir.Tensor{Name: "scores", DType: ir.Float32}
	conv := ir.NewNode("conv", ir.OpConv, []*ir.Tensor{x, w, bias}, y)
	conv.Attrs = &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 1, Act: ir.ActRelu6}
	dq := ir.NewNode("dequant", ir.OpDequantize, []*ir.Tensor{y}, out)
	g := &ir.Graph{Name: "q", Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{out}, Nodes: []*ir.Node{conv, dq}}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestDequantize(t *testing.T) {
	g := quantizedConvGraph(t)
	g.Nodes[0].Arith = ir.ArithONNX
	after, rep := runPasses(t, g, Dequantize)
	if ops(after) != "Conv" {
		t.Fatalf("ops %q, want Conv", ops(after))
	}
	for _, tn := range after.Tensors() {
		if tn.DType != ir.Float32 || tn.Quant != nil {
			t.Errorf("tensor %q is %v with quant %v after dequantize", tn.Name, tn.DType, tn.Quant)
		}
	}
	if after.Nodes[0].Arith != ir.ArithTFLite {
		t.Errorf("Arith not reset")
	}
	if got := after.SourceInputQuant["image"].String(); got != "uint8 scale=0.0078125 zero_point=128" {
		t.Errorf("input quantization recorded as %q", got)
	}
	if after.Outputs[0].Name != "scores" {
		t.Errorf("output renamed to %q", after.Outputs[0].Name)
	}
	// Weights: scale * q per output channel.
	w := findNode(after, "conv").In(1)
	if w.Data.F32[0] != 0.02*float32(g.Nodes[0].In(1).Data.I8[0]) || w.Data.F32[27] != 0.01*float32(g.Nodes[0].In(1).Data.I8[27]) {
		t.Errorf("weights not dequantized per channel")
	}
	if rep.Changes() == 0 {
		t.Errorf("report shows no changes")
	}
	golden(t, "dequantize", after)

	// Numbers: the float graph on real inputs agrees with the integer
	// graph within one output quantum, when the runtime has integer kernels.
	qg := quantizedConvGraph(t)
	it, err := runtime.New(qg)
	if err != nil {
		t.Skipf("integer kernels not available yet: %v", err)
	}
	rng := rand.New(rand.NewSource(9))
	qin := runtime.NewTensor(ir.Uint8, []int{1, 5, 5, 3})
	fin := runtime.NewTensor(ir.Float32, []int{1, 5, 5, 3})
	for i := range qin.U8 {
		qin.U8[i] = uint8(rng.Intn(256))
		fin.F32[i] = (float32(qin.U8[i]) - 128) / 128
	}
	if err := it.SetInput(0, qin); err != nil {
		t.Fatal(err)
	}
	if err := it.Run(); err != nil {
		t.Fatal(err)
	}
	want := it.Output(0).F32
	got := runGraph(t, "dequantized", after, []*runtime.Tensor{fin})[0]
	worst := 0.0
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
	}
	t.Logf("worst difference %.4g (output quantum 0.05)", worst)
	if worst > 0.05*1.01 {
		t.Errorf("float graph differs from the integer one by %.4g, more than one quantum", worst)
	}
}

// QDQ form: Quantize and Dequantize around float ops go; a Quantize that
// alone joins a graph input to a graph output becomes an Identity.
func TestDequantizeQDQ(t *testing.T) {
	q := &ir.Quant{Scale: []float32{0.1}, ZeroPoint: []int64{3}}
	x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: []int{1, 4}}
	xq := &ir.Tensor{Name: "xq", DType: ir.Int8, Quant: q}
	xd := &ir.Tensor{Name: "xd", DType: ir.Float32}
	wq := &ir.Tensor{Name: "wq", DType: ir.Int8, Shape: []int{2, 4}, Quant: q.Clone(), Data: &ir.Data{I8: []int8{1, 2, 3, 4, 5, 6, 7, -8}}}
	wd := &ir.Tensor{Name: "wd", DType: ir.Float32}
	y := &ir.Tensor{Name: "y", DType: ir.Float32}
	g := &ir.Graph{Name: "qdq", Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{y}, Nodes: []*ir.Node{
		ir.NewNode("q", ir.OpQuantize, []*ir.Tensor{x}, xq),
		ir.NewNode("dq", ir.OpDequantize, []*ir.Tensor{xq}, xd),
		ir.NewNode("dqw", ir.OpDequantize, []*ir.Tensor{wq}, wd),
		ir.NewNode("fc", ir.OpGemm, []*ir.Tensor{xd, wd}, y),
	}}
	g.Nodes[3].Attrs = &ir.GemmAttrs{TransB: true, Alpha: 1, Beta: 1}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	after, _ := runPasses(t, g, Dequantize)
	if ops(after) != "Gemm" {
		t.Fatalf("ops %q, want Gemm", ops(after))
	}
	if w := after.Nodes[0].In(1); w.Name != "wq" || w.Data.F32[7] != float32(0.1)*(-11) {
		t.Errorf("weight %q = %v", w.Name, w.Data.F32)
	}

	lone := &ir.Graph{Name: "lone", Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{xq}, Nodes: []*ir.Node{ir.NewNode("q", ir.OpQuantize, []*ir.Tensor{x}, xq)}}
	after, _ = runPasses(t, lone, Dequantize)
	if ops(after) != "Identity" || after.Outputs[0].Name != "xq" {
		t.Errorf("lone Quantize: ops %q output %q, want Identity writing xq", ops(after), after.Outputs[0].Name)
	}
	if after.SourceOutputQuant["xq"].String() != "int8 scale=0.100000001 zero_point=3" {
		t.Errorf("output quantization recorded as %q", after.SourceOutputQuant["xq"].String())
	}
}

// A zero point at the bottom of a computing op's output range is a folded
// ReLU (or ReLU6 when the range ends at 6): the float graph keeps it.
func TestDequantizeKeepsRectification(t *testing.T) {
	tests := []struct {
		name  string
		dtype ir.DType
		scale float32
		zp    int64
		act   ir.Activation // the conv's activation before
		want  ir.Activation
	}{
		{"u8_zp0_range6", ir.Uint8, 6.0 / 255, 0, ir.ActNone, ir.ActRelu6},
		{"u8_zp0_range3", ir.Uint8, 3.0 / 255, 0, ir.ActNone, ir.ActRelu},
		{"i8_zp-128_range6", ir.Int8, 6.0 / 255, -128, ir.ActNone, ir.ActRelu6},
		{"relu_and_range6", ir.Uint8, 6.0 / 255, 0, ir.ActRelu, ir.ActRelu6},
		{"relu6_kept", ir.Uint8, 10.0 / 255, 0, ir.ActRelu6, ir.ActRelu6},
		{"zp_inside_range", ir.Uint8, 0.05, 100, ir.ActNone, ir.ActNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := quantizedConvGraph(t)
			conv := g.Nodes[0]
			conv.Attrs.(*ir.ConvAttrs).Act = tc.act
			y := conv.Out()
			y.DType, y.Quant = tc.dtype, &ir.Quant{Scale: []float32{tc.scale}, ZeroPoint: []int64{tc.zp}}
			after, _ := runPasses(t, g, Dequantize)
			if got := after.Nodes[0].FusedAct(); got != tc.want {
				t.Errorf("activation %v, want %v", got, tc.want)
			}
		})
	}

	// An op without a fused activation (MatMul) gets a Relu node.
	g := quantizedConvGraph(t)
	x := g.Inputs[0]
	k := &ir.Tensor{Name: "k", DType: ir.Uint8, Shape: []int{3, 3}, Quant: x.Quant.Clone(), Data: &ir.Data{U8: make([]uint8, 9)}}
	d := &ir.Tensor{Name: "d", DType: ir.Uint8, Shape: x.Shape, Quant: &ir.Quant{Scale: []float32{0.1}, ZeroPoint: []int64{0}}}
	mm := ir.NewNode("matmul", ir.OpMatMul, []*ir.Tensor{x, k}, d)
	g.Nodes[0].Inputs[0] = d
	g.Nodes = append([]*ir.Node{mm}, g.Nodes...)
	after, _ := runPasses(t, g, Dequantize)
	if got := ops(after); got != "MatMul Relu Conv" {
		t.Errorf("ops %q, want MatMul Relu Conv", got)
	}
}
