package runtime

import (
	"math"
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

func TestBinaryFloatBroadcast(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	cases := []struct {
		name           string
		op             ir.Op
		act            ir.Activation
		aShape, bShape []int
		a, b           []float32
		shape          []int
		want           []float32
	}{
		{"add_same", ir.OpAdd, ir.ActNone, []int{2, 2}, []int{2, 2}, []float32{1, 2, 3, 4}, []float32{10, 20, 30, 40}, []int{2, 2}, []float32{11, 22, 33, 44}},
		{"sub_scalar", ir.OpSub, ir.ActNone, []int{2, 3}, []int{}, seq(6, 0), []float32{1}, []int{2, 3}, []float32{-1, 0, 1, 2, 3, 4}},
		{"scalar_sub", ir.OpSub, ir.ActNone, []int{}, []int{2, 3}, []float32{1}, seq(6, 0), []int{2, 3}, []float32{1, 0, -1, -2, -3, -4}},
		{"mul_row", ir.OpMul, ir.ActNone, []int{2, 3}, []int{3}, seq(6, 0), []float32{1, 10, 100}, []int{2, 3}, []float32{0, 10, 200, 3, 40, 500}},
		{"add_outer", ir.OpAdd, ir.ActNone, []int{2, 1}, []int{1, 3}, []float32{10, 20}, []float32{1, 2, 3}, []int{2, 3}, []float32{11, 12, 13, 21, 22, 23}},
		{"add_middle_axis", ir.OpAdd, ir.ActNone, []int{2, 3, 2}, []int{3, 1}, seq(12, 0), []float32{100, 200, 300}, []int{2, 3, 2},
			[]float32{100, 101, 202, 203, 304, 305, 106, 107, 208, 209, 310, 311}},
		{"nhwc_per_channel", ir.OpMul, ir.ActNone, []int{1, 2, 2, 3}, []int{3}, seq(12, 1), []float32{1, 0, -1}, []int{1, 2, 2, 3},
			[]float32{1, 0, -3, 4, 0, -6, 7, 0, -9, 10, 0, -12}},
		{"rank_growth_both", ir.OpSub, ir.ActNone, []int{3, 1, 1}, []int{1, 2}, []float32{10, 20, 30}, []float32{1, 2}, []int{3, 1, 2}, []float32{9, 8, 19, 18, 29, 28}},
		{"div", ir.OpDiv, ir.ActNone, []int{4}, []int{4}, []float32{1, -1, 0, 7}, []float32{0, 0, 0, 2}, []int{4}, []float32{inf, -inf, nan, 3.5}},
		{"max_nan", ir.OpMax, ir.ActNone, []int{3}, []int{3}, []float32{1, nan, -2}, []float32{2, 0, -3}, []int{3}, []float32{2, nan, -2}},
		{"min", ir.OpMin, ir.ActNone, []int{3}, []int{1}, []float32{1, 5, -2}, []float32{2}, []int{3}, []float32{1, 2, -2}},
		{"add_relu6", ir.OpAdd, ir.ActRelu6, []int{4}, []int{}, []float32{-3, 0, 4, 9}, []float32{1}, []int{4}, []float32{0, 1, 5, 6}},
		{"mul_relu_n1_to_1", ir.OpMul, ir.ActReluN1To1, []int{3}, []int{}, []float32{-3, 0.25, 4}, []float32{1}, []int{3}, []float32{-1, 0.25, 1}},
		{"empty", ir.OpAdd, ir.ActNone, []int{0, 3}, []int{3}, nil, []float32{1, 2, 3}, []int{0, 3}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := node(tc.op, &ir.BinaryAttrs{Act: tc.act}, input("a", tc.aShape...), input("b", tc.bShape...))
			got := run(t, n, f32(tc.aShape, tc.a...), f32(tc.bShape, tc.b...))
			checkF32(t, got, tc.shape, tc.want, 0)
		})
	}
	t.Run("same_tensor_twice", func(t *testing.T) {
		x := input("x", 3)
		got := run(t, node(ir.OpMul, nil, x, x), f32([]int{3}, 1, -2, 3))
		checkF32(t, got, []int{3}, []float32{1, 4, 9}, 0)
	})
}

