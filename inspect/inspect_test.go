package inspect

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/format/tflite/tflitetest"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

func act(name string) *ir.Tensor { return &ir.Tensor{Name: name, DType: ir.Float32} }

func constF(name string, shape ...int) *ir.Tensor {
	return ir.NewConstF32(name, shape, make([]float32, ir.NumElements(shape)))
}

// smallGraph is a hand-made network with one layer of each kind the counting
// convention distinguishes. Expected figures are worked out beside each node.
func smallGraph(t *testing.T) *ir.Graph {
	t.Helper()
	x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: []int{1, 8, 8, 3}}
	g := &ir.Graph{Name: "small", Inputs: []*ir.Tensor{x}}
	add := func(n *ir.Node) *ir.Tensor {
		g.Nodes = append(g.Nodes, n)
		return n.Out()
	}

	// Conv 3x3 stride 2 pad 1, 3 -> 16: out [1,4,4,16];
	// MACs 4*4*16 * 3*3*3 = 6912; params 16*3*3*3 + 16 = 448.
	conv := ir.NewNode("conv", ir.OpConv, []*ir.Tensor{x, constF("conv_w", 16, 3, 3, 3), constF("conv_b", 16)}, act("conv_out"))
	*conv.Attrs.(*ir.ConvAttrs) = ir.ConvAttrs{Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 1}
	y := add(conv)

	// BatchNorm: 4 x 16 other params.
	bn := ir.NewNode("bn", ir.OpBatchNorm, []*ir.Tensor{y, constF("s", 16), constF("b", 16), constF("m", 16), constF("v", 16)}, act("bn_out"))
	bn.Attrs.(*ir.BatchNormAttrs).Axis = 3
	y = add(bn)

	// Depthwise 3x3 pad 1 over 16 channels: out [1,4,4,16];
	// MACs 4*4*16 * 3*3*1 = 2304; params 16*3*3 + 16 = 160.
	dw := ir.NewNode("dw", ir.OpConv, []*ir.Tensor{y, constF("dw_w", 16, 3, 3, 1), constF("dw_b", 16)}, act("dw_out"))
	*dw.Attrs.(*ir.ConvAttrs) = ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 16}
	y = add(dw)

	// Grouped 1x1, 4 groups, 16 -> 32, no bias: out [1,4,4,32];
	// MACs 4*4*32 * 1*1*4 = 2048; params 32*4 = 128.
	gc := ir.NewNode("grouped", ir.OpConv, []*ir.Tensor{y, constF("g_w", 32, 1, 1, 4)}, act("g_out"))
	*gc.Attrs.(*ir.ConvAttrs) = ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 4}
	y = add(gc)

	// Global average pool: 0 MACs under the convention.
	mean := ir.NewNode("pool", ir.OpMean, []*ir.Tensor{y}, act("pool_out"))
	mean.Attrs.(*ir.ReduceAttrs).Axes = []int{1, 2}
	y = add(mean)

	// Fully connected 32 -> 10: MACs 320; params 10*32 + 10 = 330.
	fc := ir.NewNode("fc", ir.OpGemm, []*ir.Tensor{y, constF("fc_w", 10, 32), constF("fc_b", 10)}, act("fc_out"))
	*fc.Attrs.(*ir.GemmAttrs) = ir.GemmAttrs{TransB: true, Alpha: 1, Beta: 1}
	y = add(fc)

	// Add of a constant: 10 other params, reading fc_b again counts nothing.
	ad := ir.NewNode("add", ir.OpAdd, []*ir.Tensor{y, constF("shift", 10)}, act("add_out"))
	y = add(ad)

	// MatMul by a dequantized int8 weight (QDQ style), 10 -> 5:
	// MACs 1*5*10 = 50; params 50 (int8, 50 bytes); the Dequantize is not a
	// layer with params and its constant is no "other" param.
	wq := &ir.Tensor{Name: "mm_wq", DType: ir.Int8, Shape: []int{10, 5}, Quant: &ir.Quant{Scale: []float32{0.1}, ZeroPoint: []int64{0}},
		Data: &ir.Data{I8: make([]int8, 50)}}
	wf := add(ir.NewNode("mm_w_dq", ir.OpDequantize, []*ir.Tensor{wq}, &ir.Tensor{Name: "mm_w", DType: ir.Float32}))
	y = add(ir.NewNode("mm", ir.OpMatMul, []*ir.Tensor{y, wf}, act("mm_out")))

	g.Outputs = []*ir.Tensor{y}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestAnalyzeSmallGraph(t *testing.T) {
	r := Analyze(smallGraph(t))
	want := []Layer{
		{Name: "conv", Op: "Conv", OutputShape: []int{1, 4, 4, 16}, Params: 448, MACs: 6912},
		{Name: "bn", Op: "BatchNorm", OutputShape: []int{1, 4, 4, 16}, OtherParams: 64},
		{Name: "dw", Op: "DepthwiseConv", OutputShape: []int{1, 4, 4, 16}, Params: 160, MACs: 2304},
		{Name: "grouped", Op: "Conv", OutputShape: []int{1, 4, 4, 32}, Params: 128, MACs: 2048},
		{Name: "pool", Op: "Mean", OutputShape: []int{1, 32}},
		{Name: "fc", Op: "FullyConnected", OutputShape: []int{1, 10}, Params: 330, MACs: 320},
		{Name: "add", Op: "Add", OutputShape: []int{1, 10}, OtherParams: 10},
		{Name: "mm_w_dq", Op: "Dequantize", OutputShape: []int{10, 5}},
		{Name: "mm", Op: "MatMul", OutputShape: []int{1, 5}, Params: 50, MACs: 50},
	}
	if len(r.Layers) != len(want) {
		t.Fatalf("got %d layers, want %d", len(r.Layers), len(want))
	}
	for i, w := range want {
		g := r.Layers[i]
		if g.Name != w.Name || g.Op != w.Op || !slices.Equal(g.OutputShape, w.OutputShape) ||
			g.Params != w.Params || g.MACs != w.MACs || g.OtherParams != w.OtherParams {
			t.Errorf("layer %d:\n got  %+v\n want %+v", i, g, w)
		}
	}
	if r.TotalMACs != 11634 || r.TotalParams != 1116 || r.OtherParams != 74 {
		t.Errorf("totals: MACs %d params %d other %d, want 11634, 1116, 74", r.TotalMACs, r.TotalParams, r.OtherParams)
	}
	// 1066 float32 params and 50 int8 ones.
	if r.WeightBytes["float32"] != 4264 || r.WeightBytes["int8"] != 50 || r.TotalWeightBytes != 4314 {
		t.Errorf("weight bytes %v (total %d), want float32 4264, int8 50, total 4314", r.WeightBytes, r.TotalWeightBytes)
	}
	if len(r.Inputs) != 1 || r.Inputs[0].Name != "x" || !slices.Equal(r.Inputs[0].Shape, []int{1, 8, 8, 3}) {
		t.Errorf("inputs %+v", r.Inputs)
	}
}

