//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 float32 3x3 depthwise convolution, one call per output row
// (fast_dw512.go). Blocks of 16 channels are the outer loop: the nine
// weight vectors and the bias of a block stay in Z16-Z25 while the kernel
// walks the row's interior pixels eight then four at a time, then the
// row's other pixels (border pixels and interior ones left over) one at a
// time. The last block of a channel count that is not a
// multiple of 16 runs under the mask K1: loads read nothing past the
// channels (AVX-512 masked loads do not fault), stores write nothing past
// them. The arithmetic is that of dw3x3Pix2z and the reference
// (float_conv.go): each sum from zero, the products rounded (VMULPS) and
// added (VADDPS, never FMA) in tap order, then the bias, then the clamp with
// the sum as the second source so that NaN propagates.
//
// Registers: Z0-Z7 sums, Z8-Z15 products, Z16-Z24 weights (tap fy*3+fx in
// Z16+fy*3+fx), Z25 bias, Z26 lo, Z27 hi; K1 the block's channel mask,
// K2-K4 a border pixel's column masks. SI weights of the block, CX channels
// left, R10 the block's byte offset in a pixel, R11 the input step from one
// output pixel to the next (bytes), R12 from one tap column to the next, DI
// from one output pixel to the next.

// One row of taps of one pixel (input at P) into ACC.
#define DWTAPS(P, W0, W1, W2, T, ACC) \
	VMULPS.Z (P), W0, K1, T          \
	VADDPS   T, ACC, ACC             \
	VMULPS.Z (P)(R12*1), W1, K1, T   \
	VADDPS   T, ACC, ACC             \
	VMULPS.Z (P)(R12*2), W2, K1, T   \
	VADDPS   T, ACC, ACC

// One row of taps of four adjacent pixels, the first at ROW.
#define DWTAPS4(ROW, W0, W1, W2) \
	MOVQ ROW, R8                         \
	DWTAPS(R8, W0, W1, W2, Z8, Z0)       \
	ADDQ R11, R8                         \
	DWTAPS(R8, W0, W1, W2, Z9, Z1)       \
	ADDQ R11, R8                         \
	DWTAPS(R8, W0, W1, W2, Z10, Z2)      \
	ADDQ R11, R8                         \
	DWTAPS(R8, W0, W1, W2, Z11, Z3)

// The next four pixels' row of taps (R8 left at the fourth by DWTAPS4).
#define DWTAPS4B(W0, W1, W2) \
	ADDQ R11, R8                         \
	DWTAPS(R8, W0, W1, W2, Z12, Z4)      \
	ADDQ R11, R8                         \
	DWTAPS(R8, W0, W1, W2, Z13, Z5)      \
	ADDQ R11, R8                         \
	DWTAPS(R8, W0, W1, W2, Z14, Z6)      \
	ADDQ R11, R8                         \
	DWTAPS(R8, W0, W1, W2, Z15, Z7)

// Bias, clamp and masked store of one pixel at R8, then R8 to the next.
#define DWOUT(ACC) \
	VADDPS  Z25, ACC, ACC \
	VMAXPS  ACC, Z26, ACC \
	VMINPS  ACC, Z27, ACC \
	VMOVUPS ACC, K1, (R8) \
	ADDQ    DI, R8

// One row of taps of a border pixel from the input row at ROW: tap column
// fx at offset R11, R12 or R14 under mask K2, K3 or K4.
#define DWEDGE(ROW, W0, W1, W2) \
	VMULPS.Z (ROW)(R11*1), W0, K2, Z8  \
	VADDPS   Z8, Z0, Z0                \
	VMULPS.Z (ROW)(R12*1), W1, K3, Z9  \
	VADDPS   Z9, Z0, Z0                \
	VMULPS.Z (ROW)(R14*1), W2, K4, Z10 \
	VADDPS   Z10, Z0, Z0

