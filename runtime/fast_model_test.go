package runtime_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/runtime"
)

// Whole-model checks of the fast runtime on builder's MobileNets (BN folded,
// activations fused, as mnconv runs them): the fast kernels agree with the
// reference kernels, planned memory makes Run allocate nothing, and the
// thread count does not change a single bit.

func builtModel(t testing.TB, arch builder.Arch, alpha float64, res int) *ir.Graph {
	t.Helper()
	g, err := builder.Build(builder.Config{Arch: arch, Alpha: alpha, Resolution: res, Classes: 1001, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, &passes.Options{}); err != nil {
		t.Fatal(err)
	}
	return g
}

// fillInput writes a deterministic image-like pattern in [-1, 1].
func fillInput(x *runtime.Tensor, seed int) {
	for i := range x.F32 {
		x.F32[i] = float32(math.Sin(float64(i*7+seed*13))) * 0.9
	}
}

func runOnce(t testing.TB, g *ir.Graph, opts runtime.Options, seed int) *runtime.Tensor {
	t.Helper()
	it, err := runtime.NewWithOptions(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	fillInput(it.Input(0), seed)
	if err := it.Run(); err != nil {
		t.Fatal(err)
	}
	out := it.Output(0)
	return &runtime.Tensor{DType: out.DType, Shape: out.Shape, F32: slices.Clone(out.F32)}
}

// TestFastModelsMatchReference runs small builder models with fast and with
// reference kernels: the fast float kernels keep the reference arithmetic,
// so the outputs (softmax probabilities) are identical.
func TestFastModelsMatchReference(t *testing.T) {
	for _, c := range []struct {
		arch  builder.Arch
		alpha float64
		res   int
	}{{builder.V2, 0.35, 96}, {builder.V1, 0.25, 64}, {builder.V3Small, 0.75, 64}, {builder.V3Large, 0.5, 64}} {
		t.Run(fmt.Sprintf("%s_%v_%d", c.arch, c.alpha, c.res), func(t *testing.T) {
			g := builtModel(t, c.arch, c.alpha, c.res)
			ref := runOnce(t, g, runtime.Options{Reference: true, Threads: 1}, 1)
			for _, threads := range []int{1, 2, 3} {
				got := runOnce(t, g, runtime.Options{Threads: threads}, 1)
				maxDiff := 0.0
				for i, r := range ref.F32 {
					maxDiff = max(maxDiff, math.Abs(float64(got.F32[i]-r)))
				}
				if !slices.Equal(got.F32, ref.F32) {
					t.Errorf("threads %d: fast and reference outputs differ (max |diff| %.3g over %d probabilities)", threads, maxDiff, len(ref.F32))
				}
				if threads > 1 {
					one := runOnce(t, g, runtime.Options{Threads: 1}, 1)
					if !slices.Equal(one.F32, got.F32) {
						t.Errorf("threads %d: output differs from 1 thread; the split must not change results", threads)
					}
				}
			}
		})
	}
}

// TestRunAllocatesNothing is the planned-memory contract on a MobileNetV2
// 1.0 224 (the real size): after the first Run, Run allocates nothing, with
// one thread and with several.
func TestRunAllocatesNothing(t *testing.T) {
	g := builtModel(t, builder.V2, 1.0, 224)
	for _, threads := range []int{1, 2} {
		it, err := runtime.NewWithOptions(g, runtime.Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		fillInput(it.Input(0), 3)
		if err := it.Run(); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(3, func() {
			if err := it.Run(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("threads %d: %v allocations per Run, want 0", threads, allocs)
		}
		t.Logf("threads %d: arena %.1f MiB for %d nodes", threads, float64(it.ArenaBytes())/(1<<20), len(g.Nodes))
		it.Close()
	}
}

// TestSharedBuffersMatchKeepAll checks the arena plan: every node's output,
// seen through Observe, equals the same run with a buffer per tensor, and
// graph outputs stay readable after Run. A planner that let two live
// tensors overlap would corrupt a later layer.
func TestSharedBuffersMatchKeepAll(t *testing.T) {
	g := builtModel(t, builder.V3Small, 1.0, 96) // squeeze-excite: tensors live across several nodes
	seen := map[string][]float32{}
	keep, err := runtime.NewWithOptions(g, runtime.Options{KeepAll: true, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	fillInput(keep.Input(0), 5)
	if err := keep.Run(); err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		seen[n.Out().Name] = slices.Clone(keep.Value(n.Out()).F32)
	}
	shared, err := runtime.NewWithOptions(g, runtime.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if shared.ArenaBytes() == 0 || keep.ArenaBytes() != 0 {
		t.Fatalf("arena sizes: shared %d, keep-all %d", shared.ArenaBytes(), keep.ArenaBytes())
	}
	var total int64
	for _, n := range g.Nodes {
		total += n.Out().Bytes()
	}
	t.Logf("arena %d KiB for %d KiB of activations", shared.ArenaBytes()>>10, total>>10)
	// Run twice: the second run starts from the first one's leftovers.
	for run := range 2 {
		fillInput(shared.Input(0), 5)
		shared.Observe = func(n *ir.Node, outs []*runtime.Tensor) {
			if !slices.Equal(outs[0].F32, seen[n.Out().Name]) {
				t.Errorf("run %d: node %s: output differs from the keep-all run", run, n.Name)
			}
		}
		if err := shared.Run(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(shared.Output(0).F32, keep.Output(0).F32) {
			t.Errorf("run %d: graph output differs after Run", run)
		}
	}
}
