package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// The direct stem convolution (fast_stem.go) against the reference kernel,
// bit for bit, on every kernel family, 1 and 3 threads (checkConvCase).

// TestFastStemMobileNet: the stems of MobileNet v1/v2 (3->32), v3 (3->16)
// and the width multipliers 0.75 (24, a ragged 8-wide panel) and 1.4 (48:
// a pair and a lone 16), at 224x224 with ONNX's symmetric and TFLite's
// bottom-right padding.
func TestFastStemMobileNet(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	families := testFamilies(t)
	same := [4]int{1, 1, 1, 1}
	tfS2 := [4]int{0, 0, 1, 1}
	for _, c := range []fastConvCase{
		{1, 224, 224, 3, 32, 1, 3, 3, 2, 2, 1, 1, same, ir.ActRelu6, true},
		{1, 224, 224, 3, 32, 1, 3, 3, 2, 2, 1, 1, tfS2, ir.ActRelu6, true},
		{1, 224, 224, 3, 16, 1, 3, 3, 2, 2, 1, 1, same, ir.ActNone, true},
		{1, 96, 96, 3, 24, 1, 3, 3, 2, 2, 1, 1, tfS2, ir.ActRelu6, true},
		{1, 128, 128, 3, 48, 1, 3, 3, 2, 2, 1, 1, same, ir.ActRelu6, false},
	} {
		checkConvCase(t, rng, families, c, "*runtime.fastStemConv")
	}
}

// TestFastStemRandom: small random shapes with 1 to 4 input channels:
// odd sizes, rows narrower than a block, pads on every side, strides 1 to
// 3, vertical dilation, kernels 1x1 to 5x5, channel counts off the panel
// widths, batches of two.
func TestFastStemRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	acts := []ir.Activation{ir.ActNone, ir.ActRelu6, ir.ActRelu}
	families := testFamilies(t)
	chosen := map[string]int{}
	for range 120 {
		c := fastConvCase{batch: 1 + rng.IntN(2), h: 1 + rng.IntN(20), w: 1 + rng.IntN(20), groups: 1, dX: 1}
		c.inC, c.outC = 1+rng.IntN(stemMaxInC), 1+rng.IntN(50)
		c.kH, c.kW = 1+rng.IntN(5), 1+rng.IntN(5)
		c.sY, c.sX = 1+rng.IntN(3), 1+rng.IntN(3)
		c.dY = 1 + rng.IntN(2)
		for i := range c.pads {
			c.pads[i] = rng.IntN(3)
		}
		c.act, c.bias = acts[rng.IntN(len(acts))], rng.IntN(3) != 0
		if ir.ConvOutSize(c.h, c.kH, c.sY, c.dY, c.pads[0], c.pads[2], false) < 1 ||
			ir.ConvOutSize(c.w, c.kW, c.sX, c.dX, c.pads[1], c.pads[3], false) < 1 {
			continue
		}
		want := "*runtime.fastStemConv"
		if c.inC == 1 && c.outC == 1 {
			want = "*runtime.fastDepthwise" // one channel in, one out
		} else if c.kH == 1 && c.kW == 1 && c.sY == 1 && c.sX == 1 && c.pads == [4]int{} {
			want = "*runtime.fastConvGemm" // pointwise: the GEMM reads the input in place
		}
		chosen[checkConvCase(t, rng, families, c, want)]++
	}
	t.Logf("kernels chosen: %v", chosen)
}

// TestFastStemDeclines: what the direct path leaves to the im2col GEMM.
func TestFastStemDeclines(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	families := testFamilies(t)
	for _, c := range []fastConvCase{
		{1, 12, 12, 5, 16, 1, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}, ir.ActNone, true}, // 5 channels
		{1, 12, 12, 4, 16, 2, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}, ir.ActNone, true}, // groups
		{1, 12, 12, 3, 16, 1, 3, 3, 1, 1, 1, 2, [4]int{1, 1, 1, 1}, ir.ActNone, true}, // dilated in x
	} {
		checkConvCase(t, rng, families, c, "*runtime.fastConvGemm")
	}
}

// BenchmarkStemConv times MobileNetV2's stem (224x224x3 -> 112x112x32, 3x3
// stride 2, ReLU6) on one thread, the im2col GEMM against the direct
// kernel, on each family, in GFLOP/s (2 x the 10.8 M MACs).
func BenchmarkStemConv(b *testing.B) {
	rng := rand.New(rand.NewPCG(17, 18))
	c := fastConvCase{1, 224, 224, 3, 32, 1, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}, ir.ActRelu6, true}
	n := c.node(rng, false)
	x := NewTensor(ir.Float32, n.Inputs[0].Shape)
	copy(x.F32, randFloats(rng, x.Len(), false))
	y := NewTensor(ir.Float32, n.Out().Shape)
	in := []*Tensor{x, FromConst(n.Inputs[1]), FromConst(n.Inputs[2])}
	flops := 2 * float64(y.Len()) * float64(c.kH*c.kW*c.inC)
	for _, f := range allFamilies {
		if !f.runsHere() {
			b.Logf("skipped %s: not supported here", f)
			continue
		}
		for _, direct := range []bool{false, true} {
			name := fmt.Sprintf("%s/im2col", f)
			if direct {
				name = fmt.Sprintf("%s/direct", f)
			}
			b.Run(name, func(b *testing.B) {
				var k Kernel
				withFamily(f, func() {
					saved := useStem
					useStem = direct
					defer func() { useStem = saved }()
					var err error
					if k, err = prepareFastConv(n); err != nil {
						b.Fatal(err)
					}
				})
				if _, isStem := k.(*fastStemConv); isStem != direct {
					b.Fatalf("prepared %T", k)
				}
				withFamily(f, func() {
					for b.Loop() {
						if err := k.Eval(in, []*Tensor{y}); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
