package runtime

import (
	"fmt"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

func TestConvGoldens(t *testing.T) {
	ones9 := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
	// Depthwise, multiplier 2: x is ch0 = 1..9, ch1 = 10..90 on a 3x3 grid.
	var dwX []float32
	for p := 1; p <= 9; p++ {
		dwX = append(dwX, float32(p), float32(10*p))
	}
	dwW := []float32{
		1, 1, 1, 1, // oc0 reads ch0: window sum
		1, 0, 0, 0, // oc1 reads ch0: top-left
		0, 0, 0, 1, // oc2 reads ch1: bottom-right
		1, -1, 0, 0, // oc3 reads ch1: top-left minus top-right
	}
	cases := []struct {
		name   string
		xShape []int
		x      []float32
		wShape []int
		w      []float32
		bias   []float32
		attrs  ir.ConvAttrs
		shape  []int
		want   []float32
	}{
		{
			// ONNX Conv doc example, pads 1.
			name: "onnx_5x5_padding", xShape: []int{1, 5, 5, 1}, x: seq(25, 0),
			wShape: []int{1, 3, 3, 1}, w: ones9,
			attrs: ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 1},
			shape: []int{1, 5, 5, 1},
			want: []float32{
				12, 21, 27, 33, 24,
				33, 54, 63, 72, 51,
				63, 99, 108, 117, 81,
				93, 144, 153, 162, 111,
				72, 111, 117, 123, 84,
			},
		},
		{
			name: "onnx_5x5_no_padding", xShape: []int{1, 5, 5, 1}, x: seq(25, 0),
			wShape: []int{1, 3, 3, 1}, w: ones9,
			attrs: ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1},
			shape: []int{1, 3, 3, 1},
			want:  []float32{54, 63, 72, 99, 108, 117, 144, 153, 162},
		},
		{
			name: "onnx_7x5_strides_padding", xShape: []int{1, 7, 5, 1}, x: seq(35, 0),
			wShape: []int{1, 3, 3, 1}, w: ones9,
			attrs: ir.ConvAttrs{Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 1},
			shape: []int{1, 4, 3, 1},
			want:  []float32{12, 27, 24, 63, 108, 81, 123, 198, 141, 112, 177, 124},
		},
		{
			name: "onnx_7x5_strides_no_padding", xShape: []int{1, 7, 5, 1}, x: seq(35, 0),
			wShape: []int{1, 3, 3, 1}, w: ones9,
			attrs: ir.ConvAttrs{Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Group: 1},
			shape: []int{1, 3, 2, 1},
			want:  []float32{54, 72, 144, 162, 234, 252},
		},
		{
			// Pads top 1, left 0, bottom 1, right 0.
			name: "onnx_7x5_strides_asymmetric_padding", xShape: []int{1, 7, 5, 1}, x: seq(35, 0),
			wShape: []int{1, 3, 3, 1}, w: ones9,
			attrs: ir.ConvAttrs{Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 0, 1, 0}, Group: 1},
			shape: []int{1, 4, 2, 1},
			want:  []float32{21, 33, 99, 117, 189, 207, 171, 183},
		},
		{
			name: "depthwise_multiplier_2", xShape: []int{1, 3, 3, 2}, x: dwX,
			wShape: []int{4, 2, 2, 1}, w: dwW, bias: []float32{0, 100, 0, 0.5},
			attrs: ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 2},
			shape: []int{1, 2, 2, 4},
			want: []float32{
				12, 101, 50, -9.5,
				16, 102, 60, -9.5,
				24, 104, 80, -9.5,
				28, 105, 90, -9.5,
			},
		},
		{
			name: "depthwise_multiplier_2_relu6", xShape: []int{1, 3, 3, 2}, x: dwX,
			wShape: []int{4, 2, 2, 1}, w: dwW, bias: []float32{0, 100, 0, 0.5},
			attrs: ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 2, Act: ir.ActRelu6},
			shape: []int{1, 2, 2, 4},
			want:  []float32{6, 6, 6, 0, 6, 6, 6, 0, 6, 6, 6, 0, 6, 6, 6, 0},
		},
		{
			// Two groups of two channels, 1x1 kernel.
			name: "grouped_2", xShape: []int{1, 1, 2, 4}, x: seq(8, 1),
			wShape: []int{4, 1, 1, 2}, w: []float32{1, 1, 1, -1, 1, 0, 0, 2},
			attrs: ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 2},
			shape: []int{1, 1, 2, 4},
			want:  []float32{3, -1, 3, 8, 11, -1, 7, 16},
		},
		{
			// 2x2 kernel dilated by 2 reads x(0,0), x(0,2), x(2,0), x(2,2).
			name: "dilation_2", xShape: []int{1, 4, 4, 1}, x: seq(16, 0),
			wShape: []int{1, 2, 2, 1}, w: []float32{1, 2, 3, 4},
			attrs: ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{2, 2}, Group: 1},
			shape: []int{1, 2, 2, 1},
			want:  []float32{68, 78, 108, 118},
		},
		{
			name: "two_outputs_bias_relu", xShape: []int{1, 1, 1, 2}, x: []float32{1, 2},
			wShape: []int{2, 1, 1, 2}, w: []float32{1, 1, -1, -1}, bias: []float32{0.5, 1},
			attrs: ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1, Act: ir.ActRelu},
			shape: []int{1, 1, 1, 2},
			want:  []float32{3.5, 0},
		},
	}
	for _, tc := range cases {
		for _, constW := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/constW=%v", tc.name, constW), func(t *testing.T) {
				attrs := tc.attrs
				ins := []*ir.Tensor{input("x", tc.xShape...)}
				vals := []*Tensor{f32(tc.xShape, tc.x...)}
				if constW {
					ins = append(ins, constant("w", tc.wShape, tc.w...))
				} else {
					ins = append(ins, input("w", tc.wShape...))
					vals = append(vals, f32(tc.wShape, tc.w...))
				}
				if tc.bias != nil {
					ins = append(ins, constant("b", []int{len(tc.bias)}, tc.bias...))
				}
				got := run(t, node(ir.OpConv, &attrs, ins...), vals...)
				checkF32(t, got, tc.shape, tc.want, 0)
			})
		}
	}
}

