//go:build arm64 && !purego

#include "textflag.h"

// NEON integer kernels for the quantized fast path, the amd64 kernels'
// contracts (fast_simd_amd64.go). Products are exact: 8-bit values widened
// to int16 (minus a zero point), multiplied into int32 lanes by SMLAL and
// summed with wrap-around like the reference (integer sums do not care
// about order). Requantization reproduces qmath.go bit for bit. Go's
// assembler lacks most of these mnemonics: WORDs, each followed by the
// instruction it encodes.

// func qgemm6x16(k2 int, a *int16, lda int, b *int16, c *int32, ldc int, bias *int32)
//
// C[6x16] = bias + A*B over k2 pairs of k. The panel holds per pair the
// 16 columns' (k, k+1) values; A's pair is broadcast as one 32-bit lane
// (LD1R), so SMLAL multiplies lane by lane: each column's two products
// land in adjacent int32 lanes, summed pairwise (ADDP) at the end. Eight
// columns at a time: row i's accumulators are V(4i)..V(4i+3).
TEXT ·qgemm6x16(SB), NOSPLIT, $0-56
	MOVD k2+0(FP), R0
	MOVD a+8(FP), R1
	MOVD lda+16(FP), R2
	MOVD b+24(FP), R3
	MOVD c+32(FP), R4
	MOVD ldc+40(FP), R5
	MOVD bias+48(FP), R6
	LSL $1, R2
	LSL $2, R5
	ADD R2, R1, R7
	ADD R5, R4, R12
	ADD R2, R7, R8
	ADD R5, R12, R13
	ADD R2, R8, R9
	ADD R5, R13, R14
	ADD R2, R9, R10
	ADD R5, R14, R15
	ADD R2, R10, R11
	ADD R5, R15, R16
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16
	ADD $0, R3, R17
	MOVD R1, R19
	MOVD R7, R20
	MOVD R8, R21
	MOVD R9, R22
	MOVD R10, R23
	MOVD R11, R24
	MOVD R0, R25
	CBZ R25, qgemm6x16_h0_done
qgemm6x16_h0_loop:
	VLD1 (R17), [V24.H8, V25.H8]
	ADD $64, R17
	VLD1R.P 4(R19), [V26.S4]
	WORD $0x0e7a8300 // SMLAL V0.4S, V24.4H, V26.4H
	WORD $0x4e7a8301 // SMLAL2 V1.4S, V24.8H, V26.8H
	WORD $0x0e7a8322 // SMLAL V2.4S, V25.4H, V26.4H
	WORD $0x4e7a8323 // SMLAL2 V3.4S, V25.8H, V26.8H
	VLD1R.P 4(R20), [V26.S4]
	WORD $0x0e7a8304 // SMLAL V4.4S, V24.4H, V26.4H
	WORD $0x4e7a8305 // SMLAL2 V5.4S, V24.8H, V26.8H
	WORD $0x0e7a8326 // SMLAL V6.4S, V25.4H, V26.4H
	WORD $0x4e7a8327 // SMLAL2 V7.4S, V25.8H, V26.8H
	VLD1R.P 4(R21), [V26.S4]
	WORD $0x0e7a8308 // SMLAL V8.4S, V24.4H, V26.4H
	WORD $0x4e7a8309 // SMLAL2 V9.4S, V24.8H, V26.8H
	WORD $0x0e7a832a // SMLAL V10.4S, V25.4H, V26.4H
	WORD $0x4e7a832b // SMLAL2 V11.4S, V25.8H, V26.8H
	VLD1R.P 4(R22), [V26.S4]
	WORD $0x0e7a830c // SMLAL V12.4S, V24.4H, V26.4H
	WORD $0x4e7a830d // SMLAL2 V13.4S, V24.8H, V26.8H
	WORD $0x0e7a832e // SMLAL V14.4S, V25.4H, V26.4H
	WORD $0x4e7a832f // SMLAL2 V15.4S, V25.8H, V26.8H
	VLD1R.P 4(R23), [V26.S4]
	WORD $0x0e7a8310 // SMLAL V16.4S, V24.4H, V26.4H
	WORD $0x4e7a8311 // SMLAL2 V17.4S, V24.8H, V26.8H
	WORD $0x0e7a8332 // SMLAL V18.4S, V25.4H, V26.4H
	WORD $0x4e7a8333 // SMLAL2 V19.4S, V25.8H, V26.8H
	VLD1R.P 4(R24), [V26.S4]
	WORD $0x0e7a8314 // SMLAL V20.4S, V24.4H, V26.4H
	WORD $0x4e7a8315 // SMLAL2 V21.4S, V24.8H, V26.8H
	WORD $0x0e7a8336 // SMLAL V22.4S, V25.4H, V26.4H
	WORD $0x4e7a8337 // SMLAL2 V23.4S, V25.8H, V26.8H
	SUBS $1, R25
	BNE qgemm6x16_h0_loop
