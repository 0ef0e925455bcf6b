//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 float32 kernels (ZMM, 16 floats a register). Declarations and
// contracts in fast_avx512_amd64.go. The arithmetic is that of the AVX2
// kernels and the reference (float_conv.go): each sum from zero, products
// rounded to float32 and added in k (or tap) order (VMULPS then VADDPS,
// never FMA), then the bias, then the clamp with the sum as the second
// source so that NaN propagates.

// One row of sgemm6x32z: broadcast A, two products, two sums.
#define ROW32(ADDR, ACC0, ACC1) \
	VBROADCASTSS ADDR, Z14    \
	VMULPS       Z12, Z14, Z15 \
	VMULPS       Z13, Z14, Z16 \
	VADDPS       Z15, ACC0, ACC0 \
	VADDPS       Z16, ACC1, ACC1

// Bias, clamp, store of one 32-wide row.
#define OUT32(ACC0, ACC1) \
	VADDPS  Z12, ACC0, ACC0 \
	VADDPS  Z13, ACC1, ACC1 \
	VMAXPS  ACC0, Z14, ACC0 \
	VMAXPS  ACC1, Z14, ACC1 \
	VMINPS  ACC0, Z15, ACC0 \
	VMINPS  ACC1, Z15, ACC1 \
	VMOVUPS ACC0, (DI)      \
	VMOVUPS ACC1, 64(DI)    \
	ADDQ    SI, DI

// func sgemm6x32z(k int, a *float32, lda int, b *float32, bstep int, c *float32, ldc int, bias *float32, lo, hi float32)
//
// C[6x32] = clamp(bias + A*B): two adjacent 16-column panels, the second
// bstep floats after the first; bias holds 32 floats.
TEXT ·sgemm6x32z(SB), NOSPLIT, $0-72
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), R8
	MOVQ   lda+16(FP), R9
	SHLQ   $2, R9
	LEAQ   (R8)(R9*2), R10
	ADDQ   R9, R10
	MOVQ   b+24(FP), BX
	MOVQ   bstep+32(FP), DX
	SHLQ   $2, DX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	TESTQ  CX, CX
	JLE    z32done

z32loop:
	VMOVUPS (BX), Z12
	VMOVUPS (BX)(DX*1), Z13
	ROW32((R8), Z0, Z1)
	ROW32((R8)(R9*1), Z2, Z3)
	ROW32((R8)(R9*2), Z4, Z5)
	ROW32((R10), Z6, Z7)
	ROW32((R10)(R9*1), Z8, Z9)
	ROW32((R10)(R9*2), Z10, Z11)
	ADDQ    $4, R8
	ADDQ    $4, R10
	ADDQ    $64, BX
	DECQ    CX
	JNZ     z32loop

z32done:
	MOVQ         bias+56(FP), AX
	VMOVUPS      (AX), Z12
	VMOVUPS      64(AX), Z13
	VBROADCASTSS lo+64(FP), Z14
	VBROADCASTSS hi+68(FP), Z15
	MOVQ         c+40(FP), DI
	MOVQ         ldc+48(FP), SI
	SHLQ         $2, SI
	OUT32(Z0, Z1)
	OUT32(Z2, Z3)
	OUT32(Z4, Z5)
	OUT32(Z6, Z7)
	OUT32(Z8, Z9)
	OUT32(Z10, Z11)
	VZEROUPPER
	RET

// The tall tiles: twelve rows in 24 (or 12) ZMM accumulators, Z24-Z25 the
// B vectors, Z26-Z31 temporaries. Same arithmetic per output as the 6-row
// tiles; twice the rows per B load and per call.

// One row of sgemm12x32z: broadcast A, two products, two sums.
#define ROW32T(ADDR, ACC0, ACC1, T0, T1, T2) \
	VBROADCASTSS ADDR, T0      \
	VMULPS       Z24, T0, T1   \
	VMULPS       Z25, T0, T2   \
	VADDPS       T1, ACC0, ACC0 \
	VADDPS       T2, ACC1, ACC1

