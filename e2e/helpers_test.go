package e2e

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/mnconv/mnconv/exporters"
	_ "github.com/mnconv/mnconv/exporters/onnx"
	_ "github.com/mnconv/mnconv/exporters/tflite"
	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/onnx"
	_ "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/refrt"
	rt "github.com/mnconv/mnconv/runtime"
)

// floatModel is a float source and how its 16 reference inputs are made.
type floatModel struct {
	name       string
	file       string // under shared/models
	dequantize bool
	size       int
	mode       preprocess.Mode
}

var floatModels = []floatModel{
	{"stm32", "onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx", false, 128, preprocess.TF},
	{"vww_float", "tflite/mlcommons_tiny_vww_96_float.tflite", false, 96, preprocess.Unit},
	{"v1_0.25_dequantized", "tflite/coral_mobilenet_v1_0.25_128_quant.tflite", true, 128, preprocess.Auto},
	{"v1_0.75_dequantized", "tflite/coral_mobilenet_v1_0.75_192_quant.tflite", true, 192, preprocess.Auto},
	{"v2_dequantized", "tflite/coral_mobilenet_v2_1.0_224_quant.tflite", true, 224, preprocess.Auto},
	{"tf2_v2_ptq_dequantized", "tflite/coral_tf2_mobilenet_v2_1.0_224_ptq.tflite", true, 224, preprocess.Auto},
}

// load imports a model, dequantized when asked (no other pass).
func (m floatModel) load(t *testing.T) *ir.Graph {
	t.Helper()
	g, err := importers.Load(testutil.Shared(t, "models/"+m.file), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.dequantize {
		if _, err := passes.Run(g, []passes.Pass{passes.Dequantize}, nil); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// inputs are the 16 reference images mapped to g's input (count limits them).
func (m floatModel) inputs(t *testing.T, g *ir.Graph, count int) []*rt.Tensor {
	t.Helper()
	pix := testutil.ReferenceImages(t, m.size)
	target, err := preprocess.TargetFor(g, 0, preprocess.Slim, m.mode)
	if err != nil {
		t.Fatal(err)
	}
	var out []*rt.Tensor
	for _, p := range pix[:min(count, len(pix))] {
		x, err := preprocess.ToTensor([][]uint8{p}, target)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
	}
	return out
}

// outputs runs g on each input and returns the first output, dequantized.
func outputs(t *testing.T, g *ir.Graph, inputs []*rt.Tensor) [][]float32 {
	t.Helper()
	it, err := rt.New(g)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]float32
	for _, x := range inputs {
		if in := g.Inputs[0]; in.DType != x.DType {
			t.Fatalf("input %q is %v, got %v", in.Name, in.DType, x.DType)
		}
		if err := it.SetInput(0, x); err != nil {
			t.Fatal(err)
		}
		if err := it.Run(); err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]float32(nil), it.Output(0).Dequantized(g.Outputs[0].Quant)...))
	}
	return out
}

// maxRel is the largest difference divided by the reference's largest
// magnitude, over all outputs.
func maxRel(want, got [][]float32) float64 {
	var d, m float64
	for i := range want {
		for j := range want[i] {
			d = max(d, math.Abs(float64(want[i][j]-got[i][j])))
			m = max(m, math.Abs(float64(want[i][j])))
		}
	}
	if m == 0 {
		return d
	}
	return d / m
}

func maxAbs(want, got [][]float32) float64 {
	var d float64
	for i := range want {
		for j := range want[i] {
			d = max(d, math.Abs(float64(want[i][j]-got[i][j])))
		}
	}
	return d
}

// write exports g to dir/name and returns the path.
func write(t *testing.T, g *ir.Graph, dir, name string, opts exporters.Options) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := exporters.ForPath(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := f.Export(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// reference runs a file in ONNX Runtime or TFLite on the inputs.
func reference(t *testing.T, r refrt.Runtime, path string, inputs []*rt.Tensor) [][]float32 {
	t.Helper()
	var samples [][]refrt.Input
	for _, x := range inputs {
		switch x.DType {
		case ir.Float32:
			samples = append(samples, []refrt.Input{refrt.F32(x.Shape, x.F32)})
		case ir.Uint8:
			samples = append(samples, []refrt.Input{refrt.U8(x.Shape, x.U8)})
		case ir.Int8:
			samples = append(samples, []refrt.Input{refrt.I8(x.Shape, x.I8)})
		}
	}
	res, err := refrt.Run(r, path, samples, refrt.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]float32
	for _, v := range res.Values {
		out = append(out, v[0])
	}
	return out
}
