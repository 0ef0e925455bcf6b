//go:build amd64 && !purego

#include "textflag.h"
#include "fast_dwk_amd64.h"

// The generic depthwise kernels on ZMM (fast_dwk.go; declared in
// fast_dwk_amd64.go). Blocks of 16 channels outermost, so that a block's
// weights stay in L1 while the pixels go by. dwkRowZ takes the interior of
// a row four pixels at a time (one weight load per tap for four products);
// dwkPixZ any pixels, each with its own tap rectangle, four blocks at a
// time (four independent sums). K1 masks the last block's missing
// channels: its loads read zeros there (and cannot fault past the tensor),
// its stores skip them.
//
// dwkRowZ's registers: AX the current tap of the first pixel, BX the
// weight step from a row's last tap to the next row's first (bytes), CX
// the pixel count, DX 3*outStep, DI and SI the row and tap counts, R8 the output,
// R9 outStep, R10 pixStep, R11 the input step from a row's last tap to the
// next row's first, R12 tapStep, R13 the pixels' first tap, R14 the
// current tap's weights, R15 3*pixStep (all bytes); Z29 the bias, Z30 lo,
// Z31 hi.

// dwkPixZ's registers: AX the current tap of the pixel's input at this
// block, CX the pixels to go, DX wBlock and R15 3*wBlock, DI and SI the row
// and tap counts, R8 the pixel's output, R9 its weights, R10 its dwkPx,
// R11 and BX its input and weight steps from a row's last tap to the next
// row's first, R12 tapStep, R13 its input, R14 the current tap's weights
// (bytes); Z16-Z19 the blocks' biases.

// One tap of four adjacent blocks: four independent sums.
#define DWKP_BODY4 \
	VMOVUPS (AX), Z4             \
	VMOVUPS 64(AX), Z5           \
	VMOVUPS 128(AX), Z6          \
	VMOVUPS 192(AX), Z7          \
	VMULPS  (R14), Z4, Z4        \
	VMULPS  (R14)(DX*1), Z5, Z5  \
	VMULPS  (R14)(DX*2), Z6, Z6  \
	VMULPS  (R14)(R15*1), Z7, Z7 \
	VADDPS  Z4, Z0, Z0           \
	VADDPS  Z5, Z1, Z1           \
	VADDPS  Z6, Z2, Z2           \
	VADDPS  Z7, Z3, Z3

#define DWKP_BODY1 \
	VMOVUPS.Z (AX), K1, Z4      \
	VMULPS.Z  (R14), Z4, K1, Z4 \
	VADDPS    Z4, Z0, Z0

// One tap of four pixels at one block.
#define DWKZ_BODY4 \
	VMOVUPS  (R14), Z4                \
	VMULPS.Z (AX), Z4, K1, Z5         \
	VMULPS.Z (AX)(R10*1), Z4, K1, Z6  \
	VMULPS.Z (AX)(R10*2), Z4, K1, Z7  \
	VMULPS.Z (AX)(R15*1), Z4, K1, Z8  \
	VADDPS   Z5, Z0, Z0               \
	VADDPS   Z6, Z1, Z1               \
	VADDPS   Z7, Z2, Z2               \
	VADDPS   Z8, Z3, Z3

// Bias, clamp and the masked store of one pixel at one block.
#define DWKZ_OUT(ACC, BIAS, ADDR) \
	VADDPS  BIAS, ACC, ACC \
	VMAXPS  ACC, Z30, ACC  \
	VMINPS  ACC, Z31, ACC  \
	VMOVUPS ACC, K1, ADDR

// func dwkRowZ(out, in, w, bias *float32, n, blocks, rows, taps, pixStep, rowStep, tapStep, wRow, wBlock, outStep int, mask uint16, lo, hi float32)
TEXT ·dwkRowZ(SB), NOSPLIT, $0-124
	MOVQ  n+32(FP), CX
	TESTQ CX, CX
	JLE   zend
	MOVQ  blocks+40(FP), CX
	TESTQ CX, CX
	JLE   zend
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
	SHLQ  $6, AX
	SUBQ  AX, BX
	SHLQ  $2, wBlock+96(FP)
	VBROADCASTSS lo+116(FP), Z30
	VBROADCASTSS hi+120(FP), Z31

zblock:
	KXNORW K1, K1, K1
	CMPQ   blocks+40(FP), $1
	JNE    zmasked
	KMOVW  mask+112(FP), K1

