package quantize_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/quantize"
	"github.com/mnconv/mnconv/refrt"
	rt "github.com/mnconv/mnconv/runtime"
)

// segHead is a segmentation head: x [1,8,8,3] -> Conv 3x3 to 6 classes ->
// ArgMax over the channels, int32 class indices per pixel.
func segHead(t *testing.T) *ir.Graph {
	t.Helper()
	x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: []int{1, 8, 8, 3}}
	w := make([]float32, 6*3*3*3)
	for i := range w {
		w[i] = float32(math.Sin(float64(i)*0.731)) * 0.6
	}
	logits := &ir.Tensor{Name: "logits"}
	conv := ir.NewNode("conv", ir.OpConv, []*ir.Tensor{x, ir.NewConstF32("w", []int{6, 3, 3, 3}, w),
		ir.NewConstF32("b", []int{6}, []float32{0.1, -0.2, 0.05, 0, 0.2, -0.1})}, logits)
	conv.Attrs.(*ir.ConvAttrs).Pads = [4]int{1, 1, 1, 1}
	classes := &ir.Tensor{Name: "classes"}
	am := ir.NewNode("classes", ir.OpArgMax, []*ir.Tensor{logits}, classes)
	*am.Attrs.(*ir.ArgMaxAttrs) = ir.ArgMaxAttrs{Axis: 3, OutputType: ir.Int32}
	g := &ir.Graph{Name: "seg_head", Inputs: []*ir.Tensor{x}, Nodes: []*ir.Node{conv, am}, Outputs: []*ir.Tensor{classes}}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	return g
}

// Quantized models keep ArgMax on the quantized logits (no DEQUANTIZE
// before it) and its integer output; the indices are those of the
// dequantized logits, and the files run in TFLite and ONNX Runtime with
// our runtime's indices.
func TestQuantizeArgMax(t *testing.T) {
	g := segHead(t)
	src := randomSource{shape: g.Inputs[0].Shape, n: 4, seed: 9}
	st, err := quantize.Calibrate(context.Background(), g, src, quantize.CalibrateOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cfg  quantize.Config
	}{{"int8_float_io", quantize.Config{}}, {"uint8_io", quantize.Config{Activations: ir.Uint8, IO: ir.Uint8}}} {
		cfg := c.cfg
		t.Run(c.name, func(t *testing.T) {
			res, err := quantize.Quantize(g, st, cfg)
			if err != nil {
				t.Fatal(err)
			}
			q := res.Graph
			var am *ir.Node
			for _, n := range q.Nodes {
				if n.Op == ir.OpArgMax {
					am = n
				}
			}
			if am == nil || len(res.Float) != 0 {
				t.Fatalf("no ArgMax, or float islands %v:\n%s", res.Float, q.Dump())
			}
			if x := am.Inputs[0]; !x.DType.IsQuantized() || x.Quant == nil {
				t.Errorf("ArgMax reads %v without quantization:\n%s", x.DType, q.Dump())
			}
			if o := q.Outputs[0]; o != am.Out() || o.DType != ir.Int32 || o.Quant != nil {
				t.Errorf("graph output %q %v, want ArgMax's int32 output:\n%s", o.Name, o.DType, q.Dump())
			}
			// The indices are the argmax of the quantized logits, dequantized.
			x, _ := src.Load(0)
			got := runOurs(t, q, x)
			logits := runTensor(t, q, am.Inputs[0], x)
			agree := 0
			ref := segHead(t)
			float := runOurs(t, ref, x)
			for p := range got {
				row := logits[p*6 : p*6+6]
				best := 0
				for c := range row {
					if row[c] > row[best] {
						best = c
					}
				}
				if int(got[p]) != best {
					t.Fatalf("pixel %d: class %v, the dequantized logits' argmax is %d", p, got[p], best)
				}
				if got[p] == float[p] {
					agree++
				}
			}
			t.Logf("%d of %d pixels agree with the float model", agree, len(got))
			if agree < len(got)*9/10 {
				t.Errorf("only %d of %d pixels agree with the float model", agree, len(got))
			}
			if refrt.Available() != nil {
				return
			}
			var in refrt.Input
			if cfg.IO == ir.Uint8 {
				in = refrt.U8(x.Shape, quantize.QuantizeTensor(x, ir.Uint8, q.Inputs[0].Quant).U8)
			} else {
				in = refrt.F32(x.Shape, x.F32)
			}
			for _, ext := range []string{".tflite", ".onnx"} {
				path := filepath.Join(t.TempDir(), "seg"+ext)
				write(t, q, path)
				r := refrt.TFLite
				if ext == ".onnx" {
					r = refrt.ONNX
				}
				out, err := refrt.Run(r, path, [][]refrt.Input{{in}}, refrt.Options{Threads: 1})
				if err != nil {
					t.Fatal(err)
				}
				differ := 0
				for p, v := range out.Values[0][0] {
					if v != got[p] {
						differ++
					}
				}
				t.Logf("%s: %d of %d class indices differ from our runtime's", r, differ, len(got))
				if differ > len(got)/20 {
					t.Errorf("%s: %d of %d class indices differ from our runtime's", r, differ, len(got))
				}
			}
		})
	}
}

// runTensor runs g on x and returns tensor t's values, dequantized.
func runTensor(t *testing.T, g *ir.Graph, want *ir.Tensor, x *rt.Tensor) []float32 {
	t.Helper()
	it, err := rt.New(g)
	if err != nil {
		t.Fatal(err)
	}
	var v []float32
	it.Observe = func(n *ir.Node, outs []*rt.Tensor) {
		for i, o := range n.Outputs {
			if o == want {
				v = append([]float32(nil), outs[i].Dequantized(o.Quant)...)
			}
		}
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
	return v
}
