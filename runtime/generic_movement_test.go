package runtime

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// quantized declares an int8 graph input with per-tensor quantization.
func quantized(name string, scale float32, zp int64, shape ...int) *ir.Tensor {
	t := typedInput(name, ir.Int8, shape...)
	t.Quant = &ir.Quant{Scale: []float32{scale}, ZeroPoint: []int64{zp}}
	return t
}

// i8 makes an int8 runtime value.
func i8(shape []int, v ...int8) *Tensor {
	t := NewTensor(ir.Int8, shape)
	copy(t.I8, v)
	return t
}

func TestReshapeIdentity(t *testing.T) {
	for _, op := range []ir.Op{ir.OpReshape, ir.OpIdentity} {
		t.Run(op.String()+"_float", func(t *testing.T) {
			n := node(op, nil, input("x", 2, 3))
			n.Out().DType = ir.Float32
			shape := []int{2, 3}
			if op == ir.OpReshape {
				shape = []int{3, 1, 2}
			}
			n.Out().Shape = shape
			checkF32(t, run(t, n, f32([]int{2, 3}, seq(6, 1)...)), shape, seq(6, 1), 0)
		})
		t.Run(op.String()+"_quantized_int8", func(t *testing.T) {
			n := node(op, nil, quantized("x", 0.5, -3, 4))
			n.Out().DType, n.Out().Quant = ir.Int8, &ir.Quant{Scale: []float32{0.5}, ZeroPoint: []int64{-3}}
			n.Out().Shape = []int{4}
			if op == ir.OpReshape {
				n.Out().Shape = []int{2, 2}
			}
			got := runGeneric(t, n, i8([]int{4}, -128, -3, 0, 127))
			if want := []int8{-128, -3, 0, 127}; !slices.Equal(got.I8, want) {
				t.Errorf("got %v, want %v", got.I8, want)
			}
		})
	}
	t.Run("reshape_requantizing_refused", func(t *testing.T) {
		n := node(ir.OpReshape, nil, quantized("x", 0.5, 0, 4))
		n.Out().DType, n.Out().Shape = ir.Int8, []int{2, 2}
		n.Out().Quant = &ir.Quant{Scale: []float32{0.25}, ZeroPoint: []int64{0}}
		_, err := genericPrepare(n)
		wantError(t, err, `node "reshape_0" (Reshape)`, "scale 0.5", "scale 0.25")
	})
}

func TestTranspose(t *testing.T) {
	cases := []struct {
		name   string
		perm   []int
		xShape []int
		x      []float32
		shape  []int
		want   []float32
	}{
		{"2d", []int{1, 0}, []int{2, 3}, seq(6, 0), []int{3, 2}, []float32{0, 3, 1, 4, 2, 5}},
		{"3d_021", []int{0, 2, 1}, []int{2, 2, 3}, seq(12, 0), []int{2, 3, 2}, []float32{0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11}},
		{"3d_201", []int{2, 0, 1}, []int{2, 2, 3}, seq(12, 0), []int{3, 2, 2}, []float32{0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11}},
		// NCHW [1,2,2,2] to NHWC: channel planes 0..3 and 4..7 interleave.
		{"nchw_to_nhwc", []int{0, 2, 3, 1}, []int{1, 2, 2, 2}, seq(8, 0), []int{1, 2, 2, 2}, []float32{0, 4, 1, 5, 2, 6, 3, 7}},
		{"identity_perm", []int{0, 1}, []int{2, 2}, seq(4, 0), []int{2, 2}, seq(4, 0)},
		{"size_one_dims", []int{2, 1, 0}, []int{1, 3, 1}, seq(3, 0), []int{1, 3, 1}, seq(3, 0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := node(ir.OpTranspose, &ir.TransposeAttrs{Perm: tc.perm}, input("x", tc.xShape...))
			checkF32(t, run(t, n, f32(tc.xShape, tc.x...)), tc.shape, tc.want, 0)
		})
	}
	// Every permutation of a rank-4 tensor against index arithmetic.
	shape := []int{2, 3, 4, 5}
	x := seq(ir.NumElements(shape), 0)
	inStrides := contiguousStrides(shape)
	for _, perm := range permutations(4) {
		t.Run(fmt.Sprint("rank4_", perm), func(t *testing.T) {
			n := node(ir.OpTranspose, &ir.TransposeAttrs{Perm: perm}, input("x", shape...))
			got := run(t, n, f32(shape, x...))
			outShape := n.Out().Shape
			want := make([]float32, len(x))
			for i := range want {
				// Decompose output index i, then gather.
				rem, src := i, 0
				for d := len(outShape) - 1; d >= 0; d-- {
					src += (rem % outShape[d]) * inStrides[perm[d]]
					rem /= outShape[d]
				}
				want[i] = x[src]
			}
			checkF32(t, got, outShape, want, 0)
		})
	}
	t.Run("int8", func(t *testing.T) {
		n := node(ir.OpTranspose, &ir.TransposeAttrs{Perm: []int{1, 0}}, typedInput("x", ir.Int8, 2, 2))
		if got, want := run(t, n, i8([]int{2, 2}, 1, 2, 3, 4)).I8, []int8{1, 3, 2, 4}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

// permutations lists every permutation of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for pos := 0; pos <= len(p); pos++ {
			q := slices.Insert(slices.Clone(p), pos, n-1)
			out = append(out, q)
		}
	}
	return out
}

