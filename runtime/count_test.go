package runtime_test

import (
	"fmt"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/onnx"
	_ "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/inspect"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/runtime"
)

// The executed-MAC counters against inspect's static count: one Run of a
// model must execute exactly the MACs inspect predicts, node by node, with
// the reference kernels and with the fast ones, float and integer. The
// kernels count as they compute (count.go), so this proves both the
// counters and that every kernel computes every output once.

// countSharedModels are the shared models the runtime runs (the two apps/
// models need ops it does not have: skipped).
var countSharedModels = []string{
	"models/tflite/coral_mobilenet_quant_v1_224_head_layers.tflite",
	"models/tflite/coral_mobilenet_v1_0.25_128_quant.tflite",
	"models/tflite/coral_mobilenet_v1_0.75_192_quant.tflite",
	"models/tflite/coral_mobilenet_v1_1.0_224_quant_embedding_extractor.tflite",
	"models/tflite/coral_mobilenet_v2_1.0_224_quant.tflite",
	"models/tflite/coral_tf2_mobilenet_v2_1.0_224_ptq.tflite",
	"models/tflite/mlcommons_tiny_vww_96_float.tflite",
	"models/tflite/mlcommons_tiny_vww_96_int8.tflite",
	"models/tflite/tflm_person_detect.tflite",
	"models/onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx",
	"models/onnx/onnxzoo_mobilenetv2-12-int8.onnx",
	"models/onnx/ort_mobilenet_v3_small_excerpt.onnx",
}

func TestExecutedMACsMatchInspect(t *testing.T) {
	for _, rel := range countSharedModels {
		t.Run(rel, func(t *testing.T) {
			path := testutil.Shared(t, rel)
			g, err := importers.Load(path, importers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkExecutedMACs(t, g)
		})
	}
	for _, c := range []struct {
		arch  builder.Arch
		alpha float64
		res   int
	}{
		{builder.V1, 1.0, 224}, {builder.V1, 0.5, 128},
		{builder.V2, 1.0, 224}, {builder.V2, 0.35, 96},
		{builder.V3Large, 1.0, 224}, {builder.V3Large, 0.75, 128},
		{builder.V3Small, 1.0, 224}, {builder.V3Small, 0.5, 96},
	} {
		name := fmt.Sprintf("%s_%v_%d", c.arch, c.alpha, c.res)
		t.Run(name, func(t *testing.T) {
			g, err := builder.Build(builder.Config{Arch: c.arch, Alpha: c.alpha, Resolution: c.res, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			t.Run("unoptimized", func(t *testing.T) { checkExecutedMACs(t, g) })
			if _, err := passes.Run(g, passes.Default, nil); err != nil {
				t.Fatal(err)
			}
			t.Run("optimized", func(t *testing.T) { checkExecutedMACs(t, g) })
		})
	}
}

// checkExecutedMACs runs g once (zero input: the counts do not depend on
// values) with reference and with fast kernels and compares every node's
// executed MACs with inspect's static count, matched by node name.
func checkExecutedMACs(t *testing.T, g *ir.Graph) {
	t.Helper()
	r := inspect.Analyze(g)
	static := map[string]int64{}
	for _, l := range r.Layers {
		if _, dup := static[l.Name]; dup && l.MACs != 0 {
			t.Fatalf("node name %q appears twice; cannot match by name", l.Name)
		}
		static[l.Name] += l.MACs
	}
	for _, opts := range []runtime.Options{{Reference: true}, {}} {
		label := "fast"
		if opts.Reference {
			label = "reference"
		}
		it, err := runtime.NewWithOptions(g, opts)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		for _, n := range it.Uncounted() {
			t.Errorf("%s: node %q (%v, kernel %T) does MACs but its kernel does not count them", label, n.Name, n.Op, kernelOf(it, n))
		}
		if err := it.Run(); err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		executed := it.NodeMACs()
		for i, n := range g.Nodes {
			if executed[i] != static[n.Name] {
				t.Errorf("%s: node %q (%v, kernel %T): executed %d MACs, inspect counts %d", label, n.Name, n.Op, it.Kernel(i), executed[i], static[n.Name])
			}
		}
		if it.TotalMACs() != r.TotalMACs {
			t.Errorf("%s: executed %d MACs in all, inspect counts %d", label, it.TotalMACs(), r.TotalMACs)
		}
		t.Logf("%s: executed %s MACs = static %s", label, inspect.Thousands(it.TotalMACs()), inspect.Thousands(r.TotalMACs))
		it.Close()
	}
}

func kernelOf(it *runtime.Interpreter, n *ir.Node) runtime.Kernel {
	for i, m := range it.Graph().Nodes {
		if m == n {
			return it.Kernel(i)
		}
	}
	return nil
}

// TestMACCountsAccumulate: counts add up over Runs and ResetMACs clears
// them, with several threads splitting every kernel's work.
func TestMACCountsAccumulate(t *testing.T) {
	g, err := builder.Build(builder.Config{Arch: builder.V2, Alpha: 0.35, Resolution: 96, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	want := inspect.Analyze(g).TotalMACs
	for _, opts := range []runtime.Options{{Threads: 3}, {Threads: 3, Reference: true}} {
		it, err := runtime.NewWithOptions(g, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := it.TotalMACs(); got != 0 {
			t.Errorf("%+v: %d MACs before any Run", opts, got)
		}
		for range 3 {
			if err := it.Run(); err != nil {
				t.Fatal(err)
			}
		}
		if got := it.TotalMACs(); got != 3*want {
			t.Errorf("%+v: %d MACs after 3 Runs, want %d", opts, got, 3*want)
		}
		it.ResetMACs()
		if got := it.TotalMACs(); got != 0 {
			t.Errorf("%+v: %d MACs after ResetMACs", opts, got)
		}
		if err := it.Run(); err != nil {
			t.Fatal(err)
		}
		if got := it.TotalMACs(); got != want {
			t.Errorf("%+v: %d MACs after reset and one Run, want %d", opts, got, want)
		}
		it.Close()
	}
}
