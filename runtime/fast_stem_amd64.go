//go:build amd64 && !purego

package runtime

// The direct stem convolution's kernels (fast_stem.go, fast_stem_amd64.s):
// the GEMM micro-kernels of the same names with g for c (sgemm6x16 and so
// on, fast_simd_amd64.go and fast_avx512_amd64.go) whose six rows of A are
// six output pixels' windows in the image: a pixel's k is kh runs of run
// floats, run s of pixel i at a + s*rstep + i*lda. They compute blocks
// such blocks, each six pixels (6*lda floats of a, 6*ldc of c) after the
// one before. Strides in elements.

// sconv6x32z: two adjacent 16-column panels (the second bstep floats after
// the first), 32 biases; avx512.
//
//go:noescape
func sconv6x32z(blocks, kh, run int, a *float32, lda, rstep int, b *float32, bstep int, c *float32, ldc int, bias *float32, lo, hi float32)

// sconv6x16z: one 16-column panel on ZMM; avx512.
//
//go:noescape
func sconv6x16z(blocks, kh, run int, a *float32, lda, rstep int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

// sconv6x16: one 16-column panel on YMM; avx2.
//
//go:noescape
func sconv6x16(blocks, kh, run int, a *float32, lda, rstep int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

// sconv6x8: one 8-column panel; avx2.
//
//go:noescape
func sconv6x8(blocks, kh, run int, a *float32, lda, rstep int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)