qgemm6x16_h0_done:
	ADD $0, R6, R17
	VLD1 (R17), [V24.S4, V25.S4]
	WORD $0x4ea1bc00 // ADDP V0.4S, V0.4S, V1.4S
	WORD $0x4ea3bc41 // ADDP V1.4S, V2.4S, V3.4S
	VADD V24.S4, V0.S4, V0.S4
	VADD V25.S4, V1.S4, V1.S4
	ADD $0, R4, R17
	VST1 [V0.S4, V1.S4], (R17)
	WORD $0x4ea5bc84 // ADDP V4.4S, V4.4S, V5.4S
	WORD $0x4ea7bcc5 // ADDP V5.4S, V6.4S, V7.4S
	VADD V24.S4, V4.S4, V4.S4
	VADD V25.S4, V5.S4, V5.S4
	ADD $0, R12, R17
	VST1 [V4.S4, V5.S4], (R17)
	WORD $0x4ea9bd08 // ADDP V8.4S, V8.4S, V9.4S
	WORD $0x4eabbd49 // ADDP V9.4S, V10.4S, V11.4S
	VADD V24.S4, V8.S4, V8.S4
	VADD V25.S4, V9.S4, V9.S4
	ADD $0, R13, R17
	VST1 [V8.S4, V9.S4], (R17)
	WORD $0x4eadbd8c // ADDP V12.4S, V12.4S, V13.4S
	WORD $0x4eafbdcd // ADDP V13.4S, V14.4S, V15.4S
	VADD V24.S4, V12.S4, V12.S4
	VADD V25.S4, V13.S4, V13.S4
	ADD $0, R14, R17
	VST1 [V12.S4, V13.S4], (R17)
	WORD $0x4eb1be10 // ADDP V16.4S, V16.4S, V17.4S
	WORD $0x4eb3be51 // ADDP V17.4S, V18.4S, V19.4S
	VADD V24.S4, V16.S4, V16.S4
	VADD V25.S4, V17.S4, V17.S4
	ADD $0, R15, R17
	VST1 [V16.S4, V17.S4], (R17)
	WORD $0x4eb5be94 // ADDP V20.4S, V20.4S, V21.4S
	WORD $0x4eb7bed5 // ADDP V21.4S, V22.4S, V23.4S
	VADD V24.S4, V20.S4, V20.S4
	VADD V25.S4, V21.S4, V21.S4
	ADD $0, R16, R17
	VST1 [V20.S4, V21.S4], (R17)
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16
	ADD $32, R3, R17
	MOVD R1, R19
	MOVD R7, R20
	MOVD R8, R21
	MOVD R9, R22
	MOVD R10, R23
	MOVD R11, R24
	MOVD R0, R25
	CBZ R25, qgemm6x16_h1_done
qgemm6x16_h1_loop:
	VLD1 (R17), [V24.H8, V25.H8]
	ADD $64, R17
	VLD1R.P 4(R19), [V26.S4]
	WORD $0x0e7a8300 // SMLAL V0.4S, V24.4H, V26.4H
	WORD $0x4e7a8301 // SMLAL2 V1.4S, V24.8H, V26.8H
	WORD $0x0e7a8322 // SMLAL V2.4S, V25.4H, V26.4H
	WORD $0x4e7a8323 // SMLAL2 V3.4S, V25.8H, V26.8H
	VLD1R.P 4(R20), [V26.S4]
	WORD $0x0e7a8304 // SMLAL V4.4S, V24.4H, V26.4H
	WORD $0x4e7a8305 // SMLAL2 V5.4S, V24.8H, V26.8H
	WORD $0x0e7a8326 // SMLAL V6.4S, V25.4H, V26.4H
	WORD $0x4e7a8327 // SMLAL2 V7.4S, V25.8H, V26.8H
	VLD1R.P 4(R21), [V26.S4]
	WORD $0x0e7a8308 // SMLAL V8.4S, V24.4H, V26.4H
	WORD $0x4e7a8309 // SMLAL2 V9.4S, V24.8H, V26.8H
	WORD $0x0e7a832a // SMLAL V10.4S, V25.4H, V26.4H
	WORD $0x4e7a832b // SMLAL2 V11.4S, V25.8H, V26.8H
	VLD1R.P 4(R22), [V26.S4]
	WORD $0x0e7a830c // SMLAL V12.4S, V24.4H, V26.4H
	WORD $0x4e7a830d // SMLAL2 V13.4S, V24.8H, V26.8H
	WORD $0x0e7a832e // SMLAL V14.4S, V25.4H, V26.4H
	WORD $0x4e7a832f // SMLAL2 V15.4S, V25.8H, V26.8H
	VLD1R.P 4(R23), [V26.S4]
	WORD $0x0e7a8310 // SMLAL V16.4S, V24.4H, V26.4H
	WORD $0x4e7a8311 // SMLAL2 V17.4S, V24.8H, V26.8H
	WORD $0x0e7a8332 // SMLAL V18.4S, V25.4H, V26.4H
	WORD $0x4e7a8333 // SMLAL2 V19.4S, V25.8H, V26.8H
	VLD1R.P 4(R24), [V26.S4]
	WORD $0x0e7a8314 // SMLAL V20.4S, V24.4H, V26.4H
	WORD $0x4e7a8315 // SMLAL2 V21.4S, V24.8H, V26.8H
	WORD $0x0e7a8336 // SMLAL V22.4S, V25.4H, V26.4H
	WORD $0x4e7a8337 // SMLAL2 V23.4S, V25.8H, V26.8H
	SUBS $1, R25
	BNE qgemm6x16_h1_loop
