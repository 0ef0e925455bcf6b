package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// TestFastMean runs Means over adjacent axes through the fast and the
// reference kernels on every family and wants the same bits: channel
// counts around the 8- and 32-wide blocks, NaN, infinities, signed zeros
// (an all -0 column sums to +0) and subnormals; axes that are not adjacent
// stay on the reference kernel.
func TestFastMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 3))
	negZero := float32(math.Copysign(0, -1))
	type meanCase struct {
		shape    []int
		axes     []int
		keepDims bool
		fast     bool
	}
	var cases []meanCase
	for _, c := range []int{1, 7, 8, 9, 16, 31, 32, 33, 40, 72, 120, 960} {
		cases = append(cases, meanCase{[]int{1, 7, 7, c}, []int{1, 2}, true, true})
	}
	cases = append(cases,
		meanCase{[]int{1, 14, 14, 672}, []int{1, 2}, false, true},
		meanCase{[]int{2, 3, 5, 40}, []int{-3, -2}, true, true},
		meanCase{[]int{2, 3, 5, 40}, []int{1}, true, true},     // inner = 5*40
		meanCase{[]int{2, 3, 5, 40}, []int{3}, false, true},    // inner = 1
		meanCase{[]int{2, 3, 5, 40}, []int{1, 3}, true, false}, // not adjacent
	)
	for _, fam := range testFamilies(t) {
		for _, c := range cases {
			label := fmt.Sprintf("%s/%v/axes%v", fam, c.shape, c.axes)
			x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: c.shape}
			n := ir.NewNode("mean", ir.OpMean, []*ir.Tensor{x}, &ir.Tensor{Name: "y"})
			n.Attrs = &ir.ReduceAttrs{Axes: c.axes, KeepDims: c.keepDims}
			if err := (&ir.Graph{Nodes: []*ir.Node{n}, Inputs: n.Inputs, Outputs: n.Outputs}).InferShapes(); err != nil {
				t.Fatal(err)
			}
			xv := NewTensor(ir.Float32, c.shape)
			copy(xv.F32, hardActInputs(rng, xv.Len()))
			last := c.shape[len(c.shape)-1]
			if len(xv.F32) > 2*last {
				// Keep some channels finite, one all -0 (one of the
				// 8-wide blocks when there is one).
				for i := range xv.F32 {
					if v := xv.F32[i]; v != v || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 1e30 {
						if (i%last)%3 != 0 {
							xv.F32[i] = 1.5
						}
					}
					if i%last == last-1 {
						xv.F32[i] = negZero
					}
				}
			}
			ref, _ := evalWith(t, PrepareReference, n, 1, xv)
			var got *Tensor
			var k Kernel
			withFamily(fam, func() { got, k = evalWith(t, Prepare, n, 1, xv) })
			if _, ok := k.(*fastMean); ok != c.fast {
				t.Fatalf("%s: Prepare chose %T", label, k)
			}
			sameF32(t, label, got.F32, ref.F32)
		}
	}
}
