//go:build amd64 && !purego

#include "textflag.h"
#include "fast_dwk_amd64.h"

// dwkRow: dwkRowZ (fast_dwk512_amd64.s, which explains the loops and the
// registers) on YMM, blocks of 8 channels, no masks (channels a multiple
// of 8); Y13 the bias, Y14 lo, Y15 hi.

#define DWKY_BODY4 \
	VMOVUPS (R14), Y4           \
	VMULPS (AX), Y4, Y5         \
	VMULPS (AX)(R10*1), Y4, Y6  \
	VMULPS (AX)(R10*2), Y4, Y7  \
	VMULPS (AX)(R15*1), Y4, Y8  \
	VADDPS Y5, Y0, Y0           \
	VADDPS Y6, Y1, Y1           \
	VADDPS Y7, Y2, Y2           \
	VADDPS Y8, Y3, Y3

#define DWKY_OUT(ACC, ADDR) \
	VADDPS  Y13, ACC, ACC \
	VMAXPS  ACC, Y14, ACC \
	VMINPS  ACC, Y15, ACC \
	VMOVUPS ACC, ADDR

// dwkPix: dwkPixZ on YMM, quads of four blocks of 8 and then the rest,
// no mask; Y8-Y11 the blocks' biases.
#define DWKQ_BODY4 \
	VMOVUPS (AX), Y4             \
	VMOVUPS 32(AX), Y5           \
	VMOVUPS 64(AX), Y6           \
	VMOVUPS 96(AX), Y7           \
	VMULPS  (R14), Y4, Y4        \
	VMULPS  (R14)(DX*1), Y5, Y5  \
	VMULPS  (R14)(DX*2), Y6, Y6  \
	VMULPS  (R14)(R15*1), Y7, Y7 \
	VADDPS  Y4, Y0, Y0           \
	VADDPS  Y5, Y1, Y1           \
	VADDPS  Y6, Y2, Y2           \
	VADDPS  Y7, Y3, Y3

#define DWKQ_BODY1 \
	VMOVUPS (AX), Y4       \
	VMULPS  (R14), Y4, Y4  \
	VADDPS  Y4, Y0, Y0

#define DWKQ_OUT(ACC, BIAS, ADDR) \
	VADDPS  BIAS, ACC, ACC \
	VMAXPS  ACC, Y14, ACC  \
	VMINPS  ACC, Y15, ACC  \
	VMOVUPS ACC, ADDR

// func dwkRow(out, in, w, bias *float32, n, blocks, rows, taps, pixStep, rowStep, tapStep, wRow, wBlock, outStep int, lo, hi float32)
TEXT ·dwkRow(SB), NOSPLIT, $0-120
	MOVQ  n+32(FP), CX
	TESTQ CX, CX
	JLE   yend
	MOVQ  blocks+40(FP), CX
	TESTQ CX, CX
	JLE   yend
	MOVQ  outStep+104(FP), R9
	SHLQ  $2, R9
	LEAQ  (R9)(R9*2), DX
	MOVQ  pixStep+64(FP), R10
	SHLQ  $2, R10
	LEAQ  (R10)(R10*2), R15
	MOVQ  tapStep+80(FP), R12
	SHLQ  $2, R12
	MOVQ  taps+56(FP), AX
	MOVQ  rowStep+72(FP), R11
	SHLQ  $2, R11
	MOVQ  AX, BX
	IMULQ R12, BX
	SUBQ  BX, R11
	MOVQ  wRow+88(FP), BX
	SHLQ  $2, BX
	SHLQ  $5, AX
	SUBQ  AX, BX
	SHLQ  $2, wBlock+96(FP)
	VBROADCASTSS lo+112(FP), Y14
	VBROADCASTSS hi+116(FP), Y15

yblock:
	MOVQ    bias+24(FP), AX
	VMOVUPS (AX), Y13
	MOVQ    out+0(FP), R8
	MOVQ    in+8(FP), R13
	MOVQ    n+32(FP), CX
	SHRQ    $2, CX
	JZ      yend