qgemm6x16_h1_done:
	ADD $32, R6, R17
	VLD1 (R17), [V24.S4, V25.S4]
	WORD $0x4ea1bc00 // ADDP V0.4S, V0.4S, V1.4S
	WORD $0x4ea3bc41 // ADDP V1.4S, V2.4S, V3.4S
	VADD V24.S4, V0.S4, V0.S4
	VADD V25.S4, V1.S4, V1.S4
	ADD $32, R4, R17
	VST1 [V0.S4, V1.S4], (R17)
	WORD $0x4ea5bc84 // ADDP V4.4S, V4.4S, V5.4S
	WORD $0x4ea7bcc5 // ADDP V5.4S, V6.4S, V7.4S
	VADD V24.S4, V4.S4, V4.S4
	VADD V25.S4, V5.S4, V5.S4
	ADD $32, R12, R17
	VST1 [V4.S4, V5.S4], (R17)
	WORD $0x4ea9bd08 // ADDP V8.4S, V8.4S, V9.4S
	WORD $0x4eabbd49 // ADDP V9.4S, V10.4S, V11.4S
	VADD V24.S4, V8.S4, V8.S4
	VADD V25.S4, V9.S4, V9.S4
	ADD $32, R13, R17
	VST1 [V8.S4, V9.S4], (R17)
	WORD $0x4eadbd8c // ADDP V12.4S, V12.4S, V13.4S
	WORD $0x4eafbdcd // ADDP V13.4S, V14.4S, V15.4S
	VADD V24.S4, V12.S4, V12.S4
	VADD V25.S4, V13.S4, V13.S4
	ADD $32, R14, R17
	VST1 [V12.S4, V13.S4], (R17)
	WORD $0x4eb1be10 // ADDP V16.4S, V16.4S, V17.4S
	WORD $0x4eb3be51 // ADDP V17.4S, V18.4S, V19.4S
	VADD V24.S4, V16.S4, V16.S4
	VADD V25.S4, V17.S4, V17.S4
	ADD $32, R15, R17
	VST1 [V16.S4, V17.S4], (R17)
	WORD $0x4eb5be94 // ADDP V20.4S, V20.4S, V21.4S
	WORD $0x4eb7bed5 // ADDP V21.4S, V22.4S, V23.4S
	VADD V24.S4, V20.S4, V20.S4
	VADD V25.S4, V21.S4, V21.S4
	ADD $32, R16, R17
	VST1 [V20.S4, V21.S4], (R17)
	RET

// func qgemv16(k2 int, a *int16, b *int16, c *int32, bias *int32)
//
// One row of qgemm6x16.
TEXT ·qgemv16(SB), NOSPLIT, $0-40
	MOVD k2+0(FP), R0
	MOVD a+8(FP), R1
	MOVD b+16(FP), R3
	MOVD c+24(FP), R4
	MOVD bias+32(FP), R6
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	ADD $0, R3, R17
	MOVD R1, R19
	MOVD R0, R25
	CBZ R25, qgemv16_h0_done
qgemv16_h0_loop:
	VLD1 (R17), [V24.H8, V25.H8]
	ADD $64, R17
	VLD1R.P 4(R19), [V26.S4]
	WORD $0x0e7a8300 // SMLAL V0.4S, V24.4H, V26.4H
	WORD $0x4e7a8301 // SMLAL2 V1.4S, V24.8H, V26.8H
	WORD $0x0e7a8322 // SMLAL V2.4S, V25.4H, V26.4H
	WORD $0x4e7a8323 // SMLAL2 V3.4S, V25.8H, V26.8H
	SUBS $1, R25
	BNE qgemv16_h0_loop
qgemv16_h0_done:
	ADD $0, R6, R17
	VLD1 (R17), [V24.S4, V25.S4]
	WORD $0x4ea1bc00 // ADDP V0.4S, V0.4S, V1.4S
	WORD $0x4ea3bc41 // ADDP V1.4S, V2.4S, V3.4S
	VADD V24.S4, V0.S4, V0.S4
	VADD V25.S4, V1.S4, V1.S4
	ADD $0, R4, R17
	VST1 [V0.S4, V1.S4], (R17)
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	ADD $32, R3, R17
	MOVD R1, R19
	MOVD R0, R25
	CBZ R25, qgemv16_h1_done
