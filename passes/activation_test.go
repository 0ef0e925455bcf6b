package passes

import (
	"strings"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

func TestFuseActivation(t *testing.T) {
	conv := func(b *builder) *ir.Tensor { return b.conv("conv", b.input("x", 1, 5, 5, 3), 4, 3, 1) }
	tests := []struct {
		name  string
		build func(b *builder) *ir.Graph
		want  string        // ops after the pass
		act   ir.Activation // the fused activation of the first node, when want starts with a fusable op
	}{
		{"conv_relu", func(b *builder) *ir.Graph {
			return b.build(b.node(ir.OpRelu, "relu", nil, conv(b)))
		}, "Conv", ir.ActRelu},
		{"conv_clip06", func(b *builder) *ir.Graph {
			return b.build(b.clip("relu6", conv(b), 0, 6))
		}, "Conv", ir.ActRelu6},
		{"add_clip11", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 4, 3)
			return b.build(b.clip("clip", b.node(ir.OpAdd, "add", &ir.BinaryAttrs{}, x, b.weights("k", 3)), -1, 1))
		}, "Add", ir.ActReluN1To1},
		{"gemm_relu", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 5)
			y := b.node(ir.OpGemm, "fc", &ir.GemmAttrs{TransB: true, Alpha: 1, Beta: 1}, x, b.weights("w", 3, 5))
			return b.build(b.node(ir.OpRelu, "relu", nil, y))
		}, "Gemm", ir.ActRelu},
		{"avgpool_relu6_as_min_max", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 4, 3)
			p := b.node(ir.OpAvgPool, "pool", &ir.PoolAttrs{Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}}, x)
			mx := b.node(ir.OpMax, "max", &ir.BinaryAttrs{}, p, b.scalar("zero", 0))
			return b.build(b.node(ir.OpMin, "min", &ir.BinaryAttrs{}, mx, b.scalar("six", 6)))
		}, "AvgPool", ir.ActRelu6},
		{"concat_relu6_as_max_min_const_first", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 2, 2, 3)
			c := b.node(ir.OpConcat, "cat", &ir.ConcatAttrs{Axis: 3}, x, x)
			mn := b.node(ir.OpMin, "min", &ir.BinaryAttrs{}, b.scalar("six", 6), c)
			return b.build(b.node(ir.OpMax, "max", &ir.BinaryAttrs{}, mn, b.scalar("zero", 0)))
		}, "Concat", ir.ActRelu6},
		{"mul_max0", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 3)
			m := b.node(ir.OpMul, "mul", &ir.BinaryAttrs{}, x, x)
			return b.build(b.node(ir.OpMax, "max", &ir.BinaryAttrs{}, m, b.scalar("zero", 0)))
		}, "Mul", ir.ActRelu},
		{"relu6_on_graph_input_becomes_one_clip", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 3)
			mn := b.node(ir.OpMin, "min", &ir.BinaryAttrs{}, x, b.scalar("six", 6))
			return b.build(b.node(ir.OpMax, "max", &ir.BinaryAttrs{}, mn, b.scalar("zero", 0)))
		}, "Clip", ir.ActNone},
		{"max0_on_graph_input_becomes_relu", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 3)
			return b.build(b.node(ir.OpMax, "max", &ir.BinaryAttrs{}, x, b.scalar("zero", 0)))
		}, "Relu", ir.ActNone},
		// Negative cases.
		{"conv_output_feeds_another_node", func(b *builder) *ir.Graph {
			c := conv(b)
			return b.build(b.node(ir.OpRelu, "relu", nil, c), b.node(ir.OpSigmoid, "sig", nil, c))
		}, "Conv Relu Sigmoid", ir.ActNone},
		{"conv_output_is_graph_output", func(b *builder) *ir.Graph {
			c := conv(b)
			return b.build(b.node(ir.OpRelu, "relu", nil, c), c)
		}, "Conv Relu", ir.ActNone},
		{"conv_has_activation", func(b *builder) *ir.Graph {
			c := conv(b)
			b.g.Nodes[0].SetFusedAct(ir.ActRelu6)
			return b.build(b.clip("clip", c, -1, 1))
		}, "Conv Clip", ir.ActRelu6},
		{"clip_05_is_no_activation", func(b *builder) *ir.Graph {
			return b.build(b.clip("clip", conv(b), 0, 5))
		}, "Conv Clip", ir.ActNone},
		{"sigmoid_has_no_fused_activation", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 3)
			return b.build(b.node(ir.OpRelu, "relu", nil, b.node(ir.OpSigmoid, "sig", nil, x)))
		}, "Sigmoid Relu", ir.ActNone},
		{"max_with_tensor_broadcast_stays", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 1)
			return b.build(b.node(ir.OpMax, "max", &ir.BinaryAttrs{}, x, b.weights("k", 3)))
		}, "Max", ir.ActNone},
		{"empty_clamp_intersection_stays", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 3)
			return b.build(b.clip("c2", b.clip("c1", x, 0, 1), 2, 3))
		}, "Clip Clip", ir.ActNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.build(newBuilder(t, tc.name))
			after, _ := runPasses(t, g, FuseActivation)
			if got := ops(after); got != tc.want {
				t.Fatalf("ops after fuse-activation: %q, want %q", got, tc.want)
			}
			if got := after.Nodes[0].FusedAct(); got != tc.act {
				t.Errorf("first node's activation %v, want %v", got, tc.act)
			}
			sameOutputs(t, g, after)
		})
	}
}