// naiveConv is the convolution formula read straight off ONNX's definition,
// in another loop order, to cross-check the kernel on random cases. It
// returns the float64 result and the result of the kernel's documented
// float32 contract (0 + products over fy, fx, inC in order, each rounded,
// then + bias), which the kernel must match bit for bit.
func naiveConv(x []float32, xShape []int, w []float32, wShape []int, bias []float32, a ir.ConvAttrs, outH, outW int) (exact, contract []float32) {
	batches, inH, inW, channels := xShape[0], xShape[1], xShape[2], xShape[3]
	outC, kH, kW, perGroup := wShape[0], wShape[1], wShape[2], wShape[3]
	outPerGroup := outC / a.Group
	lo, hi := a.Act.Bounds()
	exact = make([]float32, batches*outH*outW*outC)
	contract = make([]float32, len(exact))
	for batch := range batches {
		for oc := range outC {
			group := oc / outPerGroup
			for outY := range outH {
				for outX := range outW {
					sum64, sum32 := 0.0, float32(0)
					for fy := range kH {
						for fx := range kW {
							inY := outY*a.Strides[0] - a.Pads[0] + fy*a.Dilations[0]
							inX := outX*a.Strides[1] - a.Pads[1] + fx*a.Dilations[1]
							if inY < 0 || inY >= inH || inX < 0 || inX >= inW {
								continue
							}
							for inC := range perGroup {
								xv := x[((batch*inH+inY)*inW+inX)*channels+group*perGroup+inC]
								wv := w[((oc*kH+fy)*kW+fx)*perGroup+inC]
								sum64 += float64(xv) * float64(wv)
								sum32 += float32(xv * wv)
							}
						}
					}
					if bias != nil {
						sum64 += float64(bias[oc])
						sum32 += bias[oc]
					}
					i := ((batch*outH+outY)*outW+outX)*outC + oc
					exact[i] = min(max(float32(sum64), lo), hi)
					contract[i] = min(max(sum32, lo), hi)
				}
			}
		}
	}
	return exact, contract
}

