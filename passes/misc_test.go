package passes

import (
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

func convAttrs(pads [4]int) *ir.ConvAttrs {
	return &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: pads, Group: 1}
}

func TestFoldConstants(t *testing.T) {
	b := newBuilder(t, "consts")
	x := b.input("x", 1, 4, 4, 3)
	// The weight arrives as Transpose(Reshape(const)), the bias as Add(const, const).
	raw := b.weights("raw", 3, 3*3*2)
	w := b.node(ir.OpTranspose, "w_t", &ir.TransposeAttrs{Perm: []int{0, 3, 1, 2}}, b.reshape("w_r", raw, 2, 3, 3, 3))
	bias := b.node(ir.OpAdd, "bias", &ir.BinaryAttrs{}, b.weights("b1", 2), b.weights("b2", 2))
	c := b.node(ir.OpConv, "conv", convAttrs([4]int{1, 1, 1, 1}), x, w, bias)
	k := b.node(ir.OpMul, "k_out", &ir.BinaryAttrs{}, b.weights("k1", 2), b.weights("k2", 2)) // a graph output: stays
	g := b.build(c, k)
	after, rep := runPasses(t, g, FoldConstants)
	if got := ops(after); got != "Conv Mul" {
		t.Fatalf("ops %q, want Conv Mul", got)
	}
	if got := rep.Passes[0].Nodes; !slices.Equal(got, []string{"w_r", "bias", "w_t"}) && !slices.Equal(got, []string{"w_r", "w_t", "bias"}) {
		t.Errorf("report names %v, want w_r, w_t and bias", got)
	}
	cv := findNode(after, "conv")
	if !cv.In(1).IsConst() || cv.In(1).Name != "w_t" || !cv.In(2).IsConst() {
		t.Errorf("conv inputs are not the folded constants")
	}
	sameOutputs(t, g, after)
	golden(t, "fold_constants", after)
}

// TestFoldConstantsKeepsDequantizedOutput: a constant that a Dequantize
// writing a graph output would read stays computed (TFLite's XNNPACK
// delegate cannot set up a DEQUANTIZE of a constant as a graph output: the
// ST SSD's anchors); elsewhere the same chain folds.
func TestFoldConstantsKeepsDequantizedOutput(t *testing.T) {
	b := newBuilder(t, "anchors")
	x := b.input("x", 1, 4, 4, 3)
	q := &ir.Quant{Scale: []float32{0.5}, ZeroPoint: []int64{0}}
	anchors := &ir.Tensor{Name: "anchors", DType: ir.Int8, Shape: []int{1, 2, 2, 4}, Quant: q, Data: &ir.Data{I8: make([]int8, 16)}}
	flat := func(name string) *ir.Tensor {
		return b.nodeOut(ir.OpReshape, name, nil, &ir.Tensor{Name: name, DType: ir.Int8, Shape: []int{1, 4, 4}, Quant: q}, anchors)
	}
	out := b.node(ir.OpDequantize, "out", nil, flat("flat_out"))
	inner := b.node(ir.OpAdd, "sum", &ir.BinaryAttrs{}, b.node(ir.OpDequantize, "inner", nil, flat("flat_inner")), b.weights("k", 4))
	g := b.build(b.conv("conv", x, 2, 1, 1), out, inner)
	after, _ := runPasses(t, g, FoldConstants)
	if got := ops(after); got != "Reshape Dequantize Dequantize Add Conv" {
		t.Errorf("ops %q, want the graph output's Reshape kept, the other folded", got)
	}
}