// hardSwishCase builds the hard-swish variants exporters write, each on a
// Conv's output x.
func hardSwishCases() []struct {
	name  string
	build func(b *builder, x *ir.Tensor) *ir.Tensor
} {
	bin := func(b *builder, op ir.Op, name string, l, r *ir.Tensor) *ir.Tensor {
		return b.node(op, name, &ir.BinaryAttrs{}, l, r)
	}
	relu6 := func(b *builder, x *ir.Tensor) *ir.Tensor {
		return b.clip("clip", bin(b, ir.OpAdd, "add3", x, b.scalar("three", 3)), 0, 6)
	}
	return []struct {
		name  string
		build func(b *builder, x *ir.Tensor) *ir.Tensor
	}{
		{"x_mul_clip_div6", func(b *builder, x *ir.Tensor) *ir.Tensor { // (x*Clip(x+3,0,6))/6
			return bin(b, ir.OpDiv, "div6", bin(b, ir.OpMul, "mul", x, relu6(b, x)), b.scalar("six", 6))
		}},
		{"x_mul_clip_div6_grouped", func(b *builder, x *ir.Tensor) *ir.Tensor { // x*(Clip(x+3,0,6)/6), torchvision
			return bin(b, ir.OpMul, "mul", x, bin(b, ir.OpDiv, "div6", relu6(b, x), b.scalar("six", 6)))
		}},
		{"mul_sixth", func(b *builder, x *ir.Tensor) *ir.Tensor { // x*Relu6(x+3)*(1/6)
			return bin(b, ir.OpMul, "mul6", bin(b, ir.OpMul, "mul", x, relu6(b, x)), b.scalar("sixth", 0.16666667))
		}},
		{"sixth_first_and_3_first", func(b *builder, x *ir.Tensor) *ir.Tensor {
			r := b.clip("clip", bin(b, ir.OpAdd, "add3", b.scalar("three", 3), x), 0, 6)
			return bin(b, ir.OpMul, "mul6", b.scalar("sixth", 0.16666667), bin(b, ir.OpMul, "mul", r, x))
		}},
		{"clip_as_min_max", func(b *builder, x *ir.Tensor) *ir.Tensor {
			a := bin(b, ir.OpAdd, "add3", x, b.scalar("three", 3))
			r := bin(b, ir.OpMin, "min6", bin(b, ir.OpMax, "max0", a, b.scalar("zero", 0)), b.scalar("six", 6))
			return bin(b, ir.OpDiv, "div6", bin(b, ir.OpMul, "mul", x, r), b.scalar("six_d", 6))
		}},
		{"clip_as_max_min", func(b *builder, x *ir.Tensor) *ir.Tensor {
			a := bin(b, ir.OpAdd, "add3", x, b.scalar("three", 3))
			r := bin(b, ir.OpMax, "max0", bin(b, ir.OpMin, "min6", a, b.scalar("six", 6)), b.scalar("zero", 0))
			return bin(b, ir.OpMul, "mul", bin(b, ir.OpDiv, "div6", r, b.scalar("six_d", 6)), x)
		}},
		{"hardsigmoid_times_x", func(b *builder, x *ir.Tensor) *ir.Tensor {
			h := b.node(ir.OpHardSigmoid, "hsig", &ir.HardSigmoidAttrs{Alpha: 1.0 / 6, Beta: 0.5}, x)
			return bin(b, ir.OpMul, "mul", h, x)
		}},
		{"relu6_fused_in_add", func(b *builder, x *ir.Tensor) *ir.Tensor {
			a := b.node(ir.OpAdd, "add3", &ir.BinaryAttrs{Act: ir.ActRelu6}, x, b.scalar("three", 3))
			return bin(b, ir.OpDiv, "div6", bin(b, ir.OpMul, "mul", x, a), b.scalar("six", 6))
		}},
	}
}

func TestHardSwish(t *testing.T) {
	for _, tc := range hardSwishCases() {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(t, tc.name)
			x := b.conv("conv", b.input("in", 1, 4, 4, 3), 4, 1, 1)
			y := tc.build(b, x)
			g := b.build(y)
			after, rep := runPasses(t, g, FuseActivation)
			if got := ops(after); got != "Conv HardSwish" {
				t.Fatalf("ops %q, want Conv HardSwish\n%s", got, rep)
			}
			if after.Outputs[0] != after.Nodes[1].Out() {
				t.Errorf("HardSwish does not write the graph output")
			}
			sameOutputs(t, g, after)
		})
	}
}

