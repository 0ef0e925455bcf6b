//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 int8 GEMM kernels: VNNI first, then the avx512 family's int16
// kernels (qgemm6x32z, qgemm6x16z) and the direct convolution's. VPDPBUSD multiplies four unsigned bytes
// of A (activations offset to u8) by four signed bytes of B (weights minus
// their zero point) and adds the four products to an int32 lane, without
// saturation: |4 * 255 * 128| fits, and the sums wrap in int32 as the
// reference's do. Declarations in fast_avx512_amd64.go.

// The bias rows Z0, Z1 copied to the other five rows' accumulators.
#define QD_SPREAD32 \
	VMOVDQA32 Z0, Z2 \
	VMOVDQA32 Z1, Z3 \
	VMOVDQA32 Z0, Z4 \
	VMOVDQA32 Z1, Z5 \
	VMOVDQA32 Z0, Z6 \
	VMOVDQA32 Z1, Z7 \
	VMOVDQA32 Z0, Z8 \
	VMOVDQA32 Z1, Z9 \
	VMOVDQA32 Z0, Z10 \
	VMOVDQA32 Z1, Z11

// Six rows of 32 int32 stored at DI, SI int32 apart (scaled to bytes here).
#define QD_STORE32 \
	SHLQ      $2, SI \
	VMOVDQU32 Z0, (DI) \
	VMOVDQU32 Z1, 64(DI) \
	ADDQ      SI, DI \
	VMOVDQU32 Z2, (DI) \
	VMOVDQU32 Z3, 64(DI) \
	ADDQ      SI, DI \
	VMOVDQU32 Z4, (DI) \
	VMOVDQU32 Z5, 64(DI) \
	ADDQ      SI, DI \
	VMOVDQU32 Z6, (DI) \
	VMOVDQU32 Z7, 64(DI) \
	ADDQ      SI, DI \
	VMOVDQU32 Z8, (DI) \
	VMOVDQU32 Z9, 64(DI) \
	ADDQ      SI, DI \
	VMOVDQU32 Z10, (DI) \
	VMOVDQU32 Z11, 64(DI)

// QD_SPREAD32 for one panel (Z0).
#define QD_SPREAD16 \
	VMOVDQA32 Z0, Z1 \
	VMOVDQA32 Z0, Z2 \
	VMOVDQA32 Z0, Z3 \
	VMOVDQA32 Z0, Z4 \
	VMOVDQA32 Z0, Z5

// QD_STORE32 for one panel.
#define QD_STORE16 \
	SHLQ      $2, SI \
	VMOVDQU32 Z0, (DI) \
	ADDQ      SI, DI \
	VMOVDQU32 Z1, (DI) \
	ADDQ      SI, DI \
	VMOVDQU32 Z2, (DI) \
	ADDQ      SI, DI \
	VMOVDQU32 Z3, (DI) \
	ADDQ      SI, DI \
	VMOVDQU32 Z4, (DI) \
	ADDQ      SI, DI \
	VMOVDQU32 Z5, (DI)

#define VROW32(ADDR, ACC0, ACC1) \
	VPBROADCASTD ADDR, Z14     \
	VPDPBUSD     Z12, Z14, ACC0 \
	VPDPBUSD     Z13, Z14, ACC1

// func qdot6x32v(k4 int, a *byte, lda int, b *int8, bstep int, c *int32, ldc int, bias *int32)
//
// C[6x32] = bias + A*B over k4 groups of four k: A rows are u8, lda bytes
// apart; b two adjacent packed panels ([k4][16][4] bytes each), the second
// bstep bytes after the first; bias 32 int32; C rows ldc int32 apart.
TEXT ·qdot6x32v(SB), NOSPLIT, $0-64
	MOVQ      k4+0(FP), CX
	MOVQ      a+8(FP), R8
	MOVQ      lda+16(FP), R9
	LEAQ      (R8)(R9*2), R10
	ADDQ      R9, R10
	MOVQ      b+24(FP), BX
	MOVQ      bstep+32(FP), DX
	MOVQ      bias+56(FP), AX
	VMOVDQU32 (AX), Z0
	VMOVDQU32 64(AX), Z1
	QD_SPREAD32
	TESTQ     CX, CX
	JLE       v32done

v32loop:
	VMOVDQU32 (BX), Z12
	VMOVDQU32 (BX)(DX*1), Z13
	VROW32((R8), Z0, Z1)
	VROW32((R8)(R9*1), Z2, Z3)
	VROW32((R8)(R9*2), Z4, Z5)
	VROW32((R10), Z6, Z7)
	VROW32((R10)(R9*1), Z8, Z9)
	VROW32((R10)(R9*2), Z10, Z11)
	ADDQ      $4, R8
	ADDQ      $4, R10
	ADDQ      $64, BX
	DECQ      CX
	JNZ       v32loop

