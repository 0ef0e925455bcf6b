//go:build !(amd64 || arm64) || purego

package runtime

// Without the amd64 or arm64 assembly the direct stem convolution runs its
// pure-Go form (fast_stem.go, blockGo).

func sconv6x32z(blocks, kh, run int, a *float32, lda, rstep int, b *float32, bstep int, c *float32, ldc int, bias *float32, lo, hi float32) {
	panic("runtime: sconv6x32z without assembly")
}

func sconv6x16z(blocks, kh, run int, a *float32, lda, rstep int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32) {
	panic("runtime: sconv6x16z without assembly")
}

func sconv6x16(blocks, kh, run int, a *float32, lda, rstep int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32) {
	panic("runtime: sconv6x16 without assembly")
}

func sconv6x8(blocks, kh, run int, a *float32, lda, rstep int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32) {
	panic("runtime: sconv6x8 without assembly")
}