yquad:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	DWK_TAPS(DWKY_BODY4, R13, w+16(FP), rows+48(FP), taps+56(FP), 32, yqrow, yqtap, yqdone)
	DWKY_OUT(Y0, (R8))
	DWKY_OUT(Y1, (R8)(R9*1))
	DWKY_OUT(Y2, (R8)(R9*2))
	DWKY_OUT(Y3, (R8)(DX*1))
	LEAQ   (R8)(R9*4), R8
	LEAQ   (R13)(R10*4), R13
	DECQ   CX
	JNZ    yquad

ynext:
	ADDQ $32, out+0(FP)
	ADDQ $32, in+8(FP)
	ADDQ $32, bias+24(FP)
	MOVQ wBlock+96(FP), AX
	ADDQ AX, w+16(FP)
	DECQ blocks+40(FP)
	JNZ  yblock

yend:
	VZEROUPPER
	RET

// func dwkPix(out, in, w, bias *float32, px *dwkPx, npx, quads, rest, tapStep, wBlock int, lo, hi float32)
TEXT ·dwkPix(SB), NOSPLIT, $0-88
	MOVQ  npx+40(FP), CX
	TESTQ CX, CX
	JLE   qend
	MOVQ  tapStep+64(FP), R12
	SHLQ  $2, R12
	MOVQ  wBlock+72(FP), DX
	SHLQ  $2, DX
	LEAQ  (DX)(DX*2), R15
	VBROADCASTSS lo+80(FP), Y14
	VBROADCASTSS hi+84(FP), Y15
	MOVQ  quads+48(FP), CX
	TESTQ CX, CX
	JLE   qrest

qquad:
	MOVQ    bias+24(FP), AX
	VMOVUPS (AX), Y8
	VMOVUPS 32(AX), Y9
	VMOVUPS 64(AX), Y10
	VMOVUPS 96(AX), Y11
	MOVQ    px+32(FP), R10
	MOVQ    npx+40(FP), CX

qqpixel:
	DWKP_PIXEL
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	DWK_TAPS(DWKQ_BODY4, R13, R9, 24(R10), 32(R10), 32, qqrow, qqtap, qqdone)
	DWKQ_OUT(Y0, Y8, (R8))
	DWKQ_OUT(Y1, Y9, 32(R8))
	DWKQ_OUT(Y2, Y10, 64(R8))
	DWKQ_OUT(Y3, Y11, 96(R8))
	ADDQ   $56, R10
	DECQ   CX
	JNZ    qqpixel
	ADDQ   $128, out+0(FP)
	ADDQ   $128, in+8(FP)
	ADDQ   $128, bias+24(FP)
	LEAQ   (DX*4), AX
	ADDQ   AX, w+16(FP)
	DECQ   quads+48(FP)
	JNZ    qquad

qrest:
	MOVQ  rest+56(FP), CX
	TESTQ CX, CX
	JLE   qend

qblock:
	MOVQ    bias+24(FP), AX
	VMOVUPS (AX), Y8
	MOVQ    px+32(FP), R10
	MOVQ    npx+40(FP), CX

qspixel:
	DWKP_PIXEL
	VXORPS Y0, Y0, Y0
	DWK_TAPS(DWKQ_BODY1, R13, R9, 24(R10), 32(R10), 32, qsrow, qstap, qsdone)
	DWKQ_OUT(Y0, Y8, (R8))
	ADDQ   $56, R10
	DECQ   CX
	JNZ    qspixel
	ADDQ   $32, out+0(FP)
	ADDQ   $32, in+8(FP)
	ADDQ   $32, bias+24(FP)
	ADDQ   DX, w+16(FP)
	DECQ   rest+56(FP)
	JNZ    qblock

qend:
	VZEROUPPER
	RET
