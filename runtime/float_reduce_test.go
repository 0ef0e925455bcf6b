package runtime

import (
	"math"
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

func TestReduce(t *testing.T) {
	nhwc := seq(12, 1) // [1,2,2,3]: channel c holds c+1, c+4, c+7, c+10
	cases := []struct {
		name   string
		op     ir.Op
		attrs  ir.ReduceAttrs
		xShape []int
		x      []float32
		shape  []int
		want   []float32
	}{
		{"global_average_pool", ir.OpMean, ir.ReduceAttrs{Axes: []int{1, 2}}, []int{1, 2, 2, 3}, nhwc, []int{1, 3}, []float32{5.5, 6.5, 7.5}},
		{"global_average_pool_keepdims", ir.OpMean, ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: true}, []int{1, 2, 2, 3}, nhwc, []int{1, 1, 1, 3}, []float32{5.5, 6.5, 7.5}},
		{"mean_axis0", ir.OpMean, ir.ReduceAttrs{Axes: []int{0}}, []int{2, 3}, seq(6, 0), []int{3}, []float32{1.5, 2.5, 3.5}},
		{"mean_negative_axis", ir.OpMean, ir.ReduceAttrs{Axes: []int{-1}, KeepDims: true}, []int{2, 3}, seq(6, 0), []int{2, 1}, []float32{1, 4}},
		{"mean_all", ir.OpMean, ir.ReduceAttrs{Axes: []int{0, 1}}, []int{2, 3}, seq(6, 0), nil, []float32{2.5}},
		{"mean_no_axes_is_identity", ir.OpMean, ir.ReduceAttrs{}, []int{2}, []float32{3, 4}, []int{2}, []float32{3, 4}},
		{"mean_middle", ir.OpMean, ir.ReduceAttrs{Axes: []int{1}}, []int{2, 3, 2}, seq(12, 0), []int{2, 2}, []float32{2, 3, 8, 9}},
		{"max_middle", ir.OpReduceMax, ir.ReduceAttrs{Axes: []int{1}}, []int{2, 3, 2}, []float32{1, -1, 5, -7, 3, -2, 0, 0, -1, 9, -3, 2}, []int{2, 2}, []float32{5, -1, 0, 9}},
		{"global_max_pool", ir.OpReduceMax, ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: true}, []int{1, 2, 2, 3}, nhwc, []int{1, 1, 1, 3}, []float32{10, 11, 12}},
		{"max_all_negative", ir.OpReduceMax, ir.ReduceAttrs{Axes: []int{0}}, []int{3}, []float32{-3, -1, -2}, nil, []float32{-1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attrs := tc.attrs
			n := node(tc.op, &attrs, input("x", tc.xShape...))
			checkF32(t, run(t, n, f32(tc.xShape, tc.x...)), tc.shape, tc.want, 1e-7)
		})
	}
	t.Run("max_int8", func(t *testing.T) {
		x := NewTensor(ir.Int8, []int{2, 2})
		copy(x.I8, []int8{-128, -100, 7, -1})
		n := node(ir.OpReduceMax, &ir.ReduceAttrs{Axes: []int{1}}, typedInput("x", ir.Int8, 2, 2))
		if got, want := run(t, n, x).I8, []int8{-100, 7}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("duplicate_axis_refused", func(t *testing.T) {
		n := node(ir.OpMean, &ir.ReduceAttrs{Axes: []int{1, -1}}, input("x", 2, 3))
		n.Out().DType, n.Out().Shape = ir.Float32, []int{2}
		_, err := Prepare(n)
		wantError(t, err, `node "mean_0" (Mean)`, "twice")
	})
}

func TestSoftmax(t *testing.T) {
	// ln(2)/2: with beta 2 the exponentials are 1 and 2.
	halfLn2 := float32(math.Ln2 / 2)
	cases := []struct {
		name   string
		attrs  ir.SoftmaxAttrs
		xShape []int
		x      []float32
		want   []float32
	}{
		// ONNX Softmax example.
		{"onnx_example", ir.SoftmaxAttrs{Axis: 1, Beta: 1}, []int{1, 3}, []float32{-1, 0, 1}, []float32{0.09003058, 0.24472848, 0.66524094}},
		// ONNX test_softmax_large_number: both rows give the same answer.
		{"large_numbers", ir.SoftmaxAttrs{Axis: -1, Beta: 1}, []int{2, 4}, []float32{0, 1, 2, 3, 10000, 10001, 10002, 10003},
			[]float32{0.032058604, 0.08714432, 0.23688284, 0.6439143, 0.032058604, 0.08714432, 0.23688284, 0.6439143}},
		{"axis0", ir.SoftmaxAttrs{Axis: 0, Beta: 1}, []int{2, 2}, []float32{0, 5, 0, 5}, []float32{0.5, 0.5, 0.5, 0.5}},
		{"middle_axis", ir.SoftmaxAttrs{Axis: 1, Beta: 1}, []int{1, 3, 2}, []float32{1, 0, 1, 0, 1, -1000},
			[]float32{1.0 / 3, 0.5, 1.0 / 3, 0.5, 1.0 / 3, 0}},
		{"beta_2", ir.SoftmaxAttrs{Axis: 0, Beta: 2}, []int{2}, []float32{0, halfLn2}, []float32{1.0 / 3, 2.0 / 3}},
		{"very_negative", ir.SoftmaxAttrs{Axis: 0, Beta: 1}, []int{2}, []float32{-1e30, -1e30}, []float32{0.5, 0.5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attrs := tc.attrs
			n := node(ir.OpSoftmax, &attrs, input("x", tc.xShape...))
			checkF32(t, run(t, n, f32(tc.xShape, tc.x...)), tc.xShape, tc.want, 1e-6)
		})
	}
}
