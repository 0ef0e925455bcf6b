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
