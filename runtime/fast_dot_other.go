//go:build !(amd64 || arm64) || purego

package runtime

// Without the amd64 VNNI or arm64 SDOT assembly (fast_avx512_amd64.go,
// fast_dot_arm64.go) the 8-bit dot-product kernels are never chosen.

func qdot6x32v(k4 int, a *byte, lda int, b *int8, bstep int, c *int32, ldc int, bias *int32) {
	panic("runtime: qdot6x32v without assembly")
}

func qdot6x16v(k4 int, a *byte, lda int, b *int8, c *int32, ldc int, bias *int32) {
	panic("runtime: qdot6x16v without assembly")
}

func qdot1x16v(k4 int, a *byte, b *int8, c *int32, bias *int32) {
	panic("runtime: qdot1x16v without assembly")
}

func qflip(dst, src *byte, n int) { panic("runtime: qflip without assembly") }
