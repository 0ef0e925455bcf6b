package runtime

import (
	"math/rand/v2"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// BenchmarkGemv times one row against MobileNetV2's logits weights (1280 x
// 1001): the panel-by-panel sgemv16 path and sgemv8z on the same packed
// panels. cold cycles through copies of the weights larger than L3.
func BenchmarkGemv(b *testing.B) {
	if bestFamily < familyAVX512 {
		b.Skip("needs AVX-512")
	}
	const k, n = 1280, 1001
	rng := rand.New(rand.NewPCG(1, 2))
	w := randFloats(rng, k*n, false)
	x := randFloats(rng, k, false)
	y := make([]float32, n)
	lo, hi := ir.ActNone.Bounds()
	for _, copies := range []int{1, 12} {
		var ps []*packedB
		withFamily(familyAVX512, func() {
			for range copies {
				ps = append(ps, packB(k, n, func(kk, j int) float32 { return w[j*k+kk] }, nil))
			}
		})
		s := newGemmScratch(k)
		name := "hot"
		if copies > 1 {
			name = "cold"
		}
		b.Run(name+"/sgemv16", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				p := ps[i%copies]
				for pi := range p.panels {
					p.panelRows(pi, x, k, 0, 1, y, n, lo, hi, s)
				}
			}
			b.SetBytes(int64(k * n * 4))
		})
		b.Run(name+"/sgemv8z", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				ps[i%copies].gemvRows(x, k, 1, y, n, 0, len(ps[0].panels), lo, hi, s)
			}
			b.SetBytes(int64(k * n * 4))
		})
	}
}

// TestFastConvOnePixel: 1x1 convolutions whose output has one pixel per
// image (MobileNetV2's logits, MobileNetV3's classifier) go through the
// one-row path (sgemv8z on AVX-512) and equal the reference on every
// family: widths with and without a ragged last panel, fewer and more than
// eight panels, one and two images.
func TestFastConvOnePixel(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	families := testFamilies(t)
	for _, c := range []struct{ batch, inC, outC int }{
		{1, 1280, 1001}, {1, 960, 1280}, {2, 1024, 1000}, {1, 64, 128}, {1, 33, 129}, {1, 7, 136}, {1, 16, 8}, {3, 40, 300}, {5, 24, 256},
	} {
		for _, act := range []ir.Activation{ir.ActNone, ir.ActRelu6} {
			tc := fastConvCase{c.batch, 1, 1, c.inC, c.outC, 1, 1, 1, 1, 1, 1, 1, [4]int{}, act, act == ir.ActNone}
			checkConvCase(t, rng, families, tc, "*runtime.fastConvGemm")
		}
	}
}
