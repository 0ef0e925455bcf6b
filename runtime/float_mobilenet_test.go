package runtime

import (
	"fmt"
	"testing"
	"time"

	"github.com/mnconv/mnconv/ir"
)

// A synthetic float MobileNetV2 1.0 224 (random weights, BN folded, ReLU6
// fused) built node by node, to time the reference kernels on a realistic
// graph and to exercise them in sequence.

// mobileNetV2 builds the graph. The layer table is the paper's (t, c, n, s);
// 3x3 convolutions use TensorFlow SAME padding, as the TFLite models do.
func mobileNetV2(classes int) (*ir.Graph, error) {
	r := lcg(1)
	g := &ir.Graph{Name: "mobilenet_v2_synthetic"}
	x := input("input", 1, 224, 224, 3)
	g.Inputs = []*ir.Tensor{x}
	id := 0
	add := func(op ir.Op, attrs ir.Attrs, ins ...*ir.Tensor) *ir.Tensor {
		id++
		y := &ir.Tensor{Name: fmt.Sprintf("t%d", id)}
		n := ir.NewNode(fmt.Sprintf("n%d", id), op, ins, y)
		if attrs != nil {
			n.Attrs = attrs
		}
		g.Nodes = append(g.Nodes, n)
		return y
	}
	conv := func(in *ir.Tensor, inC, outC, k, stride, group int, act ir.Activation) *ir.Tensor {
		perGroup := inC / group
		// TF SAME: total pad = max((out-1)*stride + k - in, 0), the extra one at the end.
		size := in.Shape[1]
		out := (size + stride - 1) / stride
		total := max((out-1)*stride+k-size, 0)
		before := total / 2
		// Weights scaled by 1/sqrt(fan-in) keep activations in range.
		w := r.floats(outC * k * k * perGroup)
		scale := float32(1.5) / float32(k*k*perGroup)
		for i := range w {
			w[i] *= scale * 4
		}
		id++
		wt := constant(fmt.Sprintf("w%d", id), []int{outC, k, k, perGroup}, w...)
		bt := constant(fmt.Sprintf("b%d", id), []int{outC}, r.floats(outC)...)
		y := add(ir.OpConv, &ir.ConvAttrs{
			Strides: [2]int{stride, stride}, Dilations: [2]int{1, 1},
			Pads: [4]int{before, before, total - before, total - before}, Group: group, Act: act,
		}, in, wt, bt)
		y.Shape = []int{1, out, out, outC}
		return y
	}
	h := conv(x, 3, 32, 3, 2, 1, ir.ActRelu6)
	inC := 32
	for _, b := range []struct{ t, c, n, s int }{
		{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
	} {
		for i := range b.n {
			stride := b.s
			if i > 0 {
				stride = 1
			}
			in := h
			mid := inC * b.t
			if b.t != 1 {
				h = conv(h, inC, mid, 1, 1, 1, ir.ActRelu6)
			}
			h = conv(h, mid, mid, 3, stride, mid, ir.ActRelu6)
			h = conv(h, mid, b.c, 1, 1, 1, ir.ActNone)
			if stride == 1 && inC == b.c {
				h = add(ir.OpAdd, nil, in, h)
				h.Shape = in.Shape
			}
			inC = b.c
		}
	}
	h = conv(h, inC, 1280, 1, 1, 1, ir.ActRelu6)
	h = add(ir.OpMean, &ir.ReduceAttrs{Axes: []int{1, 2}}, h)
	fc := constant("fc_w", []int{classes, 1280}, r.floats(classes*1280)...)
	fcb := constant("fc_b", []int{classes}, r.floats(classes)...)
	h = add(ir.OpGemm, &ir.GemmAttrs{TransB: true, Alpha: 1, Beta: 1}, h, fc, fcb)
	h = add(ir.OpSoftmax, &ir.SoftmaxAttrs{Axis: 1, Beta: 1}, h)
	g.Outputs = []*ir.Tensor{h}
	if err := g.InferShapes(); err != nil {
		return nil, err
	}
	return g, g.Validate()
}

// macs counts the multiply-accumulates of convolutions and Gemms, the way
// shared/README.md counts them.
func macs(g *ir.Graph) int {
	total := 0
	for _, n := range g.Nodes {
		switch n.Op {
		case ir.OpConv:
			w, y := n.Inputs[1].Shape, n.Out().Shape
			total += y[0] * y[1] * y[2] * y[3] * w[1] * w[2] * w[3]
		case ir.OpGemm:
			w := n.Inputs[1].Shape
			total += n.Out().Shape[0] * w[0] * w[1]
		}
	}
	return total
}

func TestMobileNetV2Synthetic(t *testing.T) {
	g, err := mobileNetV2(1001)
	if err != nil {
		t.Fatal(err)
	}
	// shared/README.md counts 300,775,552 MACs for MobileNetV2 1.0 224; a
	// different figure would mean this builder is not that network.
	if got := macs(g); got != 300_775_552 {
		t.Errorf("synthetic MobileNetV2 has %d MACs, want 300775552", got)
	}
	it, err := New(g)
	if err != nil {
		t.Fatal(err)
	}
	r := lcg(3)
	copy(it.Input(0).F32, r.floats(224*224*3))
	start := time.Now()
	if err := it.Run(); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	t.Logf("MobileNetV2 224 reference run: %v", elapsed)
	sum := 0.0
	for _, v := range it.Output(0).F32 {
		sum += float64(v)
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("softmax output sums to %v", sum)
	}
}

func BenchmarkMobileNetV2Synthetic(b *testing.B) {
	g, err := mobileNetV2(1001)
	if err != nil {
		b.Fatal(err)
	}
	it, err := New(g)
	if err != nil {
		b.Fatal(err)
	}
	r := lcg(3)
	copy(it.Input(0).F32, r.floats(224*224*3))
	for b.Loop() {
		if err := it.Run(); err != nil {
			b.Fatal(err)
		}
	}
}
