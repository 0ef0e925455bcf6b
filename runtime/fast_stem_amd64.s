//go:build amd64 && !purego

#include "textflag.h"

// The direct stem convolution's micro-kernels (fast_stem.go; declared in
// fast_stem_amd64.go): sgemm6x32z, sgemm6x16z, sgemm6x16 and sgemm6x8 with
// A read from the image. A pixel's k is kh runs of run floats, run s of
// pixel i at a + s*rstep + i*lda; blocks such blocks of six pixels, each
// 6*lda floats of a and 6*ldc of c after the one before. The arithmetic is
// the GEMM's: each sum from zero, the products rounded to float32 and
// added in k order (VMULPS then VADDPS, never FMA), then the bias, then
// the clamp with the sum as the second source so that NaN propagates.

// The run loop shared by all four: DI counts the kh runs, R12 holds run;
// the six pixels' current floats are at R8, R8+R9, R8+2*R9, R10, R10+R9,
// R10+2*R9 (R10 = R8+3*R9), AX is the first pixel's run, moving by rstep
// (R11). BODY is one k's broadcasts and products; it leaves B (BX) to the
// loop, which steps it by BSTEP bytes.
#define STEM_RUNS(BODY, BSTEP, RUN, LOOP, DONE) \
	TESTQ DI, DI              \
	JLE   DONE                \
RUN:                          \
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
	ADDQ  $BSTEP, BX          \
	DECQ  CX                  \
	JNZ   LOOP                \
	ADDQ  R11, AX             \
	DECQ  DI                  \
	JNZ   RUN                 \
DONE:

// The arguments every kernel starts with: R13 the current block's a, R9
// lda and R11 rstep in bytes, R12 run.
#define STEM_ARGS \
	MOVQ run+16(FP), R12   \
	MOVQ a+24(FP), R13     \
	MOVQ lda+32(FP), R9    \
	SHLQ $2, R9            \
	MOVQ rstep+40(FP), R11 \
	SHLQ $2, R11

// A block starts with kh runs to go, B from its start, AX at the block's a.
#define STEM_BLOCK \
	MOVQ kh+8(FP), DI \
	MOVQ b+48(FP), BX \
	MOVQ R13, AX

// The next block: c (DI, past the six stores) back to its argument, a
// six pixels on, and loop while blocks remain.
#define STEM_NEXT(CARG, LOOP) \
	MOVQ DI, CARG           \
	LEAQ (R13)(R9*4), R13   \
	LEAQ (R13)(R9*2), R13   \
	DECQ blocks+0(FP)       \
	JNZ  LOOP

// One pixel of a 32-wide k: broadcast, two products, two sums.
#define Z_ROW32(ADDR, ACC0, ACC1) \
	VBROADCASTSS ADDR, Z14     \
	VMULPS       Z12, Z14, Z15 \
	VMULPS       Z13, Z14, Z16 \
	VADDPS       Z15, ACC0, ACC0 \
	VADDPS       Z16, ACC1, ACC1

#define Z_BODY32 \
	VMOVUPS (BX), Z12            \
	VMOVUPS (BX)(DX*1), Z13      \
	Z_ROW32((R8), Z0, Z1)        \
	Z_ROW32((R8)(R9*1), Z2, Z3)  \
	Z_ROW32((R8)(R9*2), Z4, Z5)  \
	Z_ROW32((R10), Z6, Z7)       \
	Z_ROW32((R10)(R9*1), Z8, Z9) \
	Z_ROW32((R10)(R9*2), Z10, Z11)

// Bias, clamp, store of one pixel's 32 outputs.
#define Z_OUT32(ACC0, ACC1) \
	VADDPS  Z12, ACC0, ACC0 \
	VADDPS  Z13, ACC1, ACC1 \
	VMAXPS  ACC0, Z14, ACC0 \
	VMAXPS  ACC1, Z14, ACC1 \
	VMINPS  ACC0, Z15, ACC0 \
	VMINPS  ACC1, Z15, ACC1 \
	VMOVUPS ACC0, (DI)      \
	VMOVUPS ACC1, 64(DI)    \
	ADDQ    SI, DI

