//go:build arm64 && !purego

#include "textflag.h"

// SDOT int8 GEMM kernels (the neon-dotprod family), the contracts of the
// amd64 VNNI kernels (fast_avx512_amd64.go) with signed activations: SDOT
// multiplies four signed bytes of A (activations as int8: uint8 inputs
// XOR 0x80, that is x - 128) by four signed bytes of B (weights minus
// their zero point) and adds the four products to an int32 lane: |4 * 128
// * 128| fits, and the sums wrap in int32 as the reference's do. The
// folded bias (fast_qvnni.go) makes the sums the reference's. Go's
// assembler lacks SDOT: WORDs, each followed by the instruction it encodes.
// Declarations in fast_dot_arm64.go.

// func qdot6x16v(k4 int, a *byte, lda int, b *int8, c *int32, ldc int, bias *int32)
//
// C[6x16] = bias + A*B over k4 groups of four k: A rows lda bytes apart, b
// a packed panel ([k4][16][4]), C rows ldc int32 apart. Row i's
// accumulators are V(4i)..V(4i+3) (columns 0-3, 4-7, 8-11, 12-15); each
// row's group of four bytes is broadcast to all lanes (LD1R) and dotted
// with the panel's four vectors.
TEXT ·qdot6x16v(SB), NOSPLIT, $0-56
	MOVD k4+0(FP), R0
	MOVD a+8(FP), R1
	MOVD lda+16(FP), R2
	MOVD b+24(FP), R3
	MOVD c+32(FP), R4
	MOVD ldc+40(FP), R5
	MOVD bias+48(FP), R6
	LSL  $2, R5
	ADD  R2, R1, R7
	ADD  R2, R7, R8
	ADD  R2, R8, R9
	ADD  R2, R9, R10
	ADD  R2, R10, R11
	VLD1 (R6), [V0.S4, V1.S4, V2.S4, V3.S4]
	VORR V0.B16, V0.B16, V4.B16
	VORR V1.B16, V1.B16, V5.B16
	VORR V2.B16, V2.B16, V6.B16
	VORR V3.B16, V3.B16, V7.B16
	VORR V0.B16, V0.B16, V8.B16
	VORR V1.B16, V1.B16, V9.B16
	VORR V2.B16, V2.B16, V10.B16
	VORR V3.B16, V3.B16, V11.B16
	VORR V0.B16, V0.B16, V12.B16
	VORR V1.B16, V1.B16, V13.B16
	VORR V2.B16, V2.B16, V14.B16
	VORR V3.B16, V3.B16, V15.B16
	VORR V0.B16, V0.B16, V16.B16
	VORR V1.B16, V1.B16, V17.B16
	VORR V2.B16, V2.B16, V18.B16
	VORR V3.B16, V3.B16, V19.B16
	VORR V0.B16, V0.B16, V20.B16
	VORR V1.B16, V1.B16, V21.B16
	VORR V2.B16, V2.B16, V22.B16
	VORR V3.B16, V3.B16, V23.B16
	CBZ  R0, qd16done

qd16loop:
	VLD1.P 64(R3), [V24.B16, V25.B16, V26.B16, V27.B16]
	VLD1R.P 4(R1), [V28.S4]
	WORD $0x4e9c9700 // SDOT V0.4S, V24.16B, V28.16B
	WORD $0x4e9c9721 // SDOT V1.4S, V25.16B, V28.16B
	WORD $0x4e9c9742 // SDOT V2.4S, V26.16B, V28.16B
	WORD $0x4e9c9763 // SDOT V3.4S, V27.16B, V28.16B
	VLD1R.P 4(R7), [V29.S4]
	WORD $0x4e9d9704 // SDOT V4.4S, V24.16B, V29.16B
	WORD $0x4e9d9725 // SDOT V5.4S, V25.16B, V29.16B
	WORD $0x4e9d9746 // SDOT V6.4S, V26.16B, V29.16B
	WORD $0x4e9d9767 // SDOT V7.4S, V27.16B, V29.16B
	VLD1R.P 4(R8), [V28.S4]
	WORD $0x4e9c9708 // SDOT V8.4S, V24.16B, V28.16B
	WORD $0x4e9c9729 // SDOT V9.4S, V25.16B, V28.16B
	WORD $0x4e9c974a // SDOT V10.4S, V26.16B, V28.16B
	WORD $0x4e9c976b // SDOT V11.4S, V27.16B, V28.16B
	VLD1R.P 4(R9), [V29.S4]
	WORD $0x4e9d970c // SDOT V12.4S, V24.16B, V29.16B
	WORD $0x4e9d972d // SDOT V13.4S, V25.16B, V29.16B
	WORD $0x4e9d974e // SDOT V14.4S, V26.16B, V29.16B
	WORD $0x4e9d976f // SDOT V15.4S, V27.16B, V29.16B
	VLD1R.P 4(R10), [V28.S4]
	WORD $0x4e9c9710 // SDOT V16.4S, V24.16B, V28.16B
	WORD $0x4e9c9731 // SDOT V17.4S, V25.16B, V28.16B
	WORD $0x4e9c9752 // SDOT V18.4S, V26.16B, V28.16B
	WORD $0x4e9c9773 // SDOT V19.4S, V27.16B, V28.16B
	VLD1R.P 4(R11), [V29.S4]
	WORD $0x4e9d9714 // SDOT V20.4S, V24.16B, V29.16B
	WORD $0x4e9d9735 // SDOT V21.4S, V25.16B, V29.16B
	WORD $0x4e9d9756 // SDOT V22.4S, V26.16B, V29.16B
	WORD $0x4e9d9777 // SDOT V23.4S, V27.16B, V29.16B
	SUB  $1, R0
	CBNZ R0, qd16loop