// Bias (Z24, Z25), clamp (Z26 lo, Z27 hi), store of one 32-wide row.
#define OUT32T(ACC0, ACC1) \
	VADDPS  Z24, ACC0, ACC0 \
	VADDPS  Z25, ACC1, ACC1 \
	VMAXPS  ACC0, Z26, ACC0 \
	VMAXPS  ACC1, Z26, ACC1 \
	VMINPS  ACC0, Z27, ACC0 \
	VMINPS  ACC1, Z27, ACC1 \
	VMOVUPS ACC0, (DI)      \
	VMOVUPS ACC1, 64(DI)    \
	ADDQ    SI, DI

// Twelve row pointers in four registers: R8 rows 0-2, R10 rows 3-5, R11
// rows 6-8, R12 rows 9-11 (each plus 0, lda, 2*lda); R9 = lda in bytes.
#define ROWS12(AOFF, LDAOFF) \
	MOVQ a+AOFF(FP), R8          \
	MOVQ lda+LDAOFF(FP), R9      \
	SHLQ $2, R9                  \
	LEAQ (R8)(R9*2), R10         \
	ADDQ R9, R10                 \
	LEAQ (R10)(R9*2), R11        \
	ADDQ R9, R11                 \
	LEAQ (R11)(R9*2), R12        \
	ADDQ R9, R12

#define ZERO24 \
	VXORPS Z0, Z0, Z0    \
	VXORPS Z1, Z1, Z1    \
	VXORPS Z2, Z2, Z2    \
	VXORPS Z3, Z3, Z3    \
	VXORPS Z4, Z4, Z4    \
	VXORPS Z5, Z5, Z5    \
	VXORPS Z6, Z6, Z6    \
	VXORPS Z7, Z7, Z7    \
	VXORPS Z8, Z8, Z8    \
	VXORPS Z9, Z9, Z9    \
	VXORPS Z10, Z10, Z10 \
	VXORPS Z11, Z11, Z11 \
	VXORPS Z12, Z12, Z12 \
	VXORPS Z13, Z13, Z13 \
	VXORPS Z14, Z14, Z14 \
	VXORPS Z15, Z15, Z15 \
	VXORPS Z16, Z16, Z16 \
	VXORPS Z17, Z17, Z17 \
	VXORPS Z18, Z18, Z18 \
	VXORPS Z19, Z19, Z19 \
	VXORPS Z20, Z20, Z20 \
	VXORPS Z21, Z21, Z21 \
	VXORPS Z22, Z22, Z22 \
	VXORPS Z23, Z23, Z23

#define EPI32T \
	MOVQ         bias+56(FP), AX \
	VMOVUPS      (AX), Z24       \
	VMOVUPS      64(AX), Z25     \
	VBROADCASTSS lo+64(FP), Z26  \
	VBROADCASTSS hi+68(FP), Z27  \
	MOVQ         c+40(FP), DI    \
	MOVQ         ldc+48(FP), SI  \
	SHLQ         $2, SI          \
	OUT32T(Z0, Z1)               \
	OUT32T(Z2, Z3)               \
	OUT32T(Z4, Z5)               \
	OUT32T(Z6, Z7)               \
	OUT32T(Z8, Z9)               \
	OUT32T(Z10, Z11)             \
	OUT32T(Z12, Z13)             \
	OUT32T(Z14, Z15)             \
	OUT32T(Z16, Z17)             \
	OUT32T(Z18, Z19)             \
	OUT32T(Z20, Z21)             \
	OUT32T(Z22, Z23)

