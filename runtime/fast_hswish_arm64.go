//go:build arm64 && !purego

package runtime

// NEON for the fast HardSwish and HardSigmoid (fast_hswish.go), in
// fast_hswish_arm64.s; the AVX-512 forms are never chosen here.

const hasHswishAsm = true

// hswishF32 is amd64's (fast_hswish_amd64.go) on NEON: n rounded down to a
// multiple of 4 (the callers pass multiples of 8).
//
//go:noescape
func hswishF32(y, x *float32, n int)

// hsigmoidF32 is amd64's on NEON, n as for hswishF32.
//
//go:noescape
func hsigmoidF32(y, x *float32, n int, alpha, beta float64)

func hswishF32z(y, x *float32, n int) { panic("runtime: hswishF32z without AVX-512") }

func hsigmoidF32z(y, x *float32, n int, alpha, beta float64) {
	panic("runtime: hsigmoidF32z without AVX-512")
}
