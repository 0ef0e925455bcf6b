//go:build arm64 && !purego

package runtime

// The direct stem convolution's NEON kernels (fast_stem_arm64.s): the
// contracts of their amd64 namesakes (fast_stem_amd64.go). The AVX-512
// ones are never chosen here (packB packs no ZMM pairs on arm64).

// sconv6x16: one 16-column panel.
//
//go:noescape
func sconv6x16(blocks, kh, run int, a *float32, lda, rstep int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

// sconv6x8: one 8-column panel.
//
//go:noescape
func sconv6x8(blocks, kh, run int, a *float32, lda, rstep int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

func sconv6x32z(blocks, kh, run int, a *float32, lda, rstep int, b *float32, bstep int, c *float32, ldc int, bias *float32, lo, hi float32) {
	panic("runtime: sconv6x32z without assembly")
}

func sconv6x16z(blocks, kh, run int, a *float32, lda, rstep int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32) {
	panic("runtime: sconv6x16z without assembly")
}