// The twelve rows of one k step of sgemm12x32z.
#define STEP32T \
	ROW32T((R8), Z0, Z1, Z26, Z27, Z28)          \
	ROW32T((R8)(R9*1), Z2, Z3, Z29, Z30, Z31)    \
	ROW32T((R8)(R9*2), Z4, Z5, Z26, Z27, Z28)    \
	ROW32T((R10), Z6, Z7, Z29, Z30, Z31)         \
	ROW32T((R10)(R9*1), Z8, Z9, Z26, Z27, Z28)   \
	ROW32T((R10)(R9*2), Z10, Z11, Z29, Z30, Z31) \
	ROW32T((R11), Z12, Z13, Z26, Z27, Z28)       \
	ROW32T((R11)(R9*1), Z14, Z15, Z29, Z30, Z31) \
	ROW32T((R11)(R9*2), Z16, Z17, Z26, Z27, Z28) \
	ROW32T((R12), Z18, Z19, Z29, Z30, Z31)       \
	ROW32T((R12)(R9*1), Z20, Z21, Z26, Z27, Z28) \
	ROW32T((R12)(R9*2), Z22, Z23, Z29, Z30, Z31) \
	ADDQ $4, R8                                  \
	ADDQ $4, R10                                 \
	ADDQ $4, R11                                 \
	ADDQ $4, R12

// func sgemm12x32z(k int, a *float32, lda int, b *float32, bstep int, c *float32, ldc int, bias *float32, lo, hi float32, next *float32)
//
// sgemm6x32z for twelve rows: C[12x32] = clamp(bias + A*B). Unless next is
// nil, it asks for the two panels at next (bstep floats apart) in cache
// while it streams its own: the driver passes the next pair on the first
// rows of a pair, so that a 7x7 layer's weights, which come from memory
// and serve few rows each, arrive ahead of their use.
TEXT ·sgemm12x32z(SB), NOSPLIT, $0-80
	MOVQ  k+0(FP), CX
	ROWS12(8, 16)
	MOVQ  b+24(FP), BX
	MOVQ  bstep+32(FP), DX
	SHLQ  $2, DX
	MOVQ  next+72(FP), R13
	ZERO24
	TESTQ CX, CX
	JLE   t32done
	TESTQ R13, R13
	JZ    t32loop

t32pf:
	VMOVUPS    (BX), Z24
	VMOVUPS    (BX)(DX*1), Z25
	PREFETCHT1 (R13)
	PREFETCHT1 (R13)(DX*1)
	STEP32T
	ADDQ       $64, BX
	ADDQ       $64, R13
	DECQ       CX
	JNZ        t32pf
	JMP        t32done

t32loop:
	VMOVUPS (BX), Z24
	VMOVUPS (BX)(DX*1), Z25
	STEP32T
	ADDQ    $64, BX
	DECQ    CX
	JNZ     t32loop

t32done:
	EPI32T
	VZEROUPPER
	RET

// One row of sgemm12x24z: a 16-wide product on ZMM, an 8-wide one on YMM.
#define ROW24T(ADDR, ACC0, ACC1, TZ, TY, T1, T2) \
	VBROADCASTSS ADDR, TZ       \
	VMULPS       Z24, TZ, T1    \
	VMULPS       Y25, TY, T2    \
	VADDPS       T1, ACC0, ACC0 \
	VADDPS       T2, ACC1, ACC1

#define OUT24T(ACC0, ACC1) \
	VADDPS  Z24, ACC0, ACC0 \
	VADDPS  Y25, ACC1, ACC1 \
	VMAXPS  ACC0, Z26, ACC0 \
	VMAXPS  ACC1, Y26, ACC1 \
	VMINPS  ACC0, Z27, ACC0 \
	VMINPS  ACC1, Y27, ACC1 \
	VMOVUPS ACC0, (DI)      \
	VMOVUPS ACC1, 64(DI)    \
	ADDQ    SI, DI

