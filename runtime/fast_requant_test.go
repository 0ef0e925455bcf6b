package runtime

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/mnconv/mnconv/ir"
)

// The assembly requantizations and quantization (requantQ31, requantF32,
// their AVX-512 forms, quantizeF32) on every family against the reference formulas on edge values the model
// tests rarely reach: int32 extremes, exact rounding ties for every right
// shift, NaN, infinities and signed zeros.

func TestFastRequantEdges(t *testing.T) {
	if !hasSIMDKernels {
		t.Skip("skipping: no assembly kernels")
	}
	families := quantFamilies(t)
	rng := rand.New(rand.NewPCG(21, 22))
	// Nine blocks of eight and four more: every shift in [-31, 30]
	// appears, and the AVX-512 kernels' last block of eight and the
	// scalar tail run.
	const channels = 76
	accs := []int32{0, 1, -1, 2, -2, math.MaxInt32, math.MinInt32, math.MaxInt32 - 1, math.MinInt32 + 1}
	for range 200 {
		accs = append(accs, int32(rng.Uint32()), int32(rng.IntN(1<<16))-1<<15)
	}
	for _, unsigned := range []bool{false, true} {
		lo, hi, zp := int32(-128), int32(127), int32(-3)
		if unsigned {
			lo, hi, zp = 0, 255, 131
		}
		for _, onnx := range []bool{false, true} {
			rq := &qRequant{onnx: onnx, zp: zp, lo: lo, hi: hi}
			for c := range channels {
				if onnx {
					rq.scale = append(rq.scale, float32(math.Ldexp(0.5+rng.Float64(), -rng.IntN(24))))
					continue
				}
				s := c%62 - 31 // [-31, 30]
				m := int32(1<<30 + rng.IntN(1<<30))
				if c%7 == 0 {
					m = 1 << 30
				}
				rq.addChannel(m, s)
			}
			dt := map[bool]string{false: "int8", true: "uint8"}[unsigned]
			// Pixels of accumulators: each value in every channel, plus the
			// ties of each channel's right shift.
			var acc []int32
			for _, a := range accs {
				for range channels {
					acc = append(acc, a)
				}
			}
			for k := int32(-3); k <= 3; k++ {
				for c := range channels {
					r := 0
					if !onnx {
						r = int(rq.right[c])
					}
					if r > 0 && r < 31 {
						acc = append(acc, k<<r+1<<(r-1))
					} else {
						acc = append(acc, k)
					}
				}
			}
			pixels := len(acc) / channels
			for _, fam := range families {
				var f *fastRequant
				withFamily(fam, func() { f = newFastRequant(rq, channels, map[bool]ir.DType{false: ir.Int8, true: ir.Uint8}[unsigned]) })
				dst := make([]byte, len(acc))
				f.rows(unsafe.Pointer(&dst[0]), acc, pixels)
				bad := 0
				for i, a := range acc {
					want := rq.apply(a, i%channels)
					got := int32(int8(dst[i]))
					if unsigned {
						got = int32(dst[i])
					}
					if got != want && bad < 5 {
						t.Errorf("%s onnx=%v family %s channel %d acc %d: got %d, want %d", dt, onnx, fam, i%channels, a, got, want)
						bad++
					}
				}
			}
		}
		// Quantize: float32 -> 8-bit with ONNX Runtime's rounding.
		k := &fastQuantize{scale: 0.37, zp: zp, flo: float32(lo - zp), fhi: float32(hi - zp)}
		if unsigned {
			k.unsigned = 1
		}
		xs := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
			math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1e-30, -1e-30}
		for i := -300; i <= 300; i++ {
			xs = append(xs, (float32(i)+0.5)*k.scale, float32(i)*k.scale)
		}
		for range 500 {
			xs = append(xs, float32(rng.NormFloat64()*100))
		}
		for len(xs)%8 != 0 {
			xs = append(xs, 1)
		}
		y := make([]byte, len(xs))
		quantizeF32(&y[0], &xs[0], len(xs)/8, k.scale, k.zp, k.flo, k.fhi, k.unsigned)
		for i, x := range xs {
			want := k.one(x)
			got := int32(int8(y[i]))
			if unsigned {
				got = int32(y[i])
			}
			if got != want {
				t.Errorf("quantize unsigned=%v x=%v: got %d, want %d", unsigned, x, got, want)
			}
		}
	}
}
