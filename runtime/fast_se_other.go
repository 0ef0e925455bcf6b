//go:build !amd64 || purego

package runtime

// Without the amd64 assembly the fast Mul and Mean (fast_se.go) run their
// Go loops.

const hasSEAsm = false

func vmulF32(y, a, b *float32, n int) { panic("runtime: vmulF32 without assembly") }

func meanF32(y, x *float32, rows, stride, blocks int, count float64) {
	panic("runtime: meanF32 without assembly")
}

func meanF32z(y, x *float32, rows, stride, blocks int, count float64) {
	panic("runtime: meanF32z without assembly")
}
