//go:build amd64 && !purego

#include "textflag.h"

// The squeeze-excite block's float32 Mul and Mean (declarations and
// contracts in fast_se_amd64.go): the operations of the reference kernels
// (float_binary.go, float_reduce.go) in their order, so the same bits.

// func vmulF32(y, a, b *float32, n int)
//
// y[i] = a[i] * b[i] for n floats, n a multiple of 8: VMULPS with a as the
// first source, the rounding of Go's a * b. y may be a or b.
TEXT ·vmulF32(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	MOVQ CX, AX
	SHRQ $2, AX
	JZ   vm8

vm32:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VMULPS  (DX), Y0, Y0
	VMULPS  32(DX), Y1, Y1
	VMULPS  64(DX), Y2, Y2
	VMULPS  96(DX), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DX
	ADDQ    $128, DI
	DECQ    AX
	JNZ     vm32

vm8:
	ANDQ $3, CX
	JZ   vmdone

vm8loop:
	VMOVUPS (SI), Y0
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     vm8loop

vmdone:
	VZEROUPPER
	RET

// func meanF32(y, x *float32, rows, stride, blocks int, count float64)
//
// For each block of 8 channels: sum the rows (stride floats apart) in
// float64 from +0 in row order, divide by count, round to float32.
TEXT ·meanF32(SB), NOSPLIT, $0-48
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         stride+24(FP), DX
	SHLQ         $2, DX
	MOVQ         blocks+32(FP), CX
	VBROADCASTSD count+40(FP), Y10
	TESTQ        CX, CX
	JZ           mn8done

mn8block:
	MOVQ   SI, R8
	MOVQ   rows+16(FP), AX
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	TESTQ  AX, AX
	JZ     mn8div

mn8row:
	VCVTPS2PD (R8), Y0
	VCVTPS2PD 16(R8), Y1
	VADDPD    Y0, Y2, Y2
	VADDPD    Y1, Y3, Y3
	ADDQ      DX, R8
	DECQ      AX
	JNZ       mn8row

mn8div:
	VDIVPD     Y10, Y2, Y2
	VDIVPD     Y10, Y3, Y3
	VCVTPD2PSY Y2, X2
	VCVTPD2PSY Y3, X3
	VMOVUPS    X2, (DI)
	VMOVUPS    X3, 16(DI)
	ADDQ       $32, SI
	ADDQ       $32, DI
	DECQ       CX
	JNZ        mn8block

mn8done:
	VZEROUPPER
	RET

// func meanF32z(y, x *float32, rows, stride, blocks int, count float64)
//
// meanF32 for blocks of 32 channels (four ZMM sums of 8 float64).
TEXT ·meanF32z(SB), NOSPLIT, $0-48
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         stride+24(FP), DX
	SHLQ         $2, DX
	MOVQ         blocks+32(FP), CX
	VBROADCASTSD count+40(FP), Z10
	TESTQ        CX, CX
	JZ           mn32done

mn32block:
	MOVQ   SI, R8
	MOVQ   rows+16(FP), AX
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7
	TESTQ  AX, AX
	JZ     mn32div

mn32row:
	VCVTPS2PD (R8), Z0
	VCVTPS2PD 32(R8), Z1
	VCVTPS2PD 64(R8), Z2
	VCVTPS2PD 96(R8), Z3
	VADDPD    Z0, Z4, Z4
	VADDPD    Z1, Z5, Z5
	VADDPD    Z2, Z6, Z6
	VADDPD    Z3, Z7, Z7
	ADDQ      DX, R8
	DECQ      AX
	JNZ       mn32row

mn32div:
	VDIVPD    Z10, Z4, Z4
	VDIVPD    Z10, Z5, Z5
	VDIVPD    Z10, Z6, Z6
	VDIVPD    Z10, Z7, Z7
	VCVTPD2PS Z4, Y4
	VCVTPD2PS Z5, Y5
	VCVTPD2PS Z6, Y6
	VCVTPD2PS Z7, Y7
	VMOVUPS   Y4, (DI)
	VMOVUPS   Y5, 32(DI)
	VMOVUPS   Y6, 64(DI)
	VMOVUPS   Y7, 96(DI)
	ADDQ      $128, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       mn32block

mn32done:
	VZEROUPPER
	RET