// func sgemm12x24z(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)
//
// Twelve rows by a full 16-wide panel and the 8-wide panel packed after it
// (k*16 floats on): C[12x24] = clamp(bias + A*B), bias 16 + 8 floats. Z0-Z11
// hold the 16 columns, Y12-Y23 the 8.
TEXT ·sgemm12x24z(SB), NOSPLIT, $0-64
	MOVQ  k+0(FP), CX
	ROWS12(8, 16)
	MOVQ  b+24(FP), BX
	MOVQ  CX, DX
	SHLQ  $6, DX
	ADDQ  BX, DX           // the 8-wide panel
	ZERO24
	TESTQ CX, CX
	JLE   t24done

t24loop:
	VMOVUPS (BX), Z24
	VMOVUPS (DX), Y25
	ROW24T((R8), Z0, Y12, Z26, Y26, Z27, Y28)
	ROW24T((R8)(R9*1), Z1, Y13, Z29, Y29, Z30, Y31)
	ROW24T((R8)(R9*2), Z2, Y14, Z26, Y26, Z27, Y28)
	ROW24T((R10), Z3, Y15, Z29, Y29, Z30, Y31)
	ROW24T((R10)(R9*1), Z4, Y16, Z26, Y26, Z27, Y28)
	ROW24T((R10)(R9*2), Z5, Y17, Z29, Y29, Z30, Y31)
	ROW24T((R11), Z6, Y18, Z26, Y26, Z27, Y28)
	ROW24T((R11)(R9*1), Z7, Y19, Z29, Y29, Z30, Y31)
	ROW24T((R11)(R9*2), Z8, Y20, Z26, Y26, Z27, Y28)
	ROW24T((R12), Z9, Y21, Z29, Y29, Z30, Y31)
	ROW24T((R12)(R9*1), Z10, Y22, Z26, Y26, Z27, Y28)
	ROW24T((R12)(R9*2), Z11, Y23, Z29, Y29, Z30, Y31)
	ADDQ    $4, R8
	ADDQ    $4, R10
	ADDQ    $4, R11
	ADDQ    $4, R12
	ADDQ    $64, BX
	ADDQ    $32, DX
	DECQ    CX
	JNZ     t24loop

t24done:
	MOVQ         bias+48(FP), AX
	VMOVUPS      (AX), Z24
	VMOVUPS      64(AX), Y25
	VBROADCASTSS lo+56(FP), Z26
	VBROADCASTSS hi+60(FP), Z27
	MOVQ         c+32(FP), DI
	MOVQ         ldc+40(FP), SI
	SHLQ         $2, SI
	OUT24T(Z0, Y12)
	OUT24T(Z1, Y13)
	OUT24T(Z2, Y14)
	OUT24T(Z3, Y15)
	OUT24T(Z4, Y16)
	OUT24T(Z5, Y17)
	OUT24T(Z6, Y18)
	OUT24T(Z7, Y19)
	OUT24T(Z8, Y20)
	OUT24T(Z9, Y21)
	OUT24T(Z10, Y22)
	OUT24T(Z11, Y23)
	VZEROUPPER
	RET

// One row of sgemm12x16z.
#define ROW16T(ADDR, ACC, T0, T1) \
	VBROADCASTSS ADDR, T0    \
	VMULPS       Z24, T0, T1 \
	VADDPS       T1, ACC, ACC

#define OUT16T(ACC) \
	VADDPS  Z24, ACC, ACC \
	VMAXPS  ACC, Z26, ACC \
	VMINPS  ACC, Z27, ACC \
	VMOVUPS ACC, (DI)     \
	ADDQ    SI, DI

// func sgemm12x16z(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)
//
// sgemm6x16z for twelve rows, one ZMM accumulator per row.
TEXT ·sgemm12x16z(SB), NOSPLIT, $0-64
	MOVQ   k+0(FP), CX
	ROWS12(8, 16)
	MOVQ   b+24(FP), BX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	TESTQ  CX, CX
	JLE    t16done

