package passes

import (
	"math"
	"os"
	"slices"
	"testing"

	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/onnx"   // registers .onnx
	_ "github.com/mnconv/mnconv/importers/tflite" // registers .tflite
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

func loadModel(t *testing.T, rel string) *ir.Graph {
	t.Helper()
	g, err := importers.Load(testutil.Shared(t, rel), importers.Options{})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return g
}

// The float MobileNetV2 from tf2onnx arrives unfused (BatchNorm, Clip as
// ReLU6, explicit Pad). After Default nothing of that is left and its
// outputs on the 16 reference images do not move.
func TestDefaultOnSTM32MobileNetV2(t *testing.T) {
	g := loadModel(t, "models/onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx")
	images := testutil.ReferenceImages(t, 128)
	ref := testutil.ReadReference(t, "stm32_tutorial_mobilenet_v2_128_0.5.ort.json").Outputs32()
	before := cloneGraph(g)
	rep, err := Run(g, Default, &Options{Validate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	for _, op := range []ir.Op{ir.OpBatchNorm, ir.OpClip, ir.OpPad, ir.OpTranspose, ir.OpIdentity} {
		if k := countOp(g, op); k != 0 {
			t.Errorf("%d %v nodes left", k, op)
		}
	}
	if k := countOp(g, ir.OpConv); k != 52 {
		t.Errorf("%d Conv nodes, want 52", k)
	}
	in := g.Inputs[0]
	if in.DType != ir.Float32 || ir.NumElements(in.Shape) != 128*128*3 || in.Shape[3] != 3 {
		t.Fatalf("input %v%v, want float32 NHWC 128x128x3", in.DType, in.Shape)
	}
	if len(images) != 16 || len(ref) != 16 {
		t.Fatalf("reference data: %d images, %d results", len(images), len(ref))
	}
	var worst, worstORT float64
	for i := range 16 {
		x := runtime.NewTensor(ir.Float32, in.Shape)
		for j, v := range images[i] {
			x.F32[j] = (float32(v) - 127.5) / 127.5
		}
		want := runGraph(t, "unoptimized", before, []*runtime.Tensor{x})[0]
		got := runGraph(t, "optimized", g, []*runtime.Tensor{x})[0]
		worst = max(worst, relErr(got, want))
		for j := range got {
			worstORT = max(worstORT, math.Abs(float64(got[j]-ref[i][j])))
		}
	}
	t.Logf("16 images: optimized vs unoptimized max-norm relative error %.3g; optimized vs ONNX Runtime max abs difference %.3g", worst, worstORT)
	if worst > relTol {
		t.Errorf("optimized graph moved the outputs by %.3g relative, more than %g", worst, relTol)
	}
	if worstORT > 1e-4 {
		t.Errorf("optimized graph differs from ONNX Runtime by %.3g (softmax probabilities)", worstORT)
	}
}

// The MobileNetV3 excerpt writes hard-swish as Add(+3), Clip(0,6), Div(6),
// Mul: Default makes it one HardSwish node after the Conv.
func TestDefaultOnMobileNetV3HardSwish(t *testing.T) {
	g := loadModel(t, "models/onnx/ort_mobilenet_v3_small_excerpt.onnx")
	ref := testutil.ReadReference(t, "ort_mobilenet_v3_small_excerpt.ort.json").Outputs32()
	before := cloneGraph(g)
	if _, err := Run(g, Default, &Options{Validate: true}); err != nil {
		t.Fatal(err)
	}
	if got := ops(g); got != "Conv HardSwish" {
		t.Fatalf("ops %q, want Conv HardSwish", got)
	}
	// ORT's input: x[i] = 4*sin(0.01*i) over the NCHW [1,3,224,224] tensor;
	// ours is NHWC.
	in := g.Inputs[0]
	if len(in.Shape) != 4 || in.Shape[3] != 3 {
		t.Fatalf("input shape %v, want NHWC", in.Shape)
	}
	h, w, c := in.Shape[1], in.Shape[2], in.Shape[3]
	x := runtime.NewTensor(ir.Float32, in.Shape)
	for ch := range c {
		for y := range h {
			for xx := range w {
				x.F32[(y*w+xx)*c+ch] = float32(4 * math.Sin(0.01*float64((ch*h+y)*w+xx)))
			}
		}
	}
	want := runGraph(t, "unoptimized", before, []*runtime.Tensor{x})[0]
	got := runGraph(t, "optimized", g, []*runtime.Tensor{x})[0]
	if e := relErr(got, want); e > relTol {
		t.Errorf("optimized vs unoptimized: relative error %.3g > %g", e, relTol)
	}
	// Compare with ONNX Runtime's NCHW output.
	out := g.Outputs[0].Shape
	oh, ow, oc := out[1], out[2], out[3]
	worst := 0.0
	for ch := range oc {
		for y := range oh {
			for xx := range ow {
				worst = max(worst, math.Abs(float64(got[(y*ow+xx)*oc+ch]-ref[0][(ch*oh+y)*ow+xx])))
			}
		}
	}
	t.Logf("optimized vs ONNX Runtime: max abs difference %.3g", worst)
	if worst > 1e-4 {
		t.Errorf("optimized graph differs from ONNX Runtime by %.3g", worst)
	}
}

// ONNX Runtime's int8 MobileNetV2 (QLinearConv, ReLU6 folded into output
// ranges) dequantized to float: its logits stay near ONNX Runtime's int8
// ones and its top-1 mostly agrees. Four images by default (a 224-px float
// MobileNetV2 takes about a second here); MNCONV_LONG_TESTS=1 runs all 16.
func TestDequantizeONNXZooInt8(t *testing.T) {
	g := loadModel(t, "models/onnx/onnxzoo_mobilenetv2-12-int8.onnx")
	torch := testutil.TorchNormImages(t)
	ref := testutil.ReadReference(t, "onnxzoo_mobilenetv2-12-int8.ort.json").Outputs32()
	rep, err := Run(g, append([]Pass{Dequantize}, Default...), &Options{Validate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	for _, tn := range g.Tensors() {
		if tn.DType != ir.Float32 && tn.DType != ir.Int64 || tn.Quant != nil {
			t.Fatalf("tensor %q is %v (quant %v) after dequantize", tn.Name, tn.DType, tn.Quant)
		}
	}
	if k := countOp(g, ir.OpQuantize) + countOp(g, ir.OpDequantize); k != 0 {
		t.Errorf("%d Quantize/Dequantize nodes left", k)
	}
	in := g.Inputs[0]
	if !slices.Equal(in.Shape, []int{1, 224, 224, 3}) {
		t.Fatalf("input shape %v, want [1 224 224 3]", in.Shape)
	}
	images := 4
	if os.Getenv("MNCONV_LONG_TESTS") != "" {
		images = 16
	}
	if len(torch) != 16 || len(ref) != 16 {
		t.Fatalf("reference data: %d images, %d results", len(torch), len(ref))
	}
	agree, worst := 0, 0.0
	for i := range images {
		x := runtime.NewTensor(ir.Float32, in.Shape)
		for c := range 3 {
			for y := range 224 {
				for xx := range 224 {
					x.F32[(y*224+xx)*3+c] = torch[i][(c*224+y)*224+xx]
				}
			}
		}
		got := runGraph(t, "dequantized", g, []*runtime.Tensor{x})[0]
		for j := range got {
			worst = max(worst, math.Abs(float64(got[j]-ref[i][j])))
		}
		if testutil.Argmax(got) == testutil.Argmax(ref[i]) {
			agree++
		}
	}
	t.Logf("%d images: top-1 agrees with ONNX Runtime int8 on %d; max logit difference %.3g", images, agree, worst)
	if agree < images*3/4 || worst > 4 {
		t.Errorf("dequantized model strays from the int8 one: top-1 agreement %d/%d, max logit difference %.3g", agree, images, worst)
	}
}

// TFLite integer models dequantized to float agree with TFLite's own integer
// outputs (probabilities) on the 16 reference images, and record the input
// quantization the float model's caller must undo.
func TestDequantizeTFLite(t *testing.T) {
	tests := []struct {
		model   string
		px      int
		meta    string // the recorded input quantization
		maxDiff float64
	}{
		{"coral_mobilenet_v1_0.25_128_quant", 128, "uint8 scale=0.0078125 zero_point=128", 0.1},
		{"mlcommons_tiny_vww_96_int8", 96, "int8 scale=0.00392156886 zero_point=-128", 0.1},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			g := loadModel(t, "models/tflite/"+tc.model+".tflite")
			raw := testutil.ReferenceImages(t, tc.px)
			ref := testutil.ReadReference(t, tc.model+".tfjs_tflite.json").Outputs32()
			in, out := g.Inputs[0], g.Outputs[0]
			inDT, inQ, outQ := in.DType, in.Quant.Clone(), out.Quant.Clone()
			if _, err := Run(g, append([]Pass{Dequantize}, Default...), &Options{Validate: true}); err != nil {
				t.Fatal(err)
			}
			if got := g.SourceInputQuant[in.Name].String(); got != tc.meta {
				t.Errorf("recorded input quantization %q, want %q", got, tc.meta)
			}
			agree, worst := 0, 0.0
			for i := range 16 {
				x := runtime.NewTensor(ir.Float32, in.Shape)
				for j, v := range raw[i] {
					q := float64(v)
					if inDT == ir.Int8 {
						q -= 128 // the model takes the pixel minus 128
					}
					x.F32[j] = float32(float64(inQ.Scale[0]) * (q - float64(inQ.ZP(0))))
				}
				got := runGraph(t, "dequantized", g, []*runtime.Tensor{x})[0]
				want := make([]float32, len(ref[i]))
				for j := range want {
					want[j] = outQ.Scale[0] * (ref[i][j] - float32(outQ.ZP(0)))
					worst = max(worst, math.Abs(float64(got[j]-want[j])))
				}
				if testutil.Argmax(got) == testutil.Argmax(want) {
					agree++
				}
			}
			t.Logf("top-1 agrees with TFLite's integer model on %d/16; max probability difference %.3g", agree, worst)
			if agree < 15 || worst > tc.maxDiff {
				t.Errorf("dequantized model strays: top-1 agreement %d/16, max probability difference %.3g", agree, worst)
			}
		})
	}
}