qgemv16_h1_loop:
	VLD1 (R17), [V24.H8, V25.H8]
	ADD $64, R17
	VLD1R.P 4(R19), [V26.S4]
	WORD $0x0e7a8300 // SMLAL V0.4S, V24.4H, V26.4H
	WORD $0x4e7a8301 // SMLAL2 V1.4S, V24.8H, V26.8H
	WORD $0x0e7a8322 // SMLAL V2.4S, V25.4H, V26.4H
	WORD $0x4e7a8323 // SMLAL2 V3.4S, V25.8H, V26.8H
	SUBS $1, R25
	BNE qgemv16_h1_loop
qgemv16_h1_done:
	ADD $32, R6, R17
	VLD1 (R17), [V24.S4, V25.S4]
	WORD $0x4ea1bc00 // ADDP V0.4S, V0.4S, V1.4S
	WORD $0x4ea3bc41 // ADDP V1.4S, V2.4S, V3.4S
	VADD V24.S4, V0.S4, V0.S4
	VADD V25.S4, V1.S4, V1.S4
	ADD $32, R4, R17
	VST1 [V0.S4, V1.S4], (R17)
	RET

// Bytes read as int8 or uint8 without two code paths: int8(b) is
// uint8(b ^ 0x80) - 128, so every widening XORs with M (0x80 when signed,
// else 0), zero-extends (UXTL) and subtracts an offset (128 when signed).

// func qwiden(dst *int16, src *byte, n int, zp int32, signed int32)
//
// dst[i] = src[i] - zp for n bytes (a multiple of 16).
TEXT ·qwiden(SB), NOSPLIT, $0-32
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2
	MOVW zp+24(FP), R3
	MOVW signed+28(FP), R4
	CMPW $0, R4
	CSETW NE, R4
	LSLW $7, R4
	VDUP R4, V30.B16
	ADDW R4, R3
	VDUP R3, V31.H8
	LSR $4, R2
	CBZ R2, qwiden_done
qwiden_loop:
	VLD1.P 16(R1), [V0.B16]
	VEOR V30.B16, V0.B16, V0.B16
	VUXTL V0.B8, V1.H8
	VUXTL2 V0.B16, V2.H8
	VSUB V31.H8, V1.H8, V1.H8
	VSUB V31.H8, V2.H8, V2.H8
	VST1.P [V1.H8, V2.H8], 32(R0)
	SUBS $1, R2
	BNE qwiden_loop
qwiden_done:
	RET

// One 16-channel block of a 3x3 depthwise pixel: the bias, then per tap
// its 16 bytes widened to int16 (V5: channels 0-7, V6: 8-15) and regrouped
// as the weights are (V7: 0-3 and 8-11, V8: 4-7 and 12-15: the amd64
// lane order); LD2 splits each pair's interleaved weights into its two
// taps. Four accumulators hold channels 0-3, 4-7, 8-11, 12-15.

