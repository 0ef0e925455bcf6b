//go:build amd64 && !purego

package runtime

// Assembly for the fast HardSwish, HardSigmoid (fast_hswish.go),
// in fast_hswish_amd64.s. Each writes the reference kernel's bits.

// hasHswishAsm says the kernels below are assembly here.
const hasHswishAsm = true

// hswishF32 writes y[i] = float32(x*min(max(x+3, 0), 6)/6) computed in
// float64, for n floats rounded down to a multiple of 8 (AVX2). y may be x.
//
//go:noescape
func hswishF32(y, x *float32, n int)

// hswishF32z is hswishF32 on ZMM registers, n rounded down to a multiple
// of 16 (AVX-512).
//
//go:noescape
func hswishF32z(y, x *float32, n int)

// hsigmoidF32 writes y[i] = float32(max(0, min(1, alpha*x + beta))) computed
// in float64, for n floats rounded down to a multiple of 8 (AVX2). y may be
// x.
//
//go:noescape
func hsigmoidF32(y, x *float32, n int, alpha, beta float64)

// hsigmoidF32z is hsigmoidF32 on ZMM registers, n rounded down to a
// multiple of 16 (AVX-512).
//
//go:noescape
func hsigmoidF32z(y, x *float32, n int, alpha, beta float64)
