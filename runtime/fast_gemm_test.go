package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// mobileNetV2Pointwise is every distinct 1x1 convolution (and the
// classifier) of MobileNetV2 at 224x224 as m (pixels) x k (input
// channels) x n (output channels).
var mobileNetV2Pointwise = [][3]int{
	{12544, 32, 16}, {12544, 16, 96},
	{3136, 96, 24}, {3136, 24, 144}, {3136, 144, 24},
	{784, 144, 32}, {784, 32, 192}, {784, 192, 32},
	{196, 192, 64}, {196, 64, 384}, {196, 384, 64}, {196, 384, 96}, {196, 96, 576}, {196, 576, 96},
	{49, 576, 160}, {49, 160, 960}, {49, 960, 160}, {49, 960, 320}, {49, 320, 1280},
	{1, 1280, 1001},
}

// gemmTiles are the AVX-512 tile choices BenchmarkFloatGemmTiles
// compares: "6x32" the 6-row tiles alone (sgemm6x32z, sgemm6x16z, tails
// through sgemv16), "12x32" with the 12-row tiles (sgemm12x32z, sgemm12x24z,
// sgemm12x16z) and tails through sgemv64z (packedB.tall).
var gemmTiles = []string{"6x32", "12x32"}

// setGemmTile selects tile for p and returns a function that undoes it.
func setGemmTile(p *packedB, tile string) func() {
	tall := p.tall
	p.tall = tile != "6x32"
	return func() { p.tall = tall }
}

// BenchmarkFloatGemmTiles compares the AVX-512 float GEMM's register tiles
// (gemmTiles) on MobileNetV2's pointwise shapes, one thread, with the
// weights warm (in cache from the call before) and cold (a 64 MiB sweep
// before each call, as in a whole model, whose 14 MB of weights do not
// stay in cache; A is read once more after the sweep, like the previous
// layer's output). The machine is shared, so the tiles are timed
// interleaved, call by call (each iteration runs every tile once, in
// rotating order), and each reports the median of its calls: <tile>-us,
// and <tile>-GF in GFLOP/s. Run with -count 6 or more and compare medians.
func BenchmarkFloatGemmTiles(b *testing.B) {
	if !familyAVX512.runsHere() {
		b.Skip("no AVX-512 here")
	}
	var sweep []float32
	for _, cache := range []string{"warm", "cold"} {
		if cache == "cold" {
			sweep = make([]float32, 16<<20)
		}
		for _, sh := range mobileNetV2Pointwise {
			m, k, n := sh[0], sh[1], sh[2]
			a := make([]float32, m*k)
			for i := range a {
				a[i] = float32(i%7) * 0.25
			}
			c := make([]float32, m*n)
			var p *packedB
			withFamily(familyAVX512, func() {
				p = packB(k, n, func(kk, j int) float32 { return float32((kk+j)%5) * 0.5 }, nil)
			})
			s := newGemmScratch(k)
			b.Run(fmt.Sprintf("%s/m%d_k%d_n%d", cache, m, k, n), func(b *testing.B) {
				times := make([][]float64, len(gemmTiles))
				i := 0
				sum := float32(0)
				for b.Loop() {
					for j := range gemmTiles {
						v := (i + j) % len(gemmTiles)
						undo := setGemmTile(p, gemmTiles[v])
						for q := range sweep {
							sweep[q]++
						}
						if sweep != nil {
							for _, x := range a {
								sum += x
							}
						}
						t0 := time.Now()
						p.run(a, k, m, c, n, 0, len(p.panels), -1e30, 1e30, s)
						times[v] = append(times[v], float64(time.Since(t0).Nanoseconds()))
						undo()
					}
					i++
				}
				for v, tile := range gemmTiles {
					slices.Sort(times[v])
					med := times[v][len(times[v])/2]
					b.ReportMetric(med/1e3, tile+"-us")
					b.ReportMetric(2*float64(m*k*n)/med, tile+"-GF")
				}
				benchSink = sum
			})
		}
	}
}

var benchSink float32

// refGemm is the reference arithmetic of packedB.run on plain row-major
// matrices: each sum from zero, the rounded products in k order, then the
// bias, then the clamp.
func refGemm(a []float32, lda, m, k int, w []float32, n int, bias []float32, c []float32, ldc int, lo, hi float32) {
	for i := range m {
		for j := range n {
			s := float32(0)
			for kk := range k {
				s += float32(a[i*lda+kk] * w[kk*n+j])
			}
			c[i*ldc+j] = clampF(s+bias[j], lo, hi)
		}
	}
}

// TestFloatGemmTiles runs packedB.run on every family, and on AVX-512 with
// and without the 12-row tiles, against refGemm bit for bit: row counts
// around the 6- and 12-row tiles (odd, a 49-pixel tail, row chunks), k = 1,
// widths that leave a lone 16-wide panel, an 8-wide panel and a partial
// panel, and padded strides (lda > k, ldc > n) whose padding must stay
// untouched.
func TestFloatGemmTiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	type tc struct{ m, k, n int }
	var cases []tc
	for _, m := range []int{1, 5, 6, 11, 12, 13, 18, 23, 24, 25, 49} {
		for _, k := range []int{1, 2, 7, 33} {
			for _, n := range []int{8, 16, 24, 32, 40, 48, 56, 64, 70} {
				cases = append(cases, tc{m, k, n})
			}
		}
	}
	// More rows than one chunk (chunkRows), so chunk edges fall inside.
	cases = append(cases, tc{chunkRows(300) + 31, 300, 48}, tc{197, 1200, 32}, tc{3, 1280, 1001})
	families := testFamilies(t)
	for _, c := range cases {
		lda, ldc := c.k+3, c.n+5
		a := randFloats(rng, c.m*lda, false)
		w := randFloats(rng, c.k*c.n, false)
		bias := randFloats(rng, c.n, false)
		lo, hi := float32(-1.5), float32(2)
		if rng.IntN(2) == 0 {
			lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
		}
		want := make([]float32, c.m*ldc)
		refGemm(a, lda, c.m, c.k, w, c.n, bias, want, ldc, lo, hi)
		for _, fam := range families {
			modes := []string{""}
			if fam >= familyAVX512 {
				modes = gemmTiles
			}
			for _, mode := range modes {
				var p *packedB
				withFamily(fam, func() {
					p = packB(c.k, c.n, func(kk, j int) float32 { return w[kk*c.n+j] }, func(j int) float32 { return bias[j] })
				})
				undo := func() {}
				if mode != "" {
					undo = setGemmTile(p, mode)
				}
				got := make([]float32, c.m*ldc)
				for i := range got {
					got[i] = float32(math.NaN())
				}
				withFamily(fam, func() {
					p.run(a, lda, c.m, got, ldc, 0, len(p.panels), lo, hi, newGemmScratch(c.k))
				})
				undo()
				for i := range c.m {
					for j := range ldc {
						g, r := got[i*ldc+j], want[i*ldc+j]
						if j >= c.n {
							if !math.IsNaN(float64(g)) {
								t.Fatalf("m%d k%d n%d %s %s: wrote padding at row %d column %d", c.m, c.k, c.n, fam, mode, i, j)
							}
							continue
						}
						if math.Float32bits(g) != math.Float32bits(r) {
							t.Fatalf("m%d k%d n%d %s %s: C[%d][%d] = %v, want %v", c.m, c.k, c.n, fam, mode, i, j, g, r)
						}
					}
				}
			}
		}
	}
}