qd16done:
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R4)
	ADD  R5, R4
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R4)
	ADD  R5, R4
	VST1 [V8.S4, V9.S4, V10.S4, V11.S4], (R4)
	ADD  R5, R4
	VST1 [V12.S4, V13.S4, V14.S4, V15.S4], (R4)
	ADD  R5, R4
	VST1 [V16.S4, V17.S4, V18.S4, V19.S4], (R4)
	ADD  R5, R4
	VST1 [V20.S4, V21.S4, V22.S4, V23.S4], (R4)
	RET

// func qdot1x16v(k4 int, a *byte, b *int8, c *int32, bias *int32)
//
// One row of qdot6x16v: two groups per step into two sets of
// accumulators (integer sums: the order is free), summed at the end.
TEXT ·qdot1x16v(SB), NOSPLIT, $0-40
	MOVD k4+0(FP), R0
	MOVD a+8(FP), R1
	MOVD b+16(FP), R3
	MOVD c+24(FP), R4
	MOVD bias+32(FP), R6
	VLD1 (R6), [V0.S4, V1.S4, V2.S4, V3.S4]
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	LSR  $1, R0, R2
	CBZ  R2, qd1tail

qd1loop:
	VLD1.P 64(R3), [V24.B16, V25.B16, V26.B16, V27.B16]
	VLD1R.P 4(R1), [V28.S4]
	VLD1.P 64(R3), [V16.B16, V17.B16, V18.B16, V19.B16]
	VLD1R.P 4(R1), [V29.S4]
	WORD $0x4e9c9700 // SDOT V0.4S, V24.16B, V28.16B
	WORD $0x4e9c9721 // SDOT V1.4S, V25.16B, V28.16B
	WORD $0x4e9c9742 // SDOT V2.4S, V26.16B, V28.16B
	WORD $0x4e9c9763 // SDOT V3.4S, V27.16B, V28.16B
	WORD $0x4e9d9604 // SDOT V4.4S, V16.16B, V29.16B
	WORD $0x4e9d9625 // SDOT V5.4S, V17.16B, V29.16B
	WORD $0x4e9d9646 // SDOT V6.4S, V18.16B, V29.16B
	WORD $0x4e9d9667 // SDOT V7.4S, V19.16B, V29.16B
	SUB  $1, R2
	CBNZ R2, qd1loop

qd1tail:
	AND  $1, R0
	CBZ  R0, qd1done
	VLD1.P 64(R3), [V24.B16, V25.B16, V26.B16, V27.B16]
	VLD1R.P 4(R1), [V28.S4]
	WORD $0x4e9c9700 // SDOT V0.4S, V24.16B, V28.16B
	WORD $0x4e9c9721 // SDOT V1.4S, V25.16B, V28.16B
	WORD $0x4e9c9742 // SDOT V2.4S, V26.16B, V28.16B
	WORD $0x4e9c9763 // SDOT V3.4S, V27.16B, V28.16B

qd1done:
	VADD V4.S4, V0.S4, V0.S4
	VADD V5.S4, V1.S4, V1.S4
	VADD V6.S4, V2.S4, V2.S4
	VADD V7.S4, V3.S4, V3.S4
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R4)
	RET

// func qflip(dst, src *byte, n int)
//
// dst[i] = src[i] ^ 0x80 for n bytes (a multiple of 64): uint8 to the
// int8 that SDOT reads (x - 128).
TEXT ·qflip(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2
	LSR  $6, R2
	CBZ  R2, qfldone
	MOVD $0x80, R3
	VDUP R3, V4.B16

qflloop:
	VLD1.P 64(R1), [V0.B16, V1.B16, V2.B16, V3.B16]
	VEOR V4.B16, V0.B16, V0.B16
	VEOR V4.B16, V1.B16, V1.B16
	VEOR V4.B16, V2.B16, V2.B16
	VEOR V4.B16, V3.B16, V3.B16
	VST1.P [V0.B16, V1.B16, V2.B16, V3.B16], 64(R0)
	SUB  $1, R2
	CBNZ R2, qflloop

qfldone:
	RET
