package onnx

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

func importShared(t *testing.T, rel string) *ir.Graph {
	t.Helper()
	path := testutil.Shared(t, rel)
	g, err := importers.Load(path, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func countOps(g *ir.Graph) map[ir.Op]int {
	m := map[ir.Op]int{}
	for _, n := range g.Nodes {
		m[n.Op]++
	}
	return m
}

// TestMobileNetV2Float imports the tf2onnx MobileNetV2 (NCHW input, opset
// 15) and checks it against ONNX Runtime on 16 real images: no Transpose
// survives the layout translation, outputs agree within 1e-4.
func TestMobileNetV2Float(t *testing.T) {
	g := importShared(t, "models/onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx")
	ops := countOps(g)
	if ops[ir.OpTranspose] != 0 {
		t.Errorf("%d Transpose nodes in the body, want 0", ops[ir.OpTranspose])
	}
	if ops[ir.OpConv] != 52 || ops[ir.OpBatchNorm] != 7 || ops[ir.OpClip] != 35 {
		t.Errorf("ops %v, want 52 Conv, 7 BatchNorm, 35 Clip as in the file", ops)
	}
	if len(g.Inputs) != 1 || g.InputLayouts[0] != ir.NCHW || !slices.Equal(g.Inputs[0].Shape, []int{1, 128, 128, 3}) {
		t.Fatalf("input %v layout %q, want [1 128 128 3] from NCHW", g.Inputs[0].Shape, g.InputLayouts[0])
	}
	ref := testutil.ReadReference(t, "stm32_tutorial_mobilenet_v2_128_0.5.ort.json")
	pixels := testutil.ReferenceImages(t, 128)
	it, err := runtime.New(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(pixels) != 16 || len(ref.Results) != 16 {
		t.Fatalf("%d images and %d reference results, want 16", len(pixels), len(ref.Results))
	}
	worst := 0.0
	for i, r := range ref.Results {
		in := it.Input(0)
		for k, p := range pixels[i] {
			in.F32[k] = (float32(p) - 127.5) / 127.5
		}
		if err := it.Run(); err != nil {
			t.Fatal(err)
		}
		out := it.Output(0).F32
		if len(out) != len(r.Output) {
			t.Fatalf("image %d: %d outputs, want %d", i, len(out), len(r.Output))
		}
		for k, w := range r.Output {
			worst = math.Max(worst, math.Abs(float64(out[k])-w))
		}
		if testutil.Argmax(out) != r.Argmax {
			t.Errorf("image %d: argmax %d, ONNX Runtime %d", i, testutil.Argmax(out), r.Argmax)
		}
	}
	t.Logf("stm32 MobileNetV2 0.5/128: max |diff| vs ONNX Runtime over 16 images = %.3g", worst)
	if worst > 1e-4 {
		t.Errorf("max |diff| %.3g, want <= 1e-4", worst)
	}
}

// TestMobileNetV2Int8 imports the ONNX Model Zoo's QOperator MobileNetV2
// and, when the runtime has the quantized kernels, compares with ONNX
// Runtime: exact-match fraction, max difference, top-1.
func TestMobileNetV2Int8(t *testing.T) {
	g := importShared(t, "models/onnx/onnxzoo_mobilenetv2-12-int8.onnx")
	ops := countOps(g)
	if ops[ir.OpTranspose] != 0 || ops[ir.OpConv] != 52 || ops[ir.OpAdd] != 11 || ops[ir.OpMean] != 1 {
		t.Errorf("ops %v, want no Transpose, 52 Conv, 11 Add, 1 Mean", ops)
	}
	for _, n := range g.Nodes {
		if n.Op == ir.OpConv && (n.Arith != ir.ArithONNX || n.In(0).Quant == nil || n.Out().Quant == nil) {
			t.Fatalf("node %q: want a quantized Conv with ONNX arithmetic", n.Name)
		}
	}
	ref := testutil.ReadReference(t, "onnxzoo_mobilenetv2-12-int8.ort.json")
	torch := testutil.TorchNormImages(t)
	it, err := runtime.New(g)
	if err != nil {
		if strings.Contains(err.Error(), "not implemented") {
			t.Skipf("skipping the run: %v", err)
		}
		t.Fatal(err)
	}
	if len(torch) != 16 || len(ref.Results) != 16 {
		t.Fatalf("%d images and %d reference results, want 16", len(torch), len(ref.Results))
	}
	images := 16
	if testing.Short() {
		images = 2
	}
	nchw := &ir.Tensor{DType: ir.Float32, Shape: []int{1, 3, 224, 224}, Data: &ir.Data{}}
	same, total, top1, worst := 0, 0, 0, 0.0
	for i := 0; i < images; i++ {
		nchw.Data.F32 = torch[i]
		if err := it.SetInput(0, toRuntime(nchw, g.InputLayouts[0])); err != nil {
			t.Fatal(err)
		}
		if err := runGuarded(it); err != nil {
			t.Fatal(err)
		}
		out := it.Output(0).F32
		r := ref.Results[i]
		for k, w := range r.Output {
			d := math.Abs(float64(out[k]) - w)
			if float32(w) == out[k] {
				same++
			}
			total++
			worst = math.Max(worst, d)
		}
		if testutil.Argmax(out) == r.Argmax {
			top1++
		}
	}
	t.Logf("zoo MobileNetV2 int8: %d images, outputs equal to ONNX Runtime's: %d of %d (%.2f%%), max |diff| %.4g, top-1 agrees on %d",
		images, same, total, 100*float64(same)/float64(total), worst, top1)
	if top1 < images-1 {
		t.Errorf("top-1 agrees with ONNX Runtime on %d of %d images", top1, images)
	}
}

// TestMobileNetV3Excerpt runs the first Conv and the written-out hard-swish
// (Add, Clip, Div, Mul) of a MobileNetV3 on ONNX Runtime's synthetic input.
func TestMobileNetV3Excerpt(t *testing.T) {
	g := importShared(t, "models/onnx/ort_mobilenet_v3_small_excerpt.onnx")
	if n := countOps(g)[ir.OpTranspose]; n != 0 {
		t.Errorf("%d Transpose nodes, want 0", n)
	}
	ref := testutil.ReadReference(t, "ort_mobilenet_v3_small_excerpt.ort.json")
	shape := ref.Input.Shape
	x := &ir.Tensor{DType: ir.Float32, Shape: shape, Data: &ir.Data{F32: make([]float32, ir.NumElements(shape))}}
	for i := range x.Data.F32 {
		x.Data.F32[i] = float32(math.Sin(float64(i)*0.01) * 4)
	}
	it, err := runtime.New(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := it.SetInput(0, toRuntime(x, g.InputLayouts[0])); err != nil {
		t.Fatal(err)
	}
	if err := it.Run(); err != nil {
		t.Fatal(err)
	}
	got := fromRuntime(it.Output(0), g.OutputLayouts[0])
	r := ref.Results[0]
	if !slices.Equal(got.Shape, r.Dims) {
		t.Fatalf("output shape %v, want %v", got.Shape, r.Dims)
	}
	worst := 0.0
	for k, w := range r.Output {
		worst = math.Max(worst, math.Abs(float64(got.Data.F32[k])-w))
	}
	t.Logf("MobileNetV3 excerpt: max |diff| vs ONNX Runtime %.3g", worst)
	if worst > 1e-4 {
		t.Errorf("max |diff| %.3g, want <= 1e-4", worst)
	}
}

// runGuarded runs it, turning a kernel panic into an error so that one bad
// kernel fails its test instead of the whole package.
func runGuarded(it *runtime.Interpreter) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("runtime panic: %v", r)
		}
	}()
	return it.Run()
}
