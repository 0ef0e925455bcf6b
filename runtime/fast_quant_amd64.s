//go:build amd64 && !purego

#include "textflag.h"

// AVX2 integer kernels for the quantized fast path. Products are formed
// exactly: 8-bit values widened to int16 (minus a zero point, so at most
// 9 bits), multiplied pairwise by VPMADDWD into int32 (|a*b + c*d| <=
// 2*255*255 fits), summed in int32 with wrap-around like the reference.
// Requantization reproduces qmath.go bit for bit (see each function).

// func qgemm6x16(k2 int, a *int16, lda int, b *int16, c *int32, ldc int, bias *int32)
//
// C[6x16] = bias + A*B over k2 pairs of k: A rows are int16, lda elements
// apart, each pair of k adjacent; b is a packed panel, per pair 16 columns
// of (k, k+1) int16 pairs; C rows ldc int32 apart.
TEXT ·qgemm6x16(SB), NOSPLIT, $0-56
	MOVQ k2+0(FP), CX
	MOVQ a+8(FP), R8
	MOVQ lda+16(FP), R9
	SHLQ $1, R9
	LEAQ (R8)(R9*2), R10
	ADDQ R9, R10
	MOVQ b+24(FP), BX
	MOVQ bias+48(FP), AX
	VMOVDQU (AX), Y0
	VMOVDQU 32(AX), Y1
	VMOVDQA Y0, Y2
	VMOVDQA Y1, Y3
	VMOVDQA Y0, Y4
	VMOVDQA Y1, Y5
	VMOVDQA Y0, Y6
	VMOVDQA Y1, Y7
	VMOVDQA Y0, Y8
	VMOVDQA Y1, Y9
	VMOVDQA Y0, Y10
	VMOVDQA Y1, Y11
	TESTQ CX, CX
	JLE   qgdone

qgloop:
	VMOVDQU      (BX), Y12
	VMOVDQU      32(BX), Y13
	VPBROADCASTD (R8), Y14
	VPMADDWD     Y12, Y14, Y15
	VPADDD       Y15, Y0, Y0
	VPMADDWD     Y13, Y14, Y15
	VPADDD       Y15, Y1, Y1
	VPBROADCASTD (R8)(R9*1), Y14
	VPMADDWD     Y12, Y14, Y15
	VPADDD       Y15, Y2, Y2
	VPMADDWD     Y13, Y14, Y15
	VPADDD       Y15, Y3, Y3
	VPBROADCASTD (R8)(R9*2), Y14
	VPMADDWD     Y12, Y14, Y15
	VPADDD       Y15, Y4, Y4
	VPMADDWD     Y13, Y14, Y15
	VPADDD       Y15, Y5, Y5
	VPBROADCASTD (R10), Y14
	VPMADDWD     Y12, Y14, Y15
	VPADDD       Y15, Y6, Y6
	VPMADDWD     Y13, Y14, Y15
	VPADDD       Y15, Y7, Y7
	VPBROADCASTD (R10)(R9*1), Y14
	VPMADDWD     Y12, Y14, Y15
	VPADDD       Y15, Y8, Y8
	VPMADDWD     Y13, Y14, Y15
	VPADDD       Y15, Y9, Y9
	VPBROADCASTD (R10)(R9*2), Y14
	VPMADDWD     Y12, Y14, Y15
	VPADDD       Y15, Y10, Y10
	VPMADDWD     Y13, Y14, Y15
	VPADDD       Y15, Y11, Y11
	ADDQ         $4, R8
	ADDQ         $4, R10
	ADDQ         $64, BX
	DECQ         CX
	JNZ          qgloop