// Taps R7..R15 advance 16 bytes per block, weights R5 320, bias R6 and
// the output R0 64.
#define QDW_BLOCK \
	VLD1.P 64(R6), [V0.S4, V1.S4, V2.S4, V3.S4] \
	VLD2.P 32(R5), [V16.H8, V17.H8] \
	VLD2.P 32(R5), [V18.H8, V19.H8] \
	VLD1.P 16(R7), [V4.B16] \
	VEOR V30.B16, V4.B16, V4.B16 \
	VUXTL V4.B8, V5.H8 \
	VUXTL2 V4.B16, V6.H8 \
	VSUB V31.H8, V5.H8, V5.H8 \
	VSUB V31.H8, V6.H8, V6.H8 \
	WORD $0x4ec638a7 /* ZIP1 V7.2D, V5.2D, V6.2D */ \
	WORD $0x4ec678a8 /* ZIP2 V8.2D, V5.2D, V6.2D */ \
	WORD $0x0e7080e0 /* SMLAL V0.4S, V7.4H, V16.4H */ \
	WORD $0x4e7080e2 /* SMLAL2 V2.4S, V7.8H, V16.8H */ \
	WORD $0x0e728101 /* SMLAL V1.4S, V8.4H, V18.4H */ \
	WORD $0x4e728103 /* SMLAL2 V3.4S, V8.8H, V18.8H */ \
	VLD1.P 16(R8), [V4.B16] \
	VEOR V30.B16, V4.B16, V4.B16 \
	VUXTL V4.B8, V5.H8 \
	VUXTL2 V4.B16, V6.H8 \
	VSUB V31.H8, V5.H8, V5.H8 \
	VSUB V31.H8, V6.H8, V6.H8 \
	WORD $0x4ec638a7 /* ZIP1 V7.2D, V5.2D, V6.2D */ \
	WORD $0x4ec678a8 /* ZIP2 V8.2D, V5.2D, V6.2D */ \
	WORD $0x0e7180e0 /* SMLAL V0.4S, V7.4H, V17.4H */ \
	WORD $0x4e7180e2 /* SMLAL2 V2.4S, V7.8H, V17.8H */ \
	WORD $0x0e738101 /* SMLAL V1.4S, V8.4H, V19.4H */ \
	WORD $0x4e738103 /* SMLAL2 V3.4S, V8.8H, V19.8H */ \
	VLD2.P 32(R5), [V16.H8, V17.H8] \
	VLD2.P 32(R5), [V18.H8, V19.H8] \
	VLD1.P 16(R9), [V4.B16] \
	VEOR V30.B16, V4.B16, V4.B16 \
	VUXTL V4.B8, V5.H8 \
	VUXTL2 V4.B16, V6.H8 \
	VSUB V31.H8, V5.H8, V5.H8 \
	VSUB V31.H8, V6.H8, V6.H8 \
	WORD $0x4ec638a7 /* ZIP1 V7.2D, V5.2D, V6.2D */ \
	WORD $0x4ec678a8 /* ZIP2 V8.2D, V5.2D, V6.2D */ \
	WORD $0x0e7080e0 /* SMLAL V0.4S, V7.4H, V16.4H */ \
	WORD $0x4e7080e2 /* SMLAL2 V2.4S, V7.8H, V16.8H */ \
	WORD $0x0e728101 /* SMLAL V1.4S, V8.4H, V18.4H */ \
	WORD $0x4e728103 /* SMLAL2 V3.4S, V8.8H, V18.8H */ \
	VLD1.P 16(R10), [V4.B16] \
	VEOR V30.B16, V4.B16, V4.B16 \
	VUXTL V4.B8, V5.H8 \
	VUXTL2 V4.B16, V6.H8 \
	VSUB V31.H8, V5.H8, V5.H8 \
	VSUB V31.H8, V6.H8, V6.H8 \
	WORD $0x4ec638a7 /* ZIP1 V7.2D, V5.2D, V6.2D */ \
	WORD $0x4ec678a8 /* ZIP2 V8.2D, V5.2D, V6.2D */ \
	WORD $0x0e7180e0 /* SMLAL V0.4S, V7.4H, V17.4H */ \
	WORD $0x4e7180e2 /* SMLAL2 V2.4S, V7.8H, V17.8H */ \
	WORD $0x0e738101 /* SMLAL V1.4S, V8.4H, V19.4H */ \
	WORD $0x4e738103 /* SMLAL2 V3.4S, V8.8H, V19.8H */ \
	VLD2.P 32(R5), [V16.H8, V17.H8] \
	VLD2.P 32(R5), [V18.H8, V19.H8] \
	VLD1.P 16(R11), [V4.B16] \
	VEOR V30.B16, V4.B16, V4.B16 \
	VUXTL V4.B8, V5.H8 \
	VUXTL2 V4.B16, V6.H8 \
	VSUB V31.H8, V5.H8, V5.H8 \
	VSUB V31.H8, V6.H8, V6.H8 \
	WORD $0x4ec638a7 /* ZIP1 V7.2D, V5.2D, V6.2D */ \
	WORD $0x4ec678a8 /* ZIP2 V8.2D, V5.2D, V6.2D */ \
	WORD $0x0e7080e0 /* SMLAL V0.4S, V7.4H, V16.4H */ \
	WORD $0x4e7080e2 /* SMLAL2 V2.4S, V7.8H, V16.8H */ \
	WORD $0x0e728101 /* SMLAL V1.4S, V8.4H, V18.4H */ \
	WORD $0x4e728103 /* SMLAL2 V3.4S, V8.8H, V18.8H */ \
	VLD1.P 16(R12), [V4.B16] \
	VEOR V30.B16, V4.B16, V4.B16 \
	VUXTL V4.B8, V5.H8 \
	VUXTL2 V4.B16, V6.H8 \
	VSUB V31.H8, V5.H8, V5.H8 \
	VSUB V31.H8, V6.H8, V6.H8 \
	WORD $0x4ec638a7 /* ZIP1 V7.2D, V5.2D, V6.2D */ \
	WORD $0x4ec678a8 /* ZIP2 V8.2D, V5.2D, V6.2D */ \
	WORD $0x0e7180e0 /* SMLAL V0.4S, V7.4H, V17.4H */ \
	WORD $0x4e7180e2 /* SMLAL2 V2.4S, V7.8H, V17.8H */ \
	WORD $0x0e738101 /* SMLAL V1.4S, V8.4H, V19.4H */ \
	WORD $0x4e738103 /* SMLAL2 V3.4S, V8.8H, V19.8H */ \
	VLD2.P 32(R5), [V16.H8, V17.H8] \
	VLD2.P 32(R5), [V18.H8, V19.H8] \
	VLD1.P 16(R13), [V4.B16] \
	VEOR V30.B16, V4.B16, V4.B16 \
	VUXTL V4.B8, V5.H8 \
	VUXTL2 V4.B16, V6.H8 \
	VSUB V31.H8, V5.H8, V5.H8 \
	VSUB V31.H8, V6.H8, V6.H8 \
	WORD $0x4ec638a7 /* ZIP1 V7.2D, V5.2D, V6.2D */ \
	WORD $0x4ec678a8 /* ZIP2 V8.2D, V5.2D, V6.2D */ \
	WORD $0x0e7080e0 /* SMLAL V0.4S, V7.4H, V16.4H */ \
	WORD $0x4e7080e2 /* SMLAL2 V2.4S, V7.8H, V16.8H */ \
	WORD $0x0e728101 /* SMLAL V1.4S, V8.4H, V18.4H */ \
	WORD $0x4e728103 /* SMLAL2 V3.4S, V8.8H, V18.8H */ \
	VLD1.P 16(R14), [V4.B16] \
	VEOR V30.B16, V4.B16, V4.B16 \
	VUXTL V4.B8, V5.H8 \
	VUXTL2 V4.B16, V6.H8 \
	VSUB V31.H8, V5.H8, V5.H8 \
	VSUB V31.H8, V6.H8, V6.H8 \
	WORD $0x4ec638a7 /* ZIP1 V7.2D, V5.2D, V6.2D */ \
	WORD $0x4ec678a8 /* ZIP2 V8.2D, V5.2D, V6.2D */ \
	WORD $0x0e7180e0 /* SMLAL V0.4S, V7.4H, V17.4H */ \
	WORD $0x4e7180e2 /* SMLAL2 V2.4S, V7.8H, V17.8H */ \
	WORD $0x0e738101 /* SMLAL V1.4S, V8.4H, V19.4H */ \
	WORD $0x4e738103 /* SMLAL2 V3.4S, V8.8H, V19.8H */ \
	VLD2.P 32(R5), [V16.H8, V17.H8] \
	VLD2.P 32(R5), [V18.H8, V19.H8] \
	VLD1.P 16(R15), [V4.B16] \
	VEOR V30.B16, V4.B16, V4.B16 \
	VUXTL V4.B8, V5.H8 \
	VUXTL2 V4.B16, V6.H8 \
	VSUB V31.H8, V5.H8, V5.H8 \
	VSUB V31.H8, V6.H8, V6.H8 \
	WORD $0x4ec638a7 /* ZIP1 V7.2D, V5.2D, V6.2D */ \
	WORD $0x4ec678a8 /* ZIP2 V8.2D, V5.2D, V6.2D */ \
	WORD $0x0e7080e0 /* SMLAL V0.4S, V7.4H, V16.4H */ \
	WORD $0x4e7080e2 /* SMLAL2 V2.4S, V7.8H, V16.8H */ \
	WORD $0x0e728101 /* SMLAL V1.4S, V8.4H, V18.4H */ \
	WORD $0x4e728103 /* SMLAL2 V3.4S, V8.8H, V18.8H */ \
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)