func TestRemoveIdentity(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *builder) *ir.Graph
		want  string
	}{
		{"identity", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 4, 3)
			return b.build(b.node(ir.OpRelu, "relu", nil, b.node(ir.OpIdentity, "id", nil, b.conv("conv", x, 3, 1, 1))))
		}, "Conv Relu"},
		{"identity_is_graph_output", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 4, 3)
			c := b.conv("conv", x, 3, 1, 1)
			return b.build(b.node(ir.OpIdentity, "id", nil, c), b.node(ir.OpRelu, "relu", nil, c))
		}, "Conv Relu"},
		{"reshape_same_shape", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 12)
			return b.build(b.node(ir.OpRelu, "relu", nil, b.reshape("r", x, 1, 12)))
		}, "Relu"},
		{"transpose_identity_perm", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 2, 3)
			return b.build(b.node(ir.OpRelu, "relu", nil, b.node(ir.OpTranspose, "t", &ir.TransposeAttrs{Perm: []int{0, 1, 2}}, x)))
		}, "Relu"},
		{"reshape_of_reshape", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 2, 2, 3)
			return b.build(b.reshape("r2", b.reshape("r1", x, 4, 3), 1, 12))
		}, "Reshape"},
		{"reshape_chain_back_to_input_shape", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 2, 2, 3)
			r := b.reshape("r2", b.reshape("r1", x, 4, 3), 1, 2, 2, 3)
			return b.build(b.node(ir.OpRelu, "relu", nil, r))
		}, "Relu"},
		// Negative cases.
		{"input_to_output_identity_stays", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 3)
			return b.build(b.node(ir.OpIdentity, "id", nil, x))
		}, "Identity"},
		{"reshape_that_reshapes_stays", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 2, 2, 3)
			return b.build(b.node(ir.OpRelu, "relu", nil, b.reshape("r", x, 1, 12)))
		}, "Reshape Relu"},
		{"reshape_with_other_reader_keeps_it", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 2, 2, 3)
			r1 := b.reshape("r1", x, 4, 3)
			return b.build(b.reshape("r2", r1, 1, 12), b.node(ir.OpRelu, "relu", nil, r1))
		}, "Reshape Reshape Relu"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.build(newBuilder(t, tc.name))
			after, _ := runPasses(t, g, RemoveIdentity)
			if got := ops(after); got != tc.want {
				t.Fatalf("ops %q, want %q", got, tc.want)
			}
			sameOutputs(t, g, after)
			if tc.name == "identity_is_graph_output" {
				golden(t, "remove_identity", after) // the conv writes "id"
			}
		})
	}
}

func TestFoldPad(t *testing.T) {
	pad := func(b *builder, x *ir.Tensor, pads []int, value float32, mode ir.PadMode) *ir.Tensor {
		return b.node(ir.OpPad, "pad", &ir.PadAttrs{Pads: pads, Value: value, Mode: mode}, x)
	}
	hw := []int{0, 1, 2, 0, 0, 1, 0, 0} // top 1, left 2, bottom 1, right 0
	tests := []struct {
		name     string
		build    func(b *builder) *ir.Graph
		want     string
		wantPads [4]int
	}{
		{"conv", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 5, 5, 2)
			p := pad(b, x, hw, 0, ir.PadConstant)
			return b.build(b.node(ir.OpConv, "conv", convAttrs([4]int{0, 0, 0, 1}), p, b.weights("w", 3, 3, 3, 2)))
		}, "Conv", [4]int{1, 2, 1, 1}},
		{"depthwise_stride2_same_upper", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 6, 6, 3)
			p := pad(b, x, []int{0, 0, 0, 0, 0, 1, 1, 0}, 0, ir.PadConstant)
			a := &ir.ConvAttrs{Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Group: 3}
			return b.build(b.node(ir.OpConv, "conv", a, p, b.weights("w", 3, 3, 3, 1)))
		}, "Conv", [4]int{0, 0, 1, 1}},
		{"avgpool_without_pads", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 5, 5, 2)
			p := pad(b, x, hw, 0, ir.PadConstant)
			return b.build(b.node(ir.OpAvgPool, "pool", &ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}}, p))
		}, "AvgPool", [4]int{1, 2, 1, 0}},
		// Negative cases.
		{"nonzero_value", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 5, 5, 2)
			return b.build(b.node(ir.OpConv, "conv", convAttrs([4]int{}), pad(b, x, hw, 1, ir.PadConstant), b.weights("w", 3, 3, 3, 2)))
		}, "Pad Conv", [4]int{}},
		{"reflect", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 5, 5, 2)
			return b.build(b.node(ir.OpConv, "conv", convAttrs([4]int{}), pad(b, x, hw, 0, ir.PadReflect), b.weights("w", 3, 3, 3, 2)))
		}, "Pad Conv", [4]int{}},
		{"pads_channels", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 5, 5, 2)
			p := pad(b, x, []int{0, 1, 1, 1, 0, 1, 1, 0}, 0, ir.PadConstant)
			return b.build(b.node(ir.OpConv, "conv", convAttrs([4]int{}), p, b.weights("w", 3, 3, 3, 3)))
		}, "Pad Conv", [4]int{}},
		{"pad_output_two_readers", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 5, 5, 2)
			p := pad(b, x, hw, 0, ir.PadConstant)
			return b.build(b.node(ir.OpConv, "conv", convAttrs([4]int{}), p, b.weights("w", 3, 3, 3, 2)), b.node(ir.OpRelu, "relu", nil, p))
		}, "Pad Conv Relu", [4]int{}},
		{"maxpool", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 5, 5, 2)
			p := pad(b, x, hw, 0, ir.PadConstant)
			return b.build(b.node(ir.OpMaxPool, "pool", &ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}}, p))
		}, "Pad MaxPool", [4]int{}},
		{"avgpool_excluding_its_own_pads", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 5, 5, 2)
			p := pad(b, x, hw, 0, ir.PadConstant)
			a := &ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}}
			return b.build(b.node(ir.OpAvgPool, "pool", a, p))
		}, "Pad AvgPool", [4]int{1, 1, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.build(newBuilder(t, tc.name))
			after, _ := runPasses(t, g, FoldPad)
			if got := ops(after); got != tc.want {
				t.Fatalf("ops %q, want %q", got, tc.want)
			}
			last := after.Nodes[len(after.Nodes)-1]
			var got [4]int
			switch a := last.Attrs.(type) {
			case *ir.ConvAttrs:
				got = a.Pads
			case *ir.PoolAttrs:
				got = a.Pads
			}
			if got != tc.wantPads {
				t.Errorf("pads %v, want %v", got, tc.wantPads)
			}
			sameOutputs(t, g, after)
			if tc.name == "avgpool_without_pads" {
				golden(t, "fold_pad_avgpool", after)
			}
		})
	}
}

