//go:build arm64 && !purego

package runtime

import (
	"encoding/binary"
	"os"
)

// NEON kernels (fast_float_arm64.s, fast_quant_arm64.s) with the contracts
// of the amd64 ones (fast_simd_amd64.go): same arguments, same data layouts,
// same results bit for bit. Advanced SIMD is part of every ARMv8-A CPU that
// Go supports; the dot product instructions (SDOT, ARMv8.2's optional
// FEAT_DotProd) are detected from the kernel's HWCAP.

// hasSIMDKernels is true: the assembly kernels always run.
const hasSIMDKernels = true

// hasAVX2FMA is the amd64 feature; false here.
const hasAVX2FMA = false

// detectFamily is the best kernel family (fast_family.go): neon-dotprod
// where the CPU has SDOT, else NEON.
func detectFamily() kernelFamily {
	if hasDotProd() {
		return familyDotProd
	}
	return familySIMD
}

// hasDotProd reads AT_HWCAP (16) from /proc/self/auxv (Linux; qemu-user
// emulates it) and tests HWCAP_ASIMDDP (bit 20). Elsewhere, or if the file
// cannot be read, it answers false: the NEON kernels run.
func hasDotProd() bool {
	auxv, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return false
	}
	const atHWCAP, hwcapASIMDDP = 16, 1 << 20
	for i := 0; i+16 <= len(auxv); i += 16 {
		if binary.LittleEndian.Uint64(auxv[i:]) == atHWCAP {
			return binary.LittleEndian.Uint64(auxv[i+8:])&hwcapASIMDDP != 0
		}
	}
	return false
}

//go:noescape
func sgemm6x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

//go:noescape
func sgemm6x8(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

//go:noescape
func sgemv16(k int, a *float32, b *float32, c *float32, bias *float32, lo, hi float32)

//go:noescape
func dw3x3Pix2(out, in0, in1, in2, wb *float32, pairs, blocks, xStep, tapStep int, lo, hi float32)

//go:noescape
func dw3x3Taps(out *float32, taps *[9]*float32, wb *float32, blocks int, lo, hi float32)

//go:noescape
func qgemm6x16(k2 int, a *int16, lda int, b *int16, c *int32, ldc int, bias *int32)

//go:noescape
func qgemv16(k2 int, a *int16, b *int16, c *int32, bias *int32)

//go:noescape
func qwiden(dst *int16, src *byte, n int, zp int32, signed int32)

//go:noescape
func qdw3x3(acc *int32, r0, r1, r2 *byte, w *int16, bias *int32, n, blocks, xStep, tapStep int, signed int32)

//go:noescape
func qdw3x3Taps(acc *int32, taps *[9]*byte, w *int16, bias *int32, blocks int, signed int32)

//go:noescape
func requantQ31(dst *byte, acc *int32, pixels, blocks, stride int, p *int32, zp, lo, hi, unsigned int32)

//go:noescape
func requantF32(dst *byte, acc *int32, pixels, blocks, stride int, p *float32, zp int32, flo, fhi float32, unsigned int32)

//go:noescape
func quantizeF32(dst *byte, src *float32, blocks int, scale float32, zp int32, flo, fhi float32, unsigned int32)

// hasVaddF32 is false: addF32 (fast_elementwise.go) runs its Go loop here.
const hasVaddF32 = false

func vaddF32(y, a, b *float32, n int) { panic("runtime: vaddF32 without assembly") }
