//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 requantization (requantQ31z, requantF32z): requantQ31 and
// requantF32 (fast_quant_amd64.s) sixteen channels at a time, the same
// arithmetic lane by lane, stored with VPMOVSDB / VPMOVUSDB (the values
// are already clamped to the 8-bit range, so the saturating narrowing
// keeps them; narrowed into a register, then stored: the forms that store
// to memory are slow on some CPUs). A last block of eight channels loads
// its accumulators under the opmask K1 (the first eight lanes) and stores
// eight bytes. Declarations in fast_avx512_amd64.go.

// The sixteen accumulators at (SI) into Z0: all of them, or (a last block
// of eight) the first eight under K1, the rest zero. (A zeroing-masked load
// in every block costs several times the unmasked one on AMD Zen 4.)
#define ACC_FULL VMOVDQU32 (SI), Z0
#define ACC_TAIL VMOVDQU32.Z (SI), K1, Z0

// TFLite requantization of the sixteen accumulators (LOAD) with the
// parameter block at (BX) ([5][16]: multiplier, left shift, right shift,
// rounding mask, half mask) into Z0; Z9..Z11 scratch, Z12 2^30 per qword,
// Z13 zp, Z14 lo, Z15 hi, Z16 ones, K3 the odd lanes. See Q31 in
// fast_quant_amd64.s for each step.
#define Q31Z(LOAD) \
	LOAD                            \
	VPSLLVD     64(BX), Z0, Z0      \
	VMOVDQU32   (BX), Z9            \
	VPMULDQ     Z9, Z0, Z10         \
	VPSRLQ      $32, Z0, Z11        \
	VPSRLQ      $32, Z9, Z9         \
	VPMULDQ     Z9, Z11, Z11        \
	VPADDQ      Z12, Z10, Z10       \
	VPADDQ      Z12, Z11, Z11       \
	VPSRLQ      $31, Z10, Z10       \
	VPSRLQ      $31, Z11, Z11       \
	VPSLLQ      $32, Z11, Z11       \
	VPBLENDMD   Z11, Z10, K3, Z0    \
	VPANDD      192(BX), Z0, Z9     \
	VPSRAD      $31, Z0, Z10        \
	VMOVDQU32   256(BX), Z11        \
	VPSUBD      Z10, Z11, Z11       \
	VPSRAVD     128(BX), Z0, Z0     \
	VPCMPGTD    Z11, Z9, K4         \
	VPADDD      Z16, Z0, K4, Z0     \
	VPADDD      Z13, Z0, Z0         \
	VPMAXSD     Z14, Z0, Z0         \
	VPMINSD     Z15, Z0, Z0

// MLAS requantization of the sixteen accumulators (LOAD) with the scales
// at (BX) into Z0: float32(acc) * scale, clamped to [Z14, Z15] =
// [lo-zp, hi-zp] in float (the product as VMAXPS's first source, as in
// F32), rounded half to even, + zp (Z13).
#define F32Z(LOAD) \
	LOAD                     \
	VCVTDQ2PS   Z0, Z0       \
	VMULPS      (BX), Z0, Z0 \
	VMAXPS      Z14, Z0, Z0  \
	VMINPS      Z15, Z0, Z0  \
	VCVTPS2DQ   Z0, Z0       \
	VPADDD      Z13, Z0, Z0

// The pixel loop: R8/R9 walk the pixels' dst/acc rows, R10 counts pixels,
// R11 is the 8-channel blocks, R12 the stride, R13 the 16-channel blocks,
// R14 the parameters; PSTEP is the parameter bytes per 16 channels.
#define REQUANTZ_LOOP(BODY, PSTEP, NARROW, PIX, FULL, TAIL, NEXT) \
PIX:                              \
	MOVQ  R8, DI                  \
	MOVQ  R9, SI                  \
	MOVQ  R14, BX                 \
	MOVQ  R13, CX                 \
FULL:                             \
	TESTQ CX, CX                  \
	JZ    TAIL                    \
	BODY(ACC_FULL)                \
	NARROW Z0, X0                 \
	VMOVDQU X0, (DI)              \
	ADDQ  $16, DI                 \
	ADDQ  $64, SI                 \
	ADDQ  $PSTEP, BX              \
	DECQ  CX                      \
	JMP   FULL                    \