// intCase runs a binary op on integer tensors of type T.
func intCase[T number](t *testing.T, dt ir.DType, op ir.Op, a, b []T, want []T) {
	t.Helper()
	av, bv := NewTensor(dt, []int{len(a)}), NewTensor(dt, []int{len(b)})
	copy(elems[T](av), a)
	copy(elems[T](bv), b)
	got := run(t, node(op, nil, typedInput("a", dt, len(a)), typedInput("b", dt, len(b))), av, bv)
	if got.DType != dt || !slices.Equal(elems[T](got), want) {
		t.Errorf("%v %v %v: got %v %v, want %v", a, op, b, got.DType, elems[T](got), want)
	}
}

func TestBinaryInteger(t *testing.T) {
	t.Run("int8_add_wraps", func(t *testing.T) {
		intCase(t, ir.Int8, ir.OpAdd, []int8{127, -128, 5}, []int8{1, -1, -7}, []int8{-128, 127, -2})
	})
	t.Run("uint8_mul_wraps", func(t *testing.T) {
		intCase(t, ir.Uint8, ir.OpMul, []uint8{200, 16, 3}, []uint8{2, 16, 5}, []uint8{144, 0, 15})
	})
	t.Run("uint8_sub_wraps", func(t *testing.T) {
		intCase(t, ir.Uint8, ir.OpSub, []uint8{0, 10}, []uint8{1, 3}, []uint8{255, 7})
	})
	t.Run("int32_div_truncates", func(t *testing.T) {
		intCase(t, ir.Int32, ir.OpDiv, []int32{7, -7, 7, -7, math.MinInt32}, []int32{2, 2, -2, -2, -1}, []int32{3, -3, -3, 3, math.MinInt32})
	})
	t.Run("int8_div_min_by_minus_one_wraps", func(t *testing.T) {
		intCase(t, ir.Int8, ir.OpDiv, []int8{-128}, []int8{-1}, []int8{-128})
	})
	t.Run("int64_sub_broadcast", func(t *testing.T) {
		intCase(t, ir.Int64, ir.OpSub, []int64{math.MaxInt64, 0, -5}, []int64{-1}, []int64{math.MinInt64, 1, -4})
	})
	t.Run("int8_max_min", func(t *testing.T) {
		intCase(t, ir.Int8, ir.OpMax, []int8{-3, 4}, []int8{2, -9}, []int8{2, 4})
		intCase(t, ir.Int8, ir.OpMin, []int8{-3, 4}, []int8{2, -9}, []int8{-3, -9})
	})
	t.Run("int_div_by_zero_is_an_error", func(t *testing.T) {
		a, b := NewTensor(ir.Int32, []int{2}), NewTensor(ir.Int32, []int{2})
		copy(a.I32, []int32{1, 2})
		copy(b.I32, []int32{1, 0})
		_, err := RunSingle(node(ir.OpDiv, nil, typedInput("a", ir.Int32, 2), typedInput("b", ir.Int32, 2)), a, b)
		wantError(t, err, `node "div_0" (Div)`, "division by zero")
	})
	t.Run("int8_relu_fused", func(t *testing.T) {
		av, bv := NewTensor(ir.Int8, []int{3}), NewTensor(ir.Int8, []int{1})
		copy(av.I8, []int8{-5, 3, 100})
		bv.I8[0] = 1
		n := node(ir.OpAdd, &ir.BinaryAttrs{Act: ir.ActRelu6}, typedInput("a", ir.Int8, 3), typedInput("b", ir.Int8, 1))
		got := run(t, n, av, bv)
		if want := []int8{0, 4, 6}; !slices.Equal(got.I8, want) {
			t.Errorf("got %v, want %v", got.I8, want)
		}
	})
	t.Run("mixed_dtypes_refused", func(t *testing.T) {
		n := node(ir.OpAdd, nil, input("a", 2), typedInput("b", ir.Int32, 2))
		n.Out().DType, n.Out().Shape = ir.Float32, []int{2}
		_, err := Prepare(n)
		wantError(t, err, `node "add_0" (Add)`, "int32", "want float32")
	})
}
