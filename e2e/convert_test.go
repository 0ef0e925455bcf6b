package e2e

import (
	"testing"

	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/refrt"
)

// TestSTM32ToTFLite converts the stm32 ONNX MobileNetV2 to .tflite with the
// default passes, in both pad modes: no BatchNorm, Clip or Transpose is left;
// the five top-left pads of its stride-2 convolutions (Keras' ZeroPadding2D)
// are five PAD ops before VALID convolutions by default (18,153,504 MACs, as
// TFLite's converter writes them) and grown 4x4 kernels with no PAD under
// exporters.PadGrow (19,431,200 MACs); TFLite's outputs on the 16 reference
// images match ONNX Runtime's reference within 1e-4 either way.
func TestSTM32ToTFLite(t *testing.T) {
	refrt.Need(t, refrt.TFLite)
	m := floatModels[0]
	g := m.load(t)
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	inputs := m.inputs(t, g, 16)
	want := testutil.ReadReference(t, "stm32_tutorial_mobilenet_v2_128_0.5.ort.json").Outputs32()
	for _, c := range []struct {
		mode exporters.PadMode
		pads int
		macs int64
	}{{exporters.PadExplicit, 5, 18153504}, {exporters.PadGrow, 0, 19431200}} {
		t.Run(c.mode.String(), func(t *testing.T) {
			path := write(t, g, t.TempDir(), "stm32.tflite", exporters.Options{PadMode: c.mode})
			back, err := importers.Load(path, importers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ops := map[ir.Op]int{}
			var macs int64
			for _, n := range back.Nodes {
				ops[n.Op]++
				macs += n.MACs()
			}
			for _, op := range []ir.Op{ir.OpBatchNorm, ir.OpClip, ir.OpTranspose} {
				if ops[op] != 0 {
					t.Errorf("the .tflite holds %d %v", ops[op], op)
				}
			}
			if ops[ir.OpPad] != c.pads {
				t.Errorf("the .tflite holds %d Pad, want %d", ops[ir.OpPad], c.pads)
			}
			if macs != c.macs {
				t.Errorf("the .tflite does %d MACs, want %d", macs, c.macs)
			}
			got := reference(t, refrt.TFLite, path, inputs)
			d := maxAbs(want, got)
			t.Logf("stm32 -> .tflite (--pad-mode %v) in TFLite vs the ORT reference: max |diff| %.2g; MACs %d; ops %v", c.mode, d, macs, ops)
			if d > 1e-4 {
				t.Errorf("TFLite differs from the ORT reference by %g", d)
			}
		})
	}
}

// TestTFLiteONNXTFLite: the float VWW model through .onnx and back to
// .tflite computes what it did (our runtime, 16 images), and ONNX Runtime
// runs the .onnx in between.
func TestTFLiteONNXTFLite(t *testing.T) {
	m := floatModels[1]
	g := m.load(t)
	inputs := m.inputs(t, g, 16)
	want := outputs(t, g, inputs)
	dir := t.TempDir()
	onnxPath := write(t, g, dir, "vww.onnx", exporters.Options{InputLayout: ir.NHWC})
	mid, err := importers.Load(onnxPath, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tflPath := write(t, mid, dir, "vww.tflite", exporters.Options{})
	back, err := importers.Load(tflPath, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbs(want, outputs(t, back, inputs)); d > 1e-6 {
		t.Errorf("TFLite -> ONNX -> TFLite moved outputs by %g", d)
	}
	refrt.Need(t, refrt.ONNX)
	ref := testutil.ReadReference(t, "mlcommons_tiny_vww_96_float.tfjs_tflite.json").Outputs32()
	d := maxAbs(ref, reference(t, refrt.ONNX, onnxPath, inputs))
	t.Logf("VWW float as .onnx in ONNX Runtime vs the TFLite reference: max |diff| %.2g", d)
	if d > 1e-4 {
		t.Errorf("ONNX Runtime differs from the TFLite reference by %g", d)
	}
}

// TestDequantizedInReferenceRuntimes: `convert --dequantize` of two coral
// models gives files that ONNX Runtime (.onnx) and TFLite (.tflite) run with
// the outputs of our runtime on the float graph.
func TestDequantizedInReferenceRuntimes(t *testing.T) {
	refrt.Need(t, refrt.ONNX)
	refrt.Need(t, refrt.TFLite)
	for _, m := range []floatModel{floatModels[2], floatModels[4]} {
		t.Run(m.name, func(t *testing.T) {
			g := m.load(t)
			if _, err := passes.Run(g, passes.Default, nil); err != nil {
				t.Fatal(err)
			}
			inputs := m.inputs(t, g, 4)
			want := outputs(t, g, inputs)
			dir := t.TempDir()
			for _, f := range []struct {
				name string
				r    refrt.Runtime
			}{{"float.onnx", refrt.ONNX}, {"float.tflite", refrt.TFLite}} {
				path := write(t, g, dir, f.name, exporters.Options{InputLayout: ir.NHWC})
				got := reference(t, f.r, path, inputs)
				d := maxAbs(want, got)
				t.Logf("%s %s in %s: max |diff| %.2g against our runtime", m.name, f.name, f.r, d)
				if d > 1e-4 {
					t.Errorf("%s: %s differs by %g", f.name, f.r, d)
				}
			}
		})
	}
}
