package tflite_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/importers"
	tfliteimp "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// fill writes pixels into a graph input buffer in mode: "u8" raw, "s8"
// pixel-128, "f01" pixel/255, "f11" (pixel-127.5)/127.5.
func fill(t testing.TB, in *runtime.Tensor, px []byte, mode string) {
	t.Helper()
	if in.Len() != len(px) {
		t.Fatalf("input holds %d values, image %d", in.Len(), len(px))
	}
	for j, p := range px {
		switch mode {
		case "u8":
			in.U8[j] = p
		case "s8":
			in.I8[j] = int8(int(p) - 128)
		case "f01":
			in.F32[j] = float32(p) / 255
		case "f11":
			in.F32[j] = (float32(p) - 127.5) / 127.5
		default:
			t.Fatalf("input mode %q", mode)
		}
	}
}

// inputMode is how the reference images feed a model's input.
func inputMode(g *ir.Graph) string {
	switch g.Inputs[0].DType {
	case ir.Uint8:
		return "u8"
	case ir.Int8:
		return "s8"
	}
	return "f11"
}

// newInterpreter prepares g for our runtime, skipping the test while a
// kernel it needs is not implemented.
func newInterpreter(t testing.TB, g *ir.Graph) *runtime.Interpreter {
	t.Helper()
	it, err := runtime.New(g)
	if err != nil {
		if strings.Contains(err.Error(), "not implemented") {
			t.Skipf("skipping: %v", err)
		}
		t.Fatal(err)
	}
	return it
}

// runAll runs g on every image and returns each image's outputs as float64
// (quantized outputs as their raw values).
func runAll(t testing.TB, g *ir.Graph, images [][]byte, mode string) [][]float64 {
	t.Helper()
	it := newInterpreter(t, g)
	var out [][]float64
	for _, px := range images {
		fill(t, it.Input(0), px, mode)
		if err := it.Run(); err != nil {
			t.Fatal(err)
		}
		o := it.Output(0)
		v := make([]float64, o.Len())
		for j := range v {
			v[j] = o.Float(j)
		}
		out = append(out, v)
	}
	return out
}

// Our runtime gives identical outputs on each shared model and on its
// re-export. Models of 160 px and less run all 16 reference images, larger
// ones the first 3 (all 16 with MNCONV_LONG_TESTS=1: about a minute);
// inputs that are not RGB images get 16 pseudo-random ones.
func TestRuntimeSameOutputs(t *testing.T) {
	long := os.Getenv("MNCONV_LONG_TESTS") != ""
	for _, path := range sharedModels(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".tflite")
		t.Run(name, func(t *testing.T) {
			g := importFile(t, path)
			images := modelImages(t, g.Inputs[0])
			if s := g.Inputs[0].Shape; len(s) == 4 && s[1] > 160 && !long {
				images = images[:3]
			}
			g2, err := tfliteimp.Import(path, export(t, g), importers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			mode := inputMode(g)
			want, got := runAll(t, g, images, mode), runAll(t, g2, images, mode)
			for i := range want {
				for j := range want[i] {
					if want[i][j] != got[i][j] {
						t.Fatalf("image %d output %d: re-export gives %v, original %v", i, j, got[i][j], want[i][j])
					}
				}
			}
			t.Logf("%d images x %d outputs identical", len(want), len(want[0]))
		})
	}
}

// modelImages returns 16 inputs for in: the reference images for square
// RGB inputs, else deterministic pseudo-random bytes.
func modelImages(t testing.TB, in *ir.Tensor) [][]byte {
	if s := in.Shape; len(s) == 4 && s[3] == 3 && s[1] == s[2] {
		return testutil.ReferenceImages(t, s[1])
	}
	rng := rand.New(rand.NewPCG(uint64(in.Len()), 3))
	out := make([][]byte, 16)
	for i := range out {
		out[i] = make([]byte, in.Len())
		for j := range out[i] {
			out[i][j] = byte(rng.Uint32())
		}
	}
	return out
}
