package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// hardActInputs returns n floats: the special values first (NaN, the
// infinities, signed zeros, subnormals, the kinks of both functions and
// their neighbours), then random floats of every magnitude.
func hardActInputs(rng *rand.Rand, n int) []float32 {
	up := func(v float32) float32 { return math.Nextafter32(v, float32(math.Inf(1))) }
	down := func(v float32) float32 { return math.Nextafter32(v, float32(math.Inf(-1))) }
	special := []float32{
		float32(math.NaN()), -float32(math.NaN()), math.Float32frombits(0x7fa00001),
		float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)),
		math.Float32frombits(1), math.Float32frombits(0x80000001), math.Float32frombits(0x007fffff),
		math.Float32frombits(0x807fffff), math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32,
		-3, up(-3), down(-3), 3, up(3), down(3), -2.5, 2.5, -0.5, 0.5, 1, -1,
		6, -6, down(6), up(6), 1e-30, -1e-30, 1e30, -1e30, 1.0 / 3, 1.0 / 6, -1.0 / 6,
	}
	v := make([]float32, n)
	for i := range v {
		switch {
		case i < len(special):
			v[i] = special[i]
		case i%3 == 0: // any bits but NaN
			v[i] = math.Float32frombits(rng.Uint32())
			if v[i] != v[i] {
				v[i] = 1.5
			}
		default: // where activations live
			v[i] = float32(rng.NormFloat64() * 4)
		}
	}
	rng.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
	return v
}

// sameF32 compares bit for bit; a NaN needs only be a NaN (the NaN an
// operation makes differs between architectures, not between families).
func sameF32(t *testing.T, label string, got, want []float32) {
	t.Helper()
	bad := 0
	for i := range want {
		g, w := got[i], want[i]
		if math.Float32bits(g) == math.Float32bits(w) || (g != g && w != w) {
			continue
		}
		if bad < 5 {
			t.Errorf("%s: element %d: got %v (%#08x), want %v (%#08x)", label, i, g, math.Float32bits(g), w, math.Float32bits(w))
		}
		bad++
	}
	if bad > 5 {
		t.Errorf("%s: %d mismatches in all", label, bad)
	}
}

// FusedActs is the number of HardSwish and HardSigmoid nodes Run folds
// into their conv while Observe is nil (for the external whole-model
// tests).
func FusedActs(it *Interpreter) int {
	n := 0
	for _, f := range it.fused {
		if f.actConv != nil {
			n++
		}
	}
	return n
}

// TestFastHardActivations runs HardSwish and HardSigmoid through the fast
// and the reference kernels on every family, lengths around the vector
// widths (8 and 16) and the special values, and wants the same bits.
func TestFastHardActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 5))
	type act struct {
		name  string
		op    ir.Op
		attrs ir.Attrs
	}
	acts := []act{
		{"hard_swish", ir.OpHardSwish, nil},
		{"hard_sigmoid_v3", ir.OpHardSigmoid, &ir.HardSigmoidAttrs{Alpha: 1.0 / 6, Beta: 0.5}},
		{"hard_sigmoid_onnx", ir.OpHardSigmoid, &ir.HardSigmoidAttrs{Alpha: 0.2, Beta: 0.5}},
		{"hard_sigmoid_neg_zero_beta", ir.OpHardSigmoid, &ir.HardSigmoidAttrs{Alpha: 0.5, Beta: float32(math.Copysign(0, -1))}},
		{"hard_sigmoid_cancel", ir.OpHardSigmoid, &ir.HardSigmoidAttrs{Alpha: -0.25, Beta: 0.75}},
	}
	lengths := []int{1, 7, 8, 9, 15, 16, 17, 31, 33, 47, 64, 100, 1021, 4096 + 13}
	for _, f := range testFamilies(t) {
		for _, a := range acts {
			for _, n := range lengths {
				label := fmt.Sprintf("%s/%s/n=%d", f, a.name, n)
				x := f32([]int{1, n}, hardActInputs(rng, n)...)
				nd := node(a.op, a.attrs, input("x", 1, n))
				if err := (&ir.Graph{Nodes: []*ir.Node{nd}, Inputs: nd.Inputs, Outputs: nd.Outputs}).InferShapes(); err != nil {
					t.Fatal(err)
				}
				ref, err := PrepareReference(nd)
				if err != nil {
					t.Fatal(err)
				}
				want := NewTensor(ir.Float32, []int{1, n})
				if err := ref.Eval([]*Tensor{x}, []*Tensor{want}); err != nil {
					t.Fatal(err)
				}
				var fast Kernel
				withFamily(f, func() { fast, err = Prepare(nd) })
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := fast.(*fastHardAct); !ok {
					t.Fatalf("%s: Prepare chose %T, want *fastHardAct", label, fast)
				}
				got := NewTensor(ir.Float32, []int{1, n})
				if err := fast.Eval([]*Tensor{x}, []*Tensor{got}); err != nil {
					t.Fatal(err)
				}
				sameF32(t, label, got.F32, want.F32)
				// In place, from an odd offset (unaligned vectors).
				in := append([]float32(nil), x.F32...)
				k := fast.(*fastHardAct)
				if k.sigmoid {
					hardSigmoidF32(in[1:], in[1:], k.alpha, k.beta, f)
				} else {
					hardSwishF32(in[1:], in[1:], f)
				}
				sameF32(t, label+"/in_place", in[1:], want.F32[1:])
			}
		}
	}
}