qgdone:
	MOVQ    c+32(FP), DI
	MOVQ    ldc+40(FP), SI
	SHLQ    $2, SI
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)
	ADDQ    SI, DI
	VMOVDQU Y2, (DI)
	VMOVDQU Y3, 32(DI)
	ADDQ    SI, DI
	VMOVDQU Y4, (DI)
	VMOVDQU Y5, 32(DI)
	ADDQ    SI, DI
	VMOVDQU Y6, (DI)
	VMOVDQU Y7, 32(DI)
	ADDQ    SI, DI
	VMOVDQU Y8, (DI)
	VMOVDQU Y9, 32(DI)
	ADDQ    SI, DI
	VMOVDQU Y10, (DI)
	VMOVDQU Y11, 32(DI)
	VZEROUPPER
	RET

// func qwiden(dst *int16, src *byte, n int, zp int32, signed int32)
//
// dst[i] = src[i] - zp for n bytes (n a multiple of 16), src read as int8
// when signed is non-zero, else as uint8.
TEXT ·qwiden(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $4, CX
	JZ           qwdone
	MOVL         zp+24(FP), AX
	MOVL         AX, X15
	VPBROADCASTW X15, Y15
	MOVL         signed+28(FP), DX
	TESTL        DX, DX
	JNZ          qwsigned

qwunsigned:
	VPMOVZXBW (SI), Y0
	VPSUBW    Y15, Y0, Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       qwunsigned
	JMP       qwdone

qwsigned:
	VPMOVSXBW (SI), Y0
	VPSUBW    Y15, Y0, Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       qwsigned

qwdone:
	VZEROUPPER
	RET

// One 16-channel block of a 3x3 depthwise output pixel: five tap pairs,
// each two taps' bytes widened to int16 (EXT: VPMOVZXBW or VPMOVSXBW),
// interleaved into (tapA, tapB) pairs and multiplied by the pre-interleaved
// weights. Unpacking works within 128-bit lanes, so Y0 collects channels
// 0-3 and 8-11, Y1 channels 4-7 and 12-15; they are put back in order before
// the bias is added. The last tap pairs with zeros.
#define QDW_PAIR(EXT, A, B, WOFF) \
	EXT        A, Y2          \
	EXT        B, Y3          \
	VPUNPCKLWD Y3, Y2, Y4     \
	VPUNPCKHWD Y3, Y2, Y5     \
	VPMADDWD   WOFF(SI), Y4, Y4 \
	VPMADDWD   WOFF+32(SI), Y5, Y5 \
	VPADDD     Y4, Y0, Y0     \
	VPADDD     Y5, Y1, Y1

#define QDW_BLOCK(EXT) \
	VPXOR       Y0, Y0, Y0                    \
	VPXOR       Y1, Y1, Y1                    \
	QDW_PAIR(EXT, (AX), (AX)(R12*1), 0)       \
	QDW_PAIR(EXT, (AX)(R12*2), (BX), 64)      \
	QDW_PAIR(EXT, (BX)(R12*1), (BX)(R12*2), 128) \
	QDW_PAIR(EXT, (CX), (CX)(R12*1), 192)     \
	EXT         (CX)(R12*2), Y2               \
	VPXOR       Y3, Y3, Y3                    \
	VPUNPCKLWD  Y3, Y2, Y4                    \
	VPUNPCKHWD  Y3, Y2, Y5                    \
	VPMADDWD    256(SI), Y4, Y4               \
	VPMADDWD    288(SI), Y5, Y5               \
	VPADDD      Y4, Y0, Y0                    \
	VPADDD      Y5, Y1, Y1                    \
	VPERM2I128  $0x20, Y1, Y0, Y6             \
	VPERM2I128  $0x31, Y1, Y0, Y7             \
	VPADDD      (DI), Y6, Y6                  \
	VPADDD      32(DI), Y7, Y7                \
	VMOVDQU     Y6, (R14)                     \
	VMOVDQU     Y7, 32(R14)                   \
	ADDQ        $320, SI                      \
	ADDQ        $64, DI                       \
	ADDQ        $16, AX                       \
	ADDQ        $16, BX                       \
	ADDQ        $16, CX                       \
	ADDQ        $64, R14

// func qdw3x3(acc *int32, r0, r1, r2 *byte, w *int16, bias *int32, n, blocks, xStep, tapStep int, signed int32)
//
// n output pixels of a 3x3 depthwise convolution, blocks*16 channels:
// acc[x*C+ch] = bias[ch] + sum of in_fy[x*xStep + fx*tapStep + ch] *
// w(fy,fx,ch), int32. r0..r2 are the three input rows at the first tap of
// pixel 0 (already padded); w packs per block five tap pairs of two YMM
// words each ([blocks][5][2][16] int16). Input zero points are folded into
// bias by the caller.
TEXT ·qdw3x3(SB), NOSPLIT, $0-84
	MOVQ n+48(FP), DX
	TESTQ DX, DX
	JLE   qdend
	MOVQ acc+0(FP), R14
	MOVQ r0+8(FP), AX
	MOVQ r1+16(FP), BX
	MOVQ r2+24(FP), CX
	MOVQ tapStep+72(FP), R12
	MOVQ blocks+56(FP), R11
	SHLQ $4, R11
	NEGQ R11
	ADDQ xStep+64(FP), R11     // pointer step from one pixel to the next
	MOVL signed+80(FP), R8
	TESTL R8, R8
	JNZ   qdsignedpix

qdunsignedpix:
	MOVQ w+32(FP), SI
	MOVQ bias+40(FP), DI
	MOVQ blocks+56(FP), R13

qdublock:
	QDW_BLOCK(VPMOVZXBW)
	DECQ R13
	JNZ  qdublock
	ADDQ R11, AX
	ADDQ R11, BX
	ADDQ R11, CX
	DECQ DX
	JNZ  qdunsignedpix
	JMP  qdend

qdsignedpix:
	MOVQ w+32(FP), SI
	MOVQ bias+40(FP), DI
	MOVQ blocks+56(FP), R13

qdsblock:
	QDW_BLOCK(VPMOVSXBW)
	DECQ R13
	JNZ  qdsblock
	ADDQ R11, AX
	ADDQ R11, BX
	ADDQ R11, CX
	DECQ DX
	JNZ  qdsignedpix

qdend:
	VZEROUPPER
	RET

// Eight int32 lanes in Y0, already clamped to the 8-bit range, stored as
// eight bytes at (DI): saturating packs keep every value.
#define STORE8(UNS, DONE) \
	VEXTRACTI128 $1, Y0, X1 \
	VPACKSSDW    X1, X0, X0 \
	TESTL        DX, DX     \
	JNZ          UNS        \
	VPACKSSWB    X0, X0, X0 \
	JMP          DONE       \
UNS:                        \
	VPACKUSWB    X0, X0, X0 \
DONE:                       \
	MOVQ         X0, (DI)

// Thirty-two clamped int32 lanes in Y0..Y3 stored as 32 bytes at (DI):
// the packs interleave 128-bit lanes, VPERMD by packOrder puts the four
// dwords of each input register back together.
#define STORE32(PACKB) \
	VPACKSSDW Y1, Y0, Y0 \
	VPACKSSDW Y3, Y2, Y2 \
	PACKB     Y2, Y0, Y0 \
	VPERMD    Y0, Y8, Y0 \
	VMOVDQU   Y0, (DI)

DATA packOrder<>+0(SB)/4, $0
DATA packOrder<>+4(SB)/4, $4
DATA packOrder<>+8(SB)/4, $1
DATA packOrder<>+12(SB)/4, $5
DATA packOrder<>+16(SB)/4, $2
DATA packOrder<>+20(SB)/4, $6
DATA packOrder<>+24(SB)/4, $3
DATA packOrder<>+28(SB)/4, $7
GLOBL packOrder<>(SB), RODATA|NOPTR, $32

// TFLite requantization of the eight accumulators at OFF(SI) with the
// parameter block at POFF(BX) into DST (one of Y0..Y3); Y9..Y11 are
// scratch, Y12 holds 2^30 per qword, Y13 zp, Y14 lo, Y15 hi.
//   - x << left wraps like the int32 product x * 2^left;
//   - SaturatingRoundingDoublingHighMul is floor((x*m + 2^30) / 2^31) (see
//     srdhm): 64-bit products of the even and odd lanes, + 2^30, a logical
//     shift by 31 (the result's low 32 bits equal the arithmetic one's,
//     since it fits int32: m > 0 rules out the saturating case);
//   - RoundingDivideByPOT: x >> right, plus one when the remainder exceeds
//     half the divisor (half + 1 for negative x): ties away from zero.
#define Q31(OFF, POFF, DST) \
	VMOVDQU  OFF(SI), DST              \
	VPSLLVD  POFF+32(BX), DST, DST     \
	VMOVDQU  POFF(BX), Y9              \
	VPMULDQ  Y9, DST, Y10              \
	VPSRLQ   $32, DST, Y11             \
	VPSRLQ   $32, Y9, Y9               \
	VPMULDQ  Y9, Y11, Y11              \
	VPADDQ   Y12, Y10, Y10             \
	VPADDQ   Y12, Y11, Y11             \
	VPSRLQ   $31, Y10, Y10             \
	VPSRLQ   $31, Y11, Y11             \
	VPSLLQ   $32, Y11, Y11             \
	VPBLENDD $0xAA, Y11, Y10, DST      \
	VPAND    POFF+96(BX), DST, Y9      \
	VPSRAD   $31, DST, Y10             \
	VMOVDQU  POFF+128(BX), Y11         \
	VPSUBD   Y10, Y11, Y11             \
	VPSRAVD  POFF+64(BX), DST, DST     \
	VPCMPGTD Y11, Y9, Y9               \
	VPSUBD   Y9, DST, DST              \
	VPADDD   Y13, DST, DST             \
	VPMAXSD  Y14, DST, DST             \
	VPMINSD  Y15, DST, DST

// MLAS requantization of the eight accumulators at OFF(SI) with the scales
// at SOFF(BX) into DST: float32(acc) * scale, clamped to [Y14, Y15] =
// [lo-zp, hi-zp] in float, rounded half to even, + zp (Y13).
#define F32(OFF, SOFF, DST) \
	VCVTDQ2PS OFF(SI), DST     \
	VMULPS    SOFF(BX), DST, DST \
	VMAXPS    Y14, DST, DST    \
	VMINPS    Y15, DST, DST    \
	VCVTPS2DQ DST, DST         \
	VPADDD    Y13, DST, DST

// The per-pixel loop shared by both requantizations: BODY(off, poff, dst)
// requantizes eight channels; PSTEP is the parameter bytes per block.
// Four blocks at a time when it can, then one by one. R8/R9 walk the
// pixels' dst/acc rows, R10 counts pixels, R11 is blocks, R12 the stride.
#define REQUANT_LOOP(BODY, PSTEP, PACKB, PIX, QUAD, ONE, NEXT, UNS, DONE) \
PIX:                                     \
	MOVQ  R8, DI                         \
	MOVQ  R9, SI                         \
	MOVQ  p+40(FP), BX                   \
	MOVQ  R11, CX                        \
QUAD:                                    \
	CMPQ  CX, $4                         \
	JLT   ONE                            \
	BODY(0, 0, Y0)                       \
	BODY(32, PSTEP, Y1)                  \
	BODY(64, 2*PSTEP, Y2)                \
	BODY(96, 3*PSTEP, Y3)                \
	STORE32(PACKB)                       \
	ADDQ  $32, DI                        \
	ADDQ  $128, SI                       \
	ADDQ  $4*PSTEP, BX                   \
	SUBQ  $4, CX                         \
	JMP   QUAD                           \
ONE:                                     \
	TESTQ CX, CX                         \
	JZ    NEXT                           \
	BODY(0, 0, Y0)                       \
	STORE8(UNS, DONE)                    \
	ADDQ  $8, DI                         \
	ADDQ  $32, SI                        \
	ADDQ  $PSTEP, BX                     \
	DECQ  CX                             \
	JMP   ONE                            \
NEXT:                                    \
	ADDQ  R12, R8                        \
	LEAQ  (R9)(R12*4), R9                \
	DECQ  R10                            \
	JNZ   PIX

// func requantQ31(dst *byte, acc *int32, pixels, blocks, stride int, p *int32, zp, lo, hi, unsigned int32)
//
// TFLite's MultiplyByQuantizedMultiplier per channel, then + zp and the
// clamp to [lo, hi], for the first blocks*8 channels of each of pixels rows
// (stride elements apart in acc and dst). p packs per block of eight
// channels: multiplier, left shift, right shift, (1<<right)-1 and its half.
TEXT ·requantQ31(SB), NOSPLIT, $0-64
	MOVQ         pixels+16(FP), R10
	TESTQ        R10, R10
	JLE          rqdone
	MOVQ         blocks+24(FP), R11
	TESTQ        R11, R11
	JLE          rqdone
	MOVQ         dst+0(FP), R8
	MOVQ         acc+8(FP), R9
	MOVQ         stride+32(FP), R12
	MOVL         zp+48(FP), AX
	MOVL         AX, X13
	VPBROADCASTD X13, Y13
	MOVL         lo+52(FP), AX
	MOVL         AX, X14
	VPBROADCASTD X14, Y14
	MOVL         hi+56(FP), AX
	MOVL         AX, X15
	VPBROADCASTD X15, Y15
	MOVQ         $0x40000000, AX
	MOVQ         AX, X12
	VPBROADCASTQ X12, Y12
	VMOVDQU      packOrder<>(SB), Y8
	MOVL         unsigned+60(FP), DX
	TESTL        DX, DX
	JNZ          rqunsigned
	REQUANT_LOOP(Q31, 160, VPACKSSWB, rqspix, rqsquad, rqsone, rqsnext, rqsu, rqsd)
	JMP          rqdone

rqunsigned:
	REQUANT_LOOP(Q31, 160, VPACKUSWB, rqupix, rququad, rquone, rqunext, rquu, rqud)

rqdone:
	VZEROUPPER
	RET

// func requantF32(dst *byte, acc *int32, pixels, blocks, stride int, p *float32, zp int32, flo, fhi float32, unsigned int32)
//
// MLAS's requantization (mlasRequantize), laid out as requantQ31 with p the
// channels' float32 scales: the int32 converted to float32 (round to
// nearest even), times the scale, clamped in float to [flo, fhi] =
// [lo-zp, hi-zp], converted with round half to even (VCVTPS2DQ under Go's
// default MXCSR), + zp.
TEXT ·requantF32(SB), NOSPLIT, $0-64
	MOVQ         pixels+16(FP), R10
	TESTQ        R10, R10
	JLE          rfdone
	MOVQ         blocks+24(FP), R11
	TESTQ        R11, R11
	JLE          rfdone
	MOVQ         dst+0(FP), R8
	MOVQ         acc+8(FP), R9
	MOVQ         stride+32(FP), R12
	MOVL         zp+48(FP), AX
	MOVL         AX, X13
	VPBROADCASTD X13, Y13
	VBROADCASTSS flo+52(FP), Y14
	VBROADCASTSS fhi+56(FP), Y15
	VMOVDQU      packOrder<>(SB), Y8
	MOVL         unsigned+60(FP), DX
	TESTL        DX, DX
	JNZ          rfunsigned
	REQUANT_LOOP(F32, 32, VPACKSSWB, rfspix, rfsquad, rfsone, rfsnext, rfsu, rfsd)
	JMP          rfdone

rfunsigned:
	REQUANT_LOOP(F32, 32, VPACKUSWB, rfupix, rfuquad, rfuone, rfunext, rfuu, rfud)

rfdone:
	VZEROUPPER
	RET

// func quantizeF32(dst *byte, src *float32, blocks int, scale float32, zp int32, flo, fhi float32, unsigned int32)
//
// MlasQuantizeLinear for blocks*8 floats, as the reference computes it:
// the float32 quotient x / scale (VDIVPS rounds as Go's float32 division),
// clamped to [flo, fhi] = [lo-zp, hi-zp] with the quotient as VMAXPS's first
// source, so that NaN yields flo (lo once the zero point is added), then
// rounded half to even and offset by the zero point.
TEXT ·quantizeF32(SB), NOSPLIT, $0-44
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         blocks+16(FP), CX
	TESTQ        CX, CX
	JLE          qfdone
	VBROADCASTSS scale+24(FP), Y12
	MOVL         zp+28(FP), AX
	MOVL         AX, X13
	VPBROADCASTD X13, Y13
	VBROADCASTSS flo+32(FP), Y14
	VBROADCASTSS fhi+36(FP), Y15
	MOVL         unsigned+40(FP), DX

qfloop:
	VMOVUPS      (SI), Y0
	VDIVPS       Y12, Y0, Y0
	VMAXPS       Y14, Y0, Y0
	VMINPS       Y15, Y0, Y0
	VCVTPS2DQ    Y0, Y0
	VPADDD       Y13, Y0, Y0
	STORE8(qfu, qfst)
	ADDQ         $8, DI
	ADDQ         $32, SI
	DECQ         CX
	JNZ          qfloop

qfdone:
	VZEROUPPER
	RET

// func qgemv16(k2 int, a *int16, b *int16, c *int32, bias *int32)
//
// One row of qgemm6x16: c[0:16] = bias + a * panel over k2 pairs, four pair
// phases in separate accumulators (integer sums: the order is free).
TEXT ·qgemv16(SB), NOSPLIT, $0-40
	MOVQ  k2+0(FP), CX
	MOVQ  a+8(FP), SI
	MOVQ  b+16(FP), BX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	MOVQ  CX, DX
	SHRQ  $2, DX
	JZ    qv16tail

qv16loop:
	VPBROADCASTD (SI), Y8
	VPMADDWD     (BX), Y8, Y12
	VPADDD       Y12, Y0, Y0
	VPMADDWD     32(BX), Y8, Y13
	VPADDD       Y13, Y1, Y1
	VPBROADCASTD 4(SI), Y9
	VPMADDWD     64(BX), Y9, Y12
	VPADDD       Y12, Y2, Y2
	VPMADDWD     96(BX), Y9, Y13
	VPADDD       Y13, Y3, Y3
	VPBROADCASTD 8(SI), Y10
	VPMADDWD     128(BX), Y10, Y12
	VPADDD       Y12, Y4, Y4
	VPMADDWD     160(BX), Y10, Y13
	VPADDD       Y13, Y5, Y5
	VPBROADCASTD 12(SI), Y11
	VPMADDWD     192(BX), Y11, Y12
	VPADDD       Y12, Y6, Y6
	VPMADDWD     224(BX), Y11, Y13
	VPADDD       Y13, Y7, Y7
	ADDQ         $16, SI
	ADDQ         $256, BX
	DECQ         DX
	JNZ          qv16loop

qv16tail:
	ANDQ $3, CX
	JZ   qv16done

qv16one:
	VPBROADCASTD (SI), Y8
	VPMADDWD     (BX), Y8, Y12
	VPADDD       Y12, Y0, Y0
	VPMADDWD     32(BX), Y8, Y13
	VPADDD       Y13, Y1, Y1
	ADDQ         $4, SI
	ADDQ         $64, BX
	DECQ         CX
	JNZ          qv16one

qv16done:
	VPADDD  Y2, Y0, Y0
	VPADDD  Y3, Y1, Y1
	VPADDD  Y6, Y4, Y4
	VPADDD  Y7, Y5, Y5
	VPADDD  Y4, Y0, Y0
	VPADDD  Y5, Y1, Y1
	MOVQ    bias+32(FP), AX
	VPADDD  (AX), Y0, Y0
	VPADDD  32(AX), Y1, Y1
	MOVQ    c+24(FP), DI
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)
	VZEROUPPER
	RET

