//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 int8 depthwise 3x3 (qdw3x3z, qdw3x3TapsZ): qdw3x3 and qdw3x3Taps
// on ZMM, 32 channels per block. The same integer sums: each tap's bytes
// widened to int16 (EXT: VPMOVZXBW or VPMOVSXBW), two taps interleaved into
// (tapA, tapB) word pairs and multiplied by the pre-interleaved weights
// with VPMADDWD (|a*b + c*d| <= 2*255*255 fits int32), added in int32 with
// wrap-around. Unpacking works within 128-bit lanes, so Z0 collects
// channels 8L+0..3 of lane L and Z1 channels 8L+4..7; VPERMT2Q by
// dwOrder0/1 puts channels 0-15 and 16-31 back in order before the bias.
// A last block of 16 channels (C = 16 mod 32) reads 16 bytes per tap into
// YMM (VEX zeroes the upper half) and stores its first 16 sums only.
// Weights: [ceil(C/32)][5 pairs][2 words][32] int16 (fastQDepthwise.wz).
// Declarations in fast_avx512_amd64.go.

DATA dwOrder0<>+0(SB)/8, $0
DATA dwOrder0<>+8(SB)/8, $1
DATA dwOrder0<>+16(SB)/8, $8
DATA dwOrder0<>+24(SB)/8, $9
DATA dwOrder0<>+32(SB)/8, $2
DATA dwOrder0<>+40(SB)/8, $3
DATA dwOrder0<>+48(SB)/8, $10
DATA dwOrder0<>+56(SB)/8, $11
GLOBL dwOrder0<>(SB), RODATA|NOPTR, $64

DATA dwOrder1<>+0(SB)/8, $4
DATA dwOrder1<>+8(SB)/8, $5
DATA dwOrder1<>+16(SB)/8, $12
DATA dwOrder1<>+24(SB)/8, $13
DATA dwOrder1<>+32(SB)/8, $6
DATA dwOrder1<>+40(SB)/8, $7
DATA dwOrder1<>+48(SB)/8, $14
DATA dwOrder1<>+56(SB)/8, $15
GLOBL dwOrder1<>(SB), RODATA|NOPTR, $64

// One tap pair: A and B widened into R2 and R3 (Z2, Z3 for 32 channels;
// Y2, Y3 for 16), their products with the weights at WOFF(SI) added to Z0
// and Z1.
#define QDWZ_PAIR(EXT, A, B, WOFF, R2, R3) \
	EXT        A, R2                \
	EXT        B, R3                \
	VPUNPCKLWD Z3, Z2, Z4           \
	VPUNPCKHWD Z3, Z2, Z5           \
	VPMADDWD   WOFF(SI), Z4, Z4     \
	VPMADDWD   WOFF+64(SI), Z5, Z5  \
	VPADDD     Z4, Z0, Z0           \
	VPADDD     Z5, Z1, Z1

// The ninth tap, paired with zeros (Z31).
#define QDWZ_LAST(EXT, A, R2) \
	EXT        A, R2              \
	VPUNPCKLWD Z31, Z2, Z4        \
	VPUNPCKHWD Z31, Z2, Z5        \
	VPMADDWD   512(SI), Z4, Z4    \
	VPMADDWD   576(SI), Z5, Z5    \
	VPADDD     Z4, Z0, Z0         \
	VPADDD     Z5, Z1, Z1

// Z0, Z1 in channel order: channels 0-15 in Z6, 16-31 in Z0.
#define QDWZ_ORDER \
	VMOVDQA64 Z0, Z6         \
	VPERMT2Q  Z1, Z29, Z6    \
	VPERMT2Q  Z1, Z30, Z0

// Bias plus sums, stored: 32 channels (Z6, Z0) or the first 16 (Z6).
#define QDWZ_STORE32 \
	VPADDD    (DI), Z6, Z6   \
	VPADDD    64(DI), Z0, Z0 \
	VMOVDQU32 Z6, (R14)      \
	VMOVDQU32 Z0, 64(R14)

#define QDWZ_STORE16 \
	VPADDD    (DI), Z6, Z6 \
	VMOVDQU32 Z6, (R14)

// One block of the row kernel: the nine taps at (AX), (BX), (CX) plus 0,
// 1 and 2 tap steps (R12).
#define QDWZ_ROWS(EXT, R2, R3) \
	VPXORD Z0, Z0, Z0                                  \
	VPXORD Z1, Z1, Z1                                  \
	QDWZ_PAIR(EXT, (AX), (AX)(R12*1), 0, R2, R3)       \
	QDWZ_PAIR(EXT, (AX)(R12*2), (BX), 128, R2, R3)     \
	QDWZ_PAIR(EXT, (BX)(R12*1), (BX)(R12*2), 256, R2, R3) \
	QDWZ_PAIR(EXT, (CX), (CX)(R12*1), 384, R2, R3)     \
	QDWZ_LAST(EXT, (CX)(R12*2), R2)                    \
	QDWZ_ORDER

// The pixel loop of qdw3x3z for one sign (EXT); R9 counts 16-channel
// blocks per pixel, R11 is the pointer step to the next pixel.
#define QDWZ_PIXELS(EXT, PIX, FULL, TAIL, NEXT) \
PIX:                                  \
	MOVQ   w+32(FP), SI               \
	MOVQ   bias+40(FP), DI            \
	MOVQ   R9, R13                    \