func TestHardSigmoid(t *testing.T) {
	for _, sixth := range []struct {
		op ir.Op
		k  float32
	}{{ir.OpDiv, 6}, {ir.OpMul, 1.0 / 6}} {
		t.Run(sixth.op.String(), func(t *testing.T) {
			b := newBuilder(t, "hsig")
			x := b.input("x", 1, 3, 3, 2)
			a := b.node(ir.OpAdd, "add3", &ir.BinaryAttrs{}, x, b.scalar("three", 3))
			r := b.clip("clip", a, 0, 6)
			g := b.build(b.node(sixth.op, "scale", &ir.BinaryAttrs{}, r, b.scalar("k", sixth.k)))
			after, _ := runPasses(t, g, FuseActivation)
			if got := ops(after); got != "HardSigmoid" {
				t.Fatalf("ops %q, want HardSigmoid", got)
			}
			if a := after.Nodes[0].Attrs.(*ir.HardSigmoidAttrs); a.Alpha != float32(1.0/6) || a.Beta != 0.5 {
				t.Errorf("attrs %+v, want alpha 1/6, beta 0.5", a)
			}
			sameOutputs(t, g, after)
		})
	}
}

func TestHardSwishNegative(t *testing.T) {
	bin := func(b *builder, op ir.Op, name string, l, r *ir.Tensor) *ir.Tensor {
		return b.node(op, name, &ir.BinaryAttrs{}, l, r)
	}
	tests := []struct {
		name  string
		build func(b *builder) *ir.Graph
		want  string
	}{
		{"div_by_5", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 3)
			r := b.clip("clip", bin(b, ir.OpAdd, "add3", x, b.scalar("three", 3)), 0, 6)
			return b.build(bin(b, ir.OpDiv, "div", bin(b, ir.OpMul, "mul", x, r), b.scalar("five", 5)))
		}, "Add Clip Mul Div"},
		{"other_tensor", func(b *builder) *ir.Graph {
			x, y := b.input("x", 1, 4, 3), b.input("y", 1, 4, 3)
			r := b.clip("clip", bin(b, ir.OpAdd, "add3", y, b.scalar("three", 3)), 0, 6)
			return b.build(bin(b, ir.OpDiv, "div", bin(b, ir.OpMul, "mul", x, r), b.scalar("six", 6)))
		}, "Add Clip Mul Div"},
		{"onnx_default_hardsigmoid", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 3)
			h := b.node(ir.OpHardSigmoid, "hsig", &ir.HardSigmoidAttrs{Alpha: 0.2, Beta: 0.5}, x)
			return b.build(bin(b, ir.OpMul, "mul", x, h))
		}, "HardSigmoid Mul"},
		{"clip_output_also_graph_output", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 3)
			r := b.clip("clip", bin(b, ir.OpAdd, "add3", x, b.scalar("three", 3)), 0, 6)
			return b.build(bin(b, ir.OpDiv, "div", bin(b, ir.OpMul, "mul", x, r), b.scalar("six", 6)), r)
		}, "Add Clip Mul Div"},
		{"add_4", func(b *builder) *ir.Graph {
			x := b.input("x", 1, 4, 3)
			r := b.clip("clip", bin(b, ir.OpAdd, "add4", x, b.scalar("four", 4)), 0, 6)
			return b.build(bin(b, ir.OpDiv, "div", bin(b, ir.OpMul, "mul", x, r), b.scalar("six", 6)))
		}, "Add Clip Mul Div"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.build(newBuilder(t, tc.name))
			after, _ := runPasses(t, g, FuseActivation)
			// The Clip may fuse into the Add; nothing else may change.
			got := ops(after)
			if got != tc.want && got != strings.Replace(tc.want, "Add Clip", "Add", 1) {
				t.Fatalf("ops %q, want %q", got, tc.want)
			}
			sameOutputs(t, g, after)
		})
	}
}

func TestFuseActivationGolden(t *testing.T) {
	b := newBuilder(t, "hardswish")
	x := b.conv("conv", b.input("in", 1, 4, 4, 3), 4, 1, 1)
	g := b.build(hardSwishCases()[0].build(b, x))
	after, _ := runPasses(t, g, FuseActivation)
	golden(t, "fuse_activation_hardswish", after)

	b = newBuilder(t, "conv_relu6")
	c := b.conv("conv", b.input("in", 1, 4, 4, 3), 4, 3, 1)
	mx := b.node(ir.OpMax, "max", &ir.BinaryAttrs{}, c, b.scalar("zero", 0))
	g = b.build(b.node(ir.OpMin, "min", &ir.BinaryAttrs{}, mx, b.scalar("six", 6)))
	after, _ = runPasses(t, g, FuseActivation)
	golden(t, "fuse_activation_relu6", after)
}
