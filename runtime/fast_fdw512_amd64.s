//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 float32 3x3 depthwise convolution, one call per output row
// (fast_dw512.go). The row's interior pixels go eight, then four at a time,
// then its other pixels (border pixels and interior ones left over); for
// each group of the interior the kernel walks all channel blocks of 16, so
// that memory is read and written in order (a pass over the whole row per
// block, with the weights kept in registers, was as fast on data in cache
// but much slower on data that the prefetchers must bring). The last block
// of a channel count that is not a multiple of 16 runs under the mask K1:
// its loads read nothing past the channels (AVX-512 masked loads do not
// fault), stores write nothing past them; full blocks load without a mask.
// The arithmetic is that of dw3x3Pix2z and the reference (float_conv.go):
// each sum from zero, the products rounded (VMULPS) and added (VADDPS,
// never FMA) in tap order, then the bias, then the clamp with the sum as
// the second source so that NaN propagates.
//
// dw3x3RowZB does the same with the blocks outside: one pass over the row
// per block of 16 channels, its weights loaded once. That wins when the
// image sits in the L2 cache (14x14 and 7x7 layers: 7x7x960 in 10 us
// against 14), and loses when it does not.
//
// Registers: Z0-Z7 sums, Z8-Z15 products, Z16-Z24 the block's weights
// (tap fy*3+fx in Z16+fy*3+fx), Z25 its bias, Z26 lo, Z27 hi; K1 the
// block's channel mask, K2-K4 a border pixel's column masks and-ed with
// K1. SI weights of the block, CX channels left, R10 the block's byte
// offset in a pixel, R15 the last block's mask, R11 the input step from one
// output pixel to the next (bytes), R12 from one tap column to the next, DI
// from one output pixel to the next, R9 four pixels of input.

// A product: T = W*A rounded. MULU loads A whole; MULK loads only the
// channels of K1 (the last block's), zeros elsewhere. A masked load is
// much slower than a plain one when the line is not in cache, so full
// blocks use MULU.
#define MULU(A, W, T) VMULPS A, W, T
#define MULK(A, W, T) VMULPS.Z A, W, K1, T

// One row of taps of one pixel (input at P) into ACC.
#define DWTAPS(MUL, P, W0, W1, W2, T, ACC) \
	MUL((P), W0, T)              \
	VADDPS T, ACC, ACC           \
	MUL((P)(R12*1), W1, T)       \
	VADDPS T, ACC, ACC           \
	MUL((P)(R12*2), W2, T)       \
	VADDPS T, ACC, ACC

// One row of taps of four adjacent pixels, the first at ROW in this block.
#define DWTAPS4(MUL, ROW, W0, W1, W2) \
	LEAQ (ROW)(R10*1), R8                  \
	DWTAPS(MUL, R8, W0, W1, W2, Z8, Z0)    \
	ADDQ R11, R8                           \
	DWTAPS(MUL, R8, W0, W1, W2, Z9, Z1)    \
	ADDQ R11, R8                           \
	DWTAPS(MUL, R8, W0, W1, W2, Z10, Z2)   \
	ADDQ R11, R8                           \
	DWTAPS(MUL, R8, W0, W1, W2, Z11, Z3)

// The next four pixels' row of taps (R8 left at the fourth by DWTAPS4).
#define DWTAPS4B(MUL, W0, W1, W2) \
	ADDQ R11, R8                           \
	DWTAPS(MUL, R8, W0, W1, W2, Z12, Z4)   \
	ADDQ R11, R8                           \
	DWTAPS(MUL, R8, W0, W1, W2, Z13, Z5)   \
	ADDQ R11, R8                           \
	DWTAPS(MUL, R8, W0, W1, W2, Z14, Z6)   \
	ADDQ R11, R8                           \
	DWTAPS(MUL, R8, W0, W1, W2, Z15, Z7)

