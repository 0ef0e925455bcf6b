package tflite_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/exporters"
	tfliteexp "github.com/mnconv/mnconv/exporters/tflite"
	"github.com/mnconv/mnconv/importers"
	tfliteimp "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/refrt"
)

// gb builds small graphs for op tests: deterministic random constants,
// output shapes from shape inference.
type gb struct {
	g   *ir.Graph
	rng *rand.Rand
	n   int
}

func newGB(name string) *gb {
	return &gb{g: &ir.Graph{Name: name}, rng: rand.New(rand.NewPCG(1, uint64(len(name))))}
}

func (b *gb) input(shape ...int) *ir.Tensor {
	t := &ir.Tensor{Name: fmt.Sprintf("in%d", len(b.g.Inputs)), DType: ir.Float32, Shape: shape}
	b.g.Inputs = append(b.g.Inputs, t)
	return t
}

// rand makes a float constant with values in [-r, r].
func (b *gb) rand(r float64, shape ...int) *ir.Tensor {
	v := make([]float32, ir.NumElements(shape))
	for i := range v {
		v[i] = float32((b.rng.Float64()*2 - 1) * r)
	}
	b.n++
	return ir.NewConstF32(fmt.Sprintf("c%d", b.n), shape, v)
}

// positive makes a float constant with values in [lo, hi].
func (b *gb) positive(lo, hi float64, shape ...int) *ir.Tensor {
	v := make([]float32, ir.NumElements(shape))
	for i := range v {
		v[i] = float32(lo + b.rng.Float64()*(hi-lo))
	}
	b.n++
	return ir.NewConstF32(fmt.Sprintf("c%d", b.n), shape, v)
}

// op appends a node; set adjusts its attributes; shape presets the output
// shape (Reshape's target).
func (b *gb) op(op ir.Op, set func(ir.Attrs), shape []int, ins ...*ir.Tensor) *ir.Tensor {
	b.n++
	name := fmt.Sprintf("%s_%d", strings.ToLower(op.String()), b.n)
	out := &ir.Tensor{Name: name, Shape: shape}
	n := ir.NewNode(name, op, ins, out)
	if set != nil {
		set(n.Attrs)
	}
	b.g.Nodes = append(b.g.Nodes, n)
	return out
}