func TestConvAgainstNaive(t *testing.T) {
	cases := []struct {
		name           string
		xShape, wShape []int
		attrs          ir.ConvAttrs
		bias           bool
	}{
		{"regular_3x3_s1_p1", []int{2, 6, 7, 5}, []int{4, 3, 3, 5}, ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 1}, true},
		{"regular_s2_asym", []int{1, 9, 8, 3}, []int{6, 3, 2, 3}, ir.ConvAttrs{Strides: [2]int{2, 3}, Dilations: [2]int{1, 1}, Pads: [4]int{0, 1, 2, 0}, Group: 1, Act: ir.ActRelu6}, true},
		{"dilated_2x3", []int{1, 10, 11, 2}, []int{3, 3, 3, 2}, ir.ConvAttrs{Strides: [2]int{1, 2}, Dilations: [2]int{2, 3}, Pads: [4]int{2, 3, 1, 0}, Group: 1}, false},
		{"grouped_3", []int{1, 5, 5, 6}, []int{9, 2, 2, 2}, ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 0, 0, 1}, Group: 3}, true},
		{"depthwise_m1_s2", []int{1, 8, 8, 4}, []int{4, 3, 3, 1}, ir.ConvAttrs{Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Pads: [4]int{0, 0, 1, 1}, Group: 4, Act: ir.ActRelu}, true},
		{"depthwise_m3_dilated", []int{2, 7, 6, 2}, []int{6, 3, 3, 1}, ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{2, 1}, Pads: [4]int{2, 1, 2, 1}, Group: 2, Act: ir.ActReluN1To1}, true},
		{"pointwise", []int{1, 4, 4, 16}, []int{8, 1, 1, 16}, ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1}, true},
		{"pointwise_odd_channels", []int{1, 3, 3, 23}, []int{7, 1, 1, 23}, ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1}, true},
		{"grouped_wide_groups", []int{1, 4, 4, 12}, []int{4, 3, 3, 6}, ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 2}, true},
	}
	r := lcg(7)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attrs := tc.attrs
			x := r.floats(ir.NumElements(tc.xShape))
			w := r.floats(ir.NumElements(tc.wShape))
			ins := []*ir.Tensor{input("x", tc.xShape...), constant("w", tc.wShape, w...)}
			var bias []float32
			if tc.bias {
				bias = r.floats(tc.wShape[0])
				ins = append(ins, constant("b", []int{len(bias)}, bias...))
			}
			n := node(ir.OpConv, &attrs, ins...)
			got := run(t, n, f32(tc.xShape, x...))
			shape := n.Out().Shape
			exact, contract := naiveConv(x, tc.xShape, w, tc.wShape, bias, tc.attrs, shape[1], shape[2])
			checkF32(t, got, shape, exact, 1e-5)
			checkF32(t, got, shape, contract, 0)
		})
	}
}

func TestConvErrors(t *testing.T) {
	conv := func(xShape, wShape []int, bias int, group int) *ir.Node {
		ins := []*ir.Tensor{input("x", xShape...), constant("w", wShape, make([]float32, ir.NumElements(wShape))...)}
		if bias > 0 {
			ins = append(ins, constant("b", []int{bias}, make([]float32, bias)...))
		}
		n := node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: group}, ins...)
		n.Out().DType = ir.Float32
		n.Out().Shape = []int{1, 3, 3, wShape[0]}
		return n
	}
	cases := []struct {
		name string
		n    *ir.Node
		want []string
	}{
		{"bias_length", conv([]int{1, 3, 3, 2}, []int{4, 1, 1, 2}, 3, 1), []string{`node "conv_0" (Conv)`, "bias", "3 elements, want 4"}},
		{"group", conv([]int{1, 3, 3, 4}, []int{4, 1, 1, 2}, 0, 3), []string{"group 3"}},
		{"weight_rank", func() *ir.Node {
			n := conv([]int{1, 3, 3, 2}, []int{4, 1, 1, 2}, 0, 1)
			n.Inputs[1] = constant("w", []int{4, 2}, make([]float32, 8)...)
			return n
		}(), []string{"rank 4"}},
		{"int8_without_quant", func() *ir.Node {
			n := conv([]int{1, 3, 3, 2}, []int{4, 1, 1, 2}, 0, 1)
			n.Inputs[0] = typedInput("x", ir.Int8, 1, 3, 3, 2)
			return n
		}(), []string{"int8", "want float32"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Prepare(tc.n)
			wantError(t, err, tc.want...)
		})
	}
}

