//go:build amd64 && !purego

package runtime

// The assembly kernels (fast_*_amd64.s) need AVX2 and FMA, checked once at
// start-up: CPUID says whether the instructions exist and XCR0 whether the
// operating system saves the YMM registers. Without them the fast kernels
// run their pure-Go loops.

//go:noescape
func cpuidex(leaf, sub uint32) (a, b, c, d uint32)

func xcr0() uint32

// sgemm6x16 computes a 6x16 block of C = clamp(bias + A*B, lo, hi): A is six
// rows of k floats, lda apart; b is a packed panel, k rows of 16 floats; the
// six output rows are ldc apart. All strides are in elements.
//
//go:noescape
func sgemm6x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

// sgemm6x8 is sgemm6x16 for a panel of 8 columns.
//
//go:noescape
func sgemm6x8(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

// dw3x3Pix2 computes 2*pairs adjacent output pixels of a 3x3 depthwise
// convolution, pixel by pixel with channel blocks of 8 inside. wb packs each
// block's nine tap weights and its bias ([blocks][10][8]); output pixels are
// blocks*8 floats apart, input pixels xStep floats apart, taps tapStep.
//
//go:noescape
func dw3x3Pix2(out, in0, in1, in2, wb *float32, pairs, blocks, xStep, tapStep int, lo, hi float32)

// dw3x3Taps computes one output pixel from nine tap pointers (a tap in the
// padding points at zeros), with wb as for dw3x3Pix2.
//
//go:noescape
func dw3x3Taps(out *float32, taps *[9]*float32, wb *float32, blocks int, lo, hi float32)

// hasAVX2FMA is true when the CPU and OS support the kernels above.
var hasAVX2FMA = detectAVX2FMA()

// detectFamily is the best kernel family (fast_family.go) this CPU and OS
// run: AVX-512 needs F, BW, VL and DQ (CPUID leaf 7 EBX bits 16, 30, 31,
// 17) and the opmask and ZMM state enabled in XCR0 (bits 5-7, with the
// XMM and YMM bits 1-2); VNNI is leaf 7 ECX bit 11.
func detectFamily() kernelFamily {
	if !detectAVX2FMA() {
		return familyGo
	}
	_, b7, c7, _ := cpuidex(7, 0)
	const f, dq, bw, vl = 1 << 16, 1 << 17, 1 << 30, 1 << 31
	if b7&(f|dq|bw|vl) != f|dq|bw|vl || xcr0()&0xe6 != 0xe6 {
		return familySIMD
	}
	const vnni = 1 << 11
	if c7&vnni == 0 {
		return familyAVX512
	}
	return familyAVX512VNNI
}

// hasSIMDKernels is true when the assembly kernels can run.
var hasSIMDKernels = hasAVX2FMA

func detectAVX2FMA() bool {
	maxLeaf, _, _, _ := cpuidex(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, c1, _ := cpuidex(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if c1&fma == 0 || c1&osxsave == 0 || c1&avx == 0 {
		return false
	}
	if xcr0()&6 != 6 { // XMM and YMM state enabled by the OS
		return false
	}
	_, b7, _, _ := cpuidex(7, 0)
	const avx2 = 1 << 5
	return b7&avx2 != 0
}

// Integer kernels (fast_quant_amd64.s).

// qgemm6x16 computes a 6x16 int32 block C = bias + A*B over k2 pairs of k.
//
//go:noescape
func qgemm6x16(k2 int, a *int16, lda int, b *int16, c *int32, ldc int, bias *int32)

// qwiden writes src[i] - zp as int16 for n bytes (a multiple of 16).
//
//go:noescape
func qwiden(dst *int16, src *byte, n int, zp int32, signed int32)

// qdw3x3 accumulates n pixels of a 3x3 depthwise convolution, blocks*16
// channels, into int32 (see the assembly for the weight layout).
//
//go:noescape
func qdw3x3(acc *int32, r0, r1, r2 *byte, w *int16, bias *int32, n, blocks, xStep, tapStep int, signed int32)

// requantQ31 is TFLite's requantization of the first blocks*8 accumulators
// of pixels rows (stride apart) into bytes.
//
//go:noescape
func requantQ31(dst *byte, acc *int32, pixels, blocks, stride int, p *int32, zp, lo, hi, unsigned int32)

// requantF32 is MLAS's requantization, laid out as requantQ31.
//
//go:noescape
func requantF32(dst *byte, acc *int32, pixels, blocks, stride int, p *float32, zp int32, flo, fhi float32, unsigned int32)

// quantizeF32 is MLAS's float32 -> 8-bit quantization of blocks*8 values.
//
//go:noescape
func quantizeF32(dst *byte, src *float32, blocks int, scale float32, zp int32, flo, fhi float32, unsigned int32)

// sgemv16 is one row of sgemm6x16 (the tail rows, and fully connected layers
// of one row).
//
//go:noescape
func sgemv16(k int, a *float32, b *float32, c *float32, bias *float32, lo, hi float32)

// qgemv16 is one row of qgemm6x16.
//
//go:noescape
func qgemv16(k2 int, a *int16, b *int16, c *int32, bias *int32)

// qdw3x3Taps is one output pixel of qdw3x3 from nine tap pointers.
//
//go:noescape
func qdw3x3Taps(acc *int32, taps *[9]*byte, w *int16, bias *int32, blocks int, signed int32)

// hasVaddF32 says vaddF32 is assembly here.
const hasVaddF32 = true

// vaddF32 writes y[i] = a[i] + b[i] for n floats, n a multiple of 8 (AVX2;
// addF32 in fast_elementwise.go calls it).
//
//go:noescape
func vaddF32(y, a, b *float32, n int)