t16loop:
	VMOVUPS (BX), Z24
	ROW16T((R8), Z0, Z26, Z27)
	ROW16T((R8)(R9*1), Z1, Z28, Z29)
	ROW16T((R8)(R9*2), Z2, Z30, Z31)
	ROW16T((R10), Z3, Z26, Z27)
	ROW16T((R10)(R9*1), Z4, Z28, Z29)
	ROW16T((R10)(R9*2), Z5, Z30, Z31)
	ROW16T((R11), Z6, Z26, Z27)
	ROW16T((R11)(R9*1), Z7, Z28, Z29)
	ROW16T((R11)(R9*2), Z8, Z30, Z31)
	ROW16T((R12), Z9, Z26, Z27)
	ROW16T((R12)(R9*1), Z10, Z28, Z29)
	ROW16T((R12)(R9*2), Z11, Z30, Z31)
	ADDQ    $4, R8
	ADDQ    $4, R10
	ADDQ    $4, R11
	ADDQ    $4, R12
	ADDQ    $64, BX
	DECQ    CX
	JNZ     t16loop

t16done:
	MOVQ         bias+48(FP), AX
	VMOVUPS      (AX), Z24
	VBROADCASTSS lo+56(FP), Z26
	VBROADCASTSS hi+60(FP), Z27
	MOVQ         c+32(FP), DI
	MOVQ         ldc+40(FP), SI
	SHLQ         $2, SI
	OUT16T(Z0)
	OUT16T(Z1)
	OUT16T(Z2)
	OUT16T(Z3)
	OUT16T(Z4)
	OUT16T(Z5)
	OUT16T(Z6)
	OUT16T(Z7)
	OUT16T(Z8)
	OUT16T(Z9)
	OUT16T(Z10)
	OUT16T(Z11)
	VZEROUPPER
	RET

// One panel of sgemv64z: product and sum.
#define GEMV1Z(BADDR, ACC, T) \
	VMULPS BADDR, Z8, T \
	VADDPS T, ACC, ACC

#define OUT1Z(ACC, OFF) \
	VADDPS  OFF(AX), ACC, ACC \
	VMAXPS  ACC, Z14, ACC     \
	VMINPS  ACC, Z15, ACC     \
	VMOVUPS ACC, OFF(DI)

// func sgemv64z(k int, a *float32, b *float32, bstep int, c *float32, bias *float32, lo, hi float32)
//
// One row against four full panels (64 columns), the panels bstep floats
// apart: c[0:64] = clamp(bias + a*B). Four independent sums per k where
// sgemv16 has one, so a lone row (a tail, a fully connected layer) is not
// bound by the latency of one chain of additions.
TEXT ·sgemv64z(SB), NOSPLIT, $0-56
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), BX
	MOVQ   bstep+24(FP), DX
	SHLQ   $2, DX
	LEAQ   (BX)(DX*2), R8
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	TESTQ  CX, CX
	JLE    v64done

v64loop:
	VBROADCASTSS (SI), Z8
	GEMV1Z((BX), Z0, Z9)
	GEMV1Z((BX)(DX*1), Z1, Z10)
	GEMV1Z((R8), Z2, Z11)
	GEMV1Z((R8)(DX*1), Z3, Z12)
	ADDQ         $4, SI
	ADDQ         $64, BX
	ADDQ         $64, R8
	DECQ         CX
	JNZ          v64loop

v64done:
	MOVQ         bias+40(FP), AX
	VBROADCASTSS lo+48(FP), Z14
	VBROADCASTSS hi+52(FP), Z15
	MOVQ         c+32(FP), DI
	OUT1Z(Z0, 0)
	OUT1Z(Z1, 64)
	OUT1Z(Z2, 128)
	OUT1Z(Z3, 192)
	VZEROUPPER
	RET

#define ROW16(ADDR, ACC) \
	VBROADCASTSS ADDR, Z14     \
	VMULPS       Z12, Z14, Z15 \
	VADDPS       Z15, ACC, ACC

