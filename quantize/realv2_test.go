package quantize_test

import (
	"testing"

	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/quantize"
)

// realV2 loads a quantized model as float (dequantized, optimized,
// prepared) and two disjoint image sources from dir: nCalib to calibrate
// on, nHeld to measure on.
func realV2(t *testing.T, model, dir string, nCalib, nHeld int) (*ir.Graph, quantize.Source, quantize.Source) {
	t.Helper()
	g, err := importers.Load(model, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, append([]passes.Pass{passes.Dequantize}, passes.Default...), nil); err != nil {
		t.Fatal(err)
	}
	if err := quantize.PrepareGraph(g); err != nil {
		t.Fatal(err)
	}
	files, err := quantize.ListImages(dir, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < nCalib+nHeld {
		t.Skipf("%s holds %d images", dir, len(files))
	}
	r, _, _ := preprocess.Detect(g)
	mode := r.ModeFor(g, 0)
	calib, err := quantize.NewImageSource(g, files[:nCalib], r.Geometry, mode)
	if err != nil {
		t.Fatal(err)
	}
	held, err := quantize.NewImageSource(g, files[len(files)-nHeld:], r.Geometry, mode)
	if err != nil {
		t.Fatal(err)
	}
	return g, calib, held
}
