package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mnconv/mnconv/exporters"
	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/quantize"
	"github.com/mnconv/mnconv/refrt"
	rt "github.com/mnconv/mnconv/runtime"
)

// checkTFLiteSignature: g's .tflite has shape_signature -1 for the batch of
// its input and output, and TFLite runs it at batch 1 as ONNX Runtime's
// reference says.
func checkTFLiteSignature(t *testing.T, g *ir.Graph, dir string, inputs []*rt.Tensor) {
	t.Helper()
	path := write(t, g, dir, "out.tflite", exporters.Options{Warn: func(msg string) { t.Error("warning:", msg) }})
	checkSignature(t, path)
	refrt.Need(t, refrt.TFLite)
	want := testutil.ReadReference(t, "stm32_tutorial_mobilenet_v2_128_0.5.ort.json").Outputs32()[:len(inputs)]
	if d := maxAbs(want, reference(t, refrt.TFLite, path, inputs)); d > 1e-4 {
		t.Errorf("TFLite differs from the ORT reference by %g", d)
	}
}

// checkSignature: the .tflite at path has shape_signature -1 for the batch
// of its input and output.
func checkSignature(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sg := new(fb.SubGraph)
	if !fb.GetRootAsModel(data, 0).Subgraphs(sg, 0) {
		t.Fatal("no subgraph")
	}
	for _, i := range []int32{sg.Inputs(0), sg.Outputs(0)} {
		var ft fb.Tensor
		sg.Tensors(&ft, int(i))
		if ft.ShapeSignatureLength() != ft.ShapeLength() || ft.ShapeSignature(0) != -1 {
			t.Errorf(".tflite tensor %q: shape_signature of length %d, first %d; want -1 first", ft.Name(), ft.ShapeSignatureLength(), ft.ShapeSignature(0))
		}
	}
}

// checkDimParam: the .onnx at path names its inputs' and outputs' first
// dimension dim_param "N".
func checkDimParam(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back pb.ModelProto
	if err := proto.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	for _, vi := range append(back.GetGraph().GetInput(), back.GetGraph().GetOutput()...) {
		if p := vi.GetType().GetTensorType().GetShape().GetDim()[0].GetDimParam(); p != "N" {
			t.Errorf("%s: %q: first dimension's dim_param %q, want N", filepath.Base(path), vi.GetName(), p)
		}
	}
}

