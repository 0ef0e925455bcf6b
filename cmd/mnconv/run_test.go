package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/preprocess"
)

// inspRunCLI runs mnconv with args and returns what it printed. Flags keep
// their values between Execute calls, so every flag of the run and inspect
// commands is put back to its default first.
func inspRunCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return execCLI(t, []*cobra.Command{runCmd, inspectCmd}, args...)
}

type runLine struct {
	Index  int       `json:"index"`
	Image  string    `json:"image"`
	Output []float64 `json:"output"`
	Top5   []int     `json:"top5"`
}

func parseRunLines(t *testing.T, out string) []runLine {
	t.Helper()
	var lines []runLine
	for _, s := range strings.Split(strings.TrimSpace(out), "\n") {
		var l runLine
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatalf("line %q: %v", s, err)
		}
		lines = append(lines, l)
	}
	return lines
}

// skipIfKernelMissing turns a runtime "not implemented" error (kernels land
// op by op) into a skip that says which; any other error fails.
func skipIfKernelMissing(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if strings.Contains(err.Error(), "not implemented in the runtime") {
		t.Skipf("skipping: %v", err)
	}
	t.Fatal(err)
}

// TestRunMatchesReference runs models on the 16 reference images through
// the CLI and compares every output value with the reference runtimes:
// float outputs to 1e-4, quantized ones to 12 quanta: the reference is
// TFLite's XNNPACK build, which is not bit-exact with TFLite's reference
// kernels (shared/tools/reference-runtimes/README.md saw reference backends
// 11 quanta apart on a uint8 softmax). The CLI's job here is the wiring;
// the runtime's own tests hold the kernels to tighter bounds.
func TestRunMatchesReference(t *testing.T) {
	cases := []struct {
		model, pixels, mode, ref string
		tol                      float64
	}{
		{"models/tflite/mlcommons_tiny_vww_96_float.tflite", "reference/imagenet16_u8_nhwc_96.bin", "unit",
			"mlcommons_tiny_vww_96_float.tfjs_tflite.json", 1e-4},
		{"models/onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx", "reference/imagenet16_u8_nhwc_128.bin", "tf",
			"stm32_tutorial_mobilenet_v2_128_0.5.ort.json", 1e-4},
		{"models/tflite/coral_mobilenet_v1_0.25_128_quant.tflite", "reference/imagenet16_u8_nhwc_128.bin", "raw",
			"coral_mobilenet_v1_0.25_128_quant.tfjs_tflite.json", 12},
		{"models/tflite/mlcommons_tiny_vww_96_int8.tflite", "reference/imagenet16_u8_nhwc_96.bin", "raw",
			"mlcommons_tiny_vww_96_int8.tfjs_tflite.json", 12},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.model), func(t *testing.T) {
			ref := testutil.ReadReference(t, c.ref)
			out, err := inspRunCLI(t, "run", testutil.Shared(t, c.model), "--pixels", testutil.Shared(t, c.pixels),
				"--preprocess", c.mode, "--json")
			skipIfKernelMissing(t, err)
			lines := parseRunLines(t, out)
			if len(lines) != len(ref.Results) {
				t.Fatalf("%d lines, reference has %d images", len(lines), len(ref.Results))
			}
			worst, sameTop1, exact, total := 0.0, 0, 0, 0
			for i, l := range lines {
				want := ref.Results[i].Output
				if l.Index != i || len(l.Output) != len(want) {
					t.Fatalf("line %d: index %d with %d values, want %d", i, l.Index, len(l.Output), len(want))
				}
				for k := range want {
					d := math.Abs(l.Output[k] - want[k])
					worst = max(worst, d)
					if d == 0 {
						exact++
					}
					total++
				}
				if l.Top5[0] == ref.Results[i].Argmax {
					sameTop1++
				}
				if !slices.IsSortedFunc(l.Top5, func(a, b int) int {
					return -cmpFloat(l.Output[a], l.Output[b])
				}) {
					t.Errorf("image %d: top5 %v not in descending order of %v", i, l.Top5, l.Output)
				}
			}
			t.Logf("largest difference %g, %d/%d values exact, top-1 equal on %d/%d images", worst, exact, total, sameTop1, len(lines))
			if worst > c.tol {
				t.Errorf("largest difference %g > %g", worst, c.tol)
			}
		})
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestRunGrayscale feeds the TFLite Micro person detector (one channel) its
// two example BMPs. --pixels with one byte per pixel must agree with
// --image. TFLite Micro's own test copies the BMP bytes into the int8 input
// as they are (generate_cc_arrays.py dumps Pillow's tobytes()), i.e. it
// reinterprets byte b as int8(b); raw mode stores x-128, so pixels b^0x80
// reproduce that test, which expects "person" (index 1) to win on
// person.bmp and lose on no_person.bmp.
func TestRunGrayscale(t *testing.T) {
	model := testutil.Shared(t, "models/tflite/tflm_person_detect.tflite")
	var gray, reinterpreted []byte
	var imgs []string
	for _, name := range []string{"no_person.bmp", "person.bmp"} {
		p := testutil.Shared(t, "images/person/"+name)
		m, err := preprocess.DecodeFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if m.W != 96 || m.H != 96 {
			t.Fatalf("%s is %dx%d, want 96x96", name, m.W, m.H)
		}
		g := m.Gray()
		gray = append(gray, g...)
		for _, b := range g {
			reinterpreted = append(reinterpreted, b^0x80)
		}
		imgs = append(imgs, p)
	}
	dir := t.TempDir()
	grayFile, tflmFile := filepath.Join(dir, "gray.bin"), filepath.Join(dir, "tflm.bin")
	if err := os.WriteFile(grayFile, gray, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tflmFile, reinterpreted, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := inspRunCLI(t, "run", model, "--pixels", grayFile, "--json")
	skipIfKernelMissing(t, err)
	byPixels := parseRunLines(t, out)
	out, err = inspRunCLI(t, "run", model, "--image", imgs[0], "--image", imgs[1], "--resize", "full", "--json")
	if err != nil {
		t.Fatal(err)
	}
	byImage := parseRunLines(t, out)
	out, err = inspRunCLI(t, "run", model, "--pixels", tflmFile, "--preprocess", "raw", "--json")
	if err != nil {
		t.Fatal(err)
	}
	tflm := parseRunLines(t, out)
	if len(byPixels) != 2 || len(byImage) != 2 || len(tflm) != 2 {
		t.Fatalf("got %d, %d and %d lines, want 2 each", len(byPixels), len(byImage), len(tflm))
	}
	for i := range 2 {
		if !slices.Equal(byPixels[i].Output, byImage[i].Output) {
			t.Errorf("image %d: --pixels gives %v, --image gives %v", i, byPixels[i].Output, byImage[i].Output)
		}
		if tflm[i].Top5[0] != i {
			t.Errorf("%s as TFLite Micro feeds it: top class %d (scores %v), want %d", filepath.Base(imgs[i]), tflm[i].Top5[0], tflm[i].Output, i)
		}
	}
	t.Logf("TFLite Micro convention: no_person %v, person %v; pixel values (x-128): %v, %v",
		tflm[0].Output, tflm[1].Output, byPixels[0].Output, byPixels[1].Output)
	if byImage[1].Image == "" {
		t.Errorf("--image lines should name the image")
	}
}

// TestRunErrors covers the usage and input errors, each before any kernel
// runs.
func TestRunErrors(t *testing.T) {
	model := testutil.Shared(t, "models/tflite/mlcommons_tiny_vww_96_float.tflite")
	dir := t.TempDir()
	odd := filepath.Join(dir, "odd.bin")
	if err := os.WriteFile(odd, make([]byte, 96*96*3+1), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.bin")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.bin")
	if err := os.WriteFile(good, make([]byte, 96*96*3), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no input", []string{"run", model}, "either --pixels"},
		{"both inputs", []string{"run", model, "--pixels", good, "--image", "x.jpg"}, "either --pixels"},
		{"partial image", []string{"run", model, "--pixels", odd}, "not a whole number"},
		{"empty file", []string{"run", model, "--pixels", empty}, "not a whole number"},
		{"size mismatch", []string{"run", model, "--pixels", good, "--size", "128"}, "--size 128"},
		{"bad mode", []string{"run", model, "--pixels", good, "--preprocess", "caffe"}, "caffe"},
		{"bad resize", []string{"run", model, "--image", "x.jpg", "--resize", "squash"}, "squash"},
		{"missing pixels", []string{"run", model, "--pixels", filepath.Join(dir, "nope.bin")}, "nope.bin"},
		{"missing model", []string{"run", filepath.Join(dir, "nope.tflite"), "--pixels", good}, "nope.tflite"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := inspRunCLI(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// TestRunArith: run --arith picks the arithmetic of a TFLite model's
// quantized nodes: tflite is the default, xnnpack gives TFLite+XNNPACK's
// outputs (the shared reference) on all 16 images; other names are refused.
func TestRunArith(t *testing.T) {
	model := testutil.Shared(t, "models/tflite/coral_mobilenet_v1_0.25_128_quant.tflite")
	pixels := testutil.Shared(t, "reference/imagenet16_u8_nhwc_128.bin")
	outputs := map[string][]runLine{}
	for _, a := range []string{"", "tflite", "xnnpack"} {
		args := []string{"run", model, "--pixels", pixels, "--json"}
		if a != "" {
			args = append(args, "--arith", a)
		}
		out, err := inspRunCLI(t, args...)
		if err != nil {
			t.Fatalf("--arith %q: %v", a, err)
		}
		outputs[a] = parseRunLines(t, out)
	}
	if !reflect.DeepEqual(outputs[""], outputs["tflite"]) {
		t.Error("--arith tflite differs from the default")
	}
	if reflect.DeepEqual(outputs["tflite"], outputs["xnnpack"]) {
		t.Error("--arith xnnpack gives TFLite's reference-kernel outputs on all 16 images")
	}
	ref := testutil.ReadReference(t, "coral_mobilenet_v1_0.25_128_quant.tfjs_tflite.json")
	for i, r := range ref.Results {
		if i >= len(outputs["xnnpack"]) || !slices.Equal(outputs["xnnpack"][i].Output, r.Output) {
			t.Errorf("image %d: --arith xnnpack differs from TFLite+XNNPACK's outputs", i)
		}
	}
	if _, err := inspRunCLI(t, "run", model, "--pixels", pixels, "--arith", "onnx"); err == nil {
		t.Error("--arith onnx accepted")
	}
}