// A quantized Pad fills with its zero point, which is real zero: it folds
// into the quantized Conv as well (whose padding is the zero point too).
func TestFoldPadQuantized(t *testing.T) {
	q := &ir.Quant{Scale: []float32{0.05}, ZeroPoint: []int64{-3}}
	x := &ir.Tensor{Name: "x", DType: ir.Int8, Shape: []int{1, 4, 4, 2}, Quant: q}
	p := &ir.Tensor{Name: "p", DType: ir.Int8, Quant: q.Clone()}
	y := &ir.Tensor{Name: "y", DType: ir.Int8, Quant: &ir.Quant{Scale: []float32{0.1}, ZeroPoint: []int64{0}}}
	w := &ir.Tensor{Name: "w", DType: ir.Int8, Shape: []int{2, 3, 3, 2}, Quant: &ir.Quant{Scale: []float32{0.01}, ZeroPoint: []int64{0}},
		Data: &ir.Data{I8: make([]int8, 36)}}
	pn := ir.NewNode("pad", ir.OpPad, []*ir.Tensor{x}, p)
	pn.Attrs = &ir.PadAttrs{Pads: []int{0, 1, 1, 0, 0, 1, 1, 0}}
	cn := ir.NewNode("conv", ir.OpConv, []*ir.Tensor{p, w}, y)
	cn.Attrs = convAttrs([4]int{})
	g := &ir.Graph{Name: "q", Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{y}, Nodes: []*ir.Node{pn, cn}}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	after, _ := runPasses(t, g, FoldPad)
	if ops(after) != "Conv" || after.Nodes[0].Attrs.(*ir.ConvAttrs).Pads != [4]int{1, 1, 1, 1} {
		t.Errorf("ops %q, want one Conv with pads 1,1,1,1", ops(after))
	}
	// Different quantization on the two sides of the Pad: it requantizes.
	p.Quant = &ir.Quant{Scale: []float32{0.06}, ZeroPoint: []int64{-3}}
	after, _ = runPasses(t, g, FoldPad)
	if ops(after) != "Pad Conv" {
		t.Errorf("requantizing Pad: ops %q, want Pad Conv", ops(after))
	}
}

