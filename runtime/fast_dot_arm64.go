//go:build arm64 && !purego

package runtime

import "unsafe"

// SDOT kernels (fast_dot_arm64.s) for the neon-dotprod family: the
// avx512-vnni GEMM's functions and data layouts (fast_qvnni.go), with the
// activations read as int8 instead of u8.

// qdot6x16v computes a 6x16 int32 block C = bias + A*B with SDOT over k4
// groups of four k: A rows are int8 (lda bytes apart), b a panel of
// qPanels8.
//
//go:noescape
func qdot6x16v(k4 int, a *byte, lda int, b *int8, c *int32, ldc int, bias *int32)

// qdot1x16v is one row of qdot6x16v.
//
//go:noescape
func qdot1x16v(k4 int, a *byte, b *int8, c *int32, bias *int32)

// qflip writes src[i] ^ 0x80 (uint8 to int8 minus 128) for n bytes, a
// multiple of 64.
//
//go:noescape
func qflip(dst, src *byte, n int)

// qdot6x32v is qdot6x16v over two adjacent panels (the second bstep bytes
// after the first): NEON has too few registers for both at once.
func qdot6x32v(k4 int, a *byte, lda int, b *int8, bstep int, c *int32, ldc int, bias *int32) {
	qdot6x16v(k4, a, lda, b, c, ldc, bias)
	qdot6x16v(k4, a, lda, (*int8)(unsafe.Add(unsafe.Pointer(b), bstep)), (*int32)(unsafe.Add(unsafe.Pointer(c), 64)), ldc,
		(*int32)(unsafe.Add(unsafe.Pointer(bias), 64)))
}