#define OUT16(ACC) \
	VADDPS  Z12, ACC, ACC  \
	VMAXPS  ACC, Z14, ACC  \
	VMINPS  ACC, Z15, ACC  \
	VMOVUPS ACC, (DI)      \
	ADDQ    SI, DI

// func sgemm6x16z(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)
//
// sgemm6x16 (fast_float_amd64.s) with one ZMM per row.
TEXT ·sgemm6x16z(SB), NOSPLIT, $0-64
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), R8
	MOVQ   lda+16(FP), R9
	SHLQ   $2, R9
	LEAQ   (R8)(R9*2), R10
	ADDQ   R9, R10
	MOVQ   b+24(FP), BX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	TESTQ  CX, CX
	JLE    z16done

z16loop:
	VMOVUPS (BX), Z12
	ROW16((R8), Z0)
	ROW16((R8)(R9*1), Z1)
	ROW16((R8)(R9*2), Z2)
	ROW16((R10), Z3)
	ROW16((R10)(R9*1), Z4)
	ROW16((R10)(R9*2), Z5)
	ADDQ    $4, R8
	ADDQ    $4, R10
	ADDQ    $64, BX
	DECQ    CX
	JNZ     z16loop

z16done:
	MOVQ         bias+48(FP), AX
	VMOVUPS      (AX), Z12
	VBROADCASTSS lo+56(FP), Z14
	VBROADCASTSS hi+60(FP), Z15
	MOVQ         c+32(FP), DI
	MOVQ         ldc+40(FP), SI
	SHLQ         $2, SI
	OUT16(Z0)
	OUT16(Z1)
	OUT16(Z2)
	OUT16(Z3)
	OUT16(Z4)
	OUT16(Z5)
	VZEROUPPER
	RET

// func dw3x3Pix2z(out, in0, in1, in2, wb *float32, pairs, blocks, xStep, tapStep int, lo, hi float32)
//
// dw3x3Pix2 (fast_float_amd64.s) with channel blocks of 16: wb is
// [blocks][10][16] (nine taps, then the bias).
#define DW2TAPZ(WOFF, A, B) \
	VMOVUPS WOFF(SI), Z12 \
	VMULPS  A, Z12, Z13   \
	VMULPS  B, Z12, Z12   \
	VADDPS  Z13, Z0, Z0   \
	VADDPS  Z12, Z3, Z3

TEXT ·dw3x3Pix2z(SB), NOSPLIT, $0-80
	MOVQ  pairs+40(FP), DX
	TESTQ DX, DX
	JLE   z2end
	MOVQ  out+0(FP), R14
	MOVQ  in0+8(FP), AX
	MOVQ  in1+16(FP), BX
	MOVQ  in2+24(FP), R13
	MOVQ  xStep+56(FP), R11
	SHLQ  $2, R11
	LEAQ  (AX)(R11*1), R8
	LEAQ  (BX)(R11*1), R9
	LEAQ  (R13)(R11*1), R10
	MOVQ  tapStep+64(FP), R12
	SHLQ  $2, R12
	MOVQ  blocks+48(FP), DI
	SHLQ  $6, DI                // bytes per pixel
	SHLQ  $1, R11
	SUBQ  DI, R11               // pointer step from one pair to the next
	VBROADCASTSS lo+72(FP), Z14
	VBROADCASTSS hi+76(FP), Z15

z2pair:
	MOVQ wb+32(FP), SI
	MOVQ blocks+48(FP), CX