// func qdw3x3(acc *int32, r0, r1, r2 *byte, w *int16, bias *int32, n, blocks, xStep, tapStep int, signed int32)
//
// n output pixels, blocks*16 channels: acc[x*C+ch] = bias[ch] + sum of
// in_fy[x*xStep + fx*tapStep + ch] * w(fy,fx,ch) in int32; input zero
// points are folded into bias by the caller.
TEXT ·qdw3x3(SB), NOSPLIT, $0-84
	MOVD acc+0(FP), R0
	MOVD r0+8(FP), R1
	MOVD r1+16(FP), R2
	MOVD r2+24(FP), R3
	MOVD w+32(FP), R4
	MOVD n+48(FP), R16
	MOVD blocks+56(FP), R17
	MOVD xStep+64(FP), R19
	MOVD tapStep+72(FP), R20
	MOVW signed+80(FP), R21
	CMPW $0, R21
	CSETW NE, R21
	LSLW $7, R21
	VDUP R21, V30.B16
	VDUP R21, V31.H8
	CBZ R16, qdw_done
	CBZ R17, qdw_done
qdw_pixel:
	MOVD R1, R7
	ADD R20, R1, R8
	ADD R20, R8, R9
	MOVD R2, R10
	ADD R20, R2, R11
	ADD R20, R11, R12
	MOVD R3, R13
	ADD R20, R3, R14
	ADD R20, R14, R15
	MOVD R4, R5
	MOVD bias+40(FP), R6
	MOVD R17, R22
qdw_block:
	QDW_BLOCK
	SUBS $1, R22
	BNE qdw_block
	ADD R19, R1
	ADD R19, R2
	ADD R19, R3
	SUBS $1, R16
	BNE qdw_pixel
qdw_done:
	RET

