package runtime

// The generic depthwise path: any kernel size (5x5, 7x7, 3x5 ...), stride,
// padding and dilation, for the shapes the 3x3 assembly (fast_conv.go,
// fast_dw512.go) does not take. Each output pixel's valid taps form a
// rectangle [fy0,fy1) x [fx0,fx1) of the kernel (rows and columns inside
// the image). Per output row, one call takes the interior (every tap
// valid) by fours, four pixels a weight load (dwkRowZ, dwkRow); one more
// takes the other pixels from a table of their rectangles, four channel
// blocks a pixel (dwkPixZ, dwkPix). The arithmetic is dwPixel's: each sum
// from zero, the rounded products of the valid taps added row by row, left
// to right (VMULPS then VADDPS, never FMA), then the bias, then the clamp
// with the sum as the second source so that NaN propagates.
//
// The avx512 kernels run 16 channels a ZMM and mask the last block, so
// any channel count; the avx2 kernels 8 a YMM, for channels a multiple of
// 8. Others (the go family, arm64, other channel counts on avx2) keep
// dwPixel.

// dwkPlan is the packed weights of one depthwise kernel for the generic
// kernels.
type dwkPlan struct {
	lanes int       // 16 (avx512) or 8 (avx2)
	w     []float32 // [blocks][kH*kW][lanes], zero past the last channel
	bias  []float32 // [blocks*lanes], zero past the last channel
	mask  uint16    // lanes of the last block that hold channels (avx512)
}

// newDWKPlan packs wT ([kH*kW][c]) and the bias for the family in use, or
// returns nil when no generic kernel runs here for c channels.
func newDWKPlan(wT, bias []float32, taps, c int) *dwkPlan {
	p := &dwkPlan{mask: 0xffff}
	switch {
	case !hasDWKKernels || !useSIMD:
		return nil
	case family >= familyAVX512:
		p.lanes = 16
		if c%16 != 0 {
			p.mask = 1<<(c%16) - 1
		}
	case c%8 == 0:
		p.lanes = 8
	default:
		return nil
	}
	blocks := (c + p.lanes - 1) / p.lanes
	p.w = make([]float32, blocks*taps*p.lanes)
	p.bias = make([]float32, blocks*p.lanes)
	copy(p.bias, bias)
	for blk := range blocks {
		n := min(p.lanes, c-blk*p.lanes)
		for t := range taps {
			copy(p.w[(blk*taps+t)*p.lanes:][:n], wT[t*c+blk*p.lanes:][:n])
		}
	}
	return p
}

// dwkPx is one pixel for dwkPixZ and dwkPix: its output, first input tap
// and first weights, in bytes from the call's; its rectangle of rows x
// taps; the input and weight steps from a row's last tap to the next row's
// first (bytes). The assembly reads it by offset: keep the order.
type dwkPx struct {
	out, in, w, rows, taps, xAdj, wAdj int
}

// dwkBatch is how many pixels one dwkPixZ or dwkPix call takes from the
// stack.
const dwkBatch = 32

// dwkOutRow computes output row oy of image b into yRow with k.dwk: the
// interior pixels (every tap inside the image) by fours in one dwkRowZ or
// dwkRow call, four pixels a weight load; the others, each with its own
// tap rectangle, by dwkPixZ or dwkPix, four channel blocks at a time.
func (k *fastDepthwise) dwkOutRow(b, oy int, yRow []float32) {
	p, c := k.dwk, k.outC
	blocks := len(p.bias) / p.lanes
	iy0 := oy*k.strideY - k.padT
	fy0, fy1 := validTaps(iy0, k.dilY, k.kH, k.inH)
	rows, rowBase := fy1-fy0, 0
	if rows > 0 {
		rowBase = (b*k.inH + iy0 + fy0*k.dilY) * k.inW * c
	}
	// rect returns pixel ox's first input tap (index into k.x) and weights
	// (index into p.w), and its rows x taps, 0 x 0 when none is inside.
	rect := func(ox int) (in, w, r, taps int) {
		fx0, fx1 := validTaps(ox*k.strideX-k.padL, k.dilX, k.kW, k.inW)
		if rows <= 0 || fx1 <= fx0 {
			return 0, 0, 0, 0
		}
		return rowBase + (ox*k.strideX-k.padL+fx0*k.dilX)*c, (fy0*k.kW + fx0) * p.lanes, rows, fx1 - fx0
	}
	// The interior by fours; its last pixels go with the border.
	xLo, n := k.xLo, (k.xHi-k.xLo)&^3
	if n > 0 {
		in, w, r, taps := rect(xLo)
		_ = yRow[(xLo+n)*c-1]
		if p.lanes == 16 {
			dwkRowZ(&yRow[xLo*c], &k.x[in], &p.w[w], &p.bias[0], n, blocks, r, taps,
				k.strideX*c, k.dilY*k.inW*c, k.dilX*c, k.kW*16, k.kH*k.kW*16, c, p.mask, k.lo, k.hi)
		} else {
			dwkRow(&yRow[xLo*c], &k.x[in], &p.w[w], &p.bias[0], n, blocks, r, taps,
				k.strideX*c, k.dilY*k.inW*c, k.dilX*c, k.kW*8, k.kH*k.kW*8, c, k.lo, k.hi)
		}
	}
	var px [dwkBatch]dwkPx
	npx := 0
	for ox := range k.outW {
		if ox >= xLo && ox < xLo+n {
			continue
		}
		in, w, r, taps := rect(ox)
		px[npx] = dwkPx{out: ox * c * 4, in: in * 4, w: w * 4, rows: r, taps: taps,
			xAdj: (k.dilY*k.inW - taps*k.dilX) * c * 4, wAdj: (k.kW - taps) * p.lanes * 4}
		if npx++; npx == dwkBatch {
			k.dwkPixels(yRow, px[:npx], blocks)
			npx = 0
		}
	}
	if npx > 0 {
		k.dwkPixels(yRow, px[:npx], blocks)
	}
}

// dwkPixels runs dwkPixZ or dwkPix on the pixels px of yRow: quads of
// four blocks, then the rest (on avx512 the masked last block always in
// the rest).
func (k *fastDepthwise) dwkPixels(yRow []float32, px []dwkPx, blocks int) {
	p := k.dwk
	if p.lanes == 16 {
		quads := (blocks - 1) / 4
		dwkPixZ(&yRow[0], &k.x[0], &p.w[0], &p.bias[0], &px[0], len(px), quads, blocks-4*quads,
			k.dilX*k.outC, k.kH*k.kW*16, p.mask, k.lo, k.hi)
		return
	}
	dwkPix(&yRow[0], &k.x[0], &p.w[0], &p.bias[0], &px[0], len(px), blocks/4, blocks%4,
		k.dilX*k.outC, k.kH*k.kW*8, k.lo, k.hi)
}

// validTaps returns the taps [f0, f1) of a kernel of size taps and dilation
// dil, starting at input coordinate i0, that fall inside [0, size).
func validTaps(i0, dil, taps, size int) (f0, f1 int) {
	for f0 < taps && i0+f0*dil < 0 {
		f0++
	}
	f1 = taps
	for f1 > f0 && i0+(f1-1)*dil >= size {
		f1--
	}
	return f0, f1
}