z2block:
	VXORPS  Z0, Z0, Z0
	VXORPS  Z3, Z3, Z3
	DW2TAPZ(0, (AX), (R8))
	DW2TAPZ(64, (AX)(R12*1), (R8)(R12*1))
	DW2TAPZ(128, (AX)(R12*2), (R8)(R12*2))
	DW2TAPZ(192, (BX), (R9))
	DW2TAPZ(256, (BX)(R12*1), (R9)(R12*1))
	DW2TAPZ(320, (BX)(R12*2), (R9)(R12*2))
	DW2TAPZ(384, (R13), (R10))
	DW2TAPZ(448, (R13)(R12*1), (R10)(R12*1))
	DW2TAPZ(512, (R13)(R12*2), (R10)(R12*2))
	VMOVUPS 576(SI), Z12
	VADDPS  Z12, Z0, Z0
	VADDPS  Z12, Z3, Z3
	VMAXPS  Z0, Z14, Z0
	VMAXPS  Z3, Z14, Z3
	VMINPS  Z0, Z15, Z0
	VMINPS  Z3, Z15, Z3
	VMOVUPS Z0, (R14)
	VMOVUPS Z3, (R14)(DI*1)
	ADDQ    $640, SI
	ADDQ    $64, AX
	ADDQ    $64, BX
	ADDQ    $64, R13
	ADDQ    $64, R8
	ADDQ    $64, R9
	ADDQ    $64, R10
	ADDQ    $64, R14
	DECQ    CX
	JNZ     z2block
	ADDQ    R11, AX
	ADDQ    R11, BX
	ADDQ    R11, R13
	ADDQ    R11, R8
	ADDQ    R11, R9
	ADDQ    R11, R10
	ADDQ    DI, R14
	DECQ    DX
	JNZ     z2pair

z2end:
	VZEROUPPER
	RET

// func dw3x3TapsZ(out *float32, taps *[9]*float32, wb *float32, blocks int, lo, hi float32)
//
// dw3x3Taps with the [blocks][10][16] weights of dw3x3Pix2z.
#define DWTAPZ(P, WOFF) \
	VMOVUPS (P), Z1          \
	VMULPS  WOFF(SI), Z1, Z1 \
	VADDPS  Z1, Z0, Z0

TEXT ·dw3x3TapsZ(SB), NOSPLIT, $0-40
	MOVQ  out+0(FP), R14
	MOVQ  taps+8(FP), SI
	MOVQ  0(SI), AX
	MOVQ  8(SI), BX
	MOVQ  16(SI), CX
	MOVQ  24(SI), DX
	MOVQ  32(SI), DI
	MOVQ  40(SI), R8
	MOVQ  48(SI), R9
	MOVQ  56(SI), R10
	MOVQ  64(SI), R11
	MOVQ  wb+16(FP), SI
	MOVQ  blocks+24(FP), R12
	TESTQ R12, R12
	JLE   ztend
	VBROADCASTSS lo+32(FP), Z14
	VBROADCASTSS hi+36(FP), Z15

ztblock:
	VXORPS  Z0, Z0, Z0
	DWTAPZ(AX, 0)
	DWTAPZ(BX, 64)
	DWTAPZ(CX, 128)
	DWTAPZ(DX, 192)
	DWTAPZ(DI, 256)
	DWTAPZ(R8, 320)
	DWTAPZ(R9, 384)
	DWTAPZ(R10, 448)
	DWTAPZ(R11, 512)
	VADDPS  576(SI), Z0, Z0
	VMAXPS  Z0, Z14, Z0
	VMINPS  Z0, Z15, Z0
	VMOVUPS Z0, (R14)
	ADDQ    $640, SI
	ADDQ    $64, AX
	ADDQ    $64, BX
	ADDQ    $64, CX
	ADDQ    $64, DX
	ADDQ    $64, DI
	ADDQ    $64, R8
	ADDQ    $64, R9
	ADDQ    $64, R10
	ADDQ    $64, R11
	ADDQ    $64, R14
	DECQ    R12
	JNZ     ztblock

ztend:
	VZEROUPPER
	RET

// PD is how far ahead (bytes) each of the eight panel streams is prefetched:
// sixteen k steps.
#define PD 1024

