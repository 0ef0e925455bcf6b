//go:build !(amd64 || arm64) || purego

package runtime

// Without the amd64 or arm64 assembly the fast kernels run their pure-Go
// loops.

// hasSIMDKernels is false: no assembly kernels.
const hasSIMDKernels = false

const hasAVX2FMA = false

func detectFamily() kernelFamily { return familyGo }

func sgemm6x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32) {
	panic("runtime: sgemm6x16 without assembly")
}

func sgemm6x8(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32) {
	panic("runtime: sgemm6x8 without assembly")
}

func dw3x3Pix2(out, in0, in1, in2, wb *float32, pairs, blocks, xStep, tapStep int, lo, hi float32) {
	panic("runtime: dw3x3Pix2 without assembly")
}

func dw3x3Taps(out *float32, taps *[9]*float32, wb *float32, blocks int, lo, hi float32) {
	panic("runtime: dw3x3Taps without assembly")
}

func qgemm6x16(k2 int, a *int16, lda int, b *int16, c *int32, ldc int, bias *int32) {
	panic("runtime: qgemm6x16 without assembly")
}

func qwiden(dst *int16, src *byte, n int, zp int32, signed int32) {
	panic("runtime: qwiden without assembly")
}

func qdw3x3(acc *int32, r0, r1, r2 *byte, w *int16, bias *int32, n, blocks, xStep, tapStep int, signed int32) {
	panic("runtime: qdw3x3 without assembly")
}

func requantQ31(dst *byte, acc *int32, pixels, blocks, stride int, p *int32, zp, lo, hi, unsigned int32) {
	panic("runtime: requantQ31 without assembly")
}

func requantF32(dst *byte, acc *int32, pixels, blocks, stride int, p *float32, zp int32, flo, fhi float32, unsigned int32) {
	panic("runtime: requantF32 without assembly")
}

func quantizeF32(dst *byte, src *float32, blocks int, scale float32, zp int32, flo, fhi float32, unsigned int32) {
	panic("runtime: quantizeF32 without assembly")
}

func sgemv16(k int, a *float32, b *float32, c *float32, bias *float32, lo, hi float32) {
	panic("runtime: sgemv16 without assembly")
}

func qgemv16(k2 int, a *int16, b *int16, c *int32, bias *int32) {
	panic("runtime: qgemv16 without assembly")
}

func qdw3x3Taps(acc *int32, taps *[9]*byte, w *int16, bias *int32, blocks int, signed int32) {
	panic("runtime: qdw3x3Taps without assembly")
}

const hasVaddF32 = false

func vaddF32(y, a, b *float32, n int) { panic("runtime: vaddF32 without assembly") }
