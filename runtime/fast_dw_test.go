package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// TestFastDepthwise3x3 covers the paths of the 3x3 depthwise kernels
// (dw3x3RowZ and dw3x3RowZB on AVX-512, dw3x3Pix2 and dw3x3Taps on AVX2
// and NEON, dwPixel in Go) against the reference, bit for bit, on every
// family: rows long enough for the groups of eight and four interior
// pixels and leftovers, border pixels on either side (pads 0 to 2, strides
// 1 to 3, dilation 2, rows without interior), channel counts that fill
// blocks of 16 and that leave a masked tail, with and without ReLU6 and
// bias.
func TestFastDepthwise3x3(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 3))
	families := testFamilies(t)
	acts := []ir.Activation{ir.ActNone, ir.ActRelu6}
	type geom struct{ h, w, s, d int }
	geoms := []geom{{5, 21, 1, 1}, {4, 13, 1, 1}, {6, 27, 2, 1}, {3, 8, 2, 1}, {7, 7, 1, 1}, {9, 11, 1, 2}, {2, 2, 1, 1}, {1, 1, 2, 1}, {4, 5, 3, 1}}
	pads := [][4]int{{1, 1, 1, 1}, {0, 0, 1, 1}, {0, 0, 0, 0}, {2, 2, 2, 2}, {1, 0, 2, 1}}
	n := 0
	// Both loop orders of the AVX-512 kernel: channel blocks outside
	// (dw3x3RowZB, images up to dwBlockOuterMax) and pixels outside.
	saved := dwBlockOuterMax
	defer func() { dwBlockOuterMax = saved }()
	for _, blockOuterMax := range []int{saved, 0} {
		dwBlockOuterMax = blockOuterMax
		for _, c := range []int{16, 32, 48, 1, 5, 8, 12, 17, 24, 40, 72, 88} {
			g := geoms[n%len(geoms)]
			for _, pad := range pads {
				tc := fastConvCase{1 + n%2, g.h, g.w, c, c, c, 3, 3, g.s, g.s, g.d, g.d, pad, acts[n%2], n%3 != 0}
				if ir.ConvOutSize(tc.h, 3, tc.sY, tc.dY, pad[0], pad[2], false) < 1 || ir.ConvOutSize(tc.w, 3, tc.sX, tc.dX, pad[1], pad[3], false) < 1 {
					continue
				}
				n++
				checkConvCase(t, rng, families, tc, "*runtime.fastDepthwise")
			}
		}
	}
	t.Logf("%d cases", n)
}

// TestDepthwiseRowPlan checks that the AVX-512 families prepare 3x3
// depthwise convolutions of any channel count for dw3x3RowZ, with the
// border pixels listed once.
func TestDepthwiseRowPlan(t *testing.T) {
	if !familyAVX512.runsHere() {
		t.Skip("no AVX-512 here: dw3x3RowZ not used")
	}
	for _, c := range []int{1, 8, 17, 96} {
		tc := fastConvCase{1, 9, 10, c, c, c, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}, ir.ActRelu6, true}
		var k Kernel
		withFamily(familyAVX512, func() {
			var err error
			k, err = Prepare(tc.node(rand.New(rand.NewPCG(1, 1)), false))
			if err != nil {
				t.Fatal(err)
			}
		})
		dw, ok := k.(*fastDepthwise)
		if !ok || dw.row == nil {
			t.Fatalf("c=%d: got %T without a dw3x3RowZ plan", c, k)
		}
		if got := fmt.Sprint(dw.row.n, len(dw.row.edges), len(dw.row.wz)); got != fmt.Sprint(8, 2, (c+15)/16*160) {
			t.Errorf("c=%d: interior, edges, weights = %s", c, got)
		}
	}
}
