package tflite_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/refrt"
)

// Interop: exported files run in real TFLite (WebAssembly, through refrt)
// and compute what the originals compute. These skip without the reference
// runtimes (scripts/install-refrt.sh).

// writeTemp writes data to a temporary .tflite file.
func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".tflite")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tfliteSamples turns images into refrt inputs for input tensor in, fed in
// mode (see fill).
func tfliteSamples(t testing.TB, in *ir.Tensor, images [][]byte, mode string) [][]refrt.Input {
	t.Helper()
	var out [][]refrt.Input
	for _, px := range images {
		switch mode {
		case "u8":
			out = append(out, []refrt.Input{refrt.U8(in.Shape, px)})
		case "s8":
			v := make([]int8, len(px))
			for i, p := range px {
				v[i] = int8(int(p) - 128)
			}
			out = append(out, []refrt.Input{refrt.I8(in.Shape, v)})
		case "f01", "f11":
			v := make([]float32, len(px))
			for i, p := range px {
				if mode == "f01" {
					v[i] = float32(p) / 255
				} else {
					v[i] = (float32(p) - 127.5) / 127.5
				}
			}
			out = append(out, []refrt.Input{refrt.F32(in.Shape, v)})
		default:
			t.Fatalf("input mode %q", mode)
		}
	}
	return out
}

func runTFLite(t testing.TB, path string, samples [][]refrt.Input) [][]float32 {
	t.Helper()
	res, err := refrt.Run(refrt.TFLite, path, samples, refrt.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]float32
	for _, v := range res.Values {
		out = append(out, v[0])
	}
	return out
}

// The float VWW model, re-exported, gives TFLite's reference outputs.
func TestTFLiteFloatVWWMatchesReference(t *testing.T) {
	refrt.Need(t, refrt.TFLite)
	const model = "mlcommons_tiny_vww_96_float"
	g := importFile(t, testutil.Shared(t, "models/tflite/"+model+".tflite"))
	ref := testutil.ReadReference(t, model+".tfjs_tflite.json")
	images := testutil.ReferenceImages(t, 96)
	got := runTFLite(t, writeTemp(t, model, export(t, g)), tfliteSamples(t, g.Inputs[0], images, ref.Input.Mode))
	worst := 0.0
	for i, r := range ref.Results {
		for j, want := range r.Output {
			worst = max(worst, math.Abs(float64(got[i][j])-want))
		}
	}
	t.Logf("%d images: largest difference from the reference %.3g", len(ref.Results), worst)
	if worst > 1e-4 {
		t.Errorf("largest difference %.3g, want <= 1e-4", worst)
	}
}

// Quantized re-exports give exactly the original's TFLite outputs: the same
// tensors, parameters and op versions make TFLite run the same arithmetic.
// Two more v1 models run with MNCONV_LONG_TESTS=1 (10 s).
func TestTFLiteQuantizedSameAsOriginal(t *testing.T) {
	refrt.Need(t, refrt.TFLite)
	models := []string{
		"mlcommons_tiny_vww_96_int8",
		"coral_mobilenet_v1_0.25_128_quant",
		"coral_mobilenet_quant_v1_224_head_layers",
		"coral_mobilenet_v2_1.0_224_quant",
		"coral_tf2_mobilenet_v2_1.0_224_ptq",
	}
	if os.Getenv("MNCONV_LONG_TESTS") != "" {
		models = append(models, "coral_mobilenet_v1_0.75_192_quant", "coral_mobilenet_v1_1.0_224_quant_embedding_extractor")
	}
	for _, model := range models {
		t.Run(model, func(t *testing.T) {
			orig := testutil.Shared(t, "models/tflite/"+model+".tflite")
			g := importFile(t, orig)
			samples := tfliteSamples(t, g.Inputs[0], modelImages(t, g.Inputs[0]), inputMode(g))
			want := runTFLite(t, orig, samples)
			got := runTFLite(t, writeTemp(t, model, export(t, g)), samples)
			differ := 0
			for i := range want {
				for j := range want[i] {
					if got[i][j] != want[i][j] {
						differ++
					}
				}
			}
			t.Logf("%d images x %d outputs; %d differ", len(want), len(want[0]), differ)
			if differ > 0 {
				t.Errorf("%d outputs differ from the original's", differ)
			}
		})
	}
}

// TFLite rejects tflm_person_detect as published (rank-1 biases declare
// quantized_dimension 3); the importer reads them on axis 0, so the re-export
// is a file TFLite runs. Its outputs agree with our runtime's to within the
// few quanta by which XNNPACK's int8 rounding differs from TFLite's
// reference kernels.
func TestTFLitePersonDetectReexportRuns(t *testing.T) {
	refrt.Need(t, refrt.TFLite)
	const model = "tflm_person_detect"
	orig := testutil.Shared(t, "models/tflite/"+model+".tflite")
	g := importFile(t, orig)
	images := modelImages(t, g.Inputs[0])
	samples := tfliteSamples(t, g.Inputs[0], images, "s8")
	if _, err := refrt.RunTFLite(orig, samples[0]); err == nil {
		t.Log("note: TFLite accepts the original file too")
	} else {
		t.Logf("TFLite rejects the original, as expected: %.200s", err)
	}
	got := runTFLite(t, writeTemp(t, model, export(t, g)), samples)
	want := runAll(t, g, images, "s8")
	worst, top1 := 0.0, 0
	for i := range want {
		for j := range want[i] {
			worst = max(worst, math.Abs(float64(got[i][j])-want[i][j]))
		}
		if testutil.Argmax(got[i]) == testutil.Argmax(want[i]) {
			top1++
		}
	}
	t.Logf("%d inputs: TFLite and our runtime differ by at most %g quanta; top-1 agrees on %d", len(want), worst, top1)
	if worst > 4 {
		t.Errorf("TFLite differs from our runtime by %g quanta, want <= 4", worst)
	}
}
