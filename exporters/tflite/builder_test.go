package tflite_test

import (
	"fmt"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/importers"
	tfliteimp "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/refrt"
)

// Built float MobileNets as a training export writes them (unfolded
// BatchNorm, separate ReLU6 / HardSwish / HardSigmoid, squeeze-excite
// blocks) export, re-import, and compute the same in our runtime and in
// TFLite.
func TestExportBuiltModels(t *testing.T) {
	for _, arch := range builder.Archs() {
		t.Run(fmt.Sprint(arch), func(t *testing.T) {
			g, err := builder.Build(builder.Config{Arch: arch, Alpha: 0.35, Resolution: 64, Classes: 10, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			data := export(t, g)
			g2, err := tfliteimp.Import("built.tflite", data, importers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := g2.Validate(); err != nil {
				t.Fatal(err)
			}
			inputs := [][]float32{randomInput(g.Inputs[0], 5)}
			want := runFloat(t, g, inputs)
			d := maxDiff(want, runFloat(t, g2, inputs))
			msg := fmt.Sprintf("%d nodes -> %d operators, %d bytes; re-import differs by %.3g", len(g.Nodes), len(fileOps(t, data)), len(data), d)
			if d > 1e-5 {
				t.Errorf("re-imported graph differs from the built one by %.3g", d)
			}
			if refrt.Available() == nil {
				res, err := refrt.Run(refrt.TFLite, writeTemp(t, "built", data), [][]refrt.Input{{refrt.F32(g.Inputs[0].Shape, inputs[0])}}, refrt.Options{Threads: 1})
				if err != nil {
					t.Fatal(err)
				}
				dt := maxDiff(want, res.Values[0])
				msg += fmt.Sprintf("; TFLite differs by %.3g", dt)
				if dt > 1e-4 {
					t.Errorf("TFLite differs from our runtime by %.3g", dt)
				}
			}
			t.Log(msg)
		})
	}
}
