package onnx

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/refrt"
	"github.com/mnconv/mnconv/runtime"
)

// f11 makes the stm32 model's inputs: (pixel - 127.5) / 127.5, NHWC.
func f11(imgs [][]byte, size int) []*runtime.Tensor {
	var out []*runtime.Tensor
	for _, im := range imgs {
		x := runtime.NewTensor(ir.Float32, []int{1, size, size, 3})
		for i, p := range im {
			x.F32[i] = (float32(p) - 127.5) / 127.5
		}
		out = append(out, x)
	}
	return out
}

// f01 makes the float VWW model's inputs: pixel / 255, NHWC.
func f01(imgs [][]byte, size int) []*runtime.Tensor {
	var out []*runtime.Tensor
	for _, im := range imgs {
		x := runtime.NewTensor(ir.Float32, []int{1, size, size, 3})
		for i, p := range im {
			x.F32[i] = float32(p) / 255
		}
		out = append(out, x)
	}
	return out
}

// s8 makes the int8 VWW model's inputs: pixel - 128, NHWC.
func s8(imgs [][]byte, size int) []*runtime.Tensor {
	var out []*runtime.Tensor
	for _, im := range imgs {
		x := runtime.NewTensor(ir.Int8, []int{1, size, size, 3})
		for i, p := range im {
			x.I8[i] = int8(int(p) - 128)
		}
		out = append(out, x)
	}
	return out
}

// TestRoundTripONNX exports ONNX models (as imported, and after the
// default passes) and imports them again: the graph dumps are identical,
// nothing in the body is transposed, and an NHWC-interface export differs
// only in the input's declared layout and its one Transpose.
func TestRoundTripONNX(t *testing.T) {
	cases := []struct {
		model  string
		passes bool
		layout string
	}{
		{"onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx", false, ""},
		{"onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx", true, ""},
		{"onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx", true, "NHWC"},
		{"onnx/ort_mobilenet_v3_small_excerpt.onnx", false, ""},
		{"onnx/ort_mobilenet_v3_small_excerpt.onnx", true, ""},
		{"onnx/ort_mobilenet_v3_small_excerpt.onnx", true, "NHWC"},
	}
	for _, c := range cases {
		name := strings.TrimSuffix(strings.TrimPrefix(c.model, "onnx/"), ".onnx")
		if c.passes {
			name += "/passes"
		}
		if c.layout != "" {
			name += "/" + c.layout
		}
		t.Run(name, func(t *testing.T) {
			g := load(t, c.model)
			if c.passes {
				if _, err := passes.Run(g, passes.Default, &passes.Options{Validate: true}); err != nil {
					t.Fatal(err)
				}
			}
			b, warns := export(t, g, c.layout)
			if len(warns) > 0 {
				t.Errorf("warnings: %v", warns)
			}
			m := decode(t, b)
			if k := bodyTransposes(m); k != 0 {
				t.Errorf("%d Transpose nodes in the body, want 0", k)
			}
			wantT := 0
			if c.layout == "NHWC" {
				wantT = 1
			}
			if k := opCounts(m)["Transpose"]; k != wantT {
				t.Errorf("%d Transpose nodes, want %d", k, wantT)
			}
			g2 := reimport(t, b)
			if c.passes {
				if _, err := passes.Run(g2, passes.Default, &passes.Options{Validate: true}); err != nil {
					t.Fatal(err)
				}
			}
			want := g.Dump()
			if c.layout == "NHWC" {
				// The file's input is NHWC now; the importer says so.
				want = strings.Replace(want, " source=NCHW\n", "\n", 1)
			}
			if got := g2.Dump(); got != want {
				t.Errorf("the re-imported graph differs: %s", firstDiff(want, got))
			}
		})
	}
}

// TestRoundTripRuns checks that our runtime computes the same outputs on the
// imported stm32 MobileNetV2 and on its export read back, on the 16
// reference images.
func TestRoundTripRuns(t *testing.T) {
	g := load(t, "onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx")
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := export(t, g, "")
	g2 := reimport(t, b)
	in := f11(testutil.ReferenceImages(t, 128), 128)
	a, c := runGraph(t, g, in), runGraph(t, g2, in)
	for i := range a {
		for k := range a[i] {
			if a[i][k] != c[i][k] {
				t.Fatalf("image %d output %d: %v before export, %v after", i, k, a[i][k], c[i][k])
			}
		}
	}
}