zmasked:
	MOVQ    bias+24(FP), AX
	VMOVUPS (AX), Z29
	MOVQ    out+0(FP), R8
	MOVQ    in+8(FP), R13
	MOVQ    n+32(FP), CX
	SHRQ    $2, CX
	JZ      zend

zquad:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	DWK_TAPS(DWKZ_BODY4, R13, w+16(FP), rows+48(FP), taps+56(FP), 64, zqrow, zqtap, zqdone)
	DWKZ_OUT(Z0, Z29, (R8))
	DWKZ_OUT(Z1, Z29, (R8)(R9*1))
	DWKZ_OUT(Z2, Z29, (R8)(R9*2))
	DWKZ_OUT(Z3, Z29, (R8)(DX*1))
	LEAQ   (R8)(R9*4), R8
	LEAQ   (R13)(R10*4), R13
	DECQ   CX
	JNZ    zquad

znext:
	ADDQ $64, out+0(FP)
	ADDQ $64, in+8(FP)
	ADDQ $64, bias+24(FP)
	MOVQ wBlock+96(FP), AX
	ADDQ AX, w+16(FP)
	DECQ blocks+40(FP)
	JNZ  zblock

zend:
	VZEROUPPER
	RET

// func dwkPixZ(out, in, w, bias *float32, px *dwkPx, npx, quads, rest, tapStep, wBlock int, mask uint16, lo, hi float32)
TEXT ·dwkPixZ(SB), NOSPLIT, $0-92
	MOVQ  npx+40(FP), CX
	TESTQ CX, CX
	JLE   pend
	MOVQ  tapStep+64(FP), R12
	SHLQ  $2, R12
	MOVQ  wBlock+72(FP), DX
	SHLQ  $2, DX
	LEAQ  (DX)(DX*2), R15
	VBROADCASTSS lo+84(FP), Z30
	VBROADCASTSS hi+88(FP), Z31
	KXNORW K1, K1, K1
	MOVQ  quads+48(FP), CX
	TESTQ CX, CX
	JLE   prest

pquad:
	MOVQ    bias+24(FP), AX
	VMOVUPS (AX), Z16
	VMOVUPS 64(AX), Z17
	VMOVUPS 128(AX), Z18
	VMOVUPS 192(AX), Z19
	MOVQ    px+32(FP), R10
	MOVQ    npx+40(FP), CX

pqpixel:
	DWKP_PIXEL
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	DWK_TAPS(DWKP_BODY4, R13, R9, 24(R10), 32(R10), 64, pqrow, pqtap, pqdone)
	DWKZ_OUT(Z0, Z16, (R8))
	DWKZ_OUT(Z1, Z17, 64(R8))
	DWKZ_OUT(Z2, Z18, 128(R8))
	DWKZ_OUT(Z3, Z19, 192(R8))
	ADDQ   $56, R10
	DECQ   CX
	JNZ    pqpixel
	ADDQ   $256, out+0(FP)
	ADDQ   $256, in+8(FP)
	ADDQ   $256, bias+24(FP)
	LEAQ   (DX*4), AX
	ADDQ   AX, w+16(FP)
	DECQ   quads+48(FP)
	JNZ    pquad

prest:
	MOVQ  rest+56(FP), CX
	TESTQ CX, CX
	JLE   pend

pblock:
	CMPQ  rest+56(FP), $1
	JNE   pmasked
	KMOVW mask+80(FP), K1

pmasked:
	MOVQ    bias+24(FP), AX
	VMOVUPS (AX), Z16
	MOVQ    px+32(FP), R10
	MOVQ    npx+40(FP), CX

pspixel:
	DWKP_PIXEL
	VXORPS Z0, Z0, Z0
	DWK_TAPS(DWKP_BODY1, R13, R9, 24(R10), 32(R10), 64, psrow, pstap, psdone)
	DWKZ_OUT(Z0, Z16, (R8))
	ADDQ   $56, R10
	DECQ   CX
	JNZ    pspixel
	ADDQ   $64, out+0(FP)
	ADDQ   $64, in+8(FP)
	ADDQ   $64, bias+24(FP)
	ADDQ   DX, w+16(FP)
	DECQ   rest+56(FP)
	JNZ    pblock

pend:
	VZEROUPPER
	RET
