package runtime

import (
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

func TestPoolFloat(t *testing.T) {
	one := [2]int{1, 1}
	cases := []struct {
		name   string
		op     ir.Op
		attrs  ir.PoolAttrs
		xShape []int
		x      []float32
		shape  []int
		want   []float32
	}{
		{"avg_2x2_s2", ir.OpAvgPool, ir.PoolAttrs{Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}, Dilations: one},
			[]int{1, 4, 4, 1}, seq(16, 0), []int{1, 2, 2, 1}, []float32{2.5, 4.5, 10.5, 12.5}},
		{"avg_pads_exclude", ir.OpAvgPool, ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: one, Dilations: one, Pads: [4]int{1, 1, 1, 1}},
			[]int{1, 3, 3, 1}, seq(9, 1), []int{1, 3, 3, 1}, []float32{3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7}},
		{"avg_pads_include", ir.OpAvgPool, ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: one, Dilations: one, Pads: [4]int{1, 1, 1, 1}, CountIncludePad: true},
			[]int{1, 3, 3, 1}, seq(9, 1), []int{1, 3, 3, 1}, []float32{12.0 / 9, 21.0 / 9, 16.0 / 9, 27.0 / 9, 5, 33.0 / 9, 24.0 / 9, 39.0 / 9, 28.0 / 9}},
		// ONNX test_averagepool_2d_ceil.
		{"avg_ceil", ir.OpAvgPool, ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Dilations: one, CeilMode: true},
			[]int{1, 4, 4, 1}, seq(16, 1), []int{1, 2, 2, 1}, []float32{6, 7.5, 12, 13.5}},
		// With no explicit pads, counting pads changes nothing, even where
		// ceil mode's window runs off the input.
		{"avg_ceil_include_no_pads", ir.OpAvgPool, ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Dilations: one, CeilMode: true, CountIncludePad: true},
			[]int{1, 4, 4, 1}, seq(16, 1), []int{1, 2, 2, 1}, []float32{6, 7.5, 12, 13.5}},
		// Windows start at -1, 1, 3, 5 over [pad 1 2 3 4 5 6 pad]; the last
		// covers 6, the right pad, and one position beyond the padded extent.
		{"avg_ceil_pads_include", ir.OpAvgPool, ir.PoolAttrs{Kernel: [2]int{1, 3}, Strides: [2]int{1, 2}, Dilations: one, Pads: [4]int{0, 1, 0, 1}, CeilMode: true, CountIncludePad: true},
			[]int{1, 1, 6, 1}, seq(6, 1), []int{1, 1, 4, 1}, []float32{1, 3, 5, 3}},
		{"avg_ceil_pads_exclude", ir.OpAvgPool, ir.PoolAttrs{Kernel: [2]int{1, 3}, Strides: [2]int{1, 2}, Dilations: one, Pads: [4]int{0, 1, 0, 1}, CeilMode: true},
			[]int{1, 1, 6, 1}, seq(6, 1), []int{1, 1, 4, 1}, []float32{1.5, 3, 5, 6}},
		// ONNX test_averagepool_2d_ceil_last_window_starts_on_pad.
		{"avg_last_window_starts_on_pad", ir.OpAvgPool, ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: [2]int{3, 3}, Dilations: one, Pads: [4]int{1, 1, 1, 1}, CeilMode: true, CountIncludePad: true},
			[]int{1, 2, 2, 1}, seq(4, 1), []int{1, 1, 1, 1}, []float32{10.0 / 9}},
		// Dilation 2: taps (0,0) (0,2) (2,0) (2,2) of each window.
		{"avg_dilated", ir.OpAvgPool, ir.PoolAttrs{Kernel: [2]int{2, 2}, Strides: one, Dilations: [2]int{2, 2}},
			[]int{1, 4, 4, 1}, seq(16, 0), []int{1, 2, 2, 1}, []float32{5, 6, 9, 10}},
		{"avg_channels_relu", ir.OpAvgPool, ir.PoolAttrs{Kernel: [2]int{1, 2}, Strides: one, Dilations: one, Act: ir.ActRelu},
			[]int{1, 1, 2, 2}, []float32{1, -4, 2, -6}, []int{1, 1, 1, 2}, []float32{1.5, 0}},
		// ONNX test_maxpool_2d_ceil and test_maxpool_2d_dilations.
		{"max_ceil", ir.OpMaxPool, ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Dilations: one, CeilMode: true},
			[]int{1, 4, 4, 1}, seq(16, 1), []int{1, 2, 2, 1}, []float32{11, 12, 15, 16}},
		{"max_dilations", ir.OpMaxPool, ir.PoolAttrs{Kernel: [2]int{2, 2}, Strides: one, Dilations: [2]int{2, 2}},
			[]int{1, 4, 4, 1}, seq(16, 1), []int{1, 2, 2, 1}, []float32{11, 12, 15, 16}},
		{"max_pads", ir.OpMaxPool, ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: one, Dilations: one, Pads: [4]int{1, 1, 1, 1}},
			[]int{1, 3, 3, 1}, seq(9, 1), []int{1, 3, 3, 1}, []float32{5, 6, 6, 8, 9, 9, 8, 9, 9}},
		// Padding never wins, even over negative values.
		{"max_negative_pads", ir.OpMaxPool, ir.PoolAttrs{Kernel: [2]int{2, 2}, Strides: one, Dilations: one, Pads: [4]int{1, 1, 0, 0}},
			[]int{1, 2, 2, 1}, []float32{-5, -3, -8, -1}, []int{1, 2, 2, 1}, []float32{-5, -3, -5, -1}},
		{"max_two_channels_relu6", ir.OpMaxPool, ir.PoolAttrs{Kernel: [2]int{2, 1}, Strides: one, Dilations: one, Act: ir.ActRelu6},
			[]int{2, 2, 1, 2}, []float32{1, -1, 9, -2, 3, 4, 2, 5}, []int{2, 1, 1, 2}, []float32{6, 0, 3, 5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attrs := tc.attrs
			n := node(tc.op, &attrs, input("x", tc.xShape...))
			checkF32(t, run(t, n, f32(tc.xShape, tc.x...)), tc.shape, tc.want, 1e-7)
		})
	}
}