// func dw3x3RowZ(out, in0, in1, in2, wb *float32, c, outOff, inOff, n, xStep, tapStep int, edges *dwEdge, nEdges int, lo, hi float32)
TEXT ·dw3x3RowZ(SB), NOSPLIT, $0-112
	MOVQ  c+40(FP), CX
	TESTQ CX, CX
	JLE   rzdone
	MOVQ  wb+32(FP), SI
	MOVQ  xStep+72(FP), R11
	MOVQ  tapStep+80(FP), R12
	MOVQ  CX, DI
	SHLQ  $2, DI
	XORQ  R10, R10
	VBROADCASTSS lo+104(FP), Z26
	VBROADCASTSS hi+108(FP), Z27

rzblock:
	MOVL  $0xffff, AX
	CMPQ  CX, $16
	JGE   rzmask
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX

rzmask:
	KMOVW   AX, K1
	VMOVUPS 0(SI), Z16
	VMOVUPS 64(SI), Z17
	VMOVUPS 128(SI), Z18
	VMOVUPS 192(SI), Z19
	VMOVUPS 256(SI), Z20
	VMOVUPS 320(SI), Z21
	VMOVUPS 384(SI), Z22
	VMOVUPS 448(SI), Z23
	VMOVUPS 512(SI), Z24
	VMOVUPS 576(SI), Z25

	// Interior pixels: every tap inside the image row.
	MOVQ  out+0(FP), R14
	ADDQ  outOff+48(FP), R14
	ADDQ  R10, R14
	MOVQ  inOff+56(FP), R9
	ADDQ  R10, R9
	MOVQ  in0+8(FP), AX
	ADDQ  R9, AX
	MOVQ  in1+16(FP), BX
	ADDQ  R9, BX
	MOVQ  in2+24(FP), R13
	ADDQ  R9, R13
	MOVQ  n+64(FP), DX
	MOVQ  R11, R9
	SHLQ  $2, R9                  // four pixels of input
	CMPQ  DX, $8
	JLT   rzfour

rzeight:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	DWTAPS4(AX, Z16, Z17, Z18)
	DWTAPS4B(Z16, Z17, Z18)
	DWTAPS4(BX, Z19, Z20, Z21)
	DWTAPS4B(Z19, Z20, Z21)
	DWTAPS4(R13, Z22, Z23, Z24)
	DWTAPS4B(Z22, Z23, Z24)
	MOVQ  R14, R8
	DWOUT(Z0)
	DWOUT(Z1)
	DWOUT(Z2)
	DWOUT(Z3)
	DWOUT(Z4)
	DWOUT(Z5)
	DWOUT(Z6)
	DWOUT(Z7)
	MOVQ  R8, R14
	LEAQ  (AX)(R9*2), AX
	LEAQ  (BX)(R9*2), BX
	LEAQ  (R13)(R9*2), R13
	SUBQ  $8, DX
	CMPQ  DX, $8
	JGE   rzeight

rzfour:
	CMPQ  DX, $4
	JLT   rzedges
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	DWTAPS4(AX, Z16, Z17, Z18)
	DWTAPS4(BX, Z19, Z20, Z21)
	DWTAPS4(R13, Z22, Z23, Z24)
	MOVQ  R14, R8
	DWOUT(Z0)
	DWOUT(Z1)
	DWOUT(Z2)
	DWOUT(Z3)
	MOVQ  R8, R14
	ADDQ  R9, AX
	ADDQ  R9, BX
	ADDQ  R9, R13

	// The other pixels, one at a time: border pixels (a tap column
	// outside the image adds nothing: its mask is zero, and its offset
	// points at column 0 all the same, since a masked load from an address
	// outside the buffer can be slow) and the interior ones left over.
	// R11, R12 and R14 hold an edge's column offsets here.
rzedges:
	MOVQ  nEdges+96(FP), DX
	TESTQ DX, DX
	JLE   rznext
	MOVQ  edges+88(FP), R9
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
	MOVQ  xStep+72(FP), R11
	MOVQ  tapStep+80(FP), R12

rznext:
	ADDQ  $640, SI
	ADDQ  $64, R10
	SUBQ  $16, CX
	JG    rzblock

rzdone:
	VZEROUPPER
	RET
