//go:build amd64 && !purego

#include "textflag.h"

// AVX2 float32 kernels. Declarations and the contracts they follow are
// in fast_simd_amd64.go. Register use: Y0..Y11 accumulators or weights,
// Y12..Y15 operands; every function ends with VZEROUPPER so that SSE code
// after it pays no transition penalty.

// func cpuidex(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuidex(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xcr0() uint32
TEXT ·xcr0(SB), NOSPLIT, $0-4
	MOVL $0, CX
	XGETBV
	MOVL AX, ret+0(FP)
	RET

// func sgemm6x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)
//
// The reference kernels' arithmetic exactly (float_conv.go): each sum
// starts from zero and adds the products in k order, every product rounded
// to float32 first (VMULPS then VADDPS: no FMA), then the bias, then the
// clamp. Multiplies and adds issue on different ports, so this costs no
// throughput against FMA; twelve independent accumulators hide the adds'
// latency.
TEXT ·sgemm6x16(SB), NOSPLIT, $0-64
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), R8
	MOVQ   lda+16(FP), R9
	SHLQ   $2, R9
	LEAQ   (R8)(R9*2), R10
	ADDQ   R9, R10
	MOVQ   b+24(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	TESTQ  CX, CX
	JLE    g16done

g16loop:
	VMOVUPS      (BX), Y12
	VMOVUPS      32(BX), Y13
	VBROADCASTSS (R8), Y14
	VMULPS       Y12, Y14, Y15
	VMULPS       Y13, Y14, Y14
	VADDPS       Y15, Y0, Y0
	VADDPS       Y14, Y1, Y1
	VBROADCASTSS (R8)(R9*1), Y14
	VMULPS       Y12, Y14, Y15
	VMULPS       Y13, Y14, Y14
	VADDPS       Y15, Y2, Y2
	VADDPS       Y14, Y3, Y3
	VBROADCASTSS (R8)(R9*2), Y14
	VMULPS       Y12, Y14, Y15
	VMULPS       Y13, Y14, Y14
	VADDPS       Y15, Y4, Y4
	VADDPS       Y14, Y5, Y5
	VBROADCASTSS (R10), Y14
	VMULPS       Y12, Y14, Y15
	VMULPS       Y13, Y14, Y14
	VADDPS       Y15, Y6, Y6
	VADDPS       Y14, Y7, Y7
	VBROADCASTSS (R10)(R9*1), Y14
	VMULPS       Y12, Y14, Y15
	VMULPS       Y13, Y14, Y14
	VADDPS       Y15, Y8, Y8
	VADDPS       Y14, Y9, Y9
	VBROADCASTSS (R10)(R9*2), Y14
	VMULPS       Y12, Y14, Y15
	VMULPS       Y13, Y14, Y14
	VADDPS       Y15, Y10, Y10
	VADDPS       Y14, Y11, Y11
	ADDQ         $4, R8
	ADDQ         $4, R10
	ADDQ         $64, BX
	DECQ         CX
	JNZ          g16loop

g16done:
	// + bias, then the clamp with the accumulator as the second source:
	// VMAXPS/VMINPS return it when either operand is NaN, so NaN
	// propagates as Go's min and max do.
	MOVQ         bias+48(FP), AX
	VMOVUPS      (AX), Y12
	VMOVUPS      32(AX), Y13
	VADDPS       Y12, Y0, Y0
	VADDPS       Y13, Y1, Y1
	VADDPS       Y12, Y2, Y2
	VADDPS       Y13, Y3, Y3
	VADDPS       Y12, Y4, Y4
	VADDPS       Y13, Y5, Y5
	VADDPS       Y12, Y6, Y6
	VADDPS       Y13, Y7, Y7
	VADDPS       Y12, Y8, Y8
	VADDPS       Y13, Y9, Y9
	VADDPS       Y12, Y10, Y10
	VADDPS       Y13, Y11, Y11
	VBROADCASTSS lo+56(FP), Y12
	VBROADCASTSS hi+60(FP), Y13
	VMAXPS       Y0, Y12, Y0
	VMAXPS       Y1, Y12, Y1
	VMAXPS       Y2, Y12, Y2
	VMAXPS       Y3, Y12, Y3
	VMAXPS       Y4, Y12, Y4
	VMAXPS       Y5, Y12, Y5
	VMAXPS       Y6, Y12, Y6
	VMAXPS       Y7, Y12, Y7
	VMAXPS       Y8, Y12, Y8
	VMAXPS       Y9, Y12, Y9
	VMAXPS       Y10, Y12, Y10
	VMAXPS       Y11, Y12, Y11
	VMINPS       Y0, Y13, Y0
	VMINPS       Y1, Y13, Y1
	VMINPS       Y2, Y13, Y2
	VMINPS       Y3, Y13, Y3
	VMINPS       Y4, Y13, Y4
	VMINPS       Y5, Y13, Y5
	VMINPS       Y6, Y13, Y6
	VMINPS       Y7, Y13, Y7
	VMINPS       Y8, Y13, Y8
	VMINPS       Y9, Y13, Y9
	VMINPS       Y10, Y13, Y10
	VMINPS       Y11, Y13, Y11
	MOVQ         c+32(FP), DI
	MOVQ         ldc+40(FP), SI
	SHLQ         $2, SI
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	ADDQ         SI, DI
	VMOVUPS      Y2, (DI)
	VMOVUPS      Y3, 32(DI)
	ADDQ         SI, DI
	VMOVUPS      Y4, (DI)
	VMOVUPS      Y5, 32(DI)
	ADDQ         SI, DI
	VMOVUPS      Y6, (DI)
	VMOVUPS      Y7, 32(DI)
	ADDQ         SI, DI
	VMOVUPS      Y8, (DI)
	VMOVUPS      Y9, 32(DI)
	ADDQ         SI, DI
	VMOVUPS      Y10, (DI)
	VMOVUPS      Y11, 32(DI)
	VZEROUPPER
	RET

// func sgemm6x8(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)
//
// sgemm6x16 for a panel of 8 columns.
TEXT ·sgemm6x8(SB), NOSPLIT, $0-64
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), R8
	MOVQ   lda+16(FP), R9
	SHLQ   $2, R9
	LEAQ   (R8)(R9*2), R10
	ADDQ   R9, R10
	MOVQ   b+24(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	TESTQ  CX, CX
	JLE    g8done

g8loop:
	VMOVUPS      (BX), Y12
	VBROADCASTSS (R8), Y14
	VMULPS       Y12, Y14, Y14
	VADDPS       Y14, Y0, Y0
	VBROADCASTSS (R8)(R9*1), Y15
	VMULPS       Y12, Y15, Y15
	VADDPS       Y15, Y1, Y1
	VBROADCASTSS (R8)(R9*2), Y14
	VMULPS       Y12, Y14, Y14
	VADDPS       Y14, Y2, Y2
	VBROADCASTSS (R10), Y15
	VMULPS       Y12, Y15, Y15
	VADDPS       Y15, Y3, Y3
	VBROADCASTSS (R10)(R9*1), Y14
	VMULPS       Y12, Y14, Y14
	VADDPS       Y14, Y4, Y4
	VBROADCASTSS (R10)(R9*2), Y15
	VMULPS       Y12, Y15, Y15
	VADDPS       Y15, Y5, Y5
	ADDQ         $4, R8
	ADDQ         $4, R10
	ADDQ         $32, BX
	DECQ         CX
	JNZ          g8loop

g8done:
	MOVQ         bias+48(FP), AX
	VMOVUPS      (AX), Y12
	VADDPS       Y12, Y0, Y0
	VADDPS       Y12, Y1, Y1
	VADDPS       Y12, Y2, Y2
	VADDPS       Y12, Y3, Y3
	VADDPS       Y12, Y4, Y4
	VADDPS       Y12, Y5, Y5
	VBROADCASTSS lo+56(FP), Y12
	VBROADCASTSS hi+60(FP), Y13
	VMAXPS       Y0, Y12, Y0
	VMAXPS       Y1, Y12, Y1
	VMAXPS       Y2, Y12, Y2
	VMAXPS       Y3, Y12, Y3
	VMAXPS       Y4, Y12, Y4
	VMAXPS       Y5, Y12, Y5
	VMINPS       Y0, Y13, Y0
	VMINPS       Y1, Y13, Y1
	VMINPS       Y2, Y13, Y2
	VMINPS       Y3, Y13, Y3
	VMINPS       Y4, Y13, Y4
	VMINPS       Y5, Y13, Y5
	MOVQ         c+32(FP), DI
	MOVQ         ldc+40(FP), SI
	SHLQ         $2, SI
	VMOVUPS      Y0, (DI)
	ADDQ         SI, DI
	VMOVUPS      Y1, (DI)
	ADDQ         SI, DI
	VMOVUPS      Y2, (DI)
	ADDQ         SI, DI
	VMOVUPS      Y3, (DI)
	ADDQ         SI, DI
	VMOVUPS      Y4, (DI)
	ADDQ         SI, DI
	VMOVUPS      Y5, (DI)
	VZEROUPPER
	RET

// func dw3x3Pix2(out, in0, in1, in2, wb *float32, pairs, blocks, xStep, tapStep int, lo, hi float32)
//
// Two adjacent output pixels per step, channel blocks of 8 inside, so that
// each pixel's taps are read as contiguous runs and each tap weight loaded
// serves both pixels. wb packs each block's nine tap weights and its bias:
// [blocks][10][8] floats. Output pixels are contiguous (blocks*8 floats
// apart). The arithmetic is the reference kernel's: from zero, the nine
// rounded products added in tap order, then the bias, then the clamp.
#define DW2TAP(WOFF, A, B) \
	VMOVUPS WOFF(SI), Y12 \
	VMULPS  A, Y12, Y13   \
	VMULPS  B, Y12, Y12   \
	VADDPS  Y13, Y0, Y0   \
	VADDPS  Y12, Y3, Y3

TEXT ·dw3x3Pix2(SB), NOSPLIT, $0-80
	MOVQ pairs+40(FP), DX
	TESTQ DX, DX
	JLE   d2end
	MOVQ out+0(FP), R14
	MOVQ in0+8(FP), AX
	MOVQ in1+16(FP), BX
	MOVQ in2+24(FP), R13
	MOVQ xStep+56(FP), R11
	SHLQ $2, R11
	LEAQ (AX)(R11*1), R8
	LEAQ (BX)(R11*1), R9
	LEAQ (R13)(R11*1), R10
	MOVQ tapStep+64(FP), R12
	SHLQ $2, R12
	MOVQ blocks+48(FP), DI
	SHLQ $5, DI                // C4: bytes per pixel
	SHLQ $1, R11
	SUBQ DI, R11               // pointer step from one pair to the next
	VBROADCASTSS lo+72(FP), Y14
	VBROADCASTSS hi+76(FP), Y15

d2pair:
	MOVQ wb+32(FP), SI
	MOVQ blocks+48(FP), CX

d2block:
	VXORPS  Y0, Y0, Y0
	VXORPS  Y3, Y3, Y3
	DW2TAP(0, (AX), (R8))
	DW2TAP(32, (AX)(R12*1), (R8)(R12*1))
	DW2TAP(64, (AX)(R12*2), (R8)(R12*2))
	DW2TAP(96, (BX), (R9))
	DW2TAP(128, (BX)(R12*1), (R9)(R12*1))
	DW2TAP(160, (BX)(R12*2), (R9)(R12*2))
	DW2TAP(192, (R13), (R10))
	DW2TAP(224, (R13)(R12*1), (R10)(R12*1))
	DW2TAP(256, (R13)(R12*2), (R10)(R12*2))
	VMOVUPS 288(SI), Y12
	VADDPS  Y12, Y0, Y0
	VADDPS  Y12, Y3, Y3
	VMAXPS  Y0, Y14, Y0
	VMAXPS  Y3, Y14, Y3
	VMINPS  Y0, Y15, Y0
	VMINPS  Y3, Y15, Y3
	VMOVUPS Y0, (R14)
	VMOVUPS Y3, (R14)(DI*1)
	ADDQ    $320, SI
	ADDQ    $32, AX
	ADDQ    $32, BX
	ADDQ    $32, R13
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, R14
	DECQ    CX
	JNZ     d2block
	ADDQ    R11, AX
	ADDQ    R11, BX
	ADDQ    R11, R13
	ADDQ    R11, R8
	ADDQ    R11, R9
	ADDQ    R11, R10
	ADDQ    DI, R14
	DECQ    DX
	JNZ     d2pair

d2end:
	VZEROUPPER
	RET

// func dw3x3Taps(out *float32, taps *[9]*float32, wb *float32, blocks int, lo, hi float32)
//
// One output pixel whose nine taps are given one by one (a tap in the
// padding points at zeros, whose products add nothing): the border pixels
// and odd leftovers of a row. Same arithmetic as dw3x3Pix2.
#define DWTAP(P, WOFF) \
	VMOVUPS (P), Y1      \
	VMULPS  WOFF(SI), Y1, Y1 \
	VADDPS  Y1, Y0, Y0

TEXT ·dw3x3Taps(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), R14
	MOVQ taps+8(FP), SI
	MOVQ 0(SI), AX
	MOVQ 8(SI), BX
	MOVQ 16(SI), CX
	MOVQ 24(SI), DX
	MOVQ 32(SI), DI
	MOVQ 40(SI), R8
	MOVQ 48(SI), R9
	MOVQ 56(SI), R10
	MOVQ 64(SI), R11
	MOVQ wb+16(FP), SI
	MOVQ blocks+24(FP), R12
	TESTQ R12, R12
	JLE   dtend
	VBROADCASTSS lo+32(FP), Y14
	VBROADCASTSS hi+36(FP), Y15

dtblock:
	VXORPS  Y0, Y0, Y0
	DWTAP(AX, 0)
	DWTAP(BX, 32)
	DWTAP(CX, 64)
	DWTAP(DX, 96)
	DWTAP(DI, 128)
	DWTAP(R8, 160)
	DWTAP(R9, 192)
	DWTAP(R10, 224)
	DWTAP(R11, 256)
	VADDPS  288(SI), Y0, Y0
	VMAXPS  Y0, Y14, Y0
	VMINPS  Y0, Y15, Y0
	VMOVUPS Y0, (R14)
	ADDQ    $320, SI
	ADDQ    $32, AX
	ADDQ    $32, BX
	ADDQ    $32, CX
	ADDQ    $32, DX
	ADDQ    $32, DI
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, R11
	ADDQ    $32, R14
	DECQ    R12
	JNZ     dtblock

dtend:
	VZEROUPPER
	RET

// func sgemv16(k int, a *float32, b *float32, c *float32, bias *float32, lo, hi float32)
//
// One row of sgemm6x16, same arithmetic: c[0:16] = clamp(sum in k order of
// rounded products, then + bias). Two accumulators (the panel's two halves)
// carry the dependency chain; unrolled by two to halve loop overhead.
TEXT ·sgemv16(SB), NOSPLIT, $0-48
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ   CX, DX
	SHRQ   $1, DX
	JZ     sv16tail

sv16loop:
	VBROADCASTSS (SI), Y8
	VMULPS       (BX), Y8, Y2
	VMULPS       32(BX), Y8, Y3
	VADDPS       Y2, Y0, Y0
	VADDPS       Y3, Y1, Y1
	VBROADCASTSS 4(SI), Y9
	VMULPS       64(BX), Y9, Y4
	VMULPS       96(BX), Y9, Y5
	VADDPS       Y4, Y0, Y0
	VADDPS       Y5, Y1, Y1
	ADDQ         $8, SI
	ADDQ         $128, BX
	DECQ         DX
	JNZ          sv16loop

sv16tail:
	ANDQ $1, CX
	JZ   sv16done
	VBROADCASTSS (SI), Y8
	VMULPS       (BX), Y8, Y2
	VMULPS       32(BX), Y8, Y3
	VADDPS       Y2, Y0, Y0
	VADDPS       Y3, Y1, Y1

sv16done:
	MOVQ         bias+32(FP), AX
	VADDPS       (AX), Y0, Y0
	VADDPS       32(AX), Y1, Y1
	VBROADCASTSS lo+40(FP), Y12
	VBROADCASTSS hi+44(FP), Y13
	VMAXPS       Y0, Y12, Y0
	VMAXPS       Y1, Y12, Y1
	VMINPS       Y0, Y13, Y0
	VMINPS       Y1, Y13, Y1
	MOVQ         c+24(FP), DI
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	VZEROUPPER
	RET

// func vaddF32(y, a, b *float32, n int)
//
// y[i] = a[i] + b[i] for n floats, n a multiple of 8: VADDPS with a as the
// first source, the rounding (and NaN) of Go's a + b. y may be a or b.
TEXT ·vaddF32(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	MOVQ CX, AX
	SHRQ $2, AX
	JZ   va8

va32:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VADDPS  (DX), Y0, Y0
	VADDPS  32(DX), Y1, Y1
	VADDPS  64(DX), Y2, Y2
	VADDPS  96(DX), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DX
	ADDQ    $128, DI
	DECQ    AX
	JNZ     va32

va8:
	ANDQ $3, CX
	JZ   vadone

va8loop:
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     va8loop

vadone:
	VZEROUPPER
	RET