// TestReportJSON pins the JSON field names other tools read.
func TestReportJSON(t *testing.T) {
	b, err := json.Marshal(Analyze(smallGraph(t)))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"layers", "total_params", "total_macs"} {
		if _, ok := m[k]; !ok {
			t.Errorf("report JSON lacks %q: %s", k, b)
		}
	}
	l0 := m["layers"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "op", "output_shape", "params", "macs"} {
		if _, ok := l0[k]; !ok {
			t.Errorf("layer JSON lacks %q: %v", k, l0)
		}
	}
	if !strings.Contains(string(b), `"total_macs":11634`) {
		t.Errorf("total_macs not 11634 in %s", b)
	}
}

// TestAnalyzeSharedWeight: a constant read by two layers counts once, and a
// Gemm without TransB stays a Gemm.
func TestAnalyzeSharedWeight(t *testing.T) {
	x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: []int{2, 4}}
	w := constF("w", 4, 4)
	g := &ir.Graph{Inputs: []*ir.Tensor{x}}
	n1 := ir.NewNode("g1", ir.OpGemm, []*ir.Tensor{x, w}, act("y1"))
	*n1.Attrs.(*ir.GemmAttrs) = ir.GemmAttrs{Alpha: 1, Beta: 1}
	n2 := ir.NewNode("g2", ir.OpGemm, []*ir.Tensor{n1.Out(), w}, act("y2"))
	*n2.Attrs.(*ir.GemmAttrs) = ir.GemmAttrs{Alpha: 1, Beta: 1}
	g.Nodes = []*ir.Node{n1, n2}
	g.Outputs = []*ir.Tensor{n2.Out()}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	r := Analyze(g)
	if r.TotalMACs != 2*2*4*4 || r.TotalParams != 16 {
		t.Errorf("MACs %d params %d, want 64 and 16", r.TotalMACs, r.TotalParams)
	}
	if r.Layers[0].Op != "Gemm" || r.Layers[1].Params != 0 {
		t.Errorf("layers %+v", r.Layers)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 13570304: "13,570,304", -1234567: "-1,234,567", 100000: "100,000"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestQuantAndActivation: the report lists every quantized tensor's
// parameters (per-channel ones summarized) and prices activations with the
// runtime's own arena plan.
func TestQuantAndActivation(t *testing.T) {
	path := testutil.Shared(t, "models/tflite/coral_mobilenet_v1_0.25_128_quant.tflite")
	g, err := importers.Load(path, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := Analyze(g)
	it, err := runtime.New(g)
	if err != nil {
		t.Fatal(err)
	}
	if r.Activation.PeakArenaBytes != it.ArenaBytes() || r.Activation.PeakArenaBytes == 0 {
		t.Errorf("peak arena %d bytes, the runtime allocates %d", r.Activation.PeakArenaBytes, it.ArenaBytes())
	}
	in := g.Inputs[0]
	q := r.Quantization[0]
	if q.Tensor != in.Name || q.Scale == nil || *q.Scale != in.Quant.Scale[0] || *q.ZeroPoint != in.Quant.ZP(0) || q.Axis != nil {
		t.Errorf("input quantization %+v, want %+v", q, *in.Quant)
	}
	quantized := 0
	for _, t := range g.Tensors() {
		if t.Quant != nil {
			quantized++
		}
	}
	if len(r.Quantization) != quantized {
		t.Errorf("%d quantization entries for %d quantized tensors", len(r.Quantization), quantized)
	}
}

// TestOpaqueLayers: a lenient import's opaque nodes are layers marked
// opaque under their source op's name, and grouped in Unsupported.
func TestOpaqueLayers(t *testing.T) {
	// Every shared model imports whole since issue 15: a made one with a
	// TANH, which mnconv does not translate.
	g, err := tflite.Import("tanh.tflite", tflitetest.UnsupportedModel().Build(), importers.Options{Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	r := Analyze(g)
	opaque := 0
	for _, l := range r.Layers {
		if l.Opaque {
			opaque++
			if l.MACs != 0 {
				t.Errorf("opaque layer %+v", l)
			}
		}
	}
	if opaque != 1 {
		t.Errorf("%d opaque layers, want 1", opaque)
	}
	if len(r.Unsupported) != 1 || r.Unsupported[0].Op != "TANH" || r.Unsupported[0].Count != 1 || !r.Unsupported[0].Unsupported {
		t.Errorf("unsupported %+v", r.Unsupported)
	}
	if r.TotalMACs == 0 || r.Activation.PeakArenaBytes == 0 {
		t.Errorf("totals: %d MACs, arena %d", r.TotalMACs, r.Activation.PeakArenaBytes)
	}
}
