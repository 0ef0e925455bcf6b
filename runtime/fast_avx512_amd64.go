//go:build amd64 && !purego

package runtime

// AVX-512 kernels (fast_float512_amd64.s, fast_quant512_amd64.s), run when
// the kernel family (fast_family.go) is avx512 or avx512-vnni. Each keeps
// the contract of its AVX2 counterpart in fast_simd_amd64.go.

// sgemm6x32z is sgemm6x16 over two adjacent 16-column panels, the second
// bstep floats after the first; bias holds their 32 biases.
//
//go:noescape
func sgemm6x32z(k int, a *float32, lda int, b *float32, bstep int, c *float32, ldc int, bias *float32, lo, hi float32)

// sgemm12x32z is sgemm6x32z for twelve rows (24 ZMM accumulators): half
// the B loads and calls per output row.
//
//go:noescape
func sgemm12x32z(k int, a *float32, lda int, b *float32, bstep int, c *float32, ldc int, bias *float32, lo, hi float32, next *float32)

// sgemm12x24z is twelve rows by a full 16-wide panel and the 8-wide panel
// packed after it (k*16 floats on); bias holds 16 + 8 floats.
//
//go:noescape
func sgemm12x24z(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

// sgemm12x16z is sgemm6x16z for twelve rows.
//
//go:noescape
func sgemm12x16z(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

// sgemv64z is one row against four full panels, bstep floats apart (64
// adjacent columns; bias and c hold 64 floats).
//
//go:noescape
func sgemv64z(k int, a *float32, b *float32, bstep int, c *float32, bias *float32, lo, hi float32)

// sgemm6x16z is sgemm6x16 on ZMM registers.
//
//go:noescape
func sgemm6x16z(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

// dw3x3Pix2z is dw3x3Pix2 with channel blocks of 16 ([blocks][10][16]
// weights and bias).
//
//go:noescape
func dw3x3Pix2z(out, in0, in1, in2, wb *float32, pairs, blocks, xStep, tapStep int, lo, hi float32)

// dw3x3TapsZ is dw3x3Taps with the weights of dw3x3Pix2z.
//
//go:noescape
func dw3x3TapsZ(out *float32, taps *[9]*float32, wb *float32, blocks int, lo, hi float32)

// qdot6x32v computes a 6x32 int32 block C = bias + A*B with VPDPBUSD over
// k4 groups of four k: A rows are u8 (lda bytes apart), b two adjacent
// panels of qPanels8 (the second bstep bytes after the first).
//
//go:noescape
func qdot6x32v(k4 int, a *byte, lda int, b *int8, bstep int, c *int32, ldc int, bias *int32)

// qdot6x16v is qdot6x32v for one panel.
//
//go:noescape
func qdot6x16v(k4 int, a *byte, lda int, b *int8, c *int32, ldc int, bias *int32)

// qdot1x16v is one row of qdot6x16v.
//
//go:noescape
func qdot1x16v(k4 int, a *byte, b *int8, c *int32, bias *int32)

// qflip writes src[i] ^ 0x80 (int8 to u8 plus 128) for n bytes, a
// multiple of 64.
//
//go:noescape
func qflip(dst, src *byte, n int)

// qdw3x3z is qdw3x3 on ZMM for channels a multiple of 16, with the weights
// packed by packQDW3x3Z (fast_qdw512_amd64.s).
//
//go:noescape
func qdw3x3z(acc *int32, r0, r1, r2 *byte, w *int16, bias *int32, n, channels, xStep, tapStep int, signed int32)

// qdw3x3TapsZ is qdw3x3Taps with the weights of qdw3x3z.
//
//go:noescape
func qdw3x3TapsZ(acc *int32, taps *[9]*byte, w *int16, bias *int32, channels int, signed int32)

// qconv6x32v is qdot6x32v for a direct convolution: each row's k is kh
// segments of k4 groups, segment s of row i at a + s*rstep + i*lda.
//
//go:noescape
func qconv6x32v(kh, k4 int, a *byte, lda, rstep int, b *int8, bstep int, c *int32, ldc int, bias *int32)

// qconv6x16v is qconv6x32v for one panel.
//
//go:noescape
func qconv6x16v(kh, k4 int, a *byte, lda, rstep int, b *int8, c *int32, ldc int, bias *int32)

// qpad3to4 stores groups*4 three-byte pixels as dwords, (pixel ^ xor) | or;
// each group reads 16 bytes of src.
//
//go:noescape
func qpad3to4(dst, src *byte, groups int, xor, or uint32)

// qgemm6x32z is qgemm6x16 on ZMM over two adjacent panels of qPanels, the
// second bstep int16 after the first; bias holds their 32 biases.
//
//go:noescape
func qgemm6x32z(k2 int, a *int16, lda int, b *int16, bstep int, c *int32, ldc int, bias *int32)

// qgemm6x16z is qgemm6x16 on ZMM.
//
//go:noescape
func qgemm6x16z(k2 int, a *int16, lda int, b *int16, c *int32, ldc int, bias *int32)

// requantQ31z is requantQ31 sixteen channels at a time, p packed per 16
// channels (fastRequant.q31z; fast_requant512_amd64.s).
//
//go:noescape
func requantQ31z(dst *byte, acc *int32, pixels, blocks, stride int, p *int32, zp, lo, hi, unsigned int32)

// requantF32z is requantF32 sixteen channels at a time, p the scales padded
// to a multiple of 16.
//
//go:noescape
func requantF32z(dst *byte, acc *int32, pixels, blocks, stride int, p *float32, zp int32, flo, fhi float32, unsigned int32)

// sgemv8z is sgemv16 over eight 16-column panels at once: c[0:128] =
// clamp(bias + x*B), panel i's k-th row of 16 weights at
// b[i*pstride+kk*kstep] (the packed panels: pstride k*16, kstep 16).
//
//go:noescape
func sgemv8z(k int, x *float32, b *float32, pstride, kstep int, c *float32, bias *float32, lo, hi float32)
