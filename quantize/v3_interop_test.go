package quantize_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/exporters"
	_ "github.com/mnconv/mnconv/exporters/onnx"
	_ "github.com/mnconv/mnconv/exporters/tflite"
	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/onnx"
	_ "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/quantize"
	"github.com/mnconv/mnconv/refrt"
	rt "github.com/mnconv/mnconv/runtime"
)

// randomSource feeds smooth random images in [-1, 1].
type randomSource struct {
	shape []int
	n     int
	seed  uint64
}

func (s randomSource) Len() int          { return s.n }
func (s randomSource) Name(i int) string { return fmt.Sprintf("random-%d", i) }
func (s randomSource) Load(i int) (*rt.Tensor, error) {
	r := rand.New(rand.NewPCG(s.seed, uint64(i)))
	x := rt.NewTensor(ir.Float32, s.shape)
	a, b := r.Float64()*6, r.Float64()*6
	for j := range x.F32 {
		x.F32[j] = float32(math.Sin(float64(j)*a/1000+b)*0.8 + (r.Float64()-0.5)*0.4)
	}
	return x, nil
}

func write(t *testing.T, g *ir.Graph, path string) {
	t.Helper()
	f, err := exporters.ForPath(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := f.Export(g, exporters.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func runOurs(t *testing.T, g *ir.Graph, x *rt.Tensor) []float32 {
	t.Helper()
	it, err := rt.New(g)
	if err != nil {
		t.Fatal(err)
	}
	if in := g.Inputs[0]; in.DType != ir.Float32 {
		x = quantize.QuantizeTensor(x, in.DType, in.Quant)
	}
	if err := it.SetInput(0, x); err != nil {
		t.Fatal(err)
	}
	if err := it.Run(); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), it.Output(0).Dequantized(g.Outputs[0].Quant)...)
}

// TestMobileNetV3EndToEnd builds v3-large and v3-small, optimizes them
// (hard-swish and hard-sigmoid stay single ops, squeeze-excite intact),
// quantizes them, exports both formats and runs the files in ONNX Runtime
// and TFLite against our runtime.
func TestMobileNetV3EndToEnd(t *testing.T) {
	refrt.Need(t, refrt.ONNX)
	refrt.Need(t, refrt.TFLite)
	for _, arch := range []builder.Arch{builder.V3Large, builder.V3Small} {
		t.Run(string(arch), func(t *testing.T) {
			g, err := builder.Build(builder.Config{Arch: arch, Resolution: 128, Classes: 10, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := passes.Run(g, passes.Default, nil); err != nil {
				t.Fatal(err)
			}
			ops := map[ir.Op]int{}
			for _, n := range g.Nodes {
				ops[n.Op]++
			}
			if ops[ir.OpHardSwish] == 0 || ops[ir.OpHardSigmoid] == 0 || ops[ir.OpBatchNorm] != 0 || ops[ir.OpMean] == 0 {
				t.Fatalf("after passes: %v", ops)
			}
			// every hard-sigmoid gates a Mul (the squeeze-excite scale)
			cons := g.Consumers()
			for _, n := range g.Nodes {
				if n.Op == ir.OpHardSigmoid {
					if c := cons[n.Out()]; len(c) != 1 || c[0].Op != ir.OpMul {
						t.Fatalf("squeeze-excite of %s broken: %v", n.Name, c)
					}
				}
			}
			dir := t.TempDir()
			src := randomSource{shape: g.Inputs[0].Shape, n: 4, seed: 1}
			var samples [][]refrt.Input
			var inputs []*rt.Tensor
			for i := 0; i < src.Len(); i++ {
				x, _ := src.Load(i)
				inputs = append(inputs, x)
				samples = append(samples, []refrt.Input{refrt.F32(x.Shape, x.F32)})
			}
			for _, ext := range []string{".onnx", ".tflite"} {
				path := filepath.Join(dir, "float"+ext)
				write(t, g, path)
				rtName := map[string]refrt.Runtime{".onnx": refrt.ONNX, ".tflite": refrt.TFLite}[ext]
				res, err := refrt.Run(rtName, path, samples, refrt.Options{Threads: 1})
				if err != nil {
					t.Fatal(err)
				}
				for i, x := range inputs {
					ours := runOurs(t, g, x)
					for j, v := range res.Values[i][0] {
						if d := math.Abs(float64(v - ours[j])); d > 1e-4 {
							t.Fatalf("float %s image %d output %d: %g vs ours %g", ext, i, j, v, ours[j])
						}
					}
				}
			}
			// quantize: hard-sigmoid decomposed for integer kernels
			fg := g.Clone()
			if err := quantize.PrepareGraph(fg); err != nil {
				t.Fatal(err)
			}
			st, err := quantize.Calibrate(context.Background(), fg, randomSource{shape: g.Inputs[0].Shape, n: 8, seed: 2}, quantize.CalibrateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := quantize.Quantize(fg, st, quantize.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Float) != 0 {
				t.Fatalf("nodes left in float: %v", res.Float)
			}
			for _, ext := range []string{".onnx", ".tflite"} {
				path := filepath.Join(dir, "int8"+ext)
				write(t, res.Graph, path)
				rtName := map[string]refrt.Runtime{".onnx": refrt.ONNX, ".tflite": refrt.TFLite}[ext]
				out, err := refrt.Run(rtName, path, samples, refrt.Options{Threads: 1})
				if err != nil {
					t.Fatal(err)
				}
				// A random-weight model's softmax is nearly flat, so its int8
				// output ties often; a different top-1 counts only when our
				// output separates the two classes by more than one quantum.
				agree, ties := 0, 0
				q := 1.0 / 256 // the softmax output's int8 scale
				if oq := res.Graph.Outputs[0].Quant; oq != nil {
					q = float64(oq.S(0))
				}
				// Our runtime runs the file itself: ONNX Runtime fuses QDQ
				// pairs into its own integer kernels, and the file read back
				// carries ONNX Runtime's arithmetic where it has one.
				back, err := importers.Load(path, importers.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := passes.Run(back, []passes.Pass{passes.FoldConstants}, nil); err != nil {
					t.Fatal(err)
				}
				for i, x := range inputs {
					ours := runOurs(t, back, x)
					theirs := testutil.Argmax(out.Values[i][0])
					switch {
					case theirs == testutil.Argmax(ours):
						agree++
					case float64(ours[testutil.Argmax(ours)]-ours[theirs]) <= q*1.01:
						ties++
					}
				}
				t.Logf("%s int8 %s: top-1 equal to our runtime on %d/%d random inputs, %d more within one quantum", arch, ext, agree, len(inputs), ties)
				if agree+ties != len(inputs) {
					t.Errorf("int8 %s: top-1 agrees on %d/%d (+%d ties)", ext, agree, len(inputs), ties)
				}
			}
		})
	}
}