// func qdw3x3Taps(acc *int32, taps *[9]*byte, w *int16, bias *int32, blocks int, signed int32)
//
// One output pixel of qdw3x3 whose nine taps are given one by one (a tap in
// the padding points at stored zero points): the border pixels of a row.
// The same block as qdw3x3, with the tap pointers in AX..R11 (the
// QDW_BLOCK macro addresses rows; this one spells the taps out).
#define QDWT_BLOCK(EXT) \
	VPXOR       Y0, Y0, Y0                 \
	VPXOR       Y1, Y1, Y1                 \
	QDW_PAIR(EXT, (AX), (BX), 0)           \
	QDW_PAIR(EXT, (CX), (DX), 64)          \
	QDW_PAIR(EXT, (R8), (R9), 128)         \
	QDW_PAIR(EXT, (R10), (R11), 192)       \
	EXT         (R12), Y2                  \
	VPXOR       Y3, Y3, Y3                 \
	VPUNPCKLWD  Y3, Y2, Y4                 \
	VPUNPCKHWD  Y3, Y2, Y5                 \
	VPMADDWD    256(SI), Y4, Y4            \
	VPMADDWD    288(SI), Y5, Y5            \
	VPADDD      Y4, Y0, Y0                 \
	VPADDD      Y5, Y1, Y1                 \
	VPERM2I128  $0x20, Y1, Y0, Y6          \
	VPERM2I128  $0x31, Y1, Y0, Y7          \
	VPADDD      (DI), Y6, Y6               \
	VPADDD      32(DI), Y7, Y7             \
	VMOVDQU     Y6, (R14)                  \
	VMOVDQU     Y7, 32(R14)                \
	ADDQ        $320, SI                   \
	ADDQ        $64, DI                    \
	ADDQ        $16, AX                    \
	ADDQ        $16, BX                    \
	ADDQ        $16, CX                    \
	ADDQ        $16, DX                    \
	ADDQ        $16, R8                    \
	ADDQ        $16, R9                    \
	ADDQ        $16, R10                   \
	ADDQ        $16, R11                   \
	ADDQ        $16, R12                   \
	ADDQ        $64, R14

TEXT ·qdw3x3Taps(SB), NOSPLIT, $0-44
	MOVQ  blocks+32(FP), R13
	TESTQ R13, R13
	JLE   qtend
	MOVQ  acc+0(FP), R14
	MOVQ  taps+8(FP), SI
	MOVQ  0(SI), AX
	MOVQ  8(SI), BX
	MOVQ  16(SI), CX
	MOVQ  24(SI), DX
	MOVQ  32(SI), R8
	MOVQ  40(SI), R9
	MOVQ  48(SI), R10
	MOVQ  56(SI), R11
	MOVQ  64(SI), R12
	MOVQ  w+16(FP), SI
	MOVQ  bias+24(FP), DI
	CMPL  signed+40(FP), $0
	JNE   qtsigned

qtunsigned:
	QDWT_BLOCK(VPMOVZXBW)
	DECQ R13
	JNZ  qtunsigned
	JMP  qtend

qtsigned:
	QDWT_BLOCK(VPMOVSXBW)
	DECQ R13
	JNZ  qtsigned

qtend:
	VZEROUPPER
	RET