func TestCancelTransposes(t *testing.T) {
	toNCHW := &ir.TransposeAttrs{Perm: []int{0, 3, 1, 2}}
	toNHWC := func() *ir.TransposeAttrs { return &ir.TransposeAttrs{Perm: []int{0, 2, 3, 1}} }
	tests := []struct {
		name  string
		build func(b *builder) *ir.Graph
		want  string
	}{
		{"inverse_pair", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 5, 3)
			c := b.conv("conv", x, 3, 1, 1)
			return b.build(b.node(ir.OpTranspose, "back", toNHWC(), b.node(ir.OpTranspose, "t", toNCHW, c)))
		}, "Conv"},
		{"compose", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 5, 3)
			t1 := b.node(ir.OpTranspose, "t1", toNCHW, x)
			return b.build(b.node(ir.OpTranspose, "t2", &ir.TransposeAttrs{Perm: []int{0, 1, 3, 2}}, t1))
		}, "Transpose"},
		{"through_elementwise", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 5, 3)
			t := b.node(ir.OpTranspose, "t", toNCHW, b.conv("conv", x, 3, 1, 1))
			a := b.node(ir.OpAdd, "add", &ir.BinaryAttrs{}, t, b.weights("k", 3, 1, 1))
			m := b.node(ir.OpMul, "mul", &ir.BinaryAttrs{}, b.weights("k2", 1, 3, 4, 5), a)
			r := b.clip("relu6", m, 0, 6)
			return b.build(b.node(ir.OpTranspose, "back", toNHWC(), r))
		}, "Conv Add Mul Clip"},
		{"fan_out", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 5, 3)
			r := b.node(ir.OpRelu, "relu", nil, b.node(ir.OpTranspose, "t", toNCHW, x))
			o1 := b.node(ir.OpTranspose, "back1", toNHWC(), r)
			m := b.node(ir.OpMul, "mul", &ir.BinaryAttrs{}, r, b.weights("k", 3, 1, 1))
			return b.build(o1, b.node(ir.OpTranspose, "back2", toNHWC(), m))
		}, "Relu Mul"},
		// Negative cases.
		{"no_partner", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 5, 3)
			return b.build(b.node(ir.OpRelu, "relu", nil, b.node(ir.OpTranspose, "t", toNCHW, x)))
		}, "Transpose Relu"},
		{"binary_with_tensor_operand", func(b *builder) *ir.Graph {
			x, y := b.input("x", 1, 4, 5, 3), b.input("y", 1, 3, 4, 5)
			a := b.node(ir.OpAdd, "add", &ir.BinaryAttrs{}, b.node(ir.OpTranspose, "t", toNCHW, x), y)
			return b.build(b.node(ir.OpTranspose, "back", toNHWC(), a))
		}, "Transpose Add Transpose"},
		{"input_to_output_pair", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 5, 3)
			return b.build(b.node(ir.OpTranspose, "back", toNHWC(), b.node(ir.OpTranspose, "t", toNCHW, x)))
		}, "Transpose Transpose"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.build(newBuilder(t, tc.name))
			after, _ := runPasses(t, g, CancelTransposes)
			if got := ops(after); got != tc.want {
				t.Fatalf("ops %q, want %q", got, tc.want)
			}
			sameOutputs(t, g, after)
			if tc.name == "through_elementwise" {
				golden(t, "cancel_transposes", after)
			}
		})
	}
}

func TestPermute(t *testing.T) {
	// [2,3] -> perm [1,0] -> [3,2]
	got := permute([]int{0, 1, 2, 3, 4, 5}, []int{2, 3}, []int{1, 0})
	if want := []int{0, 3, 1, 4, 2, 5}; !slices.Equal(got, want) {
		t.Errorf("permute 2x3: %v, want %v", got, want)
	}
	// [1,2,2,3] NHWC -> NCHW
	src := make([]int, 12)
	for i := range src {
		src[i] = i // value = (h*2+w)*3+c
	}
	got = permute(src, []int{1, 2, 2, 3}, []int{0, 3, 1, 2})
	if want := []int{0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11}; !slices.Equal(got, want) {
		t.Errorf("permute NHWC->NCHW: %v, want %v", got, want)
	}
}

func TestEliminateDeadCode(t *testing.T) {
	b := newBuilder(t, "dead")
	x := b.input("x", 1, 4, 3)
	y := b.node(ir.OpRelu, "relu", nil, x)
	s := b.node(ir.OpSigmoid, "dead1", nil, x)
	b.node(ir.OpMul, "dead2", &ir.BinaryAttrs{}, s, y)
	g := b.build(y)
	after, rep := runPasses(t, g, EliminateDeadCode)
	if ops(after) != "Relu" {
		t.Fatalf("ops %q, want Relu", ops(after))
	}
	if got := rep.Passes[0].Nodes; !slices.Equal(got, []string{"dead1", "dead2"}) {
		t.Errorf("report %v, want dead1 dead2", got)
	}
	sameOutputs(t, g, after)

	// Nothing dead: nothing changes.
	_, rep = runPasses(t, after, EliminateDeadCode)
	if rep.Changes() != 0 {
		t.Errorf("second run changed %d nodes", rep.Changes())
	}
}

func TestTransposeAsReshape(t *testing.T) {
	b := newBuilder(t, "flat")
	x := b.input("x", 1, 4, 4, 8)
	p := b.node(ir.OpMean, "gap", &ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: true}, x)
	tr := b.node(ir.OpTranspose, "to_nchw", &ir.TransposeAttrs{Perm: []int{0, 3, 1, 2}}, p) // [1,8,1,1]
	g := b.build(b.reshape("flatten", tr, 1, 8))
	after, _ := runPasses(t, g, CancelTransposes, RemoveIdentity)
	if got := ops(after); got != "Mean Reshape" {
		t.Fatalf("ops %q, want Mean Reshape", got)
	}
	sameOutputs(t, g, after)

	// A transpose that moves data stays.
	b = newBuilder(t, "moves")
	x = b.input("x", 1, 2, 3, 8)
	g = b.build(b.node(ir.OpTranspose, "t", &ir.TransposeAttrs{Perm: []int{0, 3, 1, 2}}, x))
	after, _ = runPasses(t, g, CancelTransposes)
	if got := ops(after); got != "Transpose" {
		t.Errorf("ops %q, want Transpose", got)
	}
}
