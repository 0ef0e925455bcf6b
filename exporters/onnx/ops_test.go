package onnx

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/refrt"
	"github.com/mnconv/mnconv/runtime"
)

// gb builds small test graphs: one NHWC input, nodes named n1, n2, ...
type gb struct {
	g *ir.Graph
	k int
}

func newGB(dt ir.DType, shape ...int) (*gb, *ir.Tensor) {
	x := &ir.Tensor{Name: "x", DType: dt, Shape: shape}
	return &gb{g: &ir.Graph{Name: "test", Inputs: []*ir.Tensor{x}}}, x
}

// node adds op with attrs (nil keeps the defaults) and returns its output.
func (b *gb) node(op ir.Op, attrs ir.Attrs, ins ...*ir.Tensor) *ir.Tensor {
	return b.nodeShaped(op, attrs, nil, ins...)
}

// nodeShaped is node with a preset output shape (Reshape's target).
func (b *gb) nodeShaped(op ir.Op, attrs ir.Attrs, shape []int, ins ...*ir.Tensor) *ir.Tensor {
	b.k++
	out := &ir.Tensor{Name: fmt.Sprintf("t%d", b.k), Shape: shape}
	n := ir.NewNode(fmt.Sprintf("n%d", b.k), op, ins, out)
	if attrs != nil {
		n.Attrs = attrs
	}
	b.g.Nodes = append(b.g.Nodes, n)
	return out
}

// konst makes a float constant with reproducible values in [-1, 1).
func (b *gb) konst(shape ...int) *ir.Tensor {
	b.k++
	v := make([]float32, ir.NumElements(shape))
	for i := range v {
		v[i] = float32(math.Sin(float64(i*7+b.k)*0.731)) * 0.9
	}
	return ir.NewConstF32(fmt.Sprintf("c%d", b.k), shape, v)
}

func (b *gb) finish(t *testing.T, outs ...*ir.Tensor) *ir.Graph {
	t.Helper()
	b.g.Outputs = outs
	if err := b.g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	if err := b.g.Validate(); err != nil {
		t.Fatal(err)
	}
	return b.g
}

// quantWeight makes an int8 weight quantized per output channel. Its
// values stay within 7 bits, as ONNX Runtime's quantizer keeps them: on CPUs
// without VNNI its u8 x s8 kernels add products pairwise in 16 bits, which
// full-range weights against large activations overflow (seen here as a
// wrong depthwise result with optimizations on, a right one with them off).
func quantWeight(name string, shape []int, scales []float32) *ir.Tensor {
	v := make([]int8, ir.NumElements(shape))
	for i := range v {
		v[i] = int8((i*37)%127 - 63)
	}
	return &ir.Tensor{Name: name, DType: ir.Int8, Shape: shape, Data: &ir.Data{I8: v},
		Quant: &ir.Quant{Scale: scales, ZeroPoint: make([]int64, len(scales))}}
}

func quantBias(name string, inScale float32, wScales []float32) *ir.Tensor {
	v := make([]int32, len(wScales))
	s := make([]float32, len(wScales))
	for i := range v {
		v[i] = int32(i*150 - 300)
		s[i] = inScale * wScales[i]
	}
	return &ir.Tensor{Name: name, DType: ir.Int32, Shape: []int{len(v)}, Data: &ir.Data{I32: v},
		Quant: &ir.Quant{Scale: s, ZeroPoint: make([]int64, len(s))}}
}

func rampInput(shape []int) *runtime.Tensor {
	x := runtime.NewTensor(ir.Float32, shape)
	for i := range x.F32 {
		x.F32[i] = float32(math.Sin(float64(i)*0.37)) * 2
	}
	return x
}

type opCase struct {
	name string
	// build returns the graph; every case's input is x.
	build func(t *testing.T) *ir.Graph
	// layout is the export's InputLayout.
	layout string
	// transposes is how many Transpose nodes the layout translation needs
	// in the body (each reported); irTransposes how many the graph has of
	// its own that are not layout changes.
	transposes, irTransposes int
	// tol bounds |ours - re-imported| and |ours - ONNX Runtime|; 0 means 1e-5.
	tol float64
	// opset is the file's opset; 0 means 13.
	opset int64
}