func TestConcat(t *testing.T) {
	cases := []struct {
		name   string
		attrs  ir.ConcatAttrs
		shapes [][]int
		vals   [][]float32
		shape  []int
		want   []float32
	}{
		{"1d", ir.ConcatAttrs{Axis: 0}, [][]int{{2}, {3}}, [][]float32{{1, 2}, {3, 4, 5}}, []int{5}, []float32{1, 2, 3, 4, 5}},
		{"2d_axis0", ir.ConcatAttrs{Axis: 0}, [][]int{{1, 2}, {2, 2}}, [][]float32{{1, 2}, {3, 4, 5, 6}}, []int{3, 2}, []float32{1, 2, 3, 4, 5, 6}},
		{"2d_axis1", ir.ConcatAttrs{Axis: 1}, [][]int{{2, 2}, {2, 1}}, [][]float32{{1, 2, 3, 4}, {5, 6}}, []int{2, 3}, []float32{1, 2, 5, 3, 4, 6}},
		{"3d_axis_neg2_three_inputs", ir.ConcatAttrs{Axis: -2}, [][]int{{2, 1, 2}, {2, 2, 2}, {2, 1, 2}},
			[][]float32{{1, 2, 3, 4}, {10, 11, 12, 13, 14, 15, 16, 17}, {-1, -2, -3, -4}}, []int{2, 4, 2},
			[]float32{1, 2, 10, 11, 12, 13, -1, -2, 3, 4, 14, 15, 16, 17, -3, -4}},
		{"nhwc_channels_relu6", ir.ConcatAttrs{Axis: 3, Act: ir.ActRelu6}, [][]int{{1, 1, 2, 1}, {1, 1, 2, 2}},
			[][]float32{{-1, 7}, {1, 2, 3, 4}}, []int{1, 1, 2, 3}, []float32{0, 1, 2, 6, 3, 4}},
		{"single_input", ir.ConcatAttrs{Axis: 0}, [][]int{{2}}, [][]float32{{8, 9}}, []int{2}, []float32{8, 9}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ins []*ir.Tensor
			var vals []*Tensor
			for i, s := range tc.shapes {
				ins = append(ins, input(fmt.Sprint("x", i), s...))
				vals = append(vals, f32(s, tc.vals[i]...))
			}
			attrs := tc.attrs
			checkF32(t, run(t, node(ir.OpConcat, &attrs, ins...), vals...), tc.shape, tc.want, 0)
		})
	}
	t.Run("quantized_same_params", func(t *testing.T) {
		n := node(ir.OpConcat, &ir.ConcatAttrs{Axis: 0}, quantized("a", 0.1, 5, 1), quantized("b", 0.1, 5, 2))
		n.Out().Quant = &ir.Quant{Scale: []float32{0.1}, ZeroPoint: []int64{5}}
		got := runGeneric(t, n, i8([]int{1}, -7), i8([]int{2}, 100, 5))
		if want := []int8{-7, 100, 5}; !slices.Equal(got.I8, want) {
			t.Errorf("got %v, want %v", got.I8, want)
		}
	})
	t.Run("quantized_different_params_refused", func(t *testing.T) {
		n := node(ir.OpConcat, &ir.ConcatAttrs{Axis: 0}, quantized("a", 0.1, 5, 1), quantized("b", 0.2, 5, 2))
		n.Out().DType, n.Out().Shape = ir.Int8, []int{3}
		n.Out().Quant = &ir.Quant{Scale: []float32{0.1}, ZeroPoint: []int64{5}}
		_, err := genericPrepare(n)
		wantError(t, err, `node "concat_0" (Concat)`, `input "b"`, "requantization")
		n.Inputs[1].Quant.Scale[0] = 0.1
		n.Inputs[1].Quant.ZeroPoint[0] = 6
		_, err = genericPrepare(n)
		wantError(t, err, `input "b"`, "zero point 6")
	})
	t.Run("quantized_output_without_quant_inputs_disagree", func(t *testing.T) {
		n := node(ir.OpConcat, &ir.ConcatAttrs{Axis: 0}, quantized("a", 0.1, 5, 1), quantized("b", 0.2, 5, 2))
		n.Out().DType, n.Out().Shape = ir.Int8, []int{3}
		_, err := genericPrepare(n)
		wantError(t, err, `input "b"`)
	})
}