// TestHardActFusion runs MobileNetV3-shaped chains, Conv -> HardSwish and
// Conv -> HardSigmoid, fused (Observe nil), unfused (an observer) and on
// the reference kernels: identical outputs on every family and thread
// count, and the fusion taken exactly where it applies (not where the
// conv's output is also a graph output, nor after a depthwise conv).
func TestHardActFusion(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 7))
	const batch, h, w = 1, 9, 7
	tensor := func(name string, ch int) *ir.Tensor {
		return &ir.Tensor{Name: name, DType: ir.Float32, Shape: []int{batch, h, w, ch}}
	}
	conv := func(name string, x *ir.Tensor, outC, k, groups int, act ir.Activation) *ir.Node {
		return randConv(rng, name, x, tensor(name+"_y", outC), k, groups, act)
	}
	hswish := func(name string, x *ir.Tensor) *ir.Node {
		return ir.NewNode(name, ir.OpHardSwish, []*ir.Tensor{x}, tensor(name+"_y", x.Shape[3]))
	}
	x := tensor("x", 3)
	g := &ir.Graph{Name: "hardact", Inputs: []*ir.Tensor{x}}
	c0 := conv("c0", x, 5, 3, 1, ir.ActNone) // the direct stem conv: fused
	a0 := hswish("a0", c0.Out())
	c1 := conv("c1", a0.Out(), 40, 1, 1, ir.ActNone) // pointwise GEMM: fused
	a1 := hswish("a1", c1.Out())
	c2 := conv("c2", a1.Out(), 24, 3, 1, ir.ActRelu) // im2col: fused
	a2 := ir.NewNode("a2", ir.OpHardSigmoid, []*ir.Tensor{c2.Out()}, tensor("a2_y", 24))
	a2.Attrs = &ir.HardSigmoidAttrs{Alpha: 1.0 / 6, Beta: 0.5}
	c3 := conv("c3", a2.Out(), 24, 3, 24, ir.ActNone) // depthwise: not fused
	a3 := hswish("a3", c3.Out())
	c4 := conv("c4", a3.Out(), 17, 1, 1, ir.ActNone) // its output is a graph output: not fused
	a4 := hswish("a4", c4.Out())
	g.Nodes = []*ir.Node{c0, a0, c1, a1, c2, a2, c3, a3, c4, a4}
	g.Outputs = []*ir.Tensor{a4.Out(), c4.Out()}
	xv := NewTensor(ir.Float32, x.Shape)
	for i := range xv.F32 {
		xv.F32[i] = float32(rng.NormFloat64() * 3)
	}
	run := func(opts Options, observe bool) (outs [][]float32, fused int) {
		it, err := NewWithOptions(g, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		if observe {
			it.Observe = func(*ir.Node, []*Tensor) {}
		}
		for range 2 { // the second run starts from the first one's leftovers
			if err := it.SetInput(0, xv); err != nil {
				t.Fatal(err)
			}
			if err := it.Run(); err != nil {
				t.Fatal(err)
			}
		}
		for i := range g.Outputs {
			outs = append(outs, slices.Clone(it.Output(i).F32))
		}
		return outs, FusedActs(it)
	}
	ref, _ := run(Options{Reference: true, Threads: 1}, false)
	for _, fam := range testFamilies(t) {
		for _, threads := range []int{1, 3} {
			withFamily(fam, func() {
				fused, n := run(Options{Threads: threads}, false)
				observed, _ := run(Options{Threads: threads}, true)
				if n != 3 {
					t.Errorf("family %s threads %d: %d activations fused, want 3", fam, threads, n)
				}
				for i := range ref {
					label := fmt.Sprintf("family %s threads %d output %d", fam, threads, i)
					sameF32(t, label+" fused", fused[i], ref[i])
					sameF32(t, label+" observed", observed[i], ref[i])
				}
			})
		}
	}
}

// randConv is a stride 1 kxk Conv from x to y, "same" padding, with random
// constant weights and bias.
func randConv(rng *rand.Rand, name string, x, y *ir.Tensor, k, groups int, act ir.Activation) *ir.Node {
	inC, outC := x.Shape[3], y.Shape[3]
	w := ir.NewConstF32(name+"_w", []int{outC, k, k, inC / groups}, randFloats(rng, outC*k*k*inC/groups, false))
	b := ir.NewConstF32(name+"_b", []int{outC}, randFloats(rng, outC, false))
	n := ir.NewNode(name, ir.OpConv, []*ir.Tensor{x, w, b}, y)
	a := n.Attrs.(*ir.ConvAttrs)
	p := k / 2
	a.Strides, a.Dilations, a.Pads, a.Group, a.Act = [2]int{1, 1}, [2]int{1, 1}, [4]int{p, p, p, p}, groups, act
	return n
}

// BenchmarkHardSwish times MobileNetV3's largest HardSwish ([1,112,112,16],
// conv0's) on the reference kernel and on each family's fast kernel.
func BenchmarkHardSwish(b *testing.B) {
	shape := []int{1, 112, 112, 16}
	n := node(ir.OpHardSwish, nil, input("x", shape...))
	if err := (&ir.Graph{Nodes: []*ir.Node{n}, Inputs: n.Inputs, Outputs: n.Outputs}).InferShapes(); err != nil {
		b.Fatal(err)
	}
	x, y := NewTensor(ir.Float32, shape), NewTensor(ir.Float32, shape)
	for i := range x.F32 {
		x.F32[i] = float32(i%97)/8 - 6
	}
	bench := func(name string, prepare PrepareFunc) {
		k, err := prepare(n)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(4 * x.Len()))
			for b.Loop() {
				if err := k.Eval([]*Tensor{x}, []*Tensor{y}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	bench("reference", PrepareReference)
	for _, f := range testFamilies(b) {
		withFamily(f, func() { bench(f.String(), Prepare) })
	}
}
