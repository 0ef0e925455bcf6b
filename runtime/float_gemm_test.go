package runtime

import (
	"math"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

func TestGemm(t *testing.T) {
	// A = [[1 2 3] [4 5 6]], B = [[1 0] [0 1] [1 1]]: A*B = [[4 5] [10 11]].
	a := []float32{1, 2, 3, 4, 5, 6}
	aT := []float32{1, 4, 2, 5, 3, 6}
	b := []float32{1, 0, 0, 1, 1, 1}
	bT := []float32{1, 0, 1, 0, 1, 1}
	nan := float32(math.NaN())
	cases := []struct {
		name           string
		attrs          ir.GemmAttrs
		aShape, bShape []int
		a, b           []float32
		cShape         []int // nil: no C
		c              []float32
		want           []float32
	}{
		{"no_c", ir.GemmAttrs{Alpha: 1, Beta: 1}, []int{2, 3}, []int{3, 2}, a, b, nil, nil, []float32{4, 5, 10, 11}},
		{"scalar_c_beta_half", ir.GemmAttrs{Alpha: 1, Beta: 0.5}, []int{2, 3}, []int{3, 2}, a, b, []int{}, []float32{1}, []float32{4.5, 5.5, 10.5, 11.5}},
		{"single_elem_c", ir.GemmAttrs{Alpha: 1, Beta: 1}, []int{2, 3}, []int{3, 2}, a, b, []int{1}, []float32{-4}, []float32{0, 1, 6, 7}},
		{"vector_c", ir.GemmAttrs{Alpha: 1, Beta: 1}, []int{2, 3}, []int{3, 2}, a, b, []int{2}, []float32{1, 2}, []float32{5, 7, 11, 13}},
		{"column_c", ir.GemmAttrs{Alpha: 1, Beta: 1}, []int{2, 3}, []int{3, 2}, a, b, []int{2, 1}, []float32{10, 20}, []float32{14, 15, 30, 31}},
		{"matrix_c", ir.GemmAttrs{Alpha: 1, Beta: 1}, []int{2, 3}, []int{3, 2}, a, b, []int{2, 2}, []float32{1, 2, 3, 4}, []float32{5, 7, 13, 15}},
		{"alpha_2", ir.GemmAttrs{Alpha: 2, Beta: 1}, []int{2, 3}, []int{3, 2}, a, b, nil, nil, []float32{8, 10, 20, 22}},
		{"trans_a", ir.GemmAttrs{TransA: true, Alpha: 1, Beta: 1}, []int{3, 2}, []int{3, 2}, aT, b, nil, nil, []float32{4, 5, 10, 11}},
		{"trans_b", ir.GemmAttrs{TransB: true, Alpha: 1, Beta: 1}, []int{2, 3}, []int{2, 3}, a, bT, nil, nil, []float32{4, 5, 10, 11}},
		{"trans_both", ir.GemmAttrs{TransA: true, TransB: true, Alpha: 1, Beta: 1}, []int{3, 2}, []int{2, 3}, aT, bT, []int{1, 2}, []float32{-10, 0}, []float32{-6, 5, 0, 11}},
		{"relu", ir.GemmAttrs{Alpha: 1, Beta: 1, Act: ir.ActRelu}, []int{2, 3}, []int{3, 2}, a, b, []int{2}, []float32{-5, -10.5}, []float32{0, 0, 5, 0.5}},
		{"beta_0_ignores_c", ir.GemmAttrs{Alpha: 1, Beta: 0}, []int{2, 3}, []int{3, 2}, a, b, []int{2}, []float32{nan, nan}, []float32{4, 5, 10, 11}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attrs := tc.attrs
			ins := []*ir.Tensor{input("a", tc.aShape...), constant("b", tc.bShape, tc.b...)}
			if tc.cShape != nil {
				ins = append(ins, constant("c", tc.cShape, tc.c...))
			}
			got := run(t, node(ir.OpGemm, &attrs, ins...), f32(tc.aShape, tc.a...))
			checkF32(t, got, []int{2, 2}, tc.want, 0)
		})
	}
}

func TestMatMul(t *testing.T) {
	a23 := []float32{1, 2, 3, 4, 5, 6}
	b32 := []float32{1, 0, 0, 1, 1, 1}
	// Batched: A[i] = (i+1)*I, so out[i][j] = (i+1)*B[j].
	aBatch := []float32{1, 0, 0, 1, 2, 0, 0, 2}
	bBatch := []float32{1, 2, 3, 4, 0, 1, 1, 0, 1, 1, 1, 1}
	cases := []struct {
		name           string
		aShape, bShape []int
		a, b           []float32
		shape          []int
		want           []float32
	}{
		{"2d", []int{2, 3}, []int{3, 2}, a23, b32, []int{2, 2}, []float32{4, 5, 10, 11}},
		{"1d_1d", []int{3}, []int{3}, []float32{1, 2, 3}, []float32{4, 5, 6}, []int{}, []float32{32}},
		{"1d_2d", []int{3}, []int{3, 2}, []float32{1, 2, 3}, b32, []int{2}, []float32{4, 5}},
		{"2d_1d", []int{2, 3}, []int{3}, a23, []float32{1, 1, 1}, []int{2}, []float32{6, 15}},
		{"batch_broadcast", []int{2, 1, 2, 2}, []int{3, 2, 2}, aBatch, bBatch, []int{2, 3, 2, 2}, []float32{
			1, 2, 3, 4, 0, 1, 1, 0, 1, 1, 1, 1,
			2, 4, 6, 8, 0, 2, 2, 0, 2, 2, 2, 2,
		}},
		{"3d_1d", []int{2, 2, 3}, []int{3}, seq(12, 0), []float32{1, 0, -1}, []int{2, 2}, []float32{-2, -2, -2, -2}},
		{"1d_3d", []int{2}, []int{2, 2, 3}, []float32{1, -1}, seq(12, 0), []int{2, 3}, []float32{-3, -3, -3, -3, -3, -3}},
		{"2d_3d_broadcast", []int{1, 2}, []int{3, 2, 1}, []float32{1, 2}, seq(6, 1), []int{3, 1, 1}, []float32{5, 11, 17}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, node(ir.OpMatMul, nil, input("a", tc.aShape...), input("b", tc.bShape...)),
				f32(tc.aShape, tc.a...), f32(tc.bShape, tc.b...))
			checkF32(t, got, tc.shape, tc.want, 0)
		})
	}
}