// func qdw3x3Taps(acc *int32, taps *[9]*byte, w *int16, bias *int32, blocks int, signed int32)
//
// One output pixel of qdw3x3 from nine tap pointers (a tap in the padding
// points at stored zero points).
TEXT ·qdw3x3Taps(SB), NOSPLIT, $0-44
	MOVD acc+0(FP), R0
	MOVD taps+8(FP), R1
	MOVD w+16(FP), R5
	MOVD bias+24(FP), R6
	MOVD blocks+32(FP), R22
	MOVW signed+40(FP), R21
	CMPW $0, R21
	CSETW NE, R21
	LSLW $7, R21
	VDUP R21, V30.B16
	VDUP R21, V31.H8
	MOVD 0(R1), R7
	MOVD 8(R1), R8
	MOVD 16(R1), R9
	MOVD 24(R1), R10
	MOVD 32(R1), R11
	MOVD 40(R1), R12
	MOVD 48(R1), R13
	MOVD 56(R1), R14
	MOVD 64(R1), R15
	CBZ R22, qdwt_done
qdwt_block:
	QDW_BLOCK
	SUBS $1, R22
	BNE qdwt_block
qdwt_done:
	RET

// func requantQ31(dst *byte, acc *int32, pixels, blocks, stride int, p *int32, zp, lo, hi, unsigned int32)
//
// TFLite's MultiplyByQuantizedMultiplier per channel (qRequant.apply),
// then + zp and the clamp, for the first blocks*8 channels of each of
// pixels rows (stride elements apart). p packs per block of eight
// channels: multiplier, left shift, right shift, (1<<right)-1 and its
// half. x << left wraps (SSHL) like the int32 product x * 2^left;
// SQRDMULH is srdhm exactly (floor((x*m + 2^30) / 2^31), saturating
// where srdhm does); RoundingDivideByPOT is x >> right plus one when the
// remainder exceeds the half (half + 1 for negative x). The clamped values
// fit the output type, so narrowing keeps them for int8 and uint8 alike.
TEXT ·requantQ31(SB), NOSPLIT, $0-64
	MOVD dst+0(FP), R0
	MOVD acc+8(FP), R1
	MOVD pixels+16(FP), R2
	MOVD blocks+24(FP), R3
	MOVD stride+32(FP), R4
	MOVD p+40(FP), R6
	MOVW zp+48(FP), R13
	MOVW lo+52(FP), R14
	MOVW hi+56(FP), R15
	VDUP R13, V29.S4
	VDUP R14, V30.S4
	VDUP R15, V31.S4
	CBZ R2, rq31_done
	CBZ R3, rq31_done
	MOVD R0, R8
	MOVD R1, R9
	LSL $2, R4, R7
rq31_pixel:
	MOVD R8, R10
	MOVD R9, R11
	MOVD R6, R5
	MOVD R3, R12
rq31_block:
	VLD1.P 32(R11), [V0.S4, V1.S4]
	VLD1.P 64(R5), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R5), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1.P 32(R5), [V24.S4, V25.S4]
	WORD $0x4eb24400 // SSHL V0.4S, V0.4S, V18.4S
	WORD $0x6eb0b400 // SQRDMULH V0.4S, V0.4S, V16.4S
	VAND V22.B16, V0.B16, V26.B16
	WORD $0x4ea0a81b // CMLT V27.4S, V0.4S, #0
	VSUB V27.S4, V24.S4, V27.S4
	WORD $0x6ea0ba9c // NEG V28.4S, V20.4S
	WORD $0x4ebc4400 // SSHL V0.4S, V0.4S, V28.4S
	WORD $0x4ebb375a // CMGT V26.4S, V26.4S, V27.4S
	VSUB V26.S4, V0.S4, V0.S4
	VADD V29.S4, V0.S4, V0.S4
	WORD $0x4ebe6400 // SMAX V0.4S, V0.4S, V30.4S
	WORD $0x4ebf6c00 // SMIN V0.4S, V0.4S, V31.4S
	WORD $0x4eb34421 // SSHL V1.4S, V1.4S, V19.4S
	WORD $0x6eb1b421 // SQRDMULH V1.4S, V1.4S, V17.4S
	VAND V23.B16, V1.B16, V26.B16
	WORD $0x4ea0a83b // CMLT V27.4S, V1.4S, #0
	VSUB V27.S4, V25.S4, V27.S4
	WORD $0x6ea0babc // NEG V28.4S, V21.4S
	WORD $0x4ebc4421 // SSHL V1.4S, V1.4S, V28.4S
	WORD $0x4ebb375a // CMGT V26.4S, V26.4S, V27.4S
	VSUB V26.S4, V1.S4, V1.S4
	VADD V29.S4, V1.S4, V1.S4
	WORD $0x4ebe6421 // SMAX V1.4S, V1.4S, V30.4S
	WORD $0x4ebf6c21 // SMIN V1.4S, V1.4S, V31.4S
	WORD $0x0e612802 // XTN V2.4H, V0.4S
	WORD $0x4e612822 // XTN2 V2.8H, V1.4S
	WORD $0x0e212842 // XTN V2.8B, V2.8H
	VST1.P [V2.B8], 8(R10)
	SUBS $1, R12
	BNE rq31_block
	ADD R4, R8
	ADD R7, R9
	SUBS $1, R2
	BNE rq31_pixel
rq31_done:
	RET