v32done:
	MOVQ      c+40(FP), DI
	MOVQ      ldc+48(FP), SI
	QD_STORE32
	VZEROUPPER
	RET

#define VROW16(ADDR, ACC) \
	VPBROADCASTD ADDR, Z14 \
	VPDPBUSD     Z12, Z14, ACC

// func qdot6x16v(k4 int, a *byte, lda int, b *int8, c *int32, ldc int, bias *int32)
//
// qdot6x32v for one panel of 16 columns.
TEXT ·qdot6x16v(SB), NOSPLIT, $0-56
	MOVQ      k4+0(FP), CX
	MOVQ      a+8(FP), R8
	MOVQ      lda+16(FP), R9
	LEAQ      (R8)(R9*2), R10
	ADDQ      R9, R10
	MOVQ      b+24(FP), BX
	MOVQ      bias+48(FP), AX
	VMOVDQU32 (AX), Z0
	QD_SPREAD16
	TESTQ     CX, CX
	JLE       v16done

v16loop:
	VMOVDQU32 (BX), Z12
	VROW16((R8), Z0)
	VROW16((R8)(R9*1), Z1)
	VROW16((R8)(R9*2), Z2)
	VROW16((R10), Z3)
	VROW16((R10)(R9*1), Z4)
	VROW16((R10)(R9*2), Z5)
	ADDQ      $4, R8
	ADDQ      $4, R10
	ADDQ      $64, BX
	DECQ      CX
	JNZ       v16loop

v16done:
	MOVQ      c+32(FP), DI
	MOVQ      ldc+40(FP), SI
	QD_STORE16
	VZEROUPPER
	RET

// func qdot1x16v(k4 int, a *byte, b *int8, c *int32, bias *int32)
//
// One row of qdot6x16v: four groups in separate accumulators (integer
// sums: the order is free), then the tail one group at a time.
TEXT ·qdot1x16v(SB), NOSPLIT, $0-40
	MOVQ   k4+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), BX
	MOVQ   bias+32(FP), AX
	VMOVDQU32 (AX), Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ   CX, DX
	SHRQ   $2, DX
	JZ     v1tail

v1loop:
	VPBROADCASTD (SI), Z8
	VPBROADCASTD 4(SI), Z9
	VPBROADCASTD 8(SI), Z10
	VPBROADCASTD 12(SI), Z11
	VPDPBUSD     (BX), Z8, Z0
	VPDPBUSD     64(BX), Z9, Z1
	VPDPBUSD     128(BX), Z10, Z2
	VPDPBUSD     192(BX), Z11, Z3
	ADDQ         $16, SI
	ADDQ         $256, BX
	DECQ         DX
	JNZ          v1loop

v1tail:
	ANDQ $3, CX
	JZ   v1done

v1one:
	VPBROADCASTD (SI), Z8
	VPDPBUSD     (BX), Z8, Z0
	ADDQ         $4, SI
	ADDQ         $64, BX
	DECQ         CX
	JNZ          v1one

v1done:
	VPADDD    Z1, Z0, Z0
	VPADDD    Z3, Z2, Z2
	VPADDD    Z2, Z0, Z0
	MOVQ      c+24(FP), DI
	VMOVDQU32 Z0, (DI)
	VZEROUPPER
	RET

