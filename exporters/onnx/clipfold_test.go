package onnx

import (
	"math"
	"testing"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/refrt"
	"github.com/mnconv/mnconv/runtime"
)

// TestReLU6JustAboveSixOver255: a uint8 Conv + ReLU6 whose output scale is
// the pets SSD's 0.0235297, just above 6/255. ONNX Runtime's QDQ fusion
// calls a Clip(0, 6) before that QuantizeLinear redundant (rint(6/s) = 255)
// while its ClipQuantFusion keeps it (255 s > 6), and the fusion then left
// the Conv beside a QLinearConv of the same name: "two nodes with same node
// name" at the default optimization level. The exporter writes no Clip the
// quantization implies, so the file loads and ORT computes what our runtime
// does; a ReLU6 the range does not imply (scale 0.03) keeps its Clip.
func TestReLU6JustAboveSixOver255(t *testing.T) {
	build := func(scale float32) *ir.Graph {
		b, x := newGB(ir.Uint8, 1, 5, 5, 2)
		x.Quant = &ir.Quant{Scale: []float32{1.0 / 128}, ZeroPoint: []int64{128}}
		ws := []float32{0.05, 0.1, 0.08}
		y := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1, Act: ir.ActRelu6},
			x, quantWeight("w", []int{3, 3, 3, 2}, ws), quantBias("b", 1.0/128, ws))
		y.DType, y.Quant = ir.Uint8, &ir.Quant{Scale: []float32{scale}, ZeroPoint: []int64{0}}
		return b.finish(t, y)
	}
	for _, c := range []struct {
		scale float32
		clip  int
	}{{0.0235297, 0}, {0.03, 1}} {
		g := build(c.scale)
		data, _ := export(t, g, "")
		if k := opCounts(decode(t, data))["Clip"]; k != c.clip {
			t.Errorf("scale %v: %d Clip, want %d", c.scale, k, c.clip)
		}
		x := runtime.NewTensor(ir.Uint8, []int{1, 5, 5, 2})
		for i := range x.U8 {
			x.U8[i] = uint8(i * 53 % 256)
		}
		want := runGraph(t, g, []*runtime.Tensor{x})[0]
		refrt.Need(t, refrt.ONNX)
		have := ortRun(t, writeTemp(t, "relu6.onnx", data), []refrt.Input{refrt.U8(x.Shape, x.U8)})[0]
		if len(have) != len(want) {
			t.Fatalf("scale %v: ORT gives %d values, our runtime %d", c.scale, len(have), len(want))
		}
		top, ceil := 0, float32(min(255, math.RoundToEven(6/float64(c.scale))))
		for i := range want {
			h := have[i] * c.scale // raw uint8, zero point 0
			if d := h - want[i]; d > c.scale*1.01 || d < -c.scale*1.01 {
				t.Errorf("scale %v: output %d: ORT %v, our runtime %v", c.scale, i, h, want[i])
			}
			if have[i] == ceil {
				top++
			}
		}
		if top == 0 {
			t.Errorf("scale %v: no output reaches 6; the test does not exercise the clamp", c.scale)
		}
	}
}
