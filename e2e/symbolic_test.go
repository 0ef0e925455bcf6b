package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mnconv/mnconv/exporters"
	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/refrt"
	rt "github.com/mnconv/mnconv/runtime"
)

// checkTFLiteSignature: g's .tflite has shape_signature -1 for the batch of
// its input and output, and TFLite runs it at batch 1 as ONNX Runtime's
// reference says.
func checkTFLiteSignature(t *testing.T, g *ir.Graph, dir string, inputs []*rt.Tensor) {
	t.Helper()
	path := write(t, g, dir, "out.tflite", exporters.Options{Warn: func(msg string) { t.Error("warning:", msg) }})
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
	refrt.Need(t, refrt.TFLite)
	want := testutil.ReadReference(t, "stm32_tutorial_mobilenet_v2_128_0.5.ort.json").Outputs32()[:len(inputs)]
	if d := maxAbs(want, reference(t, refrt.TFLite, path, inputs)); d > 1e-4 {
		t.Errorf("TFLite differs from the ORT reference by %g", d)
	}
}

// TestSymbolicBatchONNX: the stm32 model with its input's batch made the
// symbol "N" converts to an .onnx whose input and output keep dim_param
// "N", and ONNX Runtime runs that file at batch 4 with the outputs of four
// batch-1 runs.
func TestSymbolicBatchONNX(t *testing.T) {
	m := floatModels[0]
	raw, err := os.ReadFile(testutil.Shared(t, "models/"+m.file))
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
	dir := t.TempDir()
	src := filepath.Join(dir, "symbolic.onnx")
	b, err := proto.Marshal(&mp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, b, 0o644); err != nil {
		t.Fatal(err)
	}
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
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var back pb.ModelProto
	if err := proto.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	for _, vi := range append(back.GetGraph().GetInput(), back.GetGraph().GetOutput()...) {
		if p := vi.GetType().GetTensorType().GetShape().GetDim()[0].GetDimParam(); p != "N" {
			t.Errorf("%q: first dimension's dim_param %q, want N", vi.GetName(), p)
		}
	}
	inputs := m.inputs(t, g, 4)
	checkTFLiteSignature(t, g, dir, inputs)
	refrt.Need(t, refrt.ONNX)
	single := reference(t, refrt.ONNX, out, inputs)
	var batch []float32
	for _, x := range inputs {
		batch = append(batch, x.F32...)
	}
	shape := slices.Clone(inputs[0].Shape)
	shape[0] = len(inputs)
	res, err := refrt.Run(refrt.ONNX, out, [][]refrt.Input{{refrt.F32(shape, batch)}}, refrt.Options{Threads: 1})
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
	t.Logf("ONNX Runtime at batch %d vs %d runs at batch 1: max |diff| %.2g", len(inputs), len(inputs), d)
	if d > 1e-5 {
		t.Errorf("batch %d differs from batch 1 runs by %g", len(inputs), d)
	}
}
