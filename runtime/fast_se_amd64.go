//go:build amd64 && !purego

package runtime

// Assembly for the squeeze-excite block's Mul and Mean (fast_se.go), in
// fast_se_amd64.s.

// hasSEAsm says the kernels below are assembly here.
const hasSEAsm = true

// vmulF32 writes y[i] = a[i] * b[i] for n floats, n a multiple of 8 (AVX2).
// y may be a or b.
//
//go:noescape
func vmulF32(y, a, b *float32, n int)

// meanF32 writes, for blocks*8 channels c, y[c] = float32(sum / count)
// where sum adds float64(x[r*stride+c]) for r = 0 .. rows-1 in order,
// from +0 (AVX2): the reference Mean's arithmetic.
//
//go:noescape
func meanF32(y, x *float32, rows, stride, blocks int, count float64)

// meanF32z is meanF32 for blocks of 32 channels (AVX-512).
//
//go:noescape
func meanF32z(y, x *float32, rows, stride, blocks int, count float64)
