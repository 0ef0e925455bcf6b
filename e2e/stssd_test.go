package e2e

import (
	"os"
	"testing"

	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/refrt"
	rt "github.com/mnconv/mnconv/runtime"
)

// TestSTSSDConvertInReferenceRuntimes converts the ST SSD as mnconv convert
// does (the default passes, then .tflite and .onnx) and runs both files on
// the first pre-made COCO input in TFLite and ONNX Runtime: they run (the
// anchors stay computed before their DEQUANTIZE, see passes.FoldConstants,
// or TFLite's XNNPACK delegate fails), and their class probabilities agree
// with ours on >= 99% of the values (the rest is rounding:
// runtime/stssd_models_test.go).
func TestSTSSDConvertInReferenceRuntimes(t *testing.T) {
	refrt.Need(t, refrt.TFLite)
	refrt.Need(t, refrt.ONNX)
	g, err := importers.Load(testutil.Shared(t, "apps/models/st_ssd_mobilenet_v2_fpnlite_100_256_coco80_int8.tflite"), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(testutil.Shared(t, "apps/inputs/coco_val128_first8_stretch256_u8_nhwc.bin"))
	if err != nil {
		t.Fatal(err)
	}
	x := rt.NewTensor(ir.Uint8, g.Inputs[0].Shape)
	copy(x.U8, raw)
	ours := outputs(t, g, []*rt.Tensor{x})[0]
	dir := t.TempDir()
	for _, f := range []struct {
		name string
		r    refrt.Runtime
	}{{"stssd.tflite", refrt.TFLite}, {"stssd.onnx", refrt.ONNX}} {
		theirs := reference(t, f.r, write(t, g, dir, f.name, exporters.Options{InputLayout: ir.NHWC}), []*rt.Tensor{x})[0]
		equal := 0
		for i := range ours {
			if ours[i] == theirs[i] {
				equal++
			}
		}
		t.Logf("%s in %s: %d/%d class probabilities equal to ours", f.name, f.r, equal, len(ours))
		if 100*equal < 99*len(ours) {
			t.Errorf("%s: %d/%d equal, want >= 99%%", f.name, equal, len(ours))
		}
	}
}
