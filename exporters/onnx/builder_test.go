package onnx

import (
	"math"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/refrt"
)

// TestBuiltArchs exports every MobileNet the builder makes (v3 brings
// HardSwish, HardSigmoid and squeeze-excite gates), raw and after the
// default passes: the body has no Transpose, the file read back computes
// what the graph computes in our runtime, and so does ONNX Runtime.
func TestBuiltArchs(t *testing.T) {
	ort := refrtAvailable(t)
	for _, arch := range builder.Archs() {
		for _, opt := range []bool{false, true} {
			name := string(arch)
			if opt {
				name += "/passes"
			}
			t.Run(name, func(t *testing.T) {
				g, err := builder.Build(builder.Config{Arch: arch, Alpha: 0.35, Resolution: 64, Classes: 10, Seed: 7})
				if err != nil {
					t.Fatal(err)
				}
				if opt {
					if _, err := passes.Run(g, passes.Default, &passes.Options{Validate: true}); err != nil {
						t.Fatal(err)
					}
				}
				b, warns := export(t, g, "")
				if len(warns) > 0 {
					t.Errorf("warnings: %v", warns)
				}
				m := decode(t, b)
				if k := bodyTransposes(m); k != 0 {
					t.Errorf("%d Transpose nodes in the body, want 0", k)
				}
				want := int64(13)
				for _, n := range g.Nodes {
					if n.Op == ir.OpHardSwish {
						want = 14
					}
				}
				if v := m.GetOpsetImport()[0].GetVersion(); v != want {
					t.Errorf("opset %d, want %d", v, want)
				}
				in := rampInput(g.Inputs[0].Shape)
				ours := runAll(t, g, in)
				compareAll(t, "re-imported", runAll(t, reimport(t, b), in), ours, 0)
				if !ort {
					return
				}
				r, err := refrt.Run(refrt.ONNX, writeTemp(t, "built.onnx", b), [][]refrt.Input{{refrt.F32(in.Shape, in.F32)}}, refrt.Options{Threads: 1})
				if err != nil {
					t.Fatal(err)
				}
				scale := 0.0
				for _, v := range ours[0] {
					scale = math.Max(scale, math.Abs(float64(v)))
				}
				compareAll(t, "ONNX Runtime", r.Values[0], ours, 1e-4*math.Max(scale, 1))
			})
		}
	}
}