// func requantF32(dst *byte, acc *int32, pixels, blocks, stride int, p *float32, zp int32, flo, fhi float32, unsigned int32)
//
// MLAS's requantization (mlasRequantize), laid out as requantQ31 with p the
// channels' scales: float32(acc) (SCVTF rounds to nearest even) times the
// scale, clamped to [flo, fhi] = [lo-zp, hi-zp], converted with round half
// to even (FCVTNS), + zp.
TEXT ·requantF32(SB), NOSPLIT, $0-64
	MOVD dst+0(FP), R0
	MOVD acc+8(FP), R1
	MOVD pixels+16(FP), R2
	MOVD blocks+24(FP), R3
	MOVD stride+32(FP), R4
	MOVD p+40(FP), R6
	MOVW zp+48(FP), R13
	VDUP R13, V29.S4
	FMOVS flo+52(FP), F30
	FMOVS fhi+56(FP), F31
	VDUP V30.S[0], V30.S4
	VDUP V31.S[0], V31.S4
	CBZ R2, rqf32_done
	CBZ R3, rqf32_done
	MOVD R0, R8
	MOVD R1, R9
	LSL $2, R4, R7
rqf32_pixel:
	MOVD R8, R10
	MOVD R9, R11
	MOVD R6, R5
	MOVD R3, R12
rqf32_block:
	VLD1.P 32(R11), [V0.S4, V1.S4]
	VLD1.P 32(R5), [V16.S4, V17.S4]
	WORD $0x4e21d800 // SCVTF V0.4S, V0.4S
	WORD $0x6e30dc00 // FMUL V0.4S, V0.4S, V16.4S
	WORD $0x4e3ef400 // FMAX V0.4S, V0.4S, V30.4S
	WORD $0x4ebff400 // FMIN V0.4S, V0.4S, V31.4S
	WORD $0x4e21a800 // FCVTNS V0.4S, V0.4S
	VADD V29.S4, V0.S4, V0.S4
	WORD $0x4e21d821 // SCVTF V1.4S, V1.4S
	WORD $0x6e31dc21 // FMUL V1.4S, V1.4S, V17.4S
	WORD $0x4e3ef421 // FMAX V1.4S, V1.4S, V30.4S
	WORD $0x4ebff421 // FMIN V1.4S, V1.4S, V31.4S
	WORD $0x4e21a821 // FCVTNS V1.4S, V1.4S
	VADD V29.S4, V1.S4, V1.S4
	WORD $0x0e612802 // XTN V2.4H, V0.4S
	WORD $0x4e612822 // XTN2 V2.8H, V1.4S
	WORD $0x0e212842 // XTN V2.8B, V2.8H
	VST1.P [V2.B8], 8(R10)
	SUBS $1, R12
	BNE rqf32_block
	ADD R4, R8
	ADD R7, R9
	SUBS $1, R2
	BNE rqf32_pixel
rqf32_done:
	RET

// func quantizeF32(dst *byte, src *float32, blocks int, scale float32, zp int32, flo, fhi float32, unsigned int32)
//
// MlasQuantizeLinear for blocks*8 floats as the reference computes it: the
// float32 quotient x / scale, clamped to [flo, fhi] = [lo-zp, hi-zp] with
// FMAXNM first, so that NaN yields flo, rounded half to even (FCVTNS),
// + zp.
TEXT ·quantizeF32(SB), NOSPLIT, $0-44
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD blocks+16(FP), R2
	FMOVS scale+24(FP), F28
	MOVW zp+28(FP), R13
	FMOVS flo+32(FP), F30
	FMOVS fhi+36(FP), F31
	VDUP V28.S[0], V28.S4
	VDUP R13, V29.S4
	VDUP V30.S[0], V30.S4
	VDUP V31.S[0], V31.S4
	CBZ R2, qf32_done
qf32_loop:
	VLD1.P 32(R1), [V0.S4, V1.S4]
	WORD $0x6e3cfc00 // FDIV V0.4S, V0.4S, V28.4S
	WORD $0x4e3ec400 // FMAXNM V0.4S, V0.4S, V30.4S
	WORD $0x4ebfc400 // FMINNM V0.4S, V0.4S, V31.4S
	WORD $0x4e21a800 // FCVTNS V0.4S, V0.4S
	VADD V29.S4, V0.S4, V0.S4
	WORD $0x6e3cfc21 // FDIV V1.4S, V1.4S, V28.4S
	WORD $0x4e3ec421 // FMAXNM V1.4S, V1.4S, V30.4S
	WORD $0x4ebfc421 // FMINNM V1.4S, V1.4S, V31.4S
	WORD $0x4e21a821 // FCVTNS V1.4S, V1.4S
	VADD V29.S4, V1.S4, V1.S4
	WORD $0x0e612802 // XTN V2.4H, V0.4S
	WORD $0x4e612822 // XTN2 V2.8H, V1.4S
	WORD $0x0e212842 // XTN V2.8B, V2.8H
	VST1.P [V2.B8], 8(R0)
	SUBS $1, R2
	BNE qf32_loop
qf32_done:
	RET