func (b *gb) done(t testing.TB, outs ...*ir.Tensor) *ir.Graph {
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

func conv(strides, pads [4]int, group int, act ir.Activation) func(ir.Attrs) {
	return func(a ir.Attrs) {
		c := a.(*ir.ConvAttrs)
		c.Strides = [2]int{strides[0], strides[1]}
		c.Dilations = [2]int{strides[2], strides[3]}
		c.Pads, c.Group, c.Act = pads, group, act
	}
}

// opCase is a float graph whose export must compute what the graph
// computes, in our runtime after re-import (when the importer reads every
// op written) and in TFLite.
type opCase struct {
	name     string
	build    func(t testing.TB) *ir.Graph
	reimport bool     // the importer reads every op the export holds
	ops      []string // operators the file must hold, in order
	opts     exporters.Options
}

var opCases = []opCase{
	{"conv_explicit_pads", func(t testing.TB) *ir.Graph {
		b := newGB("conv_explicit_pads")
		x := b.input(1, 8, 8, 4)
		y := b.op(ir.OpConv, conv([4]int{2, 2, 1, 1}, [4]int{2, 2, 2, 2}, 1, ir.ActRelu6), nil, x, b.rand(0.5, 6, 3, 3, 4), b.rand(0.5, 6))
		return b.done(t, y)
	}, true, []string{"PAD", "CONV_2D"}, exporters.Options{}},
	// Keras' ZeroPadding2D(1) + stride-2 3x3: PAD then a VALID 3x3, as
	// TFLite's converter writes it (the default exporters.PadExplicit), or
	// with exporters.PadGrow a SAME 4x4 kernel with a zero last row and
	// column, no PAD op.
	{"conv_top_left_pads", topLeftPads("conv_top_left_pads", 1), true, []string{"PAD", "CONV_2D"}, exporters.Options{}},
	{"conv_top_left_pads_grown", topLeftPads("conv_top_left_pads_grown", 1), true, []string{"CONV_2D"}, exporters.Options{PadMode: exporters.PadGrow}},
	{"depthwise_top_left_pads", topLeftPads("depthwise_top_left_pads", 4), true, []string{"PAD", "DEPTHWISE_CONV_2D"}, exporters.Options{}},
	{"depthwise_top_left_pads_grown", topLeftPads("depthwise_top_left_pads_grown", 4), true, []string{"DEPTHWISE_CONV_2D"}, exporters.Options{PadMode: exporters.PadGrow}},
	{"conv_same_no_bias", func(t testing.TB) *ir.Graph {
		b := newGB("conv_same_no_bias")
		x := b.input(1, 8, 8, 4)
		y := b.op(ir.OpConv, conv([4]int{2, 2, 1, 1}, [4]int{0, 0, 1, 1}, 1, ir.ActRelu), nil, x, b.rand(0.5, 6, 3, 3, 4))
		return b.done(t, y)
	}, true, []string{"CONV_2D"}, exporters.Options{}},
	{"grouped_conv", func(t testing.TB) *ir.Graph {
		b := newGB("grouped_conv")
		x := b.input(1, 8, 8, 4)
		y := b.op(ir.OpConv, conv([4]int{1, 1, 1, 1}, [4]int{1, 1, 1, 1}, 2, ir.ActNone), nil, x, b.rand(0.5, 6, 3, 3, 2), b.rand(0.5, 6))
		return b.done(t, y)
	}, true, []string{"CONV_2D"}, exporters.Options{}},
	{"depthwise_multiplier_dilation", func(t testing.TB) *ir.Graph {
		b := newGB("depthwise_multiplier_dilation")
		x := b.input(1, 9, 9, 3)
		y := b.op(ir.OpConv, conv([4]int{1, 1, 2, 2}, [4]int{2, 2, 2, 2}, 3, ir.ActNone), nil, x, b.rand(0.5, 6, 3, 3, 1), b.rand(0.5, 6))
		return b.done(t, y)
	}, true, []string{"DEPTHWISE_CONV_2D"}, exporters.Options{}},
	{"batchnorm_hardsigmoid_hardswish", func(t testing.TB) *ir.Graph {
		b := newGB("batchnorm_hardsigmoid_hardswish")
		x := b.input(1, 4, 4, 5)
		bn := b.op(ir.OpBatchNorm, func(a ir.Attrs) { *a.(*ir.BatchNormAttrs) = ir.BatchNormAttrs{Epsilon: 1e-3, Axis: 3} }, nil,
			x, b.positive(0.5, 2, 5), b.rand(1, 5), b.rand(1, 5), b.positive(0.1, 3, 5))
		hs := b.op(ir.OpHardSigmoid, func(a ir.Attrs) { *a.(*ir.HardSigmoidAttrs) = ir.HardSigmoidAttrs{Alpha: 1.0 / 6, Beta: 0.5} }, nil, bn)
		hs2 := b.op(ir.OpHardSigmoid, func(a ir.Attrs) { *a.(*ir.HardSigmoidAttrs) = ir.HardSigmoidAttrs{Alpha: 0.2, Beta: 0.5} }, nil, bn)
		sw := b.op(ir.OpHardSwish, nil, nil, x)
		y := b.op(ir.OpAdd, nil, nil, hs, hs2)
		return b.done(t, b.op(ir.OpMul, nil, nil, y, sw))
	}, true, []string{"MUL", "ADD", "ADD", "MUL", "MUL", "ADD", "MUL", "HARD_SWISH", "ADD", "MUL"}, exporters.Options{}},
	{"clips", func(t testing.TB) *ir.Graph {
		b := newGB("clips")
		x := b.input(1, 4, 4, 3)
		clip := func(lo, hi float32) *ir.Tensor {
			return b.op(ir.OpClip, func(a ir.Attrs) { *a.(*ir.ClipAttrs) = ir.ClipAttrs{Min: lo, Max: hi} }, nil, x)
		}
		inf := float32(math.Inf(1))
		c1, c2, c3, c4 := clip(0, 6), clip(-1, 1), clip(0, inf), clip(-0.5, 0.75)
		c5, c6 := clip(-inf, 0.25), clip(-0.25, inf)
		y := b.op(ir.OpConcat, func(a ir.Attrs) { a.(*ir.ConcatAttrs).Axis = 3 }, nil, c1, c2, c3, c4, c5, c6)
		return b.done(t, y)
	}, false, []string{"RELU6", "RELU_N1_TO_1", "RELU", "MAXIMUM", "MINIMUM", "MINIMUM", "MAXIMUM", "CONCATENATION"}, exporters.Options{}},
	{"max_min_div", func(t testing.TB) *ir.Graph {
		b := newGB("max_min_div")
		x := b.input(1, 4, 4, 3)
		m := b.op(ir.OpMax, nil, nil, x, b.rand(1, 3))
		n := b.op(ir.OpMin, func(a ir.Attrs) { a.(*ir.BinaryAttrs).Act = ir.ActRelu }, nil, m, b.rand(1, 1, 4, 1, 1))
		d := b.op(ir.OpDiv, func(a ir.Attrs) { a.(*ir.BinaryAttrs).Act = ir.ActRelu6 }, nil, x, b.positive(0.5, 2, 3))
		return b.done(t, b.op(ir.OpSub, nil, nil, n, d))
	}, false, []string{"MAXIMUM", "MINIMUM", "RELU", "DIV", "RELU6", "SUB"}, exporters.Options{}},
	{"pools", func(t testing.TB) *ir.Graph {
		b := newGB("pools")
		x := b.input(1, 8, 8, 3)
		pool := func(op ir.Op, pads [4]int, include bool) *ir.Tensor {
			return b.op(op, func(a ir.Attrs) {
				*a.(*ir.PoolAttrs) = ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Pads: pads, CountIncludePad: include}
			}, nil, x)
		}
		p1 := pool(ir.OpMaxPool, [4]int{1, 1, 1, 1}, false) // not SAME: PADV2 with the lowest float
		p2 := pool(ir.OpAvgPool, [4]int{1, 1, 1, 1}, true)  // counted padding: PAD
		p3 := pool(ir.OpAvgPool, [4]int{0, 0, 1, 1}, false) // SAME for 8/2
		p4 := pool(ir.OpMaxPool, [4]int{0, 0, 1, 1}, false)
		a := b.op(ir.OpAdd, nil, nil, p1, p2)
		c := b.op(ir.OpAdd, nil, nil, p3, p4)
		return b.done(t, b.op(ir.OpMul, nil, nil, a, c))
	}, true, []string{"PADV2", "MAX_POOL_2D", "PAD", "AVERAGE_POOL_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "ADD", "MUL"}, exporters.Options{}},
	{"reduce_reshape_transpose_pad", func(t testing.TB) *ir.Graph {
		b := newGB("reduce_reshape_transpose_pad")
		x := b.input(1, 4, 6, 3)
		mean := b.op(ir.OpMean, func(a ir.Attrs) { *a.(*ir.ReduceAttrs) = ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: true} }, nil, x)
		tr := b.op(ir.OpTranspose, func(a ir.Attrs) { a.(*ir.TransposeAttrs).Perm = []int{0, 2, 1, 3} }, nil, x)
		pd := b.op(ir.OpPad, func(a ir.Attrs) { *a.(*ir.PadAttrs) = ir.PadAttrs{Pads: []int{0, 1, 0, 0, 0, 2, 1, 0}, Value: 0.5} }, nil, tr)
		pz := b.op(ir.OpPad, func(a ir.Attrs) { *a.(*ir.PadAttrs) = ir.PadAttrs{Pads: []int{0, 1, 1, 0, 0, 0, 0, 0}} }, nil, pd)
		r := b.op(ir.OpReshape, nil, []int{1, 10 * 6 * 3}, pz)
		m := b.op(ir.OpMul, nil, nil, pz, mean)
		return b.done(t, r, m)
	}, true, []string{"MEAN", "TRANSPOSE", "PADV2", "PAD", "RESHAPE", "MUL"}, exporters.Options{}},
	{"reduce_max", func(t testing.TB) *ir.Graph {
		b := newGB("reduce_max")
		x := b.input(1, 4, 6, 3)
		y := b.op(ir.OpReduceMax, func(a ir.Attrs) { *a.(*ir.ReduceAttrs) = ir.ReduceAttrs{Axes: []int{1, 2}} }, nil, x)
		return b.done(t, y)
	}, false, []string{"REDUCE_MAX"}, exporters.Options{}},
	{"gemm_matmul_identity_softmax", func(t testing.TB) *ir.Graph {
		b := newGB("gemm_matmul_identity_softmax")
		x := b.input(1, 2, 2, 8)
		flat := b.op(ir.OpReshape, nil, []int{1, 32}, x)
		g1 := b.op(ir.OpGemm, func(a ir.Attrs) { *a.(*ir.GemmAttrs) = ir.GemmAttrs{Alpha: 1, Beta: 1, Act: ir.ActRelu} }, nil, flat, b.rand(0.3, 32, 10), b.rand(0.3, 1, 10))
		g2 := b.op(ir.OpMatMul, nil, nil, x, b.rand(0.3, 8, 5))
		sm := b.op(ir.OpSoftmax, func(a ir.Attrs) { *a.(*ir.SoftmaxAttrs) = ir.SoftmaxAttrs{Axis: 1, Beta: 1} }, nil, g1)
		sg := b.op(ir.OpSigmoid, nil, nil, g2)
		id := b.op(ir.OpIdentity, nil, nil, sm)
		return b.done(t, id, sg)
	}, true, []string{"RESHAPE", "FULLY_CONNECTED", "FULLY_CONNECTED", "SOFTMAX", "LOGISTIC"}, exporters.Options{}},
}

func randomInput(t *ir.Tensor, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	v := make([]float32, t.Len())
	for i := range v {
		v[i] = float32(rng.Float64()*4 - 2)
	}
	return v
}

// runFloat runs g on one float input per graph input and returns every
// output flattened.
func runFloat(t testing.TB, g *ir.Graph, inputs [][]float32) [][]float32 {
	t.Helper()
	it := newInterpreter(t, g)
	for i, v := range inputs {
		copy(it.Input(i).F32, v)
	}
	if err := it.Run(); err != nil {
		t.Fatal(err)
	}
	var out [][]float32
	for i := range g.Outputs {
		o := it.Output(i)
		v := make([]float32, o.Len())
		for j := range v {
			v[j] = float32(o.Float(j))
		}
		out = append(out, v)
	}
	return out
}

func maxDiff(a, b [][]float32) float64 {
	worst := 0.0
	for i := range a {
		for j := range a[i] {
			worst = max(worst, math.Abs(float64(a[i][j])-float64(b[i][j])))
		}
	}
	return worst
}

// topLeftPads builds a stride-2 3x3 convolution of 4 channels (group 1, or
// 4 for a depthwise one) padded by one at the top and left only.
func topLeftPads(name string, group int) func(t testing.TB) *ir.Graph {
	return func(t testing.TB) *ir.Graph {
		b := newGB(name)
		x := b.input(1, 8, 8, 4)
		y := b.op(ir.OpConv, conv([4]int{2, 2, 1, 1}, [4]int{1, 1, 1, 1}, group, ir.ActRelu6), nil, x, b.rand(0.5, 4, 3, 3, 4/group), b.rand(0.5, 4))
		return b.done(t, y)
	}
}

func TestExportOps(t *testing.T) {
	for _, tc := range opCases {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.build(t)
			opts := tc.opts
			opts.Warn = func(msg string) { t.Log("warning:", msg) }
			data, err := tfliteexp.Export(g, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(fileOps(t, data), " "); got != strings.Join(tc.ops, " ") {
				t.Errorf("file holds %s, want %s", got, strings.Join(tc.ops, " "))
			}
			var inputs [][]float32
			for i, in := range g.Inputs {
				inputs = append(inputs, randomInput(in, uint64(i+1)))
			}
			want := runFloat(t, g, inputs)
			if tc.reimport {
				g2, err := tfliteimp.Import(tc.name, data, importers.Options{})
				if err != nil {
					t.Fatal(err)
				}
				for i, o := range g.Outputs {
					if g2.Outputs[i].Name != o.Name {
						t.Errorf("output %d is named %q in the file, want %q", i, g2.Outputs[i].Name, o.Name)
					}
				}
				if d := maxDiff(want, runFloat(t, g2, inputs)); d > 1e-5 {
					t.Errorf("re-imported graph differs by %.3g", d)
				}
			}
			if refrt.Available() != nil {
				return
			}
			var samples []refrt.Input
			for i, in := range g.Inputs {
				samples = append(samples, refrt.F32(in.Shape, inputs[i]))
			}
			res, err := refrt.Run(refrt.TFLite, writeTemp(t, tc.name, data), [][]refrt.Input{samples}, refrt.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			d := maxDiff(want, res.Values[0])
			t.Logf("TFLite differs from our runtime by at most %.3g", d)
			if d > 1e-4 {
				t.Errorf("TFLite differs from our runtime by %.3g", d)
			}
		})
	}
}

// Exporting a graph whose ops TFLite cannot express fails with an error
// that names the node and says why.
func TestExportErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(t testing.TB) *ir.Graph
		want  string
	}{
		{"transA", func(t testing.TB) *ir.Graph {
			b := newGB("transA")
			x := b.input(4, 2)
			return b.done(t, b.op(ir.OpGemm, func(a ir.Attrs) { *a.(*ir.GemmAttrs) = ir.GemmAttrs{TransA: true, Alpha: 1, Beta: 1} }, nil, x, b.rand(1, 4, 3)))
		}, `(Gemm): transA`},
		{"softmax_axis", func(t testing.TB) *ir.Graph {
			b := newGB("softmax_axis")
			x := b.input(1, 4, 3)
			return b.done(t, b.op(ir.OpSoftmax, func(a ir.Attrs) { *a.(*ir.SoftmaxAttrs) = ir.SoftmaxAttrs{Axis: 1, Beta: 1} }, nil, x))
		}, `(Softmax): softmax along axis 1`},
		{"reflect_pad", func(t testing.TB) *ir.Graph {
			b := newGB("reflect_pad")
			x := b.input(1, 4, 4, 3)
			return b.done(t, b.op(ir.OpPad, func(a ir.Attrs) {
				*a.(*ir.PadAttrs) = ir.PadAttrs{Pads: []int{0, 1, 1, 0, 0, 1, 1, 0}, Mode: ir.PadReflect}
			}, nil, x))
		}, `reflect padding has no TFLite equivalent`},
		{"avgpool_odd_pads", func(t testing.TB) *ir.Graph {
			b := newGB("avgpool_odd_pads")
			x := b.input(1, 8, 8, 3)
			return b.done(t, b.op(ir.OpAvgPool, func(a ir.Attrs) {
				*a.(*ir.PoolAttrs) = ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: [2]int{1, 1}, Pads: [4]int{2, 2, 0, 0}}
			}, nil, x))
		}, `are not TFLite's SAME`},
		{"batchnorm_nonconst", func(t testing.TB) *ir.Graph {
			b := newGB("batchnorm_nonconst")
			x := b.input(1, 2, 2, 3)
			s := b.input(3)
			return b.done(t, b.op(ir.OpBatchNorm, func(a ir.Attrs) { a.(*ir.BatchNormAttrs).Axis = 3 }, nil, x, s, b.rand(1, 3), b.rand(1, 3), b.positive(1, 2, 3)))
		}, `must be a float32 constant`},
		{"quantized_hardsigmoid", func(t testing.TB) *ir.Graph {
			b := newGB("quantized_hardsigmoid")
			x := &ir.Tensor{Name: "x", DType: ir.Int8, Shape: []int{1, 4}, Quant: &ir.Quant{Scale: []float32{0.05}, ZeroPoint: []int64{0}}}
			b.g.Inputs = []*ir.Tensor{x}
			y := b.op(ir.OpHardSigmoid, func(a ir.Attrs) { *a.(*ir.HardSigmoidAttrs) = ir.HardSigmoidAttrs{Alpha: 0.2, Beta: 0.5} }, nil, x)
			y.DType, y.Quant = ir.Int8, &ir.Quant{Scale: []float32{1.0 / 256}, ZeroPoint: []int64{-128}}
			return b.done(t, y)
		}, `quantized HardSigmoid has no TFLite equivalent`},
	}
	t.Run("nchw_layout", func(t *testing.T) {
		b := newGB("nchw")
		g := b.done(t, b.op(ir.OpRelu, nil, nil, b.input(1, 4, 4, 3)))
		if _, err := tfliteexp.Export(g, exporters.Options{InputLayout: ir.NCHW}); err == nil || !strings.Contains(err.Error(), "NHWC") {
			t.Errorf("error %v, want one saying TFLite inputs are NHWC", err)
		}
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tfliteexp.Export(tc.build(t), exporters.Options{})
			if err == nil {
				t.Fatal("export succeeded")
			}
			if !strings.HasPrefix(err.Error(), "tflite: export: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want one containing %q", err, tc.want)
			}
		})
	}
}

