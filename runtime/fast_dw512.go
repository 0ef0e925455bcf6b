package runtime

// packDW3x3Z lays out 3x3 depthwise weights wT ([9][c]) and the bias for
// dw3x3Pix2z and dw3x3TapsZ: per block of 16 channels the nine taps, then
// the bias ([c/16][10][16]). It returns nil unless the AVX-512 kernels run
// and c is a multiple of 16 (the AVX2 kernels' blocks of 8 take the rest).
func packDW3x3Z(wT, bias []float32, c int) []float32 {
	if !useSIMD || family < familyAVX512 || c%16 != 0 {
		return nil
	}
	wz := make([]float32, c/16*160)
	for blk := range c / 16 {
		for t := range 9 {
			copy(wz[blk*160+t*16:blk*160+t*16+16], wT[t*c+blk*16:])
		}
		copy(wz[blk*160+144:blk*160+160], bias[blk*16:])
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