func TestMaxPoolInteger(t *testing.T) {
	t.Run("uint8_onnx", func(t *testing.T) {
		// ONNX test_maxpool_2d_uint8: 5x5 of 1..25, kernel 5, pads 2.
		x := NewTensor(ir.Uint8, []int{1, 5, 5, 1})
		for i := range x.U8 {
			x.U8[i] = uint8(i + 1)
		}
		n := node(ir.OpMaxPool, &ir.PoolAttrs{Kernel: [2]int{5, 5}, Strides: [2]int{1, 1}, Pads: [4]int{2, 2, 2, 2}}, typedInput("x", ir.Uint8, 1, 5, 5, 1))
		got := run(t, n, x)
		want := []uint8{
			13, 14, 15, 15, 15,
			18, 19, 20, 20, 20,
			23, 24, 25, 25, 25,
			23, 24, 25, 25, 25,
			23, 24, 25, 25, 25,
		}
		if got.DType != ir.Uint8 || !slices.Equal(got.U8, want) {
			t.Errorf("got %v %v, want %v", got.DType, got.U8, want)
		}
	})
	t.Run("int8_padding_never_wins", func(t *testing.T) {
		x := NewTensor(ir.Int8, []int{1, 2, 2, 1})
		copy(x.I8, []int8{-5, -3, -8, -1})
		n := node(ir.OpMaxPool, &ir.PoolAttrs{Kernel: [2]int{2, 2}, Strides: [2]int{1, 1}, Pads: [4]int{1, 1, 0, 0}}, typedInput("x", ir.Int8, 1, 2, 2, 1))
		if got, want := run(t, n, x).I8, []int8{-5, -3, -5, -1}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("avg_int8_refused", func(t *testing.T) {
		n := node(ir.OpAvgPool, &ir.PoolAttrs{Kernel: [2]int{2, 2}, Strides: [2]int{1, 1}}, typedInput("x", ir.Int8, 1, 2, 2, 1))
		n.Out().DType, n.Out().Shape = ir.Int8, []int{1, 1, 1, 1}
		_, err := Prepare(n)
		wantError(t, err, `node "avgpool_0" (AvgPool)`, "int8")
	})
}