FULL:                                 \
	CMPQ   R13, $2                    \
	JLT    TAIL                       \
	QDWZ_ROWS(EXT, Z2, Z3)            \
	QDWZ_STORE32                      \
	ADDQ   $32, AX                    \
	ADDQ   $32, BX                    \
	ADDQ   $32, CX                    \
	ADDQ   $640, SI                   \
	ADDQ   $128, DI                   \
	ADDQ   $128, R14                  \
	SUBQ   $2, R13                    \
	JMP    FULL                       \
TAIL:                                 \
	TESTQ  R13, R13                   \
	JZ     NEXT                       \
	QDWZ_ROWS(EXT, Y2, Y3)            \
	QDWZ_STORE16                      \
	ADDQ   $16, AX                    \
	ADDQ   $16, BX                    \
	ADDQ   $16, CX                    \
	ADDQ   $64, R14                   \
NEXT:                                 \
	ADDQ   R11, AX                    \
	ADDQ   R11, BX                    \
	ADDQ   R11, CX                    \
	DECQ   DX                         \
	JNZ    PIX

// func qdw3x3z(acc *int32, r0, r1, r2 *byte, w *int16, bias *int32, n, channels, xStep, tapStep int, signed int32)
//
// qdw3x3 for channels a multiple of 16, with the weights of
// fastQDepthwise.wz: n pixels, acc[x*C+ch] = bias[ch] + the nine taps'
// products.
TEXT ·qdw3x3z(SB), NOSPLIT, $0-84
	MOVQ      n+48(FP), DX
	TESTQ     DX, DX
	JLE       qdzend
	MOVQ      acc+0(FP), R14
	MOVQ      r0+8(FP), AX
	MOVQ      r1+16(FP), BX
	MOVQ      r2+24(FP), CX
	MOVQ      tapStep+72(FP), R12
	MOVQ      channels+56(FP), R9
	MOVQ      xStep+64(FP), R11
	SUBQ      R9, R11             // pointer step from one pixel to the next
	SHRQ      $4, R9
	VMOVDQU64 dwOrder0<>(SB), Z29
	VMOVDQU64 dwOrder1<>(SB), Z30
	VPXORD    Z31, Z31, Z31
	CMPL      signed+80(FP), $0
	JNE       qdzsigned
	QDWZ_PIXELS(VPMOVZXBW, qdzupix, qdzufull, qdzutail, qdzunext)
	JMP       qdzend

qdzsigned:
	QDWZ_PIXELS(VPMOVSXBW, qdzspix, qdzsfull, qdzstail, qdzsnext)

qdzend:
	VZEROUPPER
	RET

// One block of the taps kernel: the nine tap pointers in AX, BX, CX, DX,
// R8..R12.
#define QDWZ_TAPS(EXT, R2, R3) \
	VPXORD Z0, Z0, Z0                         \
	VPXORD Z1, Z1, Z1                         \
	QDWZ_PAIR(EXT, (AX), (BX), 0, R2, R3)     \
	QDWZ_PAIR(EXT, (CX), (DX), 128, R2, R3)   \
	QDWZ_PAIR(EXT, (R8), (R9), 256, R2, R3)   \
	QDWZ_PAIR(EXT, (R10), (R11), 384, R2, R3) \
	QDWZ_LAST(EXT, (R12), R2)                 \
	QDWZ_ORDER

#define QDWZ_STEP(N) \
	ADDQ $N, AX  \
	ADDQ $N, BX  \
	ADDQ $N, CX  \
	ADDQ $N, DX  \
	ADDQ $N, R8  \
	ADDQ $N, R9  \
	ADDQ $N, R10 \
	ADDQ $N, R11 \
	ADDQ $N, R12

#define QDWZ_ONE(EXT, FULL, TAIL) \
FULL:                            \
	CMPQ   R13, $2               \
	JLT    TAIL                  \
	QDWZ_TAPS(EXT, Z2, Z3)       \
	QDWZ_STORE32                 \
	QDWZ_STEP(32)                \
	ADDQ   $640, SI              \
	ADDQ   $128, DI              \
	ADDQ   $128, R14             \
	SUBQ   $2, R13               \
	JMP    FULL                  \
TAIL:                            \
	TESTQ  R13, R13              \
	JZ     qtzend                \
	QDWZ_TAPS(EXT, Y2, Y3)       \
	QDWZ_STORE16

// func qdw3x3TapsZ(acc *int32, taps *[9]*byte, w *int16, bias *int32, channels int, signed int32)
//
// One output pixel of qdw3x3z from nine tap pointers (a tap in the padding
// points at stored zero points).
TEXT ·qdw3x3TapsZ(SB), NOSPLIT, $0-44
	MOVQ      channels+32(FP), R13
	SHRQ      $4, R13
	JZ        qtzend
	MOVQ      acc+0(FP), R14
	MOVQ      taps+8(FP), SI
	MOVQ      0(SI), AX
	MOVQ      8(SI), BX
	MOVQ      16(SI), CX
	MOVQ      24(SI), DX
	MOVQ      32(SI), R8
	MOVQ      40(SI), R9
	MOVQ      48(SI), R10
	MOVQ      56(SI), R11
	MOVQ      64(SI), R12
	MOVQ      w+16(FP), SI
	MOVQ      bias+24(FP), DI
	VMOVDQU64 dwOrder0<>(SB), Z29
	VMOVDQU64 dwOrder1<>(SB), Z30
	VPXORD    Z31, Z31, Z31
	CMPL      signed+40(FP), $0
	JNE       qtzsigned
	QDWZ_ONE(VPMOVZXBW, qtzufull, qtzutail)
	JMP       qtzend

qtzsigned:
	QDWZ_ONE(VPMOVSXBW, qtzsfull, qtzstail)

qtzend:
	VZEROUPPER
	RET