// Eight pixels of one block: sums, bias, clamp, stores.
#define GROUP8(MUL) \
	VXORPS Z0, Z0, Z0                 \
	VXORPS Z1, Z1, Z1                 \
	VXORPS Z2, Z2, Z2                 \
	VXORPS Z3, Z3, Z3                 \
	VXORPS Z4, Z4, Z4                 \
	VXORPS Z5, Z5, Z5                 \
	VXORPS Z6, Z6, Z6                 \
	VXORPS Z7, Z7, Z7                 \
	DWTAPS4(MUL, AX, Z16, Z17, Z18)   \
	DWTAPS4B(MUL, Z16, Z17, Z18)      \
	DWTAPS4(MUL, BX, Z19, Z20, Z21)   \
	DWTAPS4B(MUL, Z19, Z20, Z21)      \
	DWTAPS4(MUL, R13, Z22, Z23, Z24)  \
	DWTAPS4B(MUL, Z22, Z23, Z24)      \
	LEAQ   (R14)(R10*1), R8           \
	DWOUT(Z0)                         \
	DWOUT(Z1)                         \
	DWOUT(Z2)                         \
	DWOUT(Z3)                         \
	DWOUT(Z4)                         \
	DWOUT(Z5)                         \
	DWOUT(Z6)                         \
	DWOUT(Z7)

// Four pixels of one block.
#define GROUP4(MUL) \
	VXORPS Z0, Z0, Z0                 \
	VXORPS Z1, Z1, Z1                 \
	VXORPS Z2, Z2, Z2                 \
	VXORPS Z3, Z3, Z3                 \
	DWTAPS4(MUL, AX, Z16, Z17, Z18)   \
	DWTAPS4(MUL, BX, Z19, Z20, Z21)   \
	DWTAPS4(MUL, R13, Z22, Z23, Z24)  \
	LEAQ   (R14)(R10*1), R8           \
	DWOUT(Z0)                         \
	DWOUT(Z1)                         \
	DWOUT(Z2)                         \
	DWOUT(Z3)

// Bias, clamp and masked store of one pixel at R8, then R8 to the next.
#define DWOUT(ACC) \
	VADDPS  Z25, ACC, ACC \
	VMAXPS  ACC, Z26, ACC \
	VMINPS  ACC, Z27, ACC \
	VMOVUPS ACC, K1, (R8) \
	ADDQ    DI, R8

// One row of taps of a border pixel from the input row at ROW (this
// block's): tap column fx at offset R11, R12 or R14 under mask K2, K3, K4.
#define DWEDGE(ROW, W0, W1, W2) \
	VMULPS.Z (ROW)(R11*1), W0, K2, Z8  \
	VADDPS   Z8, Z0, Z0                \
	VMULPS.Z (ROW)(R12*1), W1, K3, Z9  \
	VADDPS   Z9, Z0, Z0                \
	VMULPS.Z (ROW)(R14*1), W2, K4, Z10 \
	VADDPS   Z10, Z0, Z0

// Start of a pass over the channel blocks.
#define FIRSTBLOCK \
	MOVQ wb+32(FP), SI \
	MOVQ c+40(FP), CX  \
	XORQ R10, R10

// The block's mask (R15 for the last block), weights and bias.
#define BLOCKSETUP \
	MOVL    $0xffff, R8  \
	CMPQ    CX, $16      \
	CMOVQLE R15, R8      \
	KMOVW   R8, K1       \
	VMOVUPS 0(SI), Z16   \
	VMOVUPS 64(SI), Z17  \
	VMOVUPS 128(SI), Z18 \
	VMOVUPS 192(SI), Z19 \
	VMOVUPS 256(SI), Z20 \
	VMOVUPS 320(SI), Z21 \
	VMOVUPS 384(SI), Z22 \
	VMOVUPS 448(SI), Z23 \
	VMOVUPS 512(SI), Z24 \
	VMOVUPS 576(SI), Z25

// To the next block; flags say whether one is left (JG).
#define NEXTBLOCK \
	ADDQ $640, SI \
	ADDQ $64, R10 \
	SUBQ $16, CX

