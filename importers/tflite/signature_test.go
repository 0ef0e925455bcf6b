package tflite

import (
	"strings"
	"testing"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
)

// TestShapeSignature: the VWW models' input has shape_signature
// [-1,96,96,3]. Read with Options.ShapeSignature, the graph's batch is the
// symbol "N" over a batch of 1 inside; by default (and in the tiny model,
// which has no signature) it stays static.
func TestShapeSignature(t *testing.T) {
	for _, file := range []string{"mlcommons_tiny_vww_96_int8.tflite", "mlcommons_tiny_vww_96_float.tflite"} {
		t.Run(file, func(t *testing.T) {
			path := testutil.Shared(t, "models/tflite/"+file)
			for _, read := range []bool{false, true} {
				var warns []string
				g, err := importers.Load(path, importers.Options{ShapeSignature: read, Warn: func(s string) { warns = append(warns, s) }})
				if err != nil {
					t.Fatal(err)
				}
				want := ""
				if read {
					want = SymbolicBatchName
				}
				if g.SymbolicBatch != want || g.Inputs[0].Shape[0] != 1 {
					t.Errorf("ShapeSignature %v: SymbolicBatch %q, input %v; want %q over a batch of 1", read, g.SymbolicBatch, g.Inputs[0].Shape, want)
				}
				if len(warns) != 0 {
					t.Errorf("warnings: %s", strings.Join(warns, "; "))
				}
			}
		})
	}
	g, err := Import("tiny.tflite", tinyModel().Build(), importers.Options{ShapeSignature: true})
	if err != nil {
		t.Fatal(err)
	}
	if g.SymbolicBatch != "" {
		t.Errorf("tiny model without a shape_signature: SymbolicBatch %q", g.SymbolicBatch)
	}
}