// TestRoundTripTFLite exports the float VWW model from TFLite and reads it
// back: after the default passes on both sides the graphs are the same but
// for the names of re-laid-out constants, and they compute the same outputs.
func TestRoundTripTFLite(t *testing.T) {
	g := load(t, "tflite/mlcommons_tiny_vww_96_float.tflite")
	b, warns := export(t, g, "")
	if len(warns) > 0 {
		t.Errorf("warnings: %v", warns)
	}
	m := decode(t, b)
	if k := bodyTransposes(m); k != 0 {
		t.Errorf("%d Transpose nodes in the body, want 0", k)
	}
	if k := opCounts(m)["Transpose"]; k != 1 {
		t.Errorf("%d Transpose nodes, want 1 (the NHWC input)", k)
	}
	g2 := reimport(t, b)
	if g2.InputLayouts[0] != ir.LayoutUnspecified || !slices.Equal(g2.Inputs[0].Shape, g.Inputs[0].Shape) {
		t.Errorf("re-imported input %v layout %q, want %v NHWC", g2.Inputs[0].Shape, g2.InputLayouts[0], g.Inputs[0].Shape)
	}
	in := f01(testutil.ReferenceImages(t, 96), 96)
	a, c := runGraph(t, g, in), runGraph(t, g2, in)
	for _, h := range []*ir.Graph{g, g2} {
		if _, err := passes.Run(h, passes.Default, &passes.Options{Validate: true}); err != nil {
			t.Fatal(err)
		}
	}
	if want, got := canonicalDump(g), canonicalDump(g2); got != want {
		t.Errorf("the re-imported graph differs: %s", firstDiff(want, got))
	}
	worst := 0.0
	for i := range a {
		for k := range a[i] {
			worst = math.Max(worst, math.Abs(float64(a[i][k]-c[i][k])))
		}
	}
	t.Logf("VWW float: max |diff| between the TFLite import and its ONNX export = %.3g", worst)
	if worst != 0 {
		t.Errorf("outputs differ by up to %g", worst)
	}
}

// TestDeterministic: the same graph gives the same bytes, however often and
// from whichever copy.
func TestDeterministic(t *testing.T) {
	g := load(t, "tflite/mlcommons_tiny_vww_96_int8.tflite")
	a, _ := export(t, g, "")
	b, _ := export(t, g, "")
	c, _ := export(t, g.Clone(), "")
	if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Fatal("two exports of the same graph differ")
	}
}