var opCases = []opCase{
	{name: "conv-stride2-asym-pads-relu6", build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 9, 9, 3)
		y := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Pads: [4]int{0, 0, 1, 1}, Group: 1, Act: ir.ActRelu6},
			x, b.konst(4, 3, 3, 3), b.konst(4))
		return b.finish(t, y)
	}},
	{name: "depthwise-mult2-dilated-relu", build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 8, 7, 3)
		y := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{2, 1}, Pads: [4]int{2, 1, 2, 1}, Group: 3, Act: ir.ActRelu},
			x, b.konst(6, 3, 3, 1), b.konst(6))
		return b.finish(t, y)
	}},
	{name: "grouped-conv-relu-n1-1-no-bias", build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 5, 5, 4)
		y := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 2, Act: ir.ActReluN1To1},
			x, b.konst(6, 3, 3, 2))
		return b.finish(t, y)
	}},
	{name: "pool-flatten-gemm", build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 4, 4, 6)
		p := b.node(ir.OpMean, &ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: true}, x)
		f := b.nodeShaped(ir.OpReshape, nil, []int{1, 6}, p)
		y := b.node(ir.OpGemm, &ir.GemmAttrs{TransB: true, Alpha: 0.5, Beta: 2, Act: ir.ActRelu}, f, b.konst(5, 6), b.konst(5))
		z := b.node(ir.OpMatMul, nil, y, b.konst(5, 3))
		s := b.node(ir.OpSoftmax, &ir.SoftmaxAttrs{Axis: 1, Beta: 1}, z)
		return b.finish(t, s)
	}},
	{name: "batchnorm-unary-chain", opset: 14, build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 3, 4, 5)
		bn := b.node(ir.OpBatchNorm, &ir.BatchNormAttrs{Epsilon: 1e-3, Axis: 3}, x, b.konst(5), b.konst(5), b.konst(5),
			ir.NewConstF32("var", []int{5}, []float32{0.5, 1, 1.5, 2, 2.5}))
		r := b.node(ir.OpHardSwish, nil, bn)
		s := b.node(ir.OpSigmoid, nil, r)
		h := b.node(ir.OpHardSigmoid, &ir.HardSigmoidAttrs{Alpha: 0.3, Beta: 0.4}, b.node(ir.OpRelu, nil, bn))
		c := b.node(ir.OpClip, &ir.ClipAttrs{Min: float32(math.Inf(-1)), Max: 0.25}, b.node(ir.OpIdentity, nil, s))
		y := b.node(ir.OpAdd, nil, c, h)
		return b.finish(t, y)
	}},
	{name: "binary-broadcast-constants", build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 3, 4, 5)
		a := b.node(ir.OpAdd, &ir.BinaryAttrs{Act: ir.ActRelu}, x, b.konst(5))
		m := b.node(ir.OpMul, nil, ir.NewConstF32("k", nil, []float32{1.5}), a)
		s := b.node(ir.OpSub, nil, m, b.konst(1, 1, 1, 5))
		d := b.node(ir.OpDiv, nil, s, ir.NewConstF32("two", []int{1, 3, 4, 1}, []float32{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}))
		mx := b.node(ir.OpMax, nil, d, x)
		mn := b.node(ir.OpMin, nil, mx, b.konst(4, 5))
		return b.finish(t, mn)
	}},
	{name: "squeeze-excite-gate", build: func(t *testing.T) *ir.Graph {
		// A [1,C] gate multiplies the image: viewed as [1,1,1,C], in NCHW
		// [1,C,1,1], the same element order, so a Reshape does it.
		b, x := newGB(ir.Float32, 1, 3, 4, 5)
		p := b.node(ir.OpMean, &ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: false}, x)
		y := b.node(ir.OpMul, nil, x, b.node(ir.OpSigmoid, nil, p))
		return b.finish(t, y)
	}},
	{name: "binary-lower-rank-activation", transposes: 2, build: func(t *testing.T) *ir.Graph {
		// A [1,W,C] operand: the reduction leaves (C,W) in NCHW, and the
		// [1,1,W,C] view of it is [1,C,1,W] in NCHW; both need a Transpose.
		b, x := newGB(ir.Float32, 1, 3, 4, 5)
		p := b.node(ir.OpMean, &ir.ReduceAttrs{Axes: []int{1}, KeepDims: false}, x)
		y := b.node(ir.OpMul, nil, x, b.node(ir.OpSigmoid, nil, p))
		return b.finish(t, y)
	}},
	{name: "pools", build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 9, 8, 3)
		a := b.node(ir.OpAvgPool, &ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, CountIncludePad: true}, x)
		c := b.node(ir.OpAvgPool, &ir.PoolAttrs{Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, CeilMode: true}, x)
		m := b.node(ir.OpMaxPool, &ir.PoolAttrs{Kernel: [2]int{2, 3}, Strides: [2]int{2, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{0, 1, 1, 1}, Act: ir.ActRelu}, c)
		g := b.node(ir.OpReduceMax, &ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: true}, a)
		y := b.node(ir.OpAdd, nil, m, g)
		return b.finish(t, y)
	}},
	{name: "reduce-keepdims-and-not", build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 3, 4, 5)
		c := b.node(ir.OpMean, &ir.ReduceAttrs{Axes: []int{3}, KeepDims: true}, x)
		h := b.node(ir.OpReduceMax, &ir.ReduceAttrs{Axes: []int{1}, KeepDims: true}, x)
		y := b.node(ir.OpMean, &ir.ReduceAttrs{Axes: []int{3}, KeepDims: false}, b.node(ir.OpMul, nil, c, h))
		z := b.node(ir.OpMean, &ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: false}, x)
		return b.finish(t, y, z)
	}},
	{name: "reduce-needs-reorder", transposes: 1, build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 3, 4, 5)
		y := b.node(ir.OpMean, &ir.ReduceAttrs{Axes: []int{2}, KeepDims: false}, x)
		return b.finish(t, b.node(ir.OpRelu, nil, y))
	}},
	{name: "reshape-mixing-pixels-and-channels", transposes: 2, build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 4, 4, 2)
		c := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1}, x, b.konst(8, 1, 1, 2))
		f := b.nodeShaped(ir.OpReshape, nil, []int{1, 128}, c)
		r := b.nodeShaped(ir.OpReshape, nil, []int{1, 8, 4, 4}, b.node(ir.OpRelu, nil, f))
		y := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1}, r, b.konst(3, 1, 1, 4))
		return b.finish(t, y)
	}},
	{name: "reduce-in-ir-order", transposes: 1, build: func(t *testing.T) *ir.Graph {
		// After a Reshape that mixes pixels and channels the tensor is
		// stored in the ir's order; the reduction stays there.
		b, x := newGB(ir.Float32, 1, 4, 4, 2)
		c := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1}, x, b.konst(8, 1, 1, 2))
		r := b.nodeShaped(ir.OpReshape, nil, []int{1, 8, 4, 4}, c)
		y := b.node(ir.OpMean, &ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: true}, r)
		return b.finish(t, y)
	}},
	{name: "transposes", irTransposes: 1, build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 4, 5, 3)
		s := b.node(ir.OpTranspose, &ir.TransposeAttrs{Perm: []int{0, 2, 1, 3}}, x)
		c := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1}, s, b.konst(2, 1, 1, 3))
		// to ONNX order and back: both are the storage re-read, no node
		n := b.node(ir.OpTranspose, &ir.TransposeAttrs{Perm: []int{0, 3, 1, 2}}, c)
		h := b.node(ir.OpTranspose, &ir.TransposeAttrs{Perm: []int{0, 2, 3, 1}}, b.node(ir.OpRelu, nil, n))
		r := b.node(ir.OpTranspose, &ir.TransposeAttrs{Perm: []int{1, 0}}, b.nodeShaped(ir.OpReshape, nil, []int{10, 4}, b.node(ir.OpTranspose, &ir.TransposeAttrs{Perm: []int{0, 3, 1, 2}}, h)))
		return b.finish(t, h, r)
	}},
	{name: "concat-pad-softmax", build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 4, 5, 3)
		c1 := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1}, x, b.konst(2, 1, 1, 3))
		c := b.node(ir.OpConcat, &ir.ConcatAttrs{Axis: 3, Act: ir.ActRelu6}, x, c1, b.konst(1, 4, 5, 2))
		h := b.node(ir.OpConcat, &ir.ConcatAttrs{Axis: 1}, c, c)
		p := b.node(ir.OpPad, &ir.PadAttrs{Pads: []int{0, 1, 0, 2, 0, 0, 2, 1}, Value: 0.5}, h)
		r := b.node(ir.OpPad, &ir.PadAttrs{Pads: []int{0, 2, 1, 0, 0, 1, 2, 0}, Mode: ir.PadReflect}, p)
		e := b.node(ir.OpPad, &ir.PadAttrs{Pads: []int{0, 1, 1, 0, 0, 1, 0, 0}, Mode: ir.PadEdge}, r)
		s := b.node(ir.OpSoftmax, &ir.SoftmaxAttrs{Axis: 3, Beta: 2}, e)
		s2 := b.node(ir.OpSoftmax, &ir.SoftmaxAttrs{Axis: 2, Beta: 1}, e)
		return b.finish(t, b.node(ir.OpAdd, nil, s, s2))
	}},
	{name: "opset19-dilated-avgpool-wrap-pad", opset: 19, build: func(t *testing.T) *ir.Graph {
		// Written at opset 19, where ReduceMean takes its axes as an input.
		b, x := newGB(ir.Float32, 1, 7, 8, 3)
		a := b.node(ir.OpAvgPool, &ir.PoolAttrs{Kernel: [2]int{2, 2}, Strides: [2]int{1, 1}, Dilations: [2]int{2, 2}, Pads: [4]int{1, 0, 1, 0}}, x)
		p := b.node(ir.OpPad, &ir.PadAttrs{Pads: []int{0, 1, 2, 0, 0, 2, 1, 0}, Mode: ir.PadWrap}, a)
		m := b.node(ir.OpMean, &ir.ReduceAttrs{Axes: []int{3}, KeepDims: true}, p)
		return b.finish(t, b.node(ir.OpSub, nil, p, m))
	}},
	{name: "nchw-interface", layout: "NCHW", build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 4, 5, 3)
		y := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1, Pads: [4]int{1, 1, 1, 1}}, x, b.konst(2, 3, 3, 3))
		g := b.finish(t, y, x)
		g.OutputLayouts = []ir.Layout{ir.NCHW, ir.LayoutUnspecified}
		return g
	}},
	{name: "quantized-conv-add", tol: 0.041, build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 6, 6, 3)
		qx := b.node(ir.OpQuantize, nil, x)
		qx.DType, qx.Quant = ir.Int8, &ir.Quant{Scale: []float32{0.016}, ZeroPoint: []int64{3}}
		ws := []float32{0.004, 0.005, 0.006, 0.007}
		c := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 1, Act: ir.ActRelu},
			qx, quantWeight("w", []int{4, 3, 3, 3}, ws), quantBias("b", 0.016, ws))
		c.DType, c.Quant = ir.Int8, &ir.Quant{Scale: []float32{0.02}, ZeroPoint: []int64{-128}}
		dws := []float32{0.01, 0.02, 0.015, 0.012}
		d := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Pads: [4]int{0, 0, 1, 1}, Group: 4},
			c, quantWeight("dw", []int{4, 3, 3, 1}, dws), quantBias("db", 0.02, dws))
		d.DType, d.Quant = ir.Int8, &ir.Quant{Scale: []float32{0.03}, ZeroPoint: []int64{1}}
		p := b.node(ir.OpMean, &ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: true}, d)
		p.DType, p.Quant = ir.Int8, &ir.Quant{Scale: []float32{0.03}, ZeroPoint: []int64{1}}
		a := b.node(ir.OpAdd, nil, d, p)
		a.DType, a.Quant = ir.Int8, &ir.Quant{Scale: []float32{0.04}, ZeroPoint: []int64{-2}}
		y := b.node(ir.OpDequantize, nil, a)
		y.DType = ir.Float32
		return b.finish(t, y)
	}},
	{name: "argmax-channels-int64", build: func(t *testing.T) *ir.Graph {
		// A segmentation head: the class of every pixel, channel axis dropped.
		b, x := newGB(ir.Float32, 1, 5, 5, 3)
		c := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 1},
			x, b.konst(6, 3, 3, 3), b.konst(6))
		return b.finish(t, b.node(ir.OpArgMax, &ir.ArgMaxAttrs{Axis: 3, OutputType: ir.Int64}, c))
	}},
	{name: "argmax-keepdims-int32-last-index", build: func(t *testing.T) *ir.Graph {
		b, x := newGB(ir.Float32, 1, 5, 4, 3)
		c := b.node(ir.OpRelu, nil, b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 1},
			x, b.konst(6, 3, 3, 3)))
		return b.finish(t, b.node(ir.OpArgMax, &ir.ArgMaxAttrs{Axis: 1, KeepDims: true, SelectLastIndex: true, OutputType: ir.Int32}, c))
	}},
	{name: "argmax-height-dropped", transposes: 1, build: func(t *testing.T) *ir.Graph {
		// Dropping H leaves (N,W,C) in the ir and (N,C,W) in NCHW: one
		// Transpose to the ir's order before the ArgMax.
		b, x := newGB(ir.Float32, 1, 5, 4, 3)
		c := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 1},
			x, b.konst(6, 3, 3, 3))
		return b.finish(t, b.node(ir.OpArgMax, &ir.ArgMaxAttrs{Axis: 1, OutputType: ir.Int64}, c))
	}},
	{name: "argmax-qdq", build: func(t *testing.T) *ir.Graph {
		// ArgMax reads the int8 logits as they are (QDQ reads them dequantized).
		b, x := newGB(ir.Float32, 1, 6, 6, 3)
		qx := b.node(ir.OpQuantize, nil, x)
		qx.DType, qx.Quant = ir.Int8, &ir.Quant{Scale: []float32{0.016}, ZeroPoint: []int64{3}}
		ws := []float32{0.004, 0.005, 0.006, 0.007}
		c := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 1},
			qx, quantWeight("w", []int{4, 3, 3, 3}, ws), quantBias("b", 0.016, ws))
		c.DType, c.Quant = ir.Int8, &ir.Quant{Scale: []float32{0.02}, ZeroPoint: []int64{-5}}
		return b.finish(t, b.node(ir.OpArgMax, &ir.ArgMaxAttrs{Axis: 3, OutputType: ir.Int64}, c))
	}},
}

