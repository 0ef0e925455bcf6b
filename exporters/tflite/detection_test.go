package tflite_test

import (
	"os"
	"testing"

	"github.com/mnconv/mnconv/importers"
	tfliteimp "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/refrt"
	"github.com/mnconv/mnconv/runtime"
)

// TestRoundTripDetectionPostProcess: the pets SSD (TFLite_Detection_PostProcess
// with FlexBuffer options) goes TFLite -> IR -> TFLite -> IR with the same
// graph and options, the second export gives the same bytes, and the
// re-imported model detects exactly as the original on a shared input.
func TestRoundTripDetectionPostProcess(t *testing.T) {
	path := testutil.Shared(t, "apps/models/ssd_mobilenet_v1_0.75_depth_pets_quant_detect.tflite")
	g := importFile(t, path)
	want := g.Dump()
	data := export(t, g)
	g2, err := tfliteimp.Import(path, data, importers.Options{Warn: func(msg string) { t.Errorf("re-import warns: %s", msg) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := g2.Dump(); got != want {
		t.Errorf("round trip changed the graph:\n%s", diffLines(want, got))
	}
	last := func(g *ir.Graph) ir.DetectionPostProcessAttrs {
		n := g.Nodes[len(g.Nodes)-1]
		if n.Op != ir.OpDetectionPostProcess {
			t.Fatalf("last node is %v", n.Op)
		}
		return *n.Attrs.(*ir.DetectionPostProcessAttrs)
	}
	if a, b := last(g), last(g2); a != b {
		t.Errorf("options %+v, re-imported %+v", a, b)
	}
	if again := export(t, g2); string(again) != string(data) {
		t.Errorf("exporting the re-imported graph gives other bytes (%d vs %d)", len(again), len(data))
	}
	raw, err := os.ReadFile(testutil.Shared(t, "apps/inputs/ssd300_cat_bilinear.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var outs [2][]float32
	for i, gr := range []*ir.Graph{g, g2} {
		it, err := runtime.New(gr)
		if err != nil {
			t.Fatal(err)
		}
		copy(it.Input(0).U8, raw)
		if err := it.Run(); err != nil {
			t.Fatal(err)
		}
		for o := range 4 {
			outs[i] = append(outs[i], it.Output(o).F32...)
		}
		it.Close()
	}
	for i := range outs[0] {
		if outs[0][i] != outs[1][i] {
			t.Fatalf("output value %d: %v, after the round trip %v", i, outs[0][i], outs[1][i])
		}
	}
	t.Logf("original %d bytes, exported %d bytes; detections identical", fileSize(t, path), len(data))
}

// TestTFLiteRunsExportedDetectionPostProcess: TFLite reads the exported
// custom op's FlexBuffer options and gives the same four outputs as on the
// original file, on the three pets inputs.
func TestTFLiteRunsExportedDetectionPostProcess(t *testing.T) {
	path := testutil.Shared(t, "apps/models/ssd_mobilenet_v1_0.75_depth_pets_quant_detect.tflite")
	g := importFile(t, path)
	exported := writeTemp(t, "pets_ssd", export(t, g))
	var samples [][]refrt.Input
	for _, f := range []string{"ssd300_cat_bilinear.bin", "ssd300_imagenet_pug_bilinear.bin", "ssd300_imagenet_siamese_cat_bilinear.bin"} {
		raw, err := os.ReadFile(testutil.Shared(t, "apps/inputs/"+f))
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, []refrt.Input{refrt.U8(g.Inputs[0].Shape, raw)})
	}
	var res [2]*refrt.Result
	for i, p := range []string{path, exported} {
		r, err := refrt.Run(refrt.TFLite, p, samples, refrt.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		res[i] = r
	}
	for s := range samples {
		if len(res[1].Values[s]) != 4 {
			t.Fatalf("sample %d: %d outputs", s, len(res[1].Values[s]))
		}
		for o := range 4 {
			a, b := res[0].Values[s][o], res[1].Values[s][o]
			if len(a) != len(b) {
				t.Fatalf("sample %d output %d: %d values, exported %d", s, o, len(a), len(b))
			}
			for i := range a {
				if a[i] != b[i] {
					t.Errorf("sample %d output %d [%d]: %v, exported %v", s, o, i, a[i], b[i])
				}
			}
		}
	}
}
