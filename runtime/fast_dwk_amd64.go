//go:build amd64 && !purego

package runtime

// hasDWKKernels: the generic depthwise kernels (fast_dwk.go) run here.
const hasDWKKernels = true

// dwkRowZ computes n (a multiple of 4) adjacent output pixels of a
// depthwise convolution, blocks*16 channels (the last block's lanes
// outside mask neither read nor written), from the rows x taps rectangle of kernel taps that starts at
// in (the first pixel's first tap) and at w (its weights in block 0).
// Pixel i's tap (r, t) is at in + i*pixStep + r*rowStep + t*tapStep, its
// output at out + i*outStep; a tap's 16 weights at w + r*wRow + t*16, the
// next block's wBlock floats on; bias holds blocks*16 floats. Each output
// is clamp(bias + sum of the products, row by row, left to right), from
// zero, VMULPS then VADDPS. rows is 0 (bias only) or taps is at least 1.
// Steps in floats (fast_dwk512_amd64.s).
//
//go:noescape
func dwkRowZ(out, in, w, bias *float32, n, blocks, rows, taps, pixStep, rowStep, tapStep, wRow, wBlock, outStep int, mask uint16, lo, hi float32)

// dwkPixZ computes npx output pixels of a depthwise convolution, each
// with its own rectangle of taps (px), with the blocks of dwkRowZ: first
// quads of four blocks (four independent sums a pixel), then the rest (1
// to 4, the last one masked), each block's weights reused by all the
// pixels while they are in L1. Pixel p's taps start at in + px[p].in and
// w + px[p].w, its output at out + px[p].out (bytes); tapStep and wBlock
// in floats, a tap's 16 weights at the next 16 floats of w.
//
//go:noescape
func dwkPixZ(out, in, w, bias *float32, px *dwkPx, npx, quads, rest, tapStep, wBlock int, mask uint16, lo, hi float32)

// dwkRow is dwkRowZ on YMM for channels a multiple of 8 (blocks of 8, a
// tap's 8 weights at w + r*wRow + t*8; fast_dwk_amd64.s).
//
//go:noescape
func dwkRow(out, in, w, bias *float32, n, blocks, rows, taps, pixStep, rowStep, tapStep, wRow, wBlock, outStep int, lo, hi float32)

// dwkPix is dwkPixZ on YMM for channels a multiple of 8: quads of four
// blocks of 8, then the rest (0 to 3), no mask; a tap's 8 weights at the
// next 8 floats of w (fast_dwk_amd64.s).
//
//go:noescape
func dwkPix(out, in, w, bias *float32, px *dwkPx, npx, quads, rest, tapStep, wBlock int, lo, hi float32)
