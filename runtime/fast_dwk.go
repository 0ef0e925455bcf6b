package runtime

// The generic depthwise path: any kernel size (5x5, 7x7, 3x5 ...), stride
// and padding, for the shapes the 3x3 assembly (fast_conv.go,
// fast_dw512.go) does not take. Each output pixel's valid taps form a
// rectangle [fy0,fy1) x [fx0,fx1) of the kernel (rows and columns inside the
// image), so one assembly call covers the interior of an output row (every
// tap valid) and one call per border pixel covers the rest, with the
// rectangle's taps only. The arithmetic is dwPixel's: each sum from zero,
// the rounded products of the valid taps added row by row, left to right
// (VMULPS then VADDPS, never FMA), then the bias, then the clamp with the
// sum as the second source so that NaN propagates.
//
// The avx512 kernel (dwkRowZ) runs 16 channels a ZMM and masks the last
// block, so any channel count; the avx2 kernel (dwkRow) 8 a YMM, for
// channels a multiple of 8. Others (the go family, arm64, odd channel
// counts on avx2) keep dwPixel.

// dwkPlan is the packed weights of one depthwise kernel for dwkRow(Z).
type dwkPlan struct {
	lanes int       // 16 (dwkRowZ) or 8 (dwkRow)
	w     []float32 // [blocks][kH*kW][lanes], zero past the last channel
	bias  []float32 // [blocks*lanes], zero past the last channel
	mask  uint16    // lanes of the last block that hold channels (dwkRowZ)
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

// dwkOutRow computes output row oy of image b into yRow with k.dwk: the
// interior pixels [xLo, xHi) in one call, the border pixels one call each.
func (k *fastDepthwise) dwkOutRow(b, oy int, yRow []float32) {
	c := k.outC
	iy0 := oy*k.strideY - k.padT
	fy0, fy1 := validTaps(iy0, k.dilY, k.kH, k.inH)
	if fy1 <= fy0 {
		fy0, fy1 = 0, 0
	}
	rowBase := ((b*k.inH + iy0 + fy0*k.dilY) * k.inW) * c
	run := func(ox, n, fx0, fx1 int) {
		rows, taps, in, w := fy1-fy0, fx1-fx0, 0, 0
		if rows <= 0 || taps <= 0 {
			rows, taps = 0, 0 // no tap inside the image: the bias alone
		} else {
			in = rowBase + (ox*k.strideX-k.padL+fx0*k.dilX)*c
			w = (fy0*k.kW + fx0) * k.dwk.lanes
		}
		_ = yRow[(ox+n)*c-1]
		k.dwkCall(&yRow[ox*c], &k.x[in], w, n, rows, taps)
	}
	if k.xHi > k.xLo {
		run(k.xLo, k.xHi-k.xLo, 0, k.kW)
	}
	for ox := range k.outW {
		if ox >= k.xLo && ox < k.xHi {
			continue
		}
		fx0, fx1 := validTaps(ox*k.strideX-k.padL, k.dilX, k.kW, k.inW)
		run(ox, 1, fx0, fx1)
	}
}

// dwkCall runs the plan's kernel on n pixels from out and in, with the
// weights from float w of each block.
func (k *fastDepthwise) dwkCall(out, in *float32, w, n, rows, taps int) {
	p, c := k.dwk, k.outC
	taps0 := k.kH * k.kW
	if p.lanes == 16 {
		dwkRowZ(out, in, &p.w[w], &p.bias[0], n, len(p.bias)/16, rows, taps,
			k.strideX*c, k.dilY*k.inW*c, k.dilX*c, k.kW*16, taps0*16, c, p.mask, k.lo, k.hi)
		return
	}
	dwkRow(out, in, &p.w[w], &p.bias[0], n, len(p.bias)/8, rows, taps,
		k.strideX*c, k.dilY*k.inW*c, k.dilX*c, k.kW*8, taps0*8, c, k.lo, k.hi)
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
