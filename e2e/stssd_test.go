package e2e

import (
	"context"
	"os"
	"testing"

	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/quantize"
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

// TestRequantizedSTSSDInTFLite dequantizes the ST SSD, quantizes it again
// (int8, per-channel, minmax ranges) on 8 ImageNet calibration images, and
// runs the .tflite in TFLite (its static shapes let XNNPACK take the graph)
// and in ours with ir.ArithXNNPACK on the first two pre-made COCO inputs as
// float (x-127.5)/127.5: every value of all three outputs is equal. This
// pins down XNNPACK's float -> int8 input quantization (a multiply by 1/s,
// ties to even: the inputs sit on ties) and its int8 requantize.
func TestRequantizedSTSSDInTFLite(t *testing.T) {
	refrt.Need(t, refrt.TFLite)
	g, err := importers.Load(testutil.Shared(t, "apps/models/st_ssd_mobilenet_v2_fpnlite_100_256_coco80_int8.tflite"), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, append([]passes.Pass{passes.Dequantize}, passes.Default...), nil); err != nil {
		t.Fatal(err)
	}
	if err := quantize.PrepareGraph(g); err != nil {
		t.Fatal(err)
	}
	files, err := quantize.ListImages(testutil.Shared(t, "images/imagenet/calib"), 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	src, err := quantize.NewImageSource(g, files, preprocess.Full, preprocess.Auto)
	if err != nil {
		t.Fatal(err)
	}
	st, err := quantize.Calibrate(context.Background(), g, src, quantize.CalibrateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := quantize.Quantize(g, st, quantize.Config{})
	if err != nil {
		t.Fatal(err)
	}
	q := res.Graph
	inputs := premadeFloatInputs(t, q, "apps/inputs/coco_val128_first8_stretch256_u8_nhwc.bin")[:2]
	path := write(t, q, t.TempDir(), "stssd_int8.tflite", exporters.Options{InputLayout: ir.NHWC})
	theirs := referenceAll(t, refrt.TFLite, path, inputs)
	// Ours on the file as written (the exporter adds the QUANTIZE ops that
	// TFLite's int8 CONCATENATION needs).
	if q, err = importers.Load(path, importers.Options{}); err != nil {
		t.Fatal(err)
	}
	q.SetArith(ir.ArithXNNPACK)
	it, err := rt.New(q)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for i, x := range inputs {
		if err := it.SetInput(0, x); err != nil {
			t.Fatal(err)
		}
		if err := it.Run(); err != nil {
			t.Fatal(err)
		}
		for k := range q.Outputs {
			ours, want := it.Output(k).F32, theirs[i][k]
			equal := 0
			for j := range want {
				if ours[j] == want[j] {
					equal++
				}
			}
			t.Logf("input %d, output %q: %d/%d values equal to TFLite's", i, q.Outputs[k].Name, equal, len(want))
			if equal != len(want) || len(ours) != len(want) {
				t.Errorf("input %d, output %q: %d/%d values equal, want all", i, q.Outputs[k].Name, equal, len(want))
			}
		}
	}
}
