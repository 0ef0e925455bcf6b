package runtime_test

import (
	"slices"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// TestResidualAddsFusedOnModels: built MobileNetV2 (10 residual Adds, each
// after its block's project conv) and MobileNetV3-Small run with the Adds
// fused into the convs, and give the same bits as with an observer (no
// fusion) and as the reference kernels, on every family.
func TestResidualAddsFusedOnModels(t *testing.T) {
	for _, m := range []struct {
		name  string
		g     *ir.Graph
		fused int
	}{
		{"v2_0.35_96", builtModel(t, builder.V2, 0.35, 96), 10},
		{"v3small_1.0_96", builtModel(t, builder.V3Small, 1.0, 96), -1},
	} {
		ref := runOnce(t, m.g, runtime.Options{Reference: true, Threads: 1}, 3)
		eachFamily(t, func(f string) {
			it, err := runtime.NewWithOptions(m.g, runtime.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			if n := runtime.FusedAdds(it); m.fused >= 0 && n != m.fused {
				t.Errorf("%s family %s: %d Adds fused, want %d", m.name, f, n, m.fused)
			} else if n == 0 {
				t.Errorf("%s family %s: no Add fused", m.name, f)
			} else if f == "go" {
				t.Logf("%s: %d Adds fused", m.name, n)
			}
			if n := runtime.FusedActs(it); m.name == "v3small_1.0_96" && n == 0 {
				t.Errorf("%s family %s: no HardSwish fused", m.name, f)
			} else if f == "go" {
				t.Logf("%s: %d activations fused", m.name, n)
			}
			for _, observe := range []bool{false, true, false} {
				it.Observe = nil
				if observe {
					it.Observe = func(*ir.Node, []*runtime.Tensor) {}
				}
				fillInput(it.Input(0), 3)
				if err := it.Run(); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(it.Output(0).F32, ref.F32) {
					t.Errorf("%s family %s observe=%v: outputs differ from the reference kernels'", m.name, f, observe)
				}
			}
		})
	}
}

// BenchmarkResidualFusion times MobileNetV2 1.0 224 float at one thread with
// the residual Adds fused into their convs (Observe nil) and not (a no-op
// observer), in one process.
func BenchmarkResidualFusion(b *testing.B) {
	benchFusion(b, builtModel(b, builder.V2, 1.0, 224))
}

// BenchmarkHardActFusion is BenchmarkResidualFusion for MobileNetV3-Large
// 1.0 224, whose HardSwish activations fuse into their convs.
func BenchmarkHardActFusion(b *testing.B) {
	benchFusion(b, builtModel(b, builder.V3Large, 1.0, 224))
}

// benchFusion times g at one thread fused (Observe nil) and unfused (a
// no-op observer), in one process.
func benchFusion(b *testing.B, g *ir.Graph) {
	it, err := runtime.NewWithOptions(g, runtime.Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer it.Close()
	fillInput(it.Input(0), 1)
	for _, fused := range []bool{false, true} {
		name := "unfused"
		if fused {
			name = "fused"
		}
		b.Run(name, func(b *testing.B) {
			it.Observe = func(*ir.Node, []*runtime.Tensor) {}
			if fused {
				it.Observe = nil
			}
			for b.Loop() {
				if err := it.Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