// func qflip(dst, src *byte, n int)
//
// dst[i] = src[i] ^ 0x80 for n bytes (a multiple of 64): int8 to the u8
// that VPDPBUSD reads (x + 128).
TEXT ·qflip(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $6, CX
	JZ           qfldone
	MOVL         $0x80808080, AX
	VPBROADCASTD AX, Z1

qflloop:
	VPXORD    (SI), Z1, Z0
	VMOVDQU32 Z0, (DI)
	ADDQ      $64, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       qflloop

qfldone:
	VZEROUPPER
	RET

// The segment loop of qconv6x32v/qconv6x16v: kh segments of k4 groups, the
// rows' bytes at AX + lda*row for the current segment, AX moving by rstep
// (R11) from one segment to the next. BODY is one group's broadcasts and
// dot products; B (BX) runs on through all segments. DI counts the kh
// segments, R12 holds k4.
#define QCONV_SEGMENTS(BODY, SEG, LOOP, DONE) \
	TESTQ DI, DI              \
	JLE   DONE                \
SEG:                          \
	MOVQ  AX, R8              \
	LEAQ  (AX)(R9*2), R10     \
	ADDQ  R9, R10             \
	MOVQ  R12, CX             \
	TESTQ CX, CX              \
	JLE   DONE                \
LOOP:                         \
	BODY                      \
	ADDQ  $4, R8              \
	ADDQ  $4, R10             \
	ADDQ  $64, BX             \
	DECQ  CX                  \
	JNZ   LOOP                \
	ADDQ  R11, AX             \
	DECQ  DI                  \
	JNZ   SEG                 \
DONE:

#define QCONV_BODY32 \
	VMOVDQU32 (BX), Z12                \
	VMOVDQU32 (BX)(DX*1), Z13          \
	VROW32((R8), Z0, Z1)               \
	VROW32((R8)(R9*1), Z2, Z3)         \
	VROW32((R8)(R9*2), Z4, Z5)         \
	VROW32((R10), Z6, Z7)              \
	VROW32((R10)(R9*1), Z8, Z9)        \
	VROW32((R10)(R9*2), Z10, Z11)

// func qconv6x32v(kh, k4 int, a *byte, lda, rstep int, b *int8, bstep int, c *int32, ldc int, bias *int32)
//
// qdot6x32v for a direct convolution: the k of a row is kh segments of k4
// groups of four bytes, segment s of row i at a + s*rstep + i*lda (the six
// output pixels of a row of the output, lda = stride * 4 channels, rstep
// one input row). B is packed for kh*k4 groups.
TEXT ·qconv6x32v(SB), NOSPLIT, $0-80
	MOVQ      a+16(FP), AX
	MOVQ      lda+24(FP), R9
	MOVQ      rstep+32(FP), R11
	MOVQ      b+40(FP), BX
	MOVQ      bstep+48(FP), DX
	MOVQ      bias+72(FP), SI
	VMOVDQU32 (SI), Z0
	VMOVDQU32 64(SI), Z1
	QD_SPREAD32
	MOVQ      kh+0(FP), DI
	MOVQ      k4+8(FP), R12
	QCONV_SEGMENTS(QCONV_BODY32, qc32seg, qc32loop, qc32done)
	MOVQ      c+56(FP), DI
	MOVQ      ldc+64(FP), SI
	QD_STORE32
	VZEROUPPER
	RET

#define QCONV_BODY16 \
	VMOVDQU32 (BX), Z12        \
	VROW16((R8), Z0)           \
	VROW16((R8)(R9*1), Z1)     \
	VROW16((R8)(R9*2), Z2)     \
	VROW16((R10), Z3)          \
	VROW16((R10)(R9*1), Z4)    \
	VROW16((R10)(R9*2), Z5)

// func qconv6x16v(kh, k4 int, a *byte, lda, rstep int, b *int8, c *int32, ldc int, bias *int32)
//
// qconv6x32v for one panel of 16 columns.
TEXT ·qconv6x16v(SB), NOSPLIT, $0-72
	MOVQ      a+16(FP), AX
	MOVQ      lda+24(FP), R9
	MOVQ      rstep+32(FP), R11
	MOVQ      b+40(FP), BX
	MOVQ      bias+64(FP), SI
	VMOVDQU32 (SI), Z0
	QD_SPREAD16
	MOVQ      kh+0(FP), DI
	MOVQ      k4+8(FP), R12
	QCONV_SEGMENTS(QCONV_BODY16, qc16seg, qc16loop, qc16done)
	MOVQ      c+48(FP), DI
	MOVQ      ldc+56(FP), SI
	QD_STORE16
	VZEROUPPER
	RET

DATA pad3to4<>+0(SB)/4, $0x80020100
DATA pad3to4<>+4(SB)/4, $0x80050403
DATA pad3to4<>+8(SB)/4, $0x80080706
DATA pad3to4<>+12(SB)/4, $0x800b0a09
GLOBL pad3to4<>(SB), RODATA|NOPTR, $16

// func qpad3to4(dst, src *byte, groups int, xor, or uint32)
//
// Stores groups*4 pixels of three bytes as four: dword i of dst is
// (src[3i] | src[3i+1]<<8 | src[3i+2]<<16) ^ xor | or. Each group of four
// pixels reads 16 bytes of src (12 used).
TEXT ·qpad3to4(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         groups+16(FP), CX
	TESTQ        CX, CX
	JLE          p34done
	VMOVDQU      pad3to4<>(SB), X3
	MOVL         xor+24(FP), AX
	MOVL         AX, X4
	VPBROADCASTD X4, X4
	MOVL         or+28(FP), AX
	MOVL         AX, X5
	VPBROADCASTD X5, X5

p34loop:
	VMOVDQU (SI), X0
	VPSHUFB X3, X0, X0
	VPXOR   X4, X0, X0
	VPOR    X5, X0, X0
	VMOVDQU X0, (DI)
	ADDQ    $12, SI
	ADDQ    $16, DI
	DECQ    CX
	JNZ     p34loop

p34done:
	RET


// The avx512 family's int8 GEMM (AVX-512BW without VNNI): qgemm6x16 on
// ZMM. Activations and weights minus zero points are int16 (9 bits), and
// VPMADDWD forms each (k, k+1) pair's two products and their sum exactly
// in int32 (|a*b + c*d| <= 2*255*255), summed with wrap-around like the
// reference. VPMADDUBSW (u8 x s8) would save the widening, but its pair
// sums saturate to int16: 255*127*2 > 32767, so it is not exact for
// arbitrary weights and is not used. A panel's pair row (16 columns of two
// int16) is one ZMM word.

// One row of A (a broadcast int16 pair at ADDR) times the panels' pair
// rows Z12, Z13 into ACC0, ACC1.
#define QGZ_ROW32(ADDR, ACC0, ACC1) \
	VPBROADCASTD ADDR, Z14      \
	VPMADDWD     Z12, Z14, Z15  \
	VPADDD       Z15, ACC0, ACC0 \
	VPMADDWD     Z13, Z14, Z15  \
	VPADDD       Z15, ACC1, ACC1

// func qgemm6x32z(k2 int, a *int16, lda int, b *int16, bstep int, c *int32, ldc int, bias *int32)
//
// C[6x32] = bias + A*B over k2 pairs of k: A rows int16, lda elements
// apart; b two adjacent panels of qPanels (the second bstep int16 after
// the first); bias 32 int32; C rows ldc int32 apart.
TEXT ·qgemm6x32z(SB), NOSPLIT, $0-64
	MOVQ      k2+0(FP), CX
	MOVQ      a+8(FP), R8
	MOVQ      lda+16(FP), R9
	SHLQ      $1, R9
	LEAQ      (R8)(R9*2), R10
	ADDQ      R9, R10
	MOVQ      b+24(FP), BX
	MOVQ      bstep+32(FP), DX
	SHLQ      $1, DX
	MOVQ      bias+56(FP), AX
	VMOVDQU32 (AX), Z0
	VMOVDQU32 64(AX), Z1
	QD_SPREAD32
	TESTQ     CX, CX
	JLE       qgz32done

qgz32loop:
	VMOVDQU32 (BX), Z12
	VMOVDQU32 (BX)(DX*1), Z13
	QGZ_ROW32((R8), Z0, Z1)
	QGZ_ROW32((R8)(R9*1), Z2, Z3)
	QGZ_ROW32((R8)(R9*2), Z4, Z5)
	QGZ_ROW32((R10), Z6, Z7)
	QGZ_ROW32((R10)(R9*1), Z8, Z9)
	QGZ_ROW32((R10)(R9*2), Z10, Z11)
	ADDQ      $4, R8
	ADDQ      $4, R10
	ADDQ      $64, BX
	DECQ      CX
	JNZ       qgz32loop

qgz32done:
	MOVQ      c+40(FP), DI
	MOVQ      ldc+48(FP), SI
	QD_STORE32
	VZEROUPPER
	RET

#define QGZ_ROW16(ADDR, ACC) \
	VPBROADCASTD ADDR, Z14    \
	VPMADDWD     Z12, Z14, Z15 \
	VPADDD       Z15, ACC, ACC

// func qgemm6x16z(k2 int, a *int16, lda int, b *int16, c *int32, ldc int, bias *int32)
//
// qgemm6x32z for one panel.
TEXT ·qgemm6x16z(SB), NOSPLIT, $0-56
	MOVQ      k2+0(FP), CX
	MOVQ      a+8(FP), R8
	MOVQ      lda+16(FP), R9
	SHLQ      $1, R9
	LEAQ      (R8)(R9*2), R10
	ADDQ      R9, R10
	MOVQ      b+24(FP), BX
	MOVQ      bias+48(FP), AX
	VMOVDQU32 (AX), Z0
	QD_SPREAD16
	TESTQ     CX, CX
	JLE       qgz16done

qgz16loop:
	VMOVDQU32 (BX), Z12
	QGZ_ROW16((R8), Z0)
	QGZ_ROW16((R8)(R9*1), Z1)
	QGZ_ROW16((R8)(R9*2), Z2)
	QGZ_ROW16((R10), Z3)
	QGZ_ROW16((R10)(R9*1), Z4)
	QGZ_ROW16((R10)(R9*2), Z5)
	ADDQ      $4, R8
	ADDQ      $4, R10
	ADDQ      $64, BX
	DECQ      CX
	JNZ       qgz16loop

qgz16done:
	MOVQ      c+32(FP), DI
	MOVQ      ldc+40(FP), SI
	QD_STORE16
	VZEROUPPER
	RET