// TestOps exports small graphs covering every op and layout rule, reads
// them back and runs both in our runtime; the results agree, and the body
// has exactly the transposes the case needs, each reported. With ONNX
// Runtime installed, the exported files run there too and agree.
func TestOps(t *testing.T) {
	ort := refrtAvailable(t)
	for _, c := range opCases {
		t.Run(c.name, func(t *testing.T) {
			g := c.build(t)
			tol := c.tol
			if tol == 0 {
				tol = 1e-5
			}
			b, warns := export(t, g, c.layout)
			m := decode(t, b)
			if want := max(c.opset, 13); m.GetOpsetImport()[0].GetVersion() != want {
				t.Errorf("opset %d, want %d", m.GetOpsetImport()[0].GetVersion(), want)
			}
			if k := bodyTransposes(m); k != c.transposes+c.irTransposes || len(warns) != c.transposes {
				t.Errorf("%d body transposes and warnings %q, want %d and %d warnings", k, warns, c.transposes+c.irTransposes, c.transposes)
			}
			if os.Getenv("MNCONV_DUMP_ONNX") != "" {
				t.Log(opCounts(m))
			}
			g2 := reimport(t, b)
			foldConstDequantize(t, g2)
			in := rampInput(g.Inputs[0].Shape)
			want := runAll(t, g, in)
			compareAll(t, "re-imported", runAll(t, g2, in), want, tol)
			if !ort {
				return
			}
			feed := refrt.F32(in.Shape, in.F32)
			if c.layout == "NCHW" {
				feed = refrt.F32(inputShape(m, 0), nhwcToNCHW(in.F32, in.Shape[1], in.Shape[2], in.Shape[3]))
			}
			r, err := refrt.Run(refrt.ONNX, writeTemp(t, "case.onnx", b), [][]refrt.Input{{feed}}, refrt.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			got := r.Values[0]
			for k, o := range g.Outputs {
				if o.Rank() == 4 && k < len(g.OutputLayouts) && g.OutputLayouts[k] == ir.NCHW {
					got[k] = nchwToNHWC(got[k], o.Shape[1], o.Shape[2], o.Shape[3])
				}
			}
			compareAll(t, "ONNX Runtime", got, want, tol)
		})
	}
}

// refrtAvailable reports whether ONNX Runtime can run (the op cases use it
// when present and stay useful without it).
func refrtAvailable(t *testing.T) bool {
	r := &skipRecorder{TB: t, ok: true}
	refrt.Need(r, refrt.ONNX)
	return r.ok
}

// skipRecorder is a refrt.TB that notes a skip instead of skipping; a
// failure (MNCONV_REQUIRE_REFRT=1 without the runtime) still fails.
type skipRecorder struct {
	testing.TB
	ok bool
}

func (s *skipRecorder) Skipf(string, ...any) { s.ok = false }

// runAll runs g once and returns every output, dequantized.
func runAll(t *testing.T, g *ir.Graph, in *runtime.Tensor) [][]float32 {
	t.Helper()
	it, err := runtime.New(g)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if err := it.SetInput(0, in); err != nil {
		t.Fatal(err)
	}
	if err := it.Run(); err != nil {
		t.Fatal(err)
	}
	var outs [][]float32
	for k, o := range g.Outputs {
		outs = append(outs, append([]float32(nil), it.Output(k).Dequantized(o.Quant)...))
	}
	return outs
}

func compareAll(t *testing.T, what string, got, want [][]float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d outputs, want %d", what, len(got), len(want))
	}
	for k := range want {
		if len(got[k]) != len(want[k]) {
			t.Fatalf("%s: output %d has %d elements, want %d", what, k, len(got[k]), len(want[k]))
		}
		worst, at := 0.0, 0
		for i := range want[k] {
			if d := math.Abs(float64(got[k][i] - want[k][i])); d > worst {
				worst, at = d, i
			}
		}
		if worst > tol {
			t.Errorf("%s: output %d element %d is %v, want %v (max |diff| %.3g > %g)", what, k, at, got[k][at], want[k][at], worst, tol)
		}
	}
}
