//go:build !amd64 || purego

package runtime

// Without the amd64 assembly the AVX-512 kernels (fast_avx512_amd64.go) are
// never chosen: detectFamily returns nothing above familySIMD here.

func sgemm6x32z(k int, a *float32, lda int, b *float32, bstep int, c *float32, ldc int, bias *float32, lo, hi float32) {
	panic("runtime: sgemm6x32z without assembly")
}

func sgemm12x32z(k int, a *float32, lda int, b *float32, bstep int, c *float32, ldc int, bias *float32, lo, hi float32, next *float32) {
	panic("runtime: sgemm12x32z without assembly")
}

func sgemm12x24z(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32) {
	panic("runtime: sgemm12x24z without assembly")
}

func sgemm12x16z(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32) {
	panic("runtime: sgemm12x16z without assembly")
}

func sgemv64z(k int, a *float32, b *float32, bstep int, c *float32, bias *float32, lo, hi float32) {
	panic("runtime: sgemv64z without assembly")
}

func sgemm6x16z(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32) {
	panic("runtime: sgemm6x16z without assembly")
}

func dw3x3Pix2z(out, in0, in1, in2, wb *float32, pairs, blocks, xStep, tapStep int, lo, hi float32) {
	panic("runtime: dw3x3Pix2z without assembly")
}

func dw3x3TapsZ(out *float32, taps *[9]*float32, wb *float32, blocks int, lo, hi float32) {
	panic("runtime: dw3x3TapsZ without assembly")
}

func qdw3x3z(acc *int32, r0, r1, r2 *byte, w *int16, bias *int32, n, channels, xStep, tapStep int, signed int32) {
	panic("runtime: qdw3x3z without assembly")
}

func qdw3x3TapsZ(acc *int32, taps *[9]*byte, w *int16, bias *int32, channels int, signed int32) {
	panic("runtime: qdw3x3TapsZ without assembly")
}

func qconv6x32v(kh, k4 int, a *byte, lda, rstep int, b *int8, bstep int, c *int32, ldc int, bias *int32) {
	panic("runtime: qconv6x32v without assembly")
}

func qconv6x16v(kh, k4 int, a *byte, lda, rstep int, b *int8, c *int32, ldc int, bias *int32) {
	panic("runtime: qconv6x16v without assembly")
}

func qpad3to4(dst, src *byte, groups int, xor, or uint32) {
	panic("runtime: qpad3to4 without assembly")
}

func qgemm6x32z(k2 int, a *int16, lda int, b *int16, bstep int, c *int32, ldc int, bias *int32) {
	panic("runtime: qgemm6x32z without assembly")
}

func qgemm6x16z(k2 int, a *int16, lda int, b *int16, c *int32, ldc int, bias *int32) {
	panic("runtime: qgemm6x16z without assembly")
}

func requantQ31z(dst *byte, acc *int32, pixels, blocks, stride int, p *int32, zp, lo, hi, unsigned int32) {
	panic("runtime: requantQ31z without assembly")
}

func requantF32z(dst *byte, acc *int32, pixels, blocks, stride int, p *float32, zp int32, flo, fhi float32, unsigned int32) {
	panic("runtime: requantF32z without assembly")
}

func sgemv8z(k int, x *float32, b *float32, pstride, kstep int, c *float32, bias *float32, lo, hi float32) {
	panic("runtime: sgemv8z without assembly")
}