// One k step of sgemv8z: broadcast x, eight products, eight sums.
#define GEMV8STEP(XADDR) \
	VBROADCASTSS XADDR, Z8             \
	PREFETCHT0   PD(BX)                \
	PREFETCHT0   PD(BX)(R9*1)          \
	PREFETCHT0   PD(R10)               \
	PREFETCHT0   PD(R10)(R9*1)         \
	PREFETCHT0   PD(R11)               \
	PREFETCHT0   PD(R11)(R9*1)         \
	PREFETCHT0   PD(R12)               \
	PREFETCHT0   PD(R12)(R9*1)         \
	VMULPS       (BX), Z8, Z9          \
	VMULPS       (BX)(R9*1), Z8, Z10   \
	VMULPS       (R10), Z8, Z11        \
	VMULPS       (R10)(R9*1), Z8, Z12  \
	VMULPS       (R11), Z8, Z13        \
	VMULPS       (R11)(R9*1), Z8, Z14  \
	VMULPS       (R12), Z8, Z15        \
	VMULPS       (R12)(R9*1), Z8, Z16  \
	VADDPS       Z9, Z0, Z0            \
	VADDPS       Z10, Z1, Z1           \
	VADDPS       Z11, Z2, Z2           \
	VADDPS       Z12, Z3, Z3           \
	VADDPS       Z13, Z4, Z4           \
	VADDPS       Z14, Z5, Z5           \
	VADDPS       Z15, Z6, Z6           \
	VADDPS       Z16, Z7, Z7           \
	ADDQ         DX, BX                \
	ADDQ         DX, R10               \
	ADDQ         DX, R11               \
	ADDQ         DX, R12

#define GEMV8OUT(ACC, OFF) \
	VADDPS  OFF(AX), ACC, ACC \
	VMAXPS  ACC, Z17, ACC     \
	VMINPS  ACC, Z18, ACC     \
	VMOVUPS ACC, OFF(DI)

// func sgemv8z(k int, x *float32, b *float32, pstride, kstep int, c *float32, bias *float32, lo, hi float32)
//
// One row against eight 16-column panels: c[0:128] = clamp(bias + x*B),
// panel i's k-th 16 weights at b + i*pstride + kk*kstep (floats); bias
// holds 128 floats. Same arithmetic as sgemv16 for every column: eight
// independent sums, each from zero in k order.
TEXT ·sgemv8z(SB), NOSPLIT, $0-64
	MOVQ   k+0(FP), CX
	MOVQ   x+8(FP), SI
	MOVQ   b+16(FP), BX
	MOVQ   pstride+24(FP), R9
	SHLQ   $2, R9
	MOVQ   kstep+32(FP), DX
	SHLQ   $2, DX
	LEAQ   (BX)(R9*2), R10
	LEAQ   (R10)(R9*2), R11
	LEAQ   (R11)(R9*2), R12
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	MOVQ   CX, R8
	SHRQ   $1, R8
	JZ     gv8tail

gv8loop:
	GEMV8STEP((SI))
	GEMV8STEP(4(SI))
	ADDQ $8, SI
	DECQ R8
	JNZ  gv8loop

gv8tail:
	ANDQ $1, CX
	JZ   gv8done
	GEMV8STEP((SI))

gv8done:
	MOVQ         bias+48(FP), AX
	VBROADCASTSS lo+56(FP), Z17
	VBROADCASTSS hi+60(FP), Z18
	MOVQ         c+40(FP), DI
	GEMV8OUT(Z0, 0)
	GEMV8OUT(Z1, 64)
	GEMV8OUT(Z2, 128)
	GEMV8OUT(Z3, 192)
	GEMV8OUT(Z4, 256)
	GEMV8OUT(Z5, 320)
	GEMV8OUT(Z6, 384)
	GEMV8OUT(Z7, 448)
	VZEROUPPER
	RET