// func dw3x3RowZ(out, in0, in1, in2, wb *float32, c, outOff, inOff, n, xStep, tapStep int, edges *dwEdge, nEdges int, lo, hi float32)
TEXT ·dw3x3RowZ(SB), NOSPLIT, $0-112
	MOVQ  c+40(FP), CX
	TESTQ CX, CX
	JLE   rzdone
	MOVQ  CX, DI
	SHLQ  $2, DI
	MOVL  $0xffff, R15
	ANDQ  $15, CX
	JZ    rzlast
	MOVL  $1, R15
	SHLL  CX, R15
	DECL  R15

rzlast:
	MOVQ  xStep+72(FP), R11
	MOVQ  tapStep+80(FP), R12
	MOVQ  R11, R9
	SHLQ  $2, R9                  // four pixels of input
	VBROADCASTSS lo+104(FP), Z26
	VBROADCASTSS hi+108(FP), Z27
	MOVQ  out+0(FP), R14
	ADDQ  outOff+48(FP), R14
	MOVQ  inOff+56(FP), R8
	MOVQ  in0+8(FP), AX
	ADDQ  R8, AX
	MOVQ  in1+16(FP), BX
	ADDQ  R8, BX
	MOVQ  in2+24(FP), R13
	ADDQ  R8, R13
	MOVQ  n+64(FP), DX
	CMPQ  DX, $8
	JLT   rzfour

rzeight:
	FIRSTBLOCK

rzeightblk:
	BLOCKSETUP
	CMPQ  CX, $16
	JLT   rzeightk
	GROUP8(MULU)
	JMP   rzeightnext

rzeightk:
	GROUP8(MULK)

rzeightnext:
	NEXTBLOCK
	JG    rzeightblk
	LEAQ  (AX)(R9*2), AX
	LEAQ  (BX)(R9*2), BX
	LEAQ  (R13)(R9*2), R13
	LEAQ  (R14)(DI*8), R14
	SUBQ  $8, DX
	CMPQ  DX, $8
	JGE   rzeight

rzfour:
	CMPQ  DX, $4
	JLT   rzedges
	FIRSTBLOCK

rzfourblk:
	BLOCKSETUP
	CMPQ  CX, $16
	JLT   rzfourk
	GROUP4(MULU)
	JMP   rzfournext

rzfourk:
	GROUP4(MULK)

rzfournext:
	NEXTBLOCK
	JG    rzfourblk

	// The other pixels: border pixels (a tap column outside the image adds
	// nothing: its mask is zero, and its offset points at column 0 all the
	// same, since a masked load from an address outside the buffer can be
	// slow) and the interior ones left over. There are few of them: blocks
	// outside, so that each block's weights are loaded once for all of
	// them. R11, R12 and R14 hold an edge's column offsets, AX, BX and R13
	// the rows at this block.
rzedges:
	MOVQ  nEdges+96(FP), DX
	TESTQ DX, DX
	JLE   rzdone
	FIRSTBLOCK

rzedgeblk:
	BLOCKSETUP
	MOVQ  edges+88(FP), R9
	MOVQ  nEdges+96(FP), DX
	MOVQ  in0+8(FP), AX
	ADDQ  R10, AX
	MOVQ  in1+16(FP), BX
	ADDQ  R10, BX
	MOVQ  in2+24(FP), R13
	ADDQ  R10, R13

rzedge:
	KMOVW 32(R9), K2
	KANDW K1, K2, K2
	KMOVW 40(R9), K3
	KANDW K1, K3, K3
	KMOVW 48(R9), K4
	KANDW K1, K4, K4
	MOVQ  8(R9), R11
	MOVQ  16(R9), R12
	MOVQ  24(R9), R14
	VXORPS Z0, Z0, Z0
	DWEDGE(AX, Z16, Z17, Z18)
	DWEDGE(BX, Z19, Z20, Z21)
	DWEDGE(R13, Z22, Z23, Z24)
	MOVQ  out+0(FP), R8
	ADDQ  0(R9), R8
	ADDQ  R10, R8
	DWOUT(Z0)
	ADDQ  $56, R9
	DECQ  DX
	JNZ   rzedge
	NEXTBLOCK
	JG    rzedgeblk

