//go:build amd64 && !purego

#include "textflag.h"

// Float32 HardSwish and HardSigmoid over arrays (declarations and
// contracts in fast_hswish_amd64.go). HardSwish and HardSigmoid widen each
// float to float64 (VCVTPS2PD, exact), run the reference formula's float64
// operations in its order (float_unary.go) and round once to float32
// (VCVTPD2PS): the bits of the reference kernel. Every VMAXPD and VMINPD
// has the value as its second source, so a NaN propagates as with Go's max
// and min.

// HSWISH: D = x * min(max(x+3, 0), 6) / 6 for the float64 x in X; T is a
// temporary. Wants Z10/Y10 = 3, Z11/Y11 = 0, Z12/Y12 = 6.
#define HSWISH(X, T, THREE, ZERO, SIX) \
	VADDPD THREE, X, T \
	VMAXPD T, ZERO, T  \
	VMINPD T, SIX, T   \
	VMULPD T, X, T     \
	VDIVPD SIX, T, T

// HSIGM: T = max(0, min(1, alpha*x + beta)) + 0 for the float64 x in X (the
// + 0 turns a -0 into the +0 of Go's max(0, -0)). Wants alpha, beta, 0, 1
// in the registers named.
#define HSIGM(X, T, ALPHA, BETA, ZERO, ONE) \
	VMULPD ALPHA, X, T \
	VADDPD BETA, T, T  \
	VMINPD T, ONE, T   \
	VMAXPD T, ZERO, T  \
	VADDPD ZERO, T, T

// func hswishF32(y, x *float32, n int)
TEXT ·hswishF32(SB), NOSPLIT, $0-24
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $3, CX
	JZ           hs8done
	MOVQ         $0x4008000000000000, AX // 3.0
	MOVQ         AX, X10
	VBROADCASTSD X10, Y10
	VXORPD       Y11, Y11, Y11
	MOVQ         $0x4018000000000000, AX // 6.0
	MOVQ         AX, X12
	VBROADCASTSD X12, Y12

hs8:
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y1
	HSWISH(Y0, Y2, Y10, Y11, Y12)
	HSWISH(Y1, Y3, Y10, Y11, Y12)
	VCVTPD2PSY Y2, X2
	VCVTPD2PSY Y3, X3
	VMOVUPS   X2, (DI)
	VMOVUPS   X3, 16(DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       hs8

hs8done:
	VZEROUPPER
	RET

// func hswishF32z(y, x *float32, n int)
TEXT ·hswishF32z(SB), NOSPLIT, $0-24
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $4, CX
	JZ           hs16done
	MOVQ         $0x4008000000000000, AX // 3.0
	MOVQ         AX, X10
	VBROADCASTSD X10, Z10
	VPXORQ       Z11, Z11, Z11
	MOVQ         $0x4018000000000000, AX // 6.0
	MOVQ         AX, X12
	VBROADCASTSD X12, Z12

hs16:
	VCVTPS2PD (SI), Z0
	VCVTPS2PD 32(SI), Z1
	HSWISH(Z0, Z2, Z10, Z11, Z12)
	HSWISH(Z1, Z3, Z10, Z11, Z12)
	VCVTPD2PS Z2, Y2
	VCVTPD2PS Z3, Y3
	VMOVUPS   Y2, (DI)
	VMOVUPS   Y3, 32(DI)
	ADDQ      $64, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       hs16

hs16done:
	VZEROUPPER
	RET

// func hsigmoidF32(y, x *float32, n int, alpha, beta float64)
TEXT ·hsigmoidF32(SB), NOSPLIT, $0-40
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $3, CX
	JZ           hg8done
	VBROADCASTSD alpha+24(FP), Y10
	VBROADCASTSD beta+32(FP), Y13
	VXORPD       Y11, Y11, Y11
	MOVQ         $0x3ff0000000000000, AX // 1.0
	MOVQ         AX, X12
	VBROADCASTSD X12, Y12

hg8:
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y1
	HSIGM(Y0, Y2, Y10, Y13, Y11, Y12)
	HSIGM(Y1, Y3, Y10, Y13, Y11, Y12)
	VCVTPD2PSY Y2, X2
	VCVTPD2PSY Y3, X3
	VMOVUPS   X2, (DI)
	VMOVUPS   X3, 16(DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       hg8

hg8done:
	VZEROUPPER
	RET

// func hsigmoidF32z(y, x *float32, n int, alpha, beta float64)
TEXT ·hsigmoidF32z(SB), NOSPLIT, $0-40
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $4, CX
	JZ           hg16done
	VBROADCASTSD alpha+24(FP), Z10
	VBROADCASTSD beta+32(FP), Z13
	VPXORQ       Z11, Z11, Z11
	MOVQ         $0x3ff0000000000000, AX // 1.0
	MOVQ         AX, X12
	VBROADCASTSD X12, Z12

hg16:
	VCVTPS2PD (SI), Z0
	VCVTPS2PD 32(SI), Z1
	HSIGM(Z0, Z2, Z10, Z13, Z11, Z12)
	HSIGM(Z1, Z3, Z10, Z13, Z11, Z12)
	VCVTPD2PS Z2, Y2
	VCVTPD2PS Z3, Y3
	VMOVUPS   Y2, (DI)
	VMOVUPS   Y3, 32(DI)
	ADDQ      $64, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       hg16

hg16done:
	VZEROUPPER
	RET
