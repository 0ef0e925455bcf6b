package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// hardActInputs returns n floats: the special values first (NaN, the
// infinities, signed zeros, subnormals, the kinks of both functions and
// their neighbours), then random floats of every magnitude.
func hardActInputs(rng *rand.Rand, n int) []float32 {
	up := func(v float32) float32 { return math.Nextafter32(v, float32(math.Inf(1))) }
	down := func(v float32) float32 { return math.Nextafter32(v, float32(math.Inf(-1))) }
	special := []float32{
		float32(math.NaN()), -float32(math.NaN()), math.Float32frombits(0x7fa00001),
		float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)),
		math.Float32frombits(1), math.Float32frombits(0x80000001), math.Float32frombits(0x007fffff),
		math.Float32frombits(0x807fffff), math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32,
		-3, up(-3), down(-3), 3, up(3), down(3), -2.5, 2.5, -0.5, 0.5, 1, -1,
		6, -6, down(6), up(6), 1e-30, -1e-30, 1e30, -1e30, 1.0 / 3, 1.0 / 6, -1.0 / 6,
	}
	v := make([]float32, n)
	for i := range v {
		switch {
		case i < len(special):
			v[i] = special[i]
		case i%3 == 0: // any bits but NaN
			v[i] = math.Float32frombits(rng.Uint32())
			if v[i] != v[i] {
				v[i] = 1.5
			}
		default: // where activations live
			v[i] = float32(rng.NormFloat64() * 4)
		}
	}
	rng.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
	return v
}

// sameF32 compares bit for bit; a NaN needs only be a NaN (the NaN an
// operation makes differs between architectures, not between families).
func sameF32(t *testing.T, label string, got, want []float32) {
	t.Helper()
	bad := 0
	for i := range want {
		g, w := got[i], want[i]
		if math.Float32bits(g) == math.Float32bits(w) || (g != g && w != w) {
			continue
		}
		if bad < 5 {
			t.Errorf("%s: element %d: got %v (%#08x), want %v (%#08x)", label, i, g, math.Float32bits(g), w, math.Float32bits(w))
		}
		bad++
	}
	if bad > 5 {
		t.Errorf("%s: %d mismatches in all", label, bad)
	}
}

// TestFastHardActivations runs HardSwish and HardSigmoid through the fast
// and the reference kernels on every family, lengths around the vector
// widths (8 and 16) and the special values, and wants the same bits.
func TestFastHardActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 5))
	type act struct {
		name  string
		op    ir.Op
		attrs ir.Attrs
	}
	acts := []act{
		{"hard_swish", ir.OpHardSwish, nil},
		{"hard_sigmoid_v3", ir.OpHardSigmoid, &ir.HardSigmoidAttrs{Alpha: 1.0 / 6, Beta: 0.5}},
		{"hard_sigmoid_onnx", ir.OpHardSigmoid, &ir.HardSigmoidAttrs{Alpha: 0.2, Beta: 0.5}},
		{"hard_sigmoid_neg_zero_beta", ir.OpHardSigmoid, &ir.HardSigmoidAttrs{Alpha: 0.5, Beta: float32(math.Copysign(0, -1))}},
		{"hard_sigmoid_cancel", ir.OpHardSigmoid, &ir.HardSigmoidAttrs{Alpha: -0.25, Beta: 0.75}},
	}
	lengths := []int{1, 7, 8, 9, 15, 16, 17, 31, 33, 47, 64, 100, 1021, 4096 + 13}
	for _, f := range testFamilies(t) {
		for _, a := range acts {
			for _, n := range lengths {
				label := fmt.Sprintf("%s/%s/n=%d", f, a.name, n)
				x := f32([]int{1, n}, hardActInputs(rng, n)...)
				nd := node(a.op, a.attrs, input("x", 1, n))
				if err := (&ir.Graph{Nodes: []*ir.Node{nd}, Inputs: nd.Inputs, Outputs: nd.Outputs}).InferShapes(); err != nil {
					t.Fatal(err)
				}
				ref, err := PrepareReference(nd)
				if err != nil {
					t.Fatal(err)
				}
				want := NewTensor(ir.Float32, []int{1, n})
				if err := ref.Eval([]*Tensor{x}, []*Tensor{want}); err != nil {
					t.Fatal(err)
				}
				var fast Kernel
				withFamily(f, func() { fast, err = Prepare(nd) })
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := fast.(*fastHardAct); !ok {
					t.Fatalf("%s: Prepare chose %T, want *fastHardAct", label, fast)
				}
				got := NewTensor(ir.Float32, []int{1, n})
				if err := fast.Eval([]*Tensor{x}, []*Tensor{got}); err != nil {
					t.Fatal(err)
				}
				sameF32(t, label, got.F32, want.F32)
				// In place, from an odd offset (unaligned vectors).
				in := append([]float32(nil), x.F32...)
				k := fast.(*fastHardAct)
				if k.sigmoid {
					hardSigmoidF32(in[1:], in[1:], k.alpha, k.beta, f)
				} else {
					hardSwishF32(in[1:], in[1:], f)
				}
				sameF32(t, label+"/in_place", in[1:], want.F32[1:])
			}
		}
	}
}
