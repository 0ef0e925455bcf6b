package runtime

import "unsafe"

// dwRowKernel selects dw3x3RowZ for 3x3 depthwise convolutions on the
// AVX-512 families; false keeps the earlier pair dw3x3Pix2z (interior
// pixels two at a time) and dw3x3TapsZ (border pixels one at a time), which
// BenchmarkDepthwiseZ runs as its "before".
var dwRowKernel = true

// dwBlockOuterMax is the largest input image (bytes) for which dw3x3RowZB
// (channel blocks outside) runs rather than dw3x3RowZ (pixels outside):
// about the L2 cache of one core (1 MB on Zen 5, 1-2 MB on recent Intel).
var dwBlockOuterMax = 1 << 20

// dwEdge is one border pixel of an output row for dw3x3RowZ (or an
// interior one left over from the groups of four): its byte offset in the
// output row and, per tap column, its byte offset in an input row and a
// mask, 0xffff for a column inside the image, 0 for one in the padding
// (whose offset is then 0, column 0: the kernel reads nothing there, but
// the address stays inside the row).
type dwEdge struct {
	out        int
	in         [3]int
	m0, m1, m2 int
}

// dwRowPlan is what dw3x3RowZ and dw3x3RowZB need of a layer, fixed at
// Prepare: the packed weights, the interior pixels [xLo, xLo+n) (n a
// multiple of 4) as byte offsets, and the other pixels of a row as edges.
type dwRowPlan struct {
	wz                               []float32
	outOff, inOff, n, xStep, tapStep int
	edges                            []dwEdge
	blockOuter                       bool // dw3x3RowZB
}

// newDWRowPlan returns the plan of a 3x3 depthwise k (wT, bias, xLo and xHi
// set), or nil unless the AVX-512 kernels run. Any channel count works: the
// last block of 16 is masked.
func newDWRowPlan(k *fastDepthwise) *dwRowPlan {
	if !useSIMD || family < familyAVX512 || !dwRowKernel || k.kH != 3 || k.kW != 3 {
		return nil
	}
	c := k.outC
	p := &dwRowPlan{
		wz:      packDW3x3Z(k.wT, k.bias, c),
		outOff:  k.xLo * c * 4,
		inOff:   (k.xLo*k.strideX - k.padL) * c * 4,
		n:       (k.xHi - k.xLo) / 4 * 4,
		xStep:   k.strideX * c * 4,
		tapStep: k.dilX * c * 4,
	}
	p.blockOuter = k.inH*k.inW*c*4 <= dwBlockOuterMax
	for ox := range k.outW {
		if ox >= k.xLo && ox < k.xLo+p.n {
			continue
		}
		e := dwEdge{out: ox * c * 4}
		var m [3]int
		for fx := range m {
			if ix := ox*k.strideX - k.padL + fx*k.dilX; ix >= 0 && ix < k.inW {
				e.in[fx], m[fx] = ix*c*4, 0xffff
			}
		}
		e.m0, e.m1, e.m2 = m[0], m[1], m[2]
		p.edges = append(p.edges, e)
	}
	return p
}

// rowZ computes output row oy of image b with one dw3x3RowZ call.
func (k *fastDepthwise) rowZ(b, oy int, yRow []float32) {
	var rows [3]*float32
	for fy := range rows {
		iy := oy*k.strideY - k.padT + fy*k.dilY
		if iy < 0 || iy >= k.inH {
			rows[fy] = &k.zeros[0]
		} else {
			rows[fy] = &k.x[(b*k.inH+iy)*k.inW*k.inC]
		}
	}
	p := k.row
	var edges *dwEdge
	if len(p.edges) > 0 {
		edges = &p.edges[0]
	}
	f := dw3x3RowZ
	if p.blockOuter {
		f = dw3x3RowZB
	}
	f((*float32)(unsafe.Pointer(&yRow[0])), rows[0], rows[1], rows[2], &p.wz[0],
		k.outC, p.outOff, p.inOff, p.n, p.xStep, p.tapStep, edges, len(p.edges), k.lo, k.hi)
}

// packDW3x3Z lays out 3x3 depthwise weights wT ([9][c]) and the bias for
// the AVX-512 kernels: per block of 16 channels the nine taps, then the
// bias ([ceil(c/16)][10][16]), the last block padded with zeros.
func packDW3x3Z(wT, bias []float32, c int) []float32 {
	blocks := (c + 15) / 16
	wz := make([]float32, blocks*160)
	for blk := range blocks {
		n := min(16, c-blk*16)
		for t := range 9 {
			copy(wz[blk*160+t*16:blk*160+t*16+n], wT[t*c+blk*16:])
		}
		copy(wz[blk*160+144:blk*160+144+n], bias[blk*16:])
	}
	return wz
}

// packQDW3x3Z lays out int8 3x3 depthwise weights minus zero points (w[ch*9
// + tap]) for qdw3x3z: per block of 32 channels (the last may hold 16),
// five tap pairs of two ZMM words of 32 int16, in the order VPUNPCKLWD and
// VPUNPCKHWD leave the (tap 2p, tap 2p+1) pairs of the channels: word wd,
// 128-bit lane L, dword j is channel 8L + 4wd + j. The ninth tap pairs with
// zero. It returns nil unless the AVX-512 kernels run.
func packQDW3x3Z(w []int32, c int) []int16 {
	if !useSIMD || family < familyAVX512 || c%16 != 0 {
		return nil
	}
	blocks := (c + 31) / 32
	wz := make([]int16, blocks*5*2*32)
	for blk := range blocks {
		for pair := range 5 {
			for wd := range 2 {
				for m := range 32 {
					lane, q := m/8, m%8
					ch := blk*32 + 8*lane + 4*wd + q/2
					tap := 2*pair + q%2
					if ch < c && tap < 9 {
						wz[((blk*5+pair)*2+wd)*32+m] = int16(w[ch*9+tap])
					}
				}
			}
		}
	}
	return wz
}
