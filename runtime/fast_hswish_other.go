//go:build !(amd64 || arm64) || purego

package runtime

// Without the amd64 or arm64 assembly the fast HardSwish and HardSigmoid
// (fast_hswish.go) run their Go loops.

const hasHswishAsm = false

func hswishF32(y, x *float32, n int)  { panic("runtime: hswishF32 without assembly") }
func hswishF32z(y, x *float32, n int) { panic("runtime: hswishF32z without assembly") }

func hsigmoidF32(y, x *float32, n int, alpha, beta float64) {
	panic("runtime: hsigmoidF32 without assembly")
}

func hsigmoidF32z(y, x *float32, n int, alpha, beta float64) {
	panic("runtime: hsigmoidF32z without assembly")
}