// Quantized forms the shared models do not hold: a grouped int8 convolution
// whose pads need an explicit PAD (filled with the zero point), a max pool
// padded with PADV2's lowest value, and a Clip written as MAXIMUM and
// MINIMUM with quantized scalar bounds. TFLite agrees with our runtime to a
// quantum.
func TestExportQuantizedOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	qt := func(name string, s float32, zp int64, shape ...int) *ir.Tensor {
		return &ir.Tensor{Name: name, DType: ir.Int8, Shape: shape, Quant: &ir.Quant{Scale: []float32{s}, ZeroPoint: []int64{zp}}}
	}
	x := qt("x", 0.05, -3, 1, 8, 8, 4)
	w := &ir.Tensor{Name: "w", DType: ir.Int8, Shape: []int{6, 3, 3, 2}, Quant: &ir.Quant{Axis: 0}, Data: &ir.Data{I8: make([]int8, 6*3*3*2)}}
	bias := &ir.Tensor{Name: "b", DType: ir.Int32, Shape: []int{6}, Quant: &ir.Quant{Axis: 0}, Data: &ir.Data{I32: make([]int32, 6)}}
	for c := range 6 {
		s := float32(0.01 + 0.01*rng.Float64())
		w.Quant.Scale = append(w.Quant.Scale, s)
		w.Quant.ZeroPoint = append(w.Quant.ZeroPoint, 0)
		bias.Quant.Scale = append(bias.Quant.Scale, 0.05*s)
		bias.Quant.ZeroPoint = append(bias.Quant.ZeroPoint, 0)
		bias.Data.I32[c] = int32(rng.IntN(1001) - 500)
	}
	for i := range w.Data.I8 {
		w.Data.I8[i] = int8(rng.IntN(255) - 127)
	}
	y := qt("conv", 0.04, 2)
	conv := ir.NewNode("conv", ir.OpConv, []*ir.Tensor{x, w, bias}, y)
	*conv.Attrs.(*ir.ConvAttrs) = ir.ConvAttrs{Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 2}
	p := qt("pool", 0.04, 2)
	pool := ir.NewNode("pool", ir.OpMaxPool, []*ir.Tensor{y}, p)
	*pool.Attrs.(*ir.PoolAttrs) = ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}}
	c := qt("clip", 0.04, 2)
	clip := ir.NewNode("clip", ir.OpClip, []*ir.Tensor{p}, c)
	*clip.Attrs.(*ir.ClipAttrs) = ir.ClipAttrs{Min: -0.5, Max: 0.8}
	g := &ir.Graph{Name: "quantized_ops", Inputs: []*ir.Tensor{x}, Nodes: []*ir.Node{conv, pool, clip}, Outputs: []*ir.Tensor{c, y}}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	data := export(t, g)
	if got, want := strings.Join(fileOps(t, data), " "), "PAD CONV_2D PADV2 MAX_POOL_2D MAXIMUM MINIMUM"; got != want {
		t.Errorf("file holds %s, want %s", got, want)
	}
	in := make([]int8, x.Len())
	for i := range in {
		in[i] = int8(rng.IntN(256) - 128)
	}
	it := newInterpreter(t, g)
	copy(it.Input(0).I8, in)
	if err := it.Run(); err != nil {
		t.Fatal(err)
	}
	var want [][]float32
	for i := range g.Outputs {
		o := it.Output(i)
		v := make([]float32, o.Len())
		for j := range v {
			v[j] = float32(o.Float(j))
		}
		want = append(want, v)
	}
	refrt.Need(t, refrt.TFLite)
	res, err := refrt.Run(refrt.TFLite, writeTemp(t, g.Name, data), [][]refrt.Input{{refrt.I8(x.Shape, in)}}, refrt.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := maxDiff(want, res.Values[0])
	t.Logf("TFLite differs from our runtime by at most %g quanta", d)
	if d > 1 {
		t.Errorf("TFLite differs from our runtime by %g quanta, want <= 1", d)
	}
}
