package runtime_test

import (
	"slices"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/onnx"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// Whole models on every kernel family this machine runs: a built float
// MobileNetV2 and the ONNX zoo's int8 MobileNetV2 give the reference
// kernels' outputs bit for bit whichever family prepared them.

// eachFamily runs fn with each family selected, then restores the default.
func eachFamily(t testing.TB, fn func(family string)) {
	saved := runtime.KernelFamily()
	defer runtime.SetKernelFamily(saved)
	t.Logf("kernel families on this machine: %v (others skipped)", runtime.KernelFamilies())
	for _, f := range runtime.KernelFamilies() {
		if err := runtime.SetKernelFamily(f); err != nil {
			t.Fatal(err)
		}
		fn(f)
	}
}

func zooInt8(t testing.TB) *ir.Graph {
	g, err := importers.Load(testutil.Shared(t, "models/onnx/onnxzoo_mobilenetv2-12-int8.onnx"), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestFamiliesMatchReferenceOnModels(t *testing.T) {
	models := map[string]*ir.Graph{"v2_0.35_96_float": builtModel(t, builder.V2, 0.35, 96), "onnxzoo_v2_int8": zooInt8(t)}
	for name, g := range models {
		ref := runOnce(t, g, runtime.Options{Reference: true, Threads: 1}, 2)
		eachFamily(t, func(f string) {
			for _, threads := range []int{1, 2} {
				got := runOnce(t, g, runtime.Options{Threads: threads}, 2)
				if !slices.Equal(got.F32, ref.F32) {
					t.Errorf("%s family %s threads %d: outputs differ from the reference kernels'", name, f, threads)
				}
			}
		})
	}
}

// BenchmarkModelFamilies times MobileNetV2 1.0 224 float (built, BN folded)
// and the ONNX zoo's int8 MobileNetV2 at one thread on each family.
func BenchmarkModelFamilies(b *testing.B) {
	models := []struct {
		name string
		g    *ir.Graph
	}{{"float", builtModel(b, builder.V2, 1.0, 224)}, {"int8", zooInt8(b)}}
	for _, m := range models {
		eachFamily(b, func(f string) {
			b.Run(m.name+"/"+f, func(b *testing.B) {
				it, err := runtime.NewWithOptions(m.g, runtime.Options{Threads: 1})
				if err != nil {
					b.Fatal(err)
				}
				defer it.Close()
				fillInput(it.Input(0), 1)
				for b.Loop() {
					if err := it.Run(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