// func sconv6x32z(blocks, kh, run int, a *float32, lda, rstep int, b *float32, bstep int, c *float32, ldc int, bias *float32, lo, hi float32)
TEXT ·sconv6x32z(SB), NOSPLIT, $0-96
	STEM_ARGS
	MOVQ   bstep+56(FP), DX
	SHLQ   $2, DX
	CMPQ   blocks+0(FP), $0
	JLE    z32end

z32block:
	STEM_BLOCK
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
	STEM_RUNS(Z_BODY32, 64, z32run, z32loop, z32done)
	MOVQ         bias+80(FP), AX
	VMOVUPS      (AX), Z12
	VMOVUPS      64(AX), Z13
	VBROADCASTSS lo+88(FP), Z14
	VBROADCASTSS hi+92(FP), Z15
	MOVQ         c+64(FP), DI
	MOVQ         ldc+72(FP), SI
	SHLQ         $2, SI
	Z_OUT32(Z0, Z1)
	Z_OUT32(Z2, Z3)
	Z_OUT32(Z4, Z5)
	Z_OUT32(Z6, Z7)
	Z_OUT32(Z8, Z9)
	Z_OUT32(Z10, Z11)
	STEM_NEXT(c+64(FP), z32block)

z32end:
	VZEROUPPER
	RET

#define Z_ROW16(ADDR, ACC) \
	VBROADCASTSS ADDR, Z14     \
	VMULPS       Z12, Z14, Z15 \
	VADDPS       Z15, ACC, ACC

#define Z_BODY16 \
	VMOVUPS (BX), Z12       \
	Z_ROW16((R8), Z0)       \
	Z_ROW16((R8)(R9*1), Z1) \
	Z_ROW16((R8)(R9*2), Z2) \
	Z_ROW16((R10), Z3)      \
	Z_ROW16((R10)(R9*1), Z4) \
	Z_ROW16((R10)(R9*2), Z5)

#define Z_OUT16(ACC) \
	VADDPS  Z12, ACC, ACC \
	VMAXPS  ACC, Z14, ACC \
	VMINPS  ACC, Z15, ACC \
	VMOVUPS ACC, (DI)     \
	ADDQ    SI, DI

// func sconv6x16z(blocks, kh, run int, a *float32, lda, rstep int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)
TEXT ·sconv6x16z(SB), NOSPLIT, $0-88
	STEM_ARGS
	CMPQ   blocks+0(FP), $0
	JLE    z16end

z16block:
	STEM_BLOCK
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	STEM_RUNS(Z_BODY16, 64, z16run, z16loop, z16done)
	MOVQ         bias+72(FP), AX
	VMOVUPS      (AX), Z12
	VBROADCASTSS lo+80(FP), Z14
	VBROADCASTSS hi+84(FP), Z15
	MOVQ         c+56(FP), DI
	MOVQ         ldc+64(FP), SI
	SHLQ         $2, SI
	Z_OUT16(Z0)
	Z_OUT16(Z1)
	Z_OUT16(Z2)
	Z_OUT16(Z3)
	Z_OUT16(Z4)
	Z_OUT16(Z5)
	STEM_NEXT(c+56(FP), z16block)

z16end:
	VZEROUPPER
	RET

#define Y_ROW16(ADDR, ACC0, ACC1) \
	VBROADCASTSS ADDR, Y14     \
	VMULPS       Y12, Y14, Y15 \
	VMULPS       Y13, Y14, Y14 \
	VADDPS       Y15, ACC0, ACC0 \
	VADDPS       Y14, ACC1, ACC1

