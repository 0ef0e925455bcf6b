package tflite_test

import (
	"math"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/runtime"
)

// End to end: imported models run on the runtime's kernels and match the
// outputs TFLite gave on the same pre-made inputs (shared/reference). This
// checks the importer's translation (depthwise layout, padding, quantization
// axes) as much as the kernels; it skips while a kernel is missing.

func TestRunAgainstTFLite(t *testing.T) {
	// Float: every output within 1e-4. Integer models: the reference was
	// computed by TFLite's XNNPACK delegate, whose requantization rounds
	// differently from the reference kernels now and then, and differences
	// grow through 28 layers (seen: up to 4 steps on VWW, 11 on one of
	// 1001 coral outputs). A translation error (a wrong scale, zero point,
	// axis or layout) gives garbage instead, so the integer bound is: the
	// same top-1 on every image and a mean difference of at most 2 steps.
	cases := []struct {
		model   string
		maxDiff float64 // largest allowed |ours - TFLite| (0: not checked)
		mean    float64 // largest allowed mean |ours - TFLite|
	}{
		{"mlcommons_tiny_vww_96_float", 1e-4, 1e-4},
		{"mlcommons_tiny_vww_96_int8", 0, 2},
		{"coral_mobilenet_v1_0.25_128_quant", 0, 2},
	}
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			ref := testutil.ReadReference(t, tc.model+".tfjs_tflite.json")
			g, err := importers.Load(testutil.Shared(t, "models/tflite/"+tc.model+".tflite"), importers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			it, err := runtime.New(g)
			if err != nil {
				if strings.Contains(err.Error(), "not implemented") {
					t.Skipf("skipping: %v", err)
				}
				t.Fatal(err)
			}
			in := it.Input(0)
			pixels := testutil.ReferenceBytes(t, ref.Input.File, in.Len())
			worst, sumDiff, count, top1 := 0.0, 0.0, 0, 0
			for i, r := range ref.Results {
				for j, p := range pixels[i] {
					switch ref.Input.Mode {
					case "f01":
						in.F32[j] = float32(p) / 255
					case "s8":
						in.I8[j] = int8(int(p) - 128)
					case "u8":
						in.U8[j] = p
					default:
						t.Fatalf("input mode %q", ref.Input.Mode)
					}
				}
				if err := it.Run(); err != nil {
					t.Fatal(err)
				}
				out := it.Output(0)
				if out.Len() != len(r.Output) {
					t.Fatalf("image %d: %d outputs, reference has %d", i, out.Len(), len(r.Output))
				}
				for j, want := range r.Output {
					d := math.Abs(out.Float(j) - want)
					worst = max(worst, d)
					sumDiff += d
					count++
				}
				if testutil.Argmax(out.Floats()) == r.Argmax {
					top1++
				}
			}
			t.Logf("%d images: top-1 agrees on %d; difference from TFLite largest %.3g, mean %.3g (%v outputs)",
				len(ref.Results), top1, worst, sumDiff/float64(count), g.Outputs[0].DType)
			if tc.maxDiff > 0 && worst > tc.maxDiff {
				t.Errorf("largest difference %.3g, want <= %g", worst, tc.maxDiff)
			}
			if m := sumDiff / float64(count); m > tc.mean {
				t.Errorf("mean difference %.3g, want <= %g", m, tc.mean)
			}
			if top1 != len(ref.Results) {
				t.Errorf("top-1 differs from TFLite on %d of %d images", len(ref.Results)-top1, len(ref.Results))
			}
		})
	}
}
