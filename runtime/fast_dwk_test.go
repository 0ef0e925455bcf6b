package runtime

import (
	"math/rand/v2"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// The generic depthwise kernels (fast_dwk.go) against the reference, on
// every family and with 1 and 3 threads: kernel sizes other than 3x3,
// strides 1 and 2, pads that leave border pixels on every side, kernels
// wider than the image, channel counts that are not a multiple of 16 (the
// masked last block) or of 8 (dwPixel on avx2).
func TestFastDepthwiseKxK(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 5))
	type dwCase struct {
		h, w, c, kH, kW, s, d int
		pads                  [4]int
		act                   ir.Activation
		bias                  bool
	}
	cases := []dwCase{
		{14, 14, 72, 5, 5, 1, 1, [4]int{2, 2, 2, 2}, ir.ActRelu, true},      // MobileNetV3 block3
		{15, 15, 120, 5, 5, 2, 1, [4]int{1, 1, 2, 2}, ir.ActNone, true},     // s2, TF-style pads
		{7, 7, 40, 5, 5, 1, 1, [4]int{2, 2, 2, 2}, ir.ActNone, true},        // mostly border
		{9, 11, 16, 7, 7, 1, 1, [4]int{3, 3, 3, 3}, ir.ActRelu6, true},      // 7x7
		{10, 9, 24, 7, 7, 2, 1, [4]int{3, 2, 3, 2}, ir.ActRelu6, false},     // 7x7 s2
		{8, 9, 32, 3, 5, 1, 1, [4]int{1, 2, 1, 2}, ir.ActRelu6, true},       // 3x5
		{9, 8, 48, 5, 3, 2, 1, [4]int{0, 0, 2, 1}, ir.ActNone, true},        // 5x3 s2
		{3, 3, 16, 7, 7, 1, 1, [4]int{3, 3, 3, 3}, ir.ActNone, true},        // kernel wider than the image
		{11, 11, 20, 5, 5, 1, 2, [4]int{4, 4, 4, 4}, ir.ActReluN1To1, true}, // dilated, 16 + 4 channels
		{8, 8, 3, 5, 5, 2, 1, [4]int{2, 2, 2, 2}, ir.ActRelu6, true},        // 3 channels (dwPixel on avx2)
		{6, 13, 8, 4, 2, 1, 1, [4]int{0, 1, 2, 0}, ir.ActNone, true},        // 8 channels, even kernel
		{5, 6, 31, 3, 3, 1, 1, [4]int{1, 1, 1, 1}, ir.ActRelu, true},        // 3x3 with 31 channels
		{12, 12, 24, 1, 5, 2, 1, [4]int{0, 2, 0, 2}, ir.ActRelu6, true},     // 1x5 s2
	}
	families := testFamilies(t)
	for _, dc := range cases {
		c := fastConvCase{1, dc.h, dc.w, dc.c, dc.c, dc.c, dc.kH, dc.kW, dc.s, dc.s, dc.d, dc.d, dc.pads, dc.act, dc.bias}
		if dc.c == 24 {
			c.batch = 2
		}
		checkConvCase(t, rng, families, c, "*runtime.fastDepthwise")
		// The generic kernels must have taken the node where they can.
		for _, fam := range families {
			withFamily(fam, func() {
				k, err := Prepare(c.node(rng, false))
				if err != nil {
					t.Fatal(err)
				}
				dw := k.(*fastDepthwise)
				// (3x3 on AVX-512 takes the row kernels of fast_dw512.go.)
				want := hasDWKKernels && fam >= familySIMD && !dw.simd && dw.row == nil && (fam >= familyAVX512 || dc.c%8 == 0)
				if (dw.dwk != nil) != want {
					t.Errorf("%v family=%s: generic kernel %v, want %v", c, fam, dw.dwk != nil, want)
				}
			})
		}
	}
}

// BenchmarkDepthwiseKxK times MobileNetV3-Large's 5x5 depthwise layers on
// one thread, dwPixel (the Go loops every family ran before) against the
// generic kernels, on each family that has them, in GFLOP/s.
func BenchmarkDepthwiseKxK(b *testing.B) {
	shapes := []struct {
		name       string
		h, c, s, p int
	}{
		{"block3_56x72_s2", 56, 72, 2, 2},
		{"block4_28x120", 28, 120, 1, 2},
		{"block12_14x672_s2", 14, 672, 2, 2},
		{"block13_7x960", 7, 960, 1, 2},
	}
	rng := rand.New(rand.NewPCG(18, 6))
	for _, sh := range shapes {
		c := fastConvCase{1, sh.h, sh.h, sh.c, sh.c, sh.c, 5, 5, sh.s, sh.s, 1, 1, [4]int{sh.p, sh.p, sh.p, sh.p}, ir.ActNone, true}
		n := c.node(rng, false)
		x := NewTensor(ir.Float32, n.Inputs[0].Shape)
		copy(x.F32, randFloats(rng, x.Len(), false))
		y := NewTensor(ir.Float32, n.Out().Shape)
		in := []*Tensor{x, FromConst(n.Inputs[1]), FromConst(n.Inputs[2])}
		flops := 2 * float64(y.Len()) * 25
		for _, f := range allFamilies {
			if !f.runsHere() || f == familyDotProd {
				continue
			}
			for _, generic := range []bool{false, true} {
				name := sh.name + "/" + f.String() + "/dwPixel"
				if generic {
					name = sh.name + "/" + f.String() + "/dwk"
				}
				var k *fastDepthwise
				withFamily(f, func() { k = newFastDepthwise(mustGeom(b, n)) })
				if generic && k.dwk == nil {
					continue
				}
				if !generic {
					k.dwk = nil
				}
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if err := k.Eval(in, []*Tensor{y}); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

func mustGeom(b *testing.B, n *ir.Node) convGeom {
	g, ok := fastConvGeom(n)
	if !ok {
		b.Fatalf("%s: not a fast conv", n.Name)
	}
	return g
}