rzdone:
	VZEROUPPER
	RET

// func dw3x3RowZB(out, in0, in1, in2, wb *float32, c, outOff, inOff, n, xStep, tapStep int, edges *dwEdge, nEdges int, lo, hi float32)
TEXT ·dw3x3RowZB(SB), NOSPLIT, $0-112
	MOVQ  c+40(FP), CX
	TESTQ CX, CX
	JLE   rbdone
	MOVQ  CX, DI
	SHLQ  $2, DI
	MOVL  $0xffff, R15
	ANDQ  $15, CX
	JZ    rblast
	MOVL  $1, R15
	SHLL  CX, R15
	DECL  R15

rblast:
	MOVQ  xStep+72(FP), R11
	MOVQ  tapStep+80(FP), R12
	MOVQ  R11, R9
	SHLQ  $2, R9                  // four pixels of input
	VBROADCASTSS lo+104(FP), Z26
	VBROADCASTSS hi+108(FP), Z27
	FIRSTBLOCK

rbblock:
	BLOCKSETUP
	MOVQ  out+0(FP), R14
	ADDQ  outOff+48(FP), R14
	MOVQ  inOff+56(FP), R8
	MOVQ  in0+8(FP), AX
	ADDQ  R8, AX
	MOVQ  in1+16(FP), BX
	ADDQ  R8, BX
	MOVQ  in2+24(FP), R13
	ADDQ  R8, R13
	MOVQ  n+64(FP), DX
	CMPQ  CX, $16
	JLT   rbk8

rbu8:
	CMPQ  DX, $8
	JLT   rbu4
	GROUP8(MULU)
	LEAQ  (AX)(R9*2), AX
	LEAQ  (BX)(R9*2), BX
	LEAQ  (R13)(R9*2), R13
	LEAQ  (R14)(DI*8), R14
	SUBQ  $8, DX
	JMP   rbu8

rbu4:
	CMPQ  DX, $4
	JLT   rbedges
	GROUP4(MULU)
	JMP   rbedges

rbk8:
	CMPQ  DX, $8
	JLT   rbk4
	GROUP8(MULK)
	LEAQ  (AX)(R9*2), AX
	LEAQ  (BX)(R9*2), BX
	LEAQ  (R13)(R9*2), R13
	LEAQ  (R14)(DI*8), R14
	SUBQ  $8, DX
	JMP   rbk8

rbk4:
	CMPQ  DX, $4
	JLT   rbedges
	GROUP4(MULK)

	// The block's other pixels, as in dw3x3RowZ.
rbedges:
	MOVQ  nEdges+96(FP), DX
	TESTQ DX, DX
	JLE   rbnext
	MOVQ  edges+88(FP), R9
	MOVQ  in0+8(FP), AX
	ADDQ  R10, AX
	MOVQ  in1+16(FP), BX
	ADDQ  R10, BX
	MOVQ  in2+24(FP), R13
	ADDQ  R10, R13

rbedge:
	KMOVW 32(R9), K2
	KANDW K1, K2, K2
	KMOVW 40(R9), K3
	KANDW K1, K3, K3
	KMOVW 48(R9), K4
	KANDW K1, K4, K4
	MOVQ  8(R9), R11
	MOVQ  16(R9), R12
	MOVQ  24(R9), R14
	VXORPS Z0, Z0, Z0
	DWEDGE(AX, Z16, Z17, Z18)
	DWEDGE(BX, Z19, Z20, Z21)
	DWEDGE(R13, Z22, Z23, Z24)
	MOVQ  out+0(FP), R8
	ADDQ  0(R9), R8
	ADDQ  R10, R8
	DWOUT(Z0)
	ADDQ  $56, R9
	DECQ  DX
	JNZ   rbedge
	MOVQ  xStep+72(FP), R11
	MOVQ  tapStep+80(FP), R12
	MOVQ  R11, R9
	SHLQ  $2, R9

rbnext:
	NEXTBLOCK
	JG    rbblock

rbdone:
	VZEROUPPER
	RET
