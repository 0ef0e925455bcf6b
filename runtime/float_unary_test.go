package runtime

import (
	"math"
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

func TestUnaryFloat(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	cases := []struct {
		name  string
		op    ir.Op
		attrs ir.Attrs
		x     []float32
		want  []float32
		tol   float64
	}{
		{"relu", ir.OpRelu, nil, []float32{-2, -0.5, 0, 0.5, 3, nan}, []float32{0, 0, 0, 0.5, 3, nan}, 0},
		{"clip", ir.OpClip, &ir.ClipAttrs{Min: -1, Max: 1}, []float32{-2, -1, 0, 0.5, 1, 2}, []float32{-1, -1, 0, 0.5, 1, 1}, 0},
		{"clip_relu6", ir.OpClip, &ir.ClipAttrs{Min: 0, Max: 6}, []float32{-1, 3, 6, 7}, []float32{0, 3, 6, 6}, 0},
		{"clip_open_max", ir.OpClip, &ir.ClipAttrs{Min: 0, Max: inf}, []float32{-1, 1e30}, []float32{0, 1e30}, 0},
		// ONNX: with min > max every output is max.
		{"clip_min_greater_than_max", ir.OpClip, &ir.ClipAttrs{Min: 2, Max: 1}, []float32{-1, 1.5, 3}, []float32{1, 1, 1}, 0},
		{"clip_nan", ir.OpClip, &ir.ClipAttrs{Min: -1, Max: 1}, []float32{nan}, []float32{nan}, 0},
		// ONNX Sigmoid example, plus the tails.
		{"sigmoid", ir.OpSigmoid, nil, []float32{-1, 0, 1, -100, 100}, []float32{0.26894143, 0.5, 0.7310586, 3.7200760e-44, 1}, 1e-7},
		// ONNX HardSigmoid example: alpha 0.5, beta 0.6.
		{"hard_sigmoid", ir.OpHardSigmoid, &ir.HardSigmoidAttrs{Alpha: 0.5, Beta: 0.6}, []float32{-1, 0, 1, -3, 3}, []float32{0.1, 0.6, 1, 0, 1}, 1e-7},
		{"hard_swish", ir.OpHardSwish, nil, []float32{-4, -3, -1, 0, 1, 3, 4}, []float32{0, 0, -1.0 / 3, 0, 2.0 / 3, 3, 4}, 1e-7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			shape := []int{1, len(tc.x)}
			got := run(t, node(tc.op, tc.attrs, input("x", shape...)), f32(shape, tc.x...))
			checkF32(t, got, shape, tc.want, tc.tol)
		})
	}
}

func TestUnaryInteger(t *testing.T) {
	t.Run("clip_int8_min_only", func(t *testing.T) {
		// ONNX test_clip_default_int8_min: min 0, max open.
		x := NewTensor(ir.Int8, []int{5})
		copy(x.I8, []int8{-128, -5, 0, 5, 127})
		got := run(t, node(ir.OpClip, &ir.ClipAttrs{Min: 0, Max: float32(math.Inf(1))}, typedInput("x", ir.Int8, 5)), x)
		if want := []int8{0, 0, 0, 5, 127}; !slices.Equal(got.I8, want) {
			t.Errorf("got %v, want %v", got.I8, want)
		}
	})
	t.Run("clip_int8_max_only", func(t *testing.T) {
		x := NewTensor(ir.Int8, []int{4})
		copy(x.I8, []int8{-128, 0, 5, 127})
		got := run(t, node(ir.OpClip, &ir.ClipAttrs{Min: float32(math.Inf(-1)), Max: 0}, typedInput("x", ir.Int8, 4)), x)
		if want := []int8{-128, 0, 0, 0}; !slices.Equal(got.I8, want) {
			t.Errorf("got %v, want %v", got.I8, want)
		}
	})
	t.Run("relu_int32", func(t *testing.T) {
		x := NewTensor(ir.Int32, []int{3})
		copy(x.I32, []int32{math.MinInt32, 0, 7})
		got := run(t, node(ir.OpRelu, nil, typedInput("x", ir.Int32, 3)), x)
		if want := []int32{0, 0, 7}; !slices.Equal(got.I32, want) {
			t.Errorf("got %v, want %v", got.I32, want)
		}
	})
	t.Run("sigmoid_int8_refused", func(t *testing.T) {
		_, err := Prepare(node(ir.OpSigmoid, nil, typedInput("x", ir.Int8, 3)))
		wantError(t, err, `node "sigmoid_0" (Sigmoid)`, "int8")
	})
}

func TestBatchNorm(t *testing.T) {
	// ONNX's BatchNormalization example: x (1,2,1,3) NCHW, channels on axis 1.
	x := []float32{-1, 0, 1, 2, 3, 4}
	want := []float32{-0.999995, 0, 0.999995, -0.22474074, 1, 2.2247407}
	params := func() []*ir.Tensor {
		return []*ir.Tensor{
			constant("scale", []int{2}, 1, 1.5),
			constant("bias", []int{2}, 0, 1),
			constant("mean", []int{2}, 0, 3),
			constant("var", []int{2}, 1, 1.5),
		}
	}
	t.Run("axis1_rank4", func(t *testing.T) {
		shape := []int{1, 2, 1, 3}
		n := node(ir.OpBatchNorm, &ir.BatchNormAttrs{Epsilon: 1e-5, Axis: 1}, append([]*ir.Tensor{input("x", shape...)}, params()...)...)
		checkF32(t, run(t, n, f32(shape, x...)), shape, want, 1e-6)
	})
	t.Run("axis_last_nhwc", func(t *testing.T) {
		// The same values with channels last.
		shape := []int{1, 1, 3, 2}
		xT := []float32{-1, 2, 0, 3, 1, 4}
		wantT := []float32{want[0], want[3], want[1], want[4], want[2], want[5]}
		n := node(ir.OpBatchNorm, &ir.BatchNormAttrs{Epsilon: 1e-5, Axis: -1}, append([]*ir.Tensor{input("x", shape...)}, params()...)...)
		checkF32(t, run(t, n, f32(shape, xT...)), shape, wantT, 1e-6)
	})
	t.Run("params_as_inputs_rank2", func(t *testing.T) {
		shape := []int{3, 2}
		xT := []float32{-1, 2, 0, 3, 1, 4}
		wantT := []float32{want[0], want[3], want[1], want[4], want[2], want[5]}
		n := node(ir.OpBatchNorm, &ir.BatchNormAttrs{Epsilon: 1e-5, Axis: 1},
			input("x", shape...), input("s", 2), input("b", 2), input("m", 2), input("v", 2))
		got := run(t, n, f32(shape, xT...), f32([]int{2}, 1, 1.5), f32([]int{2}, 0, 1), f32([]int{2}, 0, 3), f32([]int{2}, 1, 1.5))
		checkF32(t, got, shape, wantT, 1e-6)
	})
	t.Run("param_length_error", func(t *testing.T) {
		p := params()
		p[2] = constant("mean", []int{3}, 0, 0, 0)
		n := node(ir.OpBatchNorm, &ir.BatchNormAttrs{Epsilon: 1e-5, Axis: 1}, append([]*ir.Tensor{input("x", 1, 2, 1, 3)}, p...)...)
		n.Out().DType, n.Out().Shape = ir.Float32, []int{1, 2, 1, 3}
		_, err := Prepare(n)
		wantError(t, err, "mean", "3 elements, want 2")
	})
}