#define Y_BODY16 \
	VMOVUPS 32(BX), Y13          \
	VMOVUPS (BX), Y12            \
	Y_ROW16((R8), Y0, Y1)        \
	Y_ROW16((R8)(R9*1), Y2, Y3)  \
	Y_ROW16((R8)(R9*2), Y4, Y5)  \
	Y_ROW16((R10), Y6, Y7)       \
	Y_ROW16((R10)(R9*1), Y8, Y9) \
	Y_ROW16((R10)(R9*2), Y10, Y11)

#define Y_OUT16(ACC0, ACC1) \
	VADDPS  Y12, ACC0, ACC0 \
	VADDPS  Y13, ACC1, ACC1 \
	VMAXPS  ACC0, Y14, ACC0 \
	VMAXPS  ACC1, Y14, ACC1 \
	VMINPS  ACC0, Y15, ACC0 \
	VMINPS  ACC1, Y15, ACC1 \
	VMOVUPS ACC0, (DI)      \
	VMOVUPS ACC1, 32(DI)    \
	ADDQ    SI, DI

// func sconv6x16(blocks, kh, run int, a *float32, lda, rstep int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)
TEXT ·sconv6x16(SB), NOSPLIT, $0-88
	STEM_ARGS
	CMPQ   blocks+0(FP), $0
	JLE    y16end

y16block:
	STEM_BLOCK
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
	STEM_RUNS(Y_BODY16, 64, y16run, y16loop, y16done)
	MOVQ         bias+72(FP), AX
	VMOVUPS      (AX), Y12
	VMOVUPS      32(AX), Y13
	VBROADCASTSS lo+80(FP), Y14
	VBROADCASTSS hi+84(FP), Y15
	MOVQ         c+56(FP), DI
	MOVQ         ldc+64(FP), SI
	SHLQ         $2, SI
	Y_OUT16(Y0, Y1)
	Y_OUT16(Y2, Y3)
	Y_OUT16(Y4, Y5)
	Y_OUT16(Y6, Y7)
	Y_OUT16(Y8, Y9)
	Y_OUT16(Y10, Y11)
	STEM_NEXT(c+56(FP), y16block)

y16end:
	VZEROUPPER
	RET

#define Y_ROW8(ADDR, ACC) \
	VBROADCASTSS ADDR, Y14     \
	VMULPS       Y12, Y14, Y14 \
	VADDPS       Y14, ACC, ACC

#define Y_BODY8 \
	VMOVUPS (BX), Y12       \
	Y_ROW8((R8), Y0)        \
	Y_ROW8((R8)(R9*1), Y1)  \
	Y_ROW8((R8)(R9*2), Y2)  \
	Y_ROW8((R10), Y3)       \
	Y_ROW8((R10)(R9*1), Y4) \
	Y_ROW8((R10)(R9*2), Y5)

#define Y_OUT8(ACC) \
	VADDPS  Y12, ACC, ACC \
	VMAXPS  ACC, Y14, ACC \
	VMINPS  ACC, Y15, ACC \
	VMOVUPS ACC, (DI)     \
	ADDQ    SI, DI

// func sconv6x8(blocks, kh, run int, a *float32, lda, rstep int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)
TEXT ·sconv6x8(SB), NOSPLIT, $0-88
	STEM_ARGS
	CMPQ   blocks+0(FP), $0
	JLE    y8end

y8block:
	STEM_BLOCK
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	STEM_RUNS(Y_BODY8, 32, y8run, y8loop, y8done)
	MOVQ         bias+72(FP), AX
	VMOVUPS      (AX), Y12
	VBROADCASTSS lo+80(FP), Y14
	VBROADCASTSS hi+84(FP), Y15
	MOVQ         c+56(FP), DI
	MOVQ         ldc+64(FP), SI
	SHLQ         $2, SI
	Y_OUT8(Y0)
	Y_OUT8(Y1)
	Y_OUT8(Y2)
	Y_OUT8(Y3)
	Y_OUT8(Y4)
	Y_OUT8(Y5)
	STEM_NEXT(c+56(FP), y8block)

y8end:
	VZEROUPPER
	RET
