package runtime

import (
	"math"
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// The examples of ONNX's ArgMax documentation (test_argmax_*_example),
// ties, NaN as TFLite's reference treats it, and the integer kernels.
func TestArgMax(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		name   string
		attrs  ir.ArgMaxAttrs
		xShape []int
		x      []float32
		shape  []int
		want   []int64
	}{
		{"default_axis_example", ir.ArgMaxAttrs{KeepDims: true}, []int{2, 2}, []float32{2, 1, 3, 10}, []int{1, 2}, []int64{1, 1}},
		{"keepdims_example", ir.ArgMaxAttrs{Axis: 1, KeepDims: true}, []int{2, 2}, []float32{2, 1, 3, 10}, []int{2, 1}, []int64{0, 1}},
		{"no_keepdims_example", ir.ArgMaxAttrs{Axis: 1}, []int{2, 2}, []float32{2, 1, 3, 10}, []int{2}, []int64{0, 1}},
		{"negative_axis_keepdims_example", ir.ArgMaxAttrs{Axis: -1, KeepDims: true}, []int{2, 2}, []float32{2, 1, 3, 10}, []int{2, 1}, []int64{0, 1}},
		{"keepdims_example_select_last_index", ir.ArgMaxAttrs{Axis: 1, KeepDims: true, SelectLastIndex: true}, []int{2, 2}, []float32{2, 2, 3, 10}, []int{2, 1}, []int64{1, 1}},
		{"ties_lowest_index", ir.ArgMaxAttrs{Axis: 1}, []int{2, 3}, []float32{5, 5, 5, -1, 4, 4}, []int{2}, []int64{0, 1}},
		{"ties_last_index", ir.ArgMaxAttrs{Axis: 1, SelectLastIndex: true}, []int{2, 3}, []float32{5, 5, 5, -1, 4, 4}, []int{2}, []int64{2, 2}},
		{"middle_axis", ir.ArgMaxAttrs{Axis: 1}, []int{2, 3, 2}, []float32{1, 9, 5, 0, 3, 2, 0, 0, -1, 7, 4, 6}, []int{2, 2}, []int64{1, 0, 2, 1}},
		// NaN: a plain > never picks it, and a leading NaN is never replaced.
		{"nan_skipped", ir.ArgMaxAttrs{}, []int{3}, []float32{1, nan, 2}, nil, []int64{2}},
		{"nan_first_stays", ir.ArgMaxAttrs{}, []int{3}, []float32{nan, 5, 2}, nil, []int64{0}},
		{"class_map_nhwc", ir.ArgMaxAttrs{Axis: 3}, []int{1, 1, 2, 3}, []float32{0.1, 0.7, 0.2, 0.9, -1, 0.9}, []int{1, 1, 2}, []int64{1, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attrs := tc.attrs
			attrs.OutputType = ir.Int64
			n := node(ir.OpArgMax, &attrs, input("x", tc.xShape...))
			got := run(t, n, f32(tc.xShape, tc.x...))
			if got.DType != ir.Int64 || !slices.Equal(got.Shape, tc.shape) || !slices.Equal(got.I64, tc.want) {
				t.Errorf("got %v %v, want int64%v %v", got, got.I64, tc.shape, tc.want)
			}
		})
	}
	t.Run("uint8_quantized_int32", func(t *testing.T) {
		// The deeplab form: uint8 logits, per-tensor quantized, int32 classes.
		x := typedInput("x", ir.Uint8, 1, 2, 4)
		x.Quant = &ir.Quant{Scale: []float32{0.2}, ZeroPoint: []int64{36}}
		n := node(ir.OpArgMax, &ir.ArgMaxAttrs{Axis: 2, OutputType: ir.Int32}, x)
		v := NewTensor(ir.Uint8, []int{1, 2, 4})
		copy(v.U8, []uint8{0, 200, 36, 200, 255, 3, 255, 254})
		got := run(t, n, v)
		if got.DType != ir.Int32 || !slices.Equal(got.I32, []int32{1, 0}) {
			t.Errorf("got %v %v, want int32 [1 0]", got, got.I32)
		}
	})
	t.Run("int8_quantized_same_as_dequantized", func(t *testing.T) {
		x := typedInput("x", ir.Int8, 4, 5)
		x.Quant = &ir.Quant{Scale: []float32{0.05}, ZeroPoint: []int64{-3}}
		n := node(ir.OpArgMax, &ir.ArgMaxAttrs{Axis: -1, OutputType: ir.Int64}, x)
		v := NewTensor(ir.Int8, []int{4, 5})
		r := lcg(7)
		for i := range v.I8 {
			v.I8[i] = int8(r.float() * 127)
		}
		v.I8[3], v.I8[4] = 127, 127 // a tie in row 0
		got := run(t, n, v)
		fn := node(ir.OpArgMax, &ir.ArgMaxAttrs{Axis: -1, OutputType: ir.Int64}, input("x", 4, 5))
		want := run(t, fn, f32([]int{4, 5}, v.Dequantized(x.Quant)...))
		if !slices.Equal(got.I64, want.I64) || got.I64[0] != 3 {
			t.Errorf("int8 indices %v, float indices %v", got.I64, want.I64)
		}
	})
	t.Run("per_channel_along_axis_refused", func(t *testing.T) {
		x := typedInput("x", ir.Int8, 1, 3)
		x.Quant = &ir.Quant{Scale: []float32{1, 2, 3}, ZeroPoint: []int64{0, 0, 0}, Axis: 1}
		n := node(ir.OpArgMax, &ir.ArgMaxAttrs{Axis: 1, OutputType: ir.Int64}, x)
		n.Out().DType, n.Out().Shape = ir.Int64, []int{1}
		_, err := Prepare(n)
		wantError(t, err, `node "argmax_0" (ArgMax)`, "per-channel")
	})
}