// ortRun runs an exported model on ONNX Runtime, one sample per input.
func ortRun(t *testing.T, path string, inputs []refrt.Input) [][]float32 {
	t.Helper()
	var samples [][]refrt.Input
	for _, in := range inputs {
		samples = append(samples, []refrt.Input{in})
	}
	r, err := refrt.Run(refrt.ONNX, path, samples, refrt.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	var outs [][]float32
	for _, v := range r.Values {
		outs = append(outs, v[0])
	}
	return outs
}

// floatInputs makes ONNX Runtime inputs from NHWC tensors, transposed when
// the file's input is NCHW.
func floatInputs(xs []*runtime.Tensor, layout string) []refrt.Input {
	var out []refrt.Input
	for _, x := range xs {
		n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		if layout == "NCHW" {
			out = append(out, refrt.F32([]int{n, c, h, w}, nhwcToNCHW(x.F32, h, w, c)))
		} else {
			out = append(out, refrt.F32(x.Shape, x.F32))
		}
	}
	return out
}

// compareReference checks ONNX Runtime's outputs against a shared
// reference within tol.
func compareReference(t *testing.T, got [][]float32, ref *testutil.Reference, tol float64) float64 {
	t.Helper()
	if len(got) != len(ref.Results) {
		t.Fatalf("%d outputs, the reference has %d", len(got), len(ref.Results))
	}
	worst := 0.0
	for i, r := range ref.Results {
		if len(got[i]) != len(r.Output) {
			t.Fatalf("image %d: %d outputs, want %d", i, len(got[i]), len(r.Output))
		}
		for k, w := range r.Output {
			worst = math.Max(worst, math.Abs(float64(got[i][k])-w))
		}
		if testutil.Argmax(got[i]) != r.Argmax {
			t.Errorf("image %d: top-1 %d, reference %d", i, testutil.Argmax(got[i]), r.Argmax)
		}
	}
	if worst > tol {
		t.Errorf("max |diff| %.3g, want <= %g", worst, tol)
	}
	return worst
}

// TestORTMobileNetV2: the stm32 MobileNetV2 after the default passes (fused
// batch norms and ReLU6), exported with either input layout, runs in ONNX
// Runtime and matches ONNX Runtime's outputs on the original file.
func TestORTMobileNetV2(t *testing.T) {
	refrt.Need(t, refrt.ONNX)
	g := load(t, "onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx")
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	ref := testutil.ReadReference(t, "stm32_tutorial_mobilenet_v2_128_0.5.ort.json")
	in := f11(testutil.ReferenceImages(t, 128), 128)
	for _, c := range []struct{ layout, want string }{{"", "[1 3 128 128]"}, {"NHWC", "[1 128 128 3]"}} {
		b, _ := export(t, g, c.layout)
		if s := inputShape(decode(t, b), 0); fmt.Sprint(s) != c.want {
			t.Errorf("layout %q: input shape %v, want %s", c.layout, s, c.want)
		}
		layout := "NCHW"
		if c.layout == "NHWC" {
			layout = "NHWC"
		}
		got := ortRun(t, writeTemp(t, "stm32.onnx", b), floatInputs(in, layout))
		worst := compareReference(t, got, ref, 1e-4)
		t.Logf("stm32 MobileNetV2 (passes, %s input) on ONNX Runtime: max |diff| vs the original's reference = %.3g", layout, worst)
	}
}

// TestORTVWWFloat: the float VWW model from TFLite, exported to ONNX with an
// NHWC (as the source) or an NCHW input, matches TFLite's outputs when ONNX
// Runtime runs it.
func TestORTVWWFloat(t *testing.T) {
	refrt.Need(t, refrt.ONNX)
	g := load(t, "tflite/mlcommons_tiny_vww_96_float.tflite")
	ref := testutil.ReadReference(t, "mlcommons_tiny_vww_96_float.tfjs_tflite.json")
	in := f01(testutil.ReferenceImages(t, 96), 96)
	for _, c := range []struct{ layout, want string }{{"", "[1 96 96 3]"}, {"NCHW", "[1 3 96 96]"}} {
		b, _ := export(t, g, c.layout)
		if s := inputShape(decode(t, b), 0); fmt.Sprint(s) != c.want {
			t.Errorf("layout %q: input shape %v, want %s", c.layout, s, c.want)
		}
		got := ortRun(t, writeTemp(t, "vww.onnx", b), floatInputs(in, c.layout))
		worst := compareReference(t, got, ref, 1e-4)
		t.Logf("VWW float (%q input) on ONNX Runtime: max |diff| vs TFLite = %.3g", c.layout, worst)
	}
}

// TestORTVWWInt8: the int8 VWW model, exported as QDQ, runs in ONNX Runtime
// with its int8 input and output; its top-1 agrees with our runtime's
// (TFLite reference arithmetic) on the 16 images, and with TFLite's own
// outputs. The file read back by our importer (float ops between
// Quantize / Dequantize) agrees too.
func TestORTVWWInt8(t *testing.T) {
	refrt.Need(t, refrt.ONNX)
	g := load(t, "tflite/mlcommons_tiny_vww_96_int8.tflite")
	b, warns := export(t, g, "")
	if len(warns) > 0 {
		t.Errorf("warnings: %v", warns)
	}
	m := decode(t, b)
	if k := bodyTransposes(m); k != 0 {
		t.Errorf("%d Transpose nodes in the body, want 0", k)
	}
	in := s8(testutil.ReferenceImages(t, 96), 96)
	ours := runGraph(t, g, in)
	g2 := reimport(t, b)
	// The QDQ graph as read back (float ops between Quantize and
	// Dequantize, weights behind Dequantize) exports to the same numbers.
	b2, _ := export(t, g2, "")
	foldConstDequantize(t, g2)
	back := runGraph(t, g2, in)
	var feeds []refrt.Input
	for _, x := range in {
		feeds = append(feeds, refrt.I8(x.Shape, x.I8))
	}
	got := ortRun(t, writeTemp(t, "vww_int8.onnx", b), feeds)
	again := ortRun(t, writeTemp(t, "vww_int8_again.onnx", b2), feeds)
	for i := range got {
		if !slices.Equal(got[i], again[i]) {
			t.Errorf("image %d: the re-exported QDQ file gives %v, the first %v", i, again[i], got[i])
		}
	}
	ref := testutil.ReadReference(t, "mlcommons_tiny_vww_96_int8.tfjs_tflite.json")
	q := g.Outputs[0].Quant
	agree, agreeBack, same, worst := 0, 0, 0, 0.0
	for i := range got {
		deq := make([]float32, len(got[i]))
		for k, v := range got[i] {
			deq[k] = q.S(0) * (v - float32(q.ZP(0)))
			worst = math.Max(worst, math.Abs(float64(deq[k]-ours[i][k])))
			if float64(v) == ref.Results[i].Output[k] {
				same++
			}
		}
		if testutil.Argmax(deq) == testutil.Argmax(ours[i]) {
			agree++
		}
		if testutil.Argmax(back[i]) == testutil.Argmax(ours[i]) {
			agreeBack++
		}
	}
	t.Logf("VWW int8 as QDQ on ONNX Runtime: top-1 agrees with our runtime on %d of %d images, max |diff| %.4g (%.0f quanta); identical to TFLite's outputs: %d of %d",
		agree, len(got), worst, worst/float64(q.S(0)), same, 2*len(got))
	t.Logf("VWW int8 read back from QDQ, our runtime: top-1 agrees with the int8 graph on %d of %d images", agreeBack, len(got))
	if agree < len(got) || agreeBack < len(got) {
		t.Errorf("top-1 agrees on %d and %d of %d images", agree, agreeBack, len(got))
	}
}

// TestORTQuantizedModels exports real quantized models as QDQ and runs them
// in ONNX Runtime on the 16 reference images: TFLite uint8 per-tensor
// (TF1 quant-aware), TFLite int8 per-channel behind a uint8 QUANTIZE, and
// the ONNX Model Zoo's QOperator MobileNetV2 (QLinearConv and friends,
// ONNX arithmetic). The TFLite models are compared with TFLite's reference
// outputs; the zoo model with ONNX Runtime running the original file on
// this machine (its u8 x s8 kernels give CPU-dependent results: the stored
// reference, made elsewhere, differs from both by the same amounts). Top-1
// agreement and the count of identical outputs are logged.
func TestORTQuantizedModels(t *testing.T) {
	refrt.Need(t, refrt.ONNX)
	cases := []struct {
		model, ref string
		size       int
		minTop1    int
	}{
		{"tflite/coral_mobilenet_v1_0.25_128_quant.tflite", "coral_mobilenet_v1_0.25_128_quant.tfjs_tflite.json", 128, 16},
		{"tflite/coral_mobilenet_v2_1.0_224_quant.tflite", "coral_mobilenet_v2_1.0_224_quant.tfjs_tflite.json", 224, 16},
		{"tflite/coral_tf2_mobilenet_v2_1.0_224_ptq.tflite", "coral_tf2_mobilenet_v2_1.0_224_ptq.tfjs_tflite.json", 224, 16},
		{"onnx/onnxzoo_mobilenetv2-12-int8.onnx", "", 224, 16},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			g := load(t, c.model)
			b, warns := export(t, g, "")
			if len(warns) > 0 {
				t.Errorf("warnings: %v", warns)
			}
			m := decode(t, b)
			if k := bodyTransposes(m); k != 0 {
				t.Errorf("%d Transpose nodes in the body, want 0", k)
			}
			var feeds []refrt.Input
			in := g.Inputs[0]
			switch in.DType {
			case ir.Uint8:
				for _, im := range testutil.ReferenceImages(t, c.size) {
					feeds = append(feeds, refrt.U8(in.Shape, im))
				}
			case ir.Float32: // the zoo model: torch-normalized NCHW floats
				for _, im := range testutil.ReferenceBytes(t, "imagenet16_f32_nchw_224_torchnorm.bin", 4*ir.NumElements(in.Shape)) {
					feeds = append(feeds, refrt.Input{DType: ir.Float32, Shape: inputShape(m, 0), Data: im})
				}
			default:
				t.Fatalf("input %v", in.DType)
			}
			got := ortRun(t, writeTemp(t, "model.onnx", b), feeds)
			var want [][]float32
			against := "TFLite's reference"
			if c.ref != "" {
				want = testutil.ReadReference(t, c.ref).Outputs32()
			} else {
				want = ortRun(t, testutil.Shared(t, "models/"+c.model), feeds)
				against = "ONNX Runtime on the original file"
			}
			top1, same, total := 0, 0, 0
			for i := range want {
				if testutil.Argmax(got[i]) == testutil.Argmax(want[i]) {
					top1++
				}
				for k, v := range want[i] {
					total++
					if got[i][k] == v {
						same++
					}
				}
			}
			t.Logf("%s as QDQ on ONNX Runtime vs %s: top-1 agrees on %d of 16, identical outputs %d of %d (%.1f%%)",
				c.model, against, top1, same, total, 100*float64(same)/float64(total))
			if top1 < c.minTop1 {
				t.Errorf("top-1 agrees on %d of 16, want at least %d", top1, c.minTop1)
			}
		})
	}
}
