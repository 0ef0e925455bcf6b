//go:build arm64 && !purego

#include "textflag.h"

// NEON HardSwish and HardSigmoid (declarations in fast_hswish_arm64.go):
// as on amd64 (fast_hswish_amd64.s), each float widened to float64
// (FCVTL, exact), the reference formula's float64 operations in its order
// (FMAX and FMIN propagate NaN and order -0 below +0, as Go's max and min
// do; FMUL then FADD, never a fused multiply-add), one rounding to float32
// (FCVTN). The Go assembler lacks these vector forms: they are WORDs, each
// followed by the instruction it encodes. Four floats a step.

// func hswishF32(y, x *float32, n int)
TEXT ·hswishF32(SB), NOSPLIT, $0-24
	MOVD  y+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  n+16(FP), R2
	LSR   $2, R2
	CBZ   R2, hswish_done
	FMOVD $3.0, F10
	FMOVD $6.0, F12
	WORD  $0x4e08054a // DUP V10.2D, V10.D[0]
	WORD  $0x4e08058c // DUP V12.2D, V12.D[0]
	WORD  $0x6f00e40b // MOVI V11.2D, #0

hswish_loop:
	VLD1.P 16(R1), [V0.S4]
	WORD   $0x0e617801 // FCVTL V1.2D, V0.2S
	WORD   $0x4e617802 // FCVTL2 V2.2D, V0.4S
	WORD   $0x4e6ad423 // FADD V3.2D, V1.2D, V10.2D
	WORD   $0x4e6bf463 // FMAX V3.2D, V3.2D, V11.2D
	WORD   $0x4eecf463 // FMIN V3.2D, V3.2D, V12.2D
	WORD   $0x6e63dc23 // FMUL V3.2D, V1.2D, V3.2D
	WORD   $0x6e6cfc63 // FDIV V3.2D, V3.2D, V12.2D
	WORD   $0x4e6ad444 // FADD V4.2D, V2.2D, V10.2D
	WORD   $0x4e6bf484 // FMAX V4.2D, V4.2D, V11.2D
	WORD   $0x4eecf484 // FMIN V4.2D, V4.2D, V12.2D
	WORD   $0x6e64dc44 // FMUL V4.2D, V2.2D, V4.2D
	WORD   $0x6e6cfc84 // FDIV V4.2D, V4.2D, V12.2D
	WORD   $0x0e616865 // FCVTN V5.2S, V3.2D
	WORD   $0x4e616885 // FCVTN2 V5.4S, V4.2D
	VST1.P [V5.S4], 16(R0)
	SUBS   $1, R2
	BNE    hswish_loop

hswish_done:
	RET

// func hsigmoidF32(y, x *float32, n int, alpha, beta float64)
//
// max(0, min(1, alpha*x + beta)) + 0: the + 0 is amd64's (a -0 becomes
// +0); FMAX alone already gives +0 here, and adding +0 changes nothing else.
TEXT ·hsigmoidF32(SB), NOSPLIT, $0-40
	MOVD  y+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  n+16(FP), R2
	LSR   $2, R2
	CBZ   R2, hsigmoid_done
	FMOVD alpha+24(FP), F10
	FMOVD beta+32(FP), F13
	FMOVD $1.0, F12
	WORD  $0x4e08054a // DUP V10.2D, V10.D[0]
	WORD  $0x4e08058c // DUP V12.2D, V12.D[0]
	WORD  $0x4e0805ad // DUP V13.2D, V13.D[0]
	WORD  $0x6f00e40b // MOVI V11.2D, #0

hsigmoid_loop:
	VLD1.P 16(R1), [V0.S4]
	WORD   $0x0e617801 // FCVTL V1.2D, V0.2S
	WORD   $0x4e617802 // FCVTL2 V2.2D, V0.4S
	WORD   $0x6e6adc23 // FMUL V3.2D, V1.2D, V10.2D
	WORD   $0x4e6dd463 // FADD V3.2D, V3.2D, V13.2D
	WORD   $0x4eecf463 // FMIN V3.2D, V3.2D, V12.2D
	WORD   $0x4e6bf463 // FMAX V3.2D, V3.2D, V11.2D
	WORD   $0x4e6bd463 // FADD V3.2D, V3.2D, V11.2D
	WORD   $0x6e6adc44 // FMUL V4.2D, V2.2D, V10.2D
	WORD   $0x4e6dd484 // FADD V4.2D, V4.2D, V13.2D
	WORD   $0x4eecf484 // FMIN V4.2D, V4.2D, V12.2D
	WORD   $0x4e6bf484 // FMAX V4.2D, V4.2D, V11.2D
	WORD   $0x4e6bd484 // FADD V4.2D, V4.2D, V11.2D
	WORD   $0x0e616865 // FCVTN V5.2S, V3.2D
	WORD   $0x4e616885 // FCVTN2 V5.4S, V4.2D
	VST1.P [V5.S4], 16(R0)
	SUBS   $1, R2
	BNE    hsigmoid_loop

hsigmoid_done:
	RET