// TestMalformedNodes feeds Prepare nodes that never went through Validate:
// each must give an error naming the node, not a panic.
func TestMalformedNodes(t *testing.T) {
	x := func() *ir.Tensor { return input("x", 1, 2, 2, 1) }
	y := func() *ir.Tensor { return &ir.Tensor{Name: "y", DType: ir.Float32, Shape: []int{1, 2, 2, 1}} }
	cases := []struct {
		name string
		n    *ir.Node
		want string
	}{
		{"missing_input", &ir.Node{Name: "c", Op: ir.OpConv, Inputs: []*ir.Tensor{x()}, Outputs: []*ir.Tensor{y()}, Attrs: &ir.ConvAttrs{}}, "1 inputs, want 2 to 3"},
		{"nil_required_input", &ir.Node{Name: "c", Op: ir.OpAdd, Inputs: []*ir.Tensor{x(), nil}, Outputs: []*ir.Tensor{y()}, Attrs: &ir.BinaryAttrs{}}, "required input 1"},
		{"no_outputs", &ir.Node{Name: "c", Op: ir.OpRelu, Inputs: []*ir.Tensor{x()}}, "0 outputs"},
		{"nil_attrs", &ir.Node{Name: "c", Op: ir.OpConv, Inputs: []*ir.Tensor{x(), x()}, Outputs: []*ir.Tensor{y()}}, "want *ir.ConvAttrs"},
		{"wrong_attrs", &ir.Node{Name: "c", Op: ir.OpMaxPool, Inputs: []*ir.Tensor{x()}, Outputs: []*ir.Tensor{y()}, Attrs: &ir.ConvAttrs{}}, "want *ir.PoolAttrs"},
		{"short_constant", &ir.Node{Name: "c", Op: ir.OpAdd, Inputs: []*ir.Tensor{x(), constant("k", []int{1, 2, 2, 1}, 1, 2)}, Outputs: []*ir.Tensor{y()}, Attrs: &ir.BinaryAttrs{}}, "holds 2 float32 elements"},
		{"negative_dim", &ir.Node{Name: "c", Op: ir.OpRelu, Inputs: []*ir.Tensor{input("x", 1, -2)}, Outputs: []*ir.Tensor{y()}}, "negative dimension"},
		{"transpose_bad_perm", &ir.Node{Name: "c", Op: ir.OpTranspose, Inputs: []*ir.Tensor{x()}, Outputs: []*ir.Tensor{y()}, Attrs: &ir.TransposeAttrs{Perm: []int{0, 0, 1, 2}}}, "not a permutation"},
		{"pad_short_pads", &ir.Node{Name: "c", Op: ir.OpPad, Inputs: []*ir.Tensor{x()}, Outputs: []*ir.Tensor{y()}, Attrs: &ir.PadAttrs{Pads: []int{1}}}, "do not fit"},
		{"unknown_dtype", &ir.Node{Name: "c", Op: ir.OpIdentity, Inputs: []*ir.Tensor{{Name: "x", Shape: []int{1}}}, Outputs: []*ir.Tensor{y()}}, "unknown dtype"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Prepare(tc.n)
			wantError(t, err, `node "c"`, tc.want)
		})
	}
}
