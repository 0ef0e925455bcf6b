package runtime

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// TestRuyMultiply: ruyMultiply is round(x*m / 2^(31-shift)) with ties
// upward, computed exactly with big integers, and it differs from TFLite's
// reference double rounding where the two roundings meet.
func TestRuyMultiply(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	exact := func(x, m int32, shift int) int32 {
		num := new(big.Int).Mul(big.NewInt(int64(x)), big.NewInt(int64(m)))
		den := new(big.Int).Lsh(big.NewInt(1), uint(31-shift))
		// floor(num/den + 1/2) = floor((2*num + den) / (2*den))
		num.Add(num.Lsh(num, 1), den)
		q := new(big.Int).Div(num, den.Lsh(den, 1)) // Div floors for positive divisors
		return int32(q.Int64())
	}
	differ := 0
	for i := range 200000 {
		m := int32(1<<30 + rng.IntN(1<<30))
		shift := -rng.IntN(20)
		x := int32(rng.IntN(1<<22)) - 1<<21
		if i%4 == 0 {
			// Exact ties: x*m = (2k+1) * 2^(30-shift).
			m, shift = 1<<30, -rng.IntN(8)
			x = int32(2*rng.IntN(1000)-1000+1) << uint(-shift)
		}
		got, want := ruyMultiply(x, m, shift), exact(x, m, shift)
		if got != want {
			t.Fatalf("ruyMultiply(%d, %d, %d) = %d, want %d", x, m, shift, got, want)
		}
		if got != mulByQuantizedMultiplier(x, m, shift) {
			differ++
		}
	}
	if differ == 0 {
		t.Errorf("ruy's and the reference rounding never differed: the test does not reach their ties")
	}
	t.Logf("ruy's single rounding differs from the reference's double rounding on %d of 200000 products", differ)
	// A left shift (shift > 0) multiplies before the rounding.
	if got, want := ruyMultiply(3, 1<<30, 2), int32(6); got != want {
		t.Errorf("ruyMultiply(3, 2^30, 2) = %d, want %d", got, want)
	}
}

// TestBuiltinSoftmax: the table softmax of TFLite's optimized kernels on
// int8 and uint8, against the float64 formula it approximates (within one
// quantum), with the probabilities of a row summing to about 1, and the
// int8 form rounding where the uint8 one adds 0.5 and truncates.
func TestBuiltinSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, dt := range []ir.DType{ir.Int8, ir.Uint8} {
		lo, _ := qRange(dt)
		x := &ir.Tensor{Name: "x", DType: dt, Shape: []int{3, 81}, Quant: &ir.Quant{Scale: []float32{0.0625}, ZeroPoint: []int64{int64(lo) + 5}}}
		y := &ir.Tensor{Name: "y", DType: dt, Shape: []int{3, 81}, Quant: &ir.Quant{Scale: []float32{1.0 / 256}, ZeroPoint: []int64{int64(lo)}}}
		n := ir.NewNode("softmax", ir.OpSoftmax, []*ir.Tensor{x}, y)
		n.Attrs.(*ir.SoftmaxAttrs).Axis = -1
		n.Attrs.(*ir.SoftmaxAttrs).Beta = 1
		n.Arith = ir.ArithBuiltin
		k, err := Prepare(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := k.(*builtinSoftmaxKernel); !ok {
			t.Fatalf("%v: kernel %T, want the builtin table softmax", dt, k)
		}
		in := randQInput(rng, x)
		out := NewTensor(dt, y.Shape)
		if err := k.Eval([]*Tensor{in}, []*Tensor{out}); err != nil {
			t.Fatal(err)
		}
		for r := range 3 {
			row := make([]float64, 81)
			m := math.Inf(-1)
			for j := range row {
				row[j] = in.Float(r*81 + j)
				m = max(m, row[j])
			}
			var sum float64
			for _, v := range row {
				sum += math.Exp(0.0625 * (v - m))
			}
			for j, v := range row {
				p := math.Exp(0.0625*(v-m)) / sum * 256
				if got := out.Float(r*81+j) - float64(lo); math.Abs(got-p) > 1 {
					t.Errorf("%v row %d col %d: %v, want %.3f within one quantum", dt, r, j, got, p)
				}
			}
		}
	}
}

// TestQSoftmaxTables: the reference kernel's tabulated exp gives, bit for
// bit, what TFLite's reference softmax computes element by element
// (the rescaled difference's fixed-point exp, skipped below diffMin), on
// input scales from coarse (most differences under diffMin) to fine.
func TestQSoftmaxTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, dt := range []ir.DType{ir.Int8, ir.Uint8} {
		for _, scale := range []float32{0.00390625, 0.0625, 0.537, 3.5} {
			lo, hi := qRange(dt)
			x := &ir.Tensor{Name: "x", DType: dt, Shape: []int{7, 81}, Quant: &ir.Quant{Scale: []float32{scale}, ZeroPoint: []int64{int64(lo) + 3}}}
			y := &ir.Tensor{Name: "y", DType: dt, Shape: []int{7, 81}, Quant: &ir.Quant{Scale: []float32{1.0 / 256}, ZeroPoint: []int64{int64(lo)}}}
			n := ir.NewNode("softmax", ir.OpSoftmax, []*ir.Tensor{x}, y)
			n.Attrs.(*ir.SoftmaxAttrs).Axis = -1
			n.Attrs.(*ir.SoftmaxAttrs).Beta = 1
			k, err := PrepareReference(n)
			if err != nil {
				t.Fatal(err)
			}
			sk := k.(*qSoftmaxKernel)
			in := randQInput(rng, x)
			out := NewTensor(dt, y.Shape)
			if err := k.Eval([]*Tensor{in}, []*Tensor{out}); err != nil {
				t.Fatal(err)
			}
			m, ls, err := preprocessSoftmaxScaling(1, float64(scale), 5)
			if err != nil {
				t.Fatal(err)
			}
			for r := range 7 {
				row := make([]int32, 81)
				maxv := lo
				for j := range row {
					row[j] = int32(in.Float(r*81 + j))
					maxv = max(maxv, row[j])
				}
				var sum int32
				exps := make([]int32, 81)
				for j, v := range row {
					if v-maxv >= sk.diffMin {
						exps[j] = fxExpOnNegativeValues(mulByQuantizedMultiplierGreaterThanOne(v-maxv, m, ls), 5)
						sum += rdbpot(exps[j], 12)
					}
				}
				shifted, bits := getReciprocal(sum, 12)
				for j, v := range row {
					want := lo
					if v-maxv >= sk.diffMin {
						want = clamp32(rdbpot(srdhm(shifted, exps[j]), bits+31-8)+lo, lo, hi)
					}
					if got := int32(out.Float(r*81 + j)); got != want {
						t.Fatalf("%v scale %g row %d col %d: %d, want %d", dt, scale, r, j, got, want)
					}
				}
			}
		}
	}
}
