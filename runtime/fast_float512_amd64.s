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