// symbolicSTM32 writes the stm32 model with the batch of its input and
// output made the symbol "N" into dir and returns the path.
func symbolicSTM32(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(testutil.Shared(t, "models/"+floatModels[0].file))
	if err != nil {
		t.Fatal(err)
	}
	var mp pb.ModelProto
	if err := proto.Unmarshal(raw, &mp); err != nil {
		t.Fatal(err)
	}
	for _, vi := range append(mp.GetGraph().GetInput(), mp.GetGraph().GetOutput()...) {
		d := vi.GetType().GetTensorType().GetShape().GetDim()[0]
		d.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
	}
	src := filepath.Join(dir, "symbolic.onnx")
	b, err := proto.Marshal(&mp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return src
}

// TestSymbolicBatchONNX: the stm32 model with its input's batch made the
// symbol "N" converts to an .onnx whose input and output keep dim_param
// "N", and ONNX Runtime runs that file at batch 4 with the outputs of four
// batch-1 runs.
func TestSymbolicBatchONNX(t *testing.T) {
	m := floatModels[0]
	dir := t.TempDir()
	src := symbolicSTM32(t, dir)
	g, err := importers.Load(src, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if g.SymbolicBatch != "N" || g.Inputs[0].Shape[0] != 1 {
		t.Fatalf("import: SymbolicBatch %q, input shape %v; want N and a batch of 1 inside", g.SymbolicBatch, g.Inputs[0].Shape)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	out := write(t, g, dir, "out.onnx", exporters.Options{InputLayout: ir.NHWC, Warn: func(msg string) { t.Error("warning:", msg) }})
	checkDimParam(t, out)
	inputs := m.inputs(t, g, 4)
	checkTFLiteSignature(t, g, dir, inputs)
	refrt.Need(t, refrt.ONNX)
	if d := ortBatchDiff(t, out, inputs); d > 1e-5 {
		t.Errorf("batch %d differs from batch 1 runs by %g", len(inputs), d)
	}
}

// ortBatchDiff runs path in ONNX Runtime once at batch len(inputs) and once
// per input at batch 1 and returns the largest difference of the first
// output (integer outputs compare their raw values).
func ortBatchDiff(t *testing.T, path string, inputs []*rt.Tensor) float64 {
	t.Helper()
	single := reference(t, refrt.ONNX, path, inputs)
	shape := slices.Clone(inputs[0].Shape)
	shape[0] = len(inputs)
	var in refrt.Input
	switch inputs[0].DType {
	case ir.Float32:
		var batch []float32
		for _, x := range inputs {
			batch = append(batch, x.F32...)
		}
		in = refrt.F32(shape, batch)
	case ir.Int8:
		var batch []int8
		for _, x := range inputs {
			batch = append(batch, x.I8...)
		}
		in = refrt.I8(shape, batch)
	case ir.Uint8:
		var batch []uint8
		for _, x := range inputs {
			batch = append(batch, x.U8...)
		}
		in = refrt.U8(shape, batch)
	default:
		t.Fatalf("input type %v", inputs[0].DType)
	}
	res, err := refrt.Run(refrt.ONNX, path, [][]refrt.Input{{in}}, refrt.Options{Threads: 1})
	if err != nil {
		t.Fatalf("ONNX Runtime at batch %d: %v", len(inputs), err)
	}
	if got := res.Outputs[0].Shape; got[0] != len(inputs) {
		t.Fatalf("ONNX Runtime's output shape %v at batch %d", got, len(inputs))
	}
	var want []float32
	for _, s := range single {
		want = append(want, s...)
	}
	d := maxAbs([][]float32{want}, [][]float32{res.Values[0][0]})
	t.Logf("%s in ONNX Runtime at batch %d vs %d runs at batch 1: max |diff| %.2g", filepath.Base(path), len(inputs), len(inputs), d)
	return d
}

// TestSymbolicBatchQuantize: the stm32 model with batch "N", quantized as
// `mnconv quantize` does (8 calibration images), keeps the symbol: its QDQ
// and QOperator .onnx name dim_param N and ONNX Runtime runs each at batch
// 4 with the outputs of four batch-1 runs; its .tflite has shape_signature
// -1; no exporter warns.
func TestSymbolicBatchQuantize(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short mode: calibrates and quantizes a model")
	}
	m := floatModels[0]
	dir := t.TempDir()
	g, err := importers.Load(symbolicSTM32(t, dir), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, qg := qdqFile(t, g, m.mode, quantize.Config{}, dir)
	if qg.SymbolicBatch != "N" {
		t.Fatalf("quantized graph: SymbolicBatch %q, want N", qg.SymbolicBatch)
	}
	warn := func(msg string) { t.Error("warning:", msg) }
	checkSignature(t, write(t, qg, dir, "q.tflite", exporters.Options{Warn: warn}))
	inputs := m.inputs(t, qg, 4)
	for _, f := range []struct {
		name string
		qop  bool
	}{{"qdq.onnx", false}, {"qoperator.onnx", true}} {
		name := f.name
		path := write(t, qg, dir, name, exporters.Options{InputLayout: ir.NHWC, QOperator: f.qop, Warn: warn})
		checkDimParam(t, path)
		refrt.Need(t, refrt.ONNX)
		if d := ortBatchDiff(t, path, inputs); d > 1e-6 {
			t.Errorf("%s: batch 4 differs from batch 1 runs by %g", name, d)
		}
	}
}

// TestSymbolicBatchTFLiteToONNX: VWW int8 read with its shape_signature
// (convert --symbolic-batch) converts to QOperator .onnx with dim_param N,
// which ONNX Runtime runs at batch 4 as four batch-1 runs.
func TestSymbolicBatchTFLiteToONNX(t *testing.T) {
	m := int8Models[1]
	g, err := importers.Load(testutil.Shared(t, "models/"+m.file), importers.Options{ShapeSignature: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	path := write(t, g, t.TempDir(), "vww.onnx", exporters.Options{QOperator: true, Warn: func(msg string) { t.Error("warning:", msg) }})
	checkDimParam(t, path)
	refrt.Need(t, refrt.ONNX)
	if d := ortBatchDiff(t, path, m.inputs(t, g, 4)); d != 0 {
		t.Errorf("batch 4 differs from batch 1 runs by %g", d)
	}
}

// TestSymbolicBatchLostWarns: where an output's first dimension is not the
// batch (a Reshape to rank 1), both exporters write it static and say so.
func TestSymbolicBatchLostWarns(t *testing.T) {
	x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: []int{1, 2, 2, 3}}
	y := &ir.Tensor{Name: "flat", Shape: []int{12}}
	g := &ir.Graph{Name: "lost", Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{y},
		Nodes: []*ir.Node{ir.NewNode("flatten", ir.OpReshape, []*ir.Tensor{x}, y)}, SymbolicBatch: "N"}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"lost.onnx", "lost.tflite"} {
		var warns []string
		write(t, g, dir, name, exporters.Options{Warn: func(msg string) { warns = append(warns, msg) }})
		if len(warns) != 1 || !strings.Contains(warns[0], `"flat"`) || !strings.Contains(warns[0], `symbolic batch "N" written as static`) {
			t.Errorf("%s: warnings %q, want one saying output \"flat\" keeps no symbolic batch", name, warns)
		}
	}
}