// genericPrepare calls the Generic table's kernel directly: Prepare routes a
// quantized node to the Quantized table first, which may have its own.
func genericPrepare(n *ir.Node) (Kernel, error) { return tables[Generic][n.Op](n) }

// runGeneric runs a single node through the Generic table's kernel: like
// RunSingle (validated graph, non-constant inputs from vals in order) but
// without the table choice.
func runGeneric(t *testing.T, n *ir.Node, vals ...*Tensor) *Tensor {
	t.Helper()
	g := &ir.Graph{Nodes: []*ir.Node{n}, Outputs: n.Outputs}
	var ins []*Tensor
	for _, x := range n.Inputs {
		if x.IsConst() {
			ins = append(ins, FromConst(x))
			continue
		}
		g.Inputs = append(g.Inputs, x)
		ins = append(ins, vals[0])
		vals = vals[1:]
	}
	if n.Out().Shape == nil {
		if err := g.InferShapes(); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	k, err := genericPrepare(n)
	if err != nil {
		t.Fatal(err)
	}
	out := NewTensor(n.Out().DType, n.Out().Shape)
	if err := k.Eval(ins, []*Tensor{out}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPad(t *testing.T) {
	// ONNX Pad doc examples share this x.
	x := []float32{1.0, 1.2, 2.3, 3.4, 4.5, 5.7}
	cases := []struct {
		name   string
		attrs  ir.PadAttrs
		xShape []int
		x      []float32
		shape  []int
		want   []float32
	}{
		{"onnx_constant", ir.PadAttrs{Pads: []int{0, 2, 0, 0}}, []int{3, 2}, x, []int{3, 4},
			[]float32{0, 0, 1.0, 1.2, 0, 0, 2.3, 3.4, 0, 0, 4.5, 5.7}},
		// ONNX's doc reflects by 2 on a length-2 axis; the IR (like ONNX's
		// current reference) allows at most length-1.
		{"reflect", ir.PadAttrs{Pads: []int{0, 1, 0, 0}, Mode: ir.PadReflect}, []int{3, 2}, x, []int{3, 3},
			[]float32{1.2, 1.0, 1.2, 3.4, 2.3, 3.4, 5.7, 4.5, 5.7}},
		{"onnx_edge", ir.PadAttrs{Pads: []int{0, 2, 0, 0}, Mode: ir.PadEdge}, []int{3, 2}, x, []int{3, 4},
			[]float32{1.0, 1.0, 1.0, 1.2, 2.3, 2.3, 2.3, 3.4, 4.5, 4.5, 4.5, 5.7}},
		{"onnx_wrap", ir.PadAttrs{Pads: []int{2, 1, 1, 1}, Mode: ir.PadWrap}, []int{3, 2}, x, []int{6, 4},
			[]float32{
				3.4, 2.3, 3.4, 2.3,
				5.7, 4.5, 5.7, 4.5,
				1.2, 1.0, 1.2, 1.0,
				3.4, 2.3, 3.4, 2.3,
				5.7, 4.5, 5.7, 4.5,
				1.2, 1.0, 1.2, 1.0,
			}},
		{"constant_value", ir.PadAttrs{Pads: []int{1, 0, 0, 1}, Value: 1.5}, []int{1, 2}, []float32{7, 8}, []int{2, 3}, []float32{1.5, 1.5, 1.5, 7, 8, 1.5}},
		{"reflect_both_sides", ir.PadAttrs{Pads: []int{2, 2}, Mode: ir.PadReflect}, []int{3}, []float32{1, 2, 3}, []int{7}, []float32{3, 2, 1, 2, 3, 2, 1}},
		{"wrap_longer_than_input", ir.PadAttrs{Pads: []int{3, 4}, Mode: ir.PadWrap}, []int{2}, []float32{1, 2}, []int{9}, []float32{2, 1, 2, 1, 2, 1, 2, 1, 2}},
		// Negative pads crop first, then the cropped tensor is padded.
		{"crop_then_constant", ir.PadAttrs{Pads: []int{0, -1, 0, 2}}, []int{1, 5}, seq(5, 1), []int{1, 6}, []float32{2, 3, 4, 5, 0, 0}},
		{"crop_then_edge", ir.PadAttrs{Pads: []int{0, -1, 0, 2}, Mode: ir.PadEdge}, []int{1, 5}, seq(5, 1), []int{1, 6}, []float32{2, 3, 4, 5, 5, 5}},
		{"crop_then_reflect", ir.PadAttrs{Pads: []int{0, 2, 0, -2}, Mode: ir.PadReflect}, []int{1, 5}, seq(5, 1), []int{1, 5}, []float32{3, 2, 1, 2, 3}},
		{"crop_then_wrap", ir.PadAttrs{Pads: []int{0, -2, 0, 3}, Mode: ir.PadWrap}, []int{1, 5}, seq(5, 1), []int{1, 6}, []float32{3, 4, 5, 3, 4, 5}},
		{"crop_only", ir.PadAttrs{Pads: []int{-1, -1, 0, -1}}, []int{2, 3}, seq(6, 0), []int{1, 1}, []float32{4}},
		{"overcropped_constant", ir.PadAttrs{Pads: []int{-3, 5}, Value: 9}, []int{2}, []float32{1, 2}, []int{4}, []float32{9, 9, 9, 9}},
		// MobileNet-style spatial pad of NHWC: bottom and right only.
		{"nhwc_bottom_right", ir.PadAttrs{Pads: []int{0, 0, 0, 0, 0, 1, 1, 0}}, []int{1, 2, 2, 2}, seq(8, 1), []int{1, 3, 3, 2},
			[]float32{1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"rank0", ir.PadAttrs{Pads: []int{}}, []int{}, []float32{4}, []int{}, []float32{4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attrs := tc.attrs
			n := node(ir.OpPad, &attrs, input("x", tc.xShape...))
			checkF32(t, run(t, n, f32(tc.xShape, tc.x...)), tc.shape, tc.want, 0)
		})
	}
	t.Run("quantized_fills_zero_point", func(t *testing.T) {
		n := node(ir.OpPad, &ir.PadAttrs{Pads: []int{1, 1}, Value: 7}, quantized("x", 0.5, -3, 2))
		n.Out().Quant = &ir.Quant{Scale: []float32{0.5}, ZeroPoint: []int64{-3}}
		if got, want := runGeneric(t, n, i8([]int{2}, 10, 20)).I8, []int8{-3, 10, 20, -3}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("plain_uint8_fills_value", func(t *testing.T) {
		x := NewTensor(ir.Uint8, []int{2})
		copy(x.U8, []uint8{1, 2})
		n := node(ir.OpPad, &ir.PadAttrs{Pads: []int{1, 0}, Value: 9}, typedInput("x", ir.Uint8, 2))
		if got, want := run(t, n, x).U8, []uint8{9, 1, 2}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("int64_edge", func(t *testing.T) {
		x := NewTensor(ir.Int64, []int{2})
		copy(x.I64, []int64{-1 << 60, 1 << 60})
		n := node(ir.OpPad, &ir.PadAttrs{Pads: []int{1, 1}, Mode: ir.PadEdge}, typedInput("x", ir.Int64, 2))
		if got, want := run(t, n, x).I64, []int64{-1 << 60, -1 << 60, 1 << 60, 1 << 60}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	errCases := []struct {
		name   string
		attrs  ir.PadAttrs
		xShape []int
		shape  []int
		want   string
	}{
		{"reflect_after_crop_too_short", ir.PadAttrs{Pads: []int{2, -2}, Mode: ir.PadReflect}, []int{4}, []int{4}, "reflect pads"},
		{"edge_of_nothing", ir.PadAttrs{Pads: []int{-2, 1}, Mode: ir.PadEdge}, []int{2}, []int{1}, "nothing left"},
		{"output_shape", ir.PadAttrs{Pads: []int{1, 1}}, []int{2}, []int{5}, "want 2 + 1 + 1"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			attrs := tc.attrs
			n := node(ir.OpPad, &attrs, input("x", tc.xShape...))
			n.Out().DType, n.Out().Shape = ir.Float32, tc.shape
			_, err := Prepare(n)
			wantError(t, err, `node "pad_0" (Pad)`, tc.want)
		})
	}
}