TAIL:                             \
	TESTQ $1, R11                 \
	JZ    NEXT                    \
	BODY(ACC_TAIL)                \
	NARROW Z0, X0                 \
	MOVQ  X0, (DI)                \
NEXT:                             \
	ADDQ  R12, R8                 \
	LEAQ  (R9)(R12*4), R9         \
	DECQ  R10                     \
	JNZ   PIX

// func requantQ31z(dst *byte, acc *int32, pixels, blocks, stride int, p *int32, zp, lo, hi, unsigned int32)
//
// requantQ31 for the first blocks*8 channels of each pixel, p packed per
// 16 channels ([ceil(blocks/2)][5][16], fastRequant.q31z).
TEXT ·requantQ31z(SB), NOSPLIT, $0-64
	MOVQ         pixels+16(FP), R10
	TESTQ        R10, R10
	JLE          rqzdone
	MOVQ         blocks+24(FP), R11
	TESTQ        R11, R11
	JLE          rqzdone
	MOVQ         R11, R13
	SHRQ         $1, R13
	MOVQ         dst+0(FP), R8
	MOVQ         acc+8(FP), R9
	MOVQ         stride+32(FP), R12
	MOVQ         p+40(FP), R14
	MOVL         zp+48(FP), AX
	VPBROADCASTD AX, Z13
	MOVL         lo+52(FP), AX
	VPBROADCASTD AX, Z14
	MOVL         hi+56(FP), AX
	VPBROADCASTD AX, Z15
	MOVQ         $0x40000000, AX
	VPBROADCASTQ AX, Z12
	MOVL         $1, AX
	VPBROADCASTD AX, Z16
	MOVW         $0xff, AX
	KMOVW        AX, K1
	MOVW         $0xaaaa, AX
	KMOVW        AX, K3
	MOVL         unsigned+60(FP), DX
	TESTL        DX, DX
	JNZ          rqzunsigned
	REQUANTZ_LOOP(Q31Z, 320, VPMOVSDB, rqzspix, rqzsfull, rqzstail, rqzsnext)
	JMP          rqzdone

rqzunsigned:
	REQUANTZ_LOOP(Q31Z, 320, VPMOVUSDB, rqzupix, rqzufull, rqzutail, rqzunext)

rqzdone:
	VZEROUPPER
	RET

// func requantF32z(dst *byte, acc *int32, pixels, blocks, stride int, p *float32, zp int32, flo, fhi float32, unsigned int32)
//
// requantF32 for the first blocks*8 channels of each pixel, p the scales
// padded to a multiple of 16 (fastRequant.scalez).
TEXT ·requantF32z(SB), NOSPLIT, $0-64
	MOVQ         pixels+16(FP), R10
	TESTQ        R10, R10
	JLE          rfzdone
	MOVQ         blocks+24(FP), R11
	TESTQ        R11, R11
	JLE          rfzdone
	MOVQ         R11, R13
	SHRQ         $1, R13
	MOVQ         dst+0(FP), R8
	MOVQ         acc+8(FP), R9
	MOVQ         stride+32(FP), R12
	MOVQ         p+40(FP), R14
	MOVL         zp+48(FP), AX
	VPBROADCASTD AX, Z13
	VBROADCASTSS flo+52(FP), Z14
	VBROADCASTSS fhi+56(FP), Z15
	MOVW         $0xff, AX
	KMOVW        AX, K1
	MOVL         unsigned+60(FP), DX
	TESTL        DX, DX
	JNZ          rfzunsigned
	REQUANTZ_LOOP(F32Z, 64, VPMOVSDB, rfzspix, rfzsfull, rfzstail, rfzsnext)
	JMP          rfzdone

rfzunsigned:
	REQUANTZ_LOOP(F32Z, 64, VPMOVUSDB, rfzupix, rfzufull, rfzutail, rfzunext)

rfzdone:
	VZEROUPPER
	RET
