package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// The residual Add fused into the conv before it (interp.go) and the float
// add both paths use (addF32): the same bits as the unfused nodes and the
// reference kernels, on every family.

// FusedAdds is the number of Add nodes Run folds into their conv while
// Observe is nil (for the external whole-model tests).
func FusedAdds(it *Interpreter) int {
	n := 0
	for i, f := range it.fused {
		if f.skip && it.g.Nodes[i].Op == ir.OpAdd {
			n++
		}
	}
	return n
}

// TestAddF32 checks addF32 and addClamp against Go's a + b (and the clamp),
// and mulF32 and mulClamp (fast_se.go) against a * b, on every family:
// lengths around the 8- and 32-float blocks, NaN, signed zeros, infinities
// and subnormals, and y aliasing either operand.
func TestAddF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	special := []float32{float32(math.NaN()), float32(math.Copysign(0, -1)), 0, float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, -1e-40, math.MaxFloat32}
	ops := []struct {
		name  string
		fast  func(y, a, b []float32, lo, hi float32)
		exact func(a, b float32) float32
	}{
		{"add", addClamp, func(a, b float32) float32 { return a + b }},
		{"mul", mulClamp, func(a, b float32) float32 { return a * b }},
	}
	for _, fam := range testFamilies(t) {
		withFamily(fam, func() {
			for _, op := range ops {
				for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 40, 75, 1000} {
					a, b := randFloats(rng, n, false), randFloats(rng, n, false)
					for i := range min(n, 2*len(special)) {
						a[i], b[(i*3)%n] = special[i%len(special)], special[(i+3)%len(special)]
					}
					for _, act := range []ir.Activation{ir.ActNone, ir.ActRelu, ir.ActRelu6} {
						lo, hi := act.Bounds()
						want := make([]float32, n)
						for i := range want {
							want[i] = min(max(op.exact(a[i], b[i]), lo), hi)
						}
						y := make([]float32, n)
						op.fast(y, a, b, lo, hi)
						inA, inB := slices.Clone(a), slices.Clone(b)
						op.fast(inA, inA, b, lo, hi)
						op.fast(inB, a, inB, lo, hi)
						for i := range want {
							w := math.Float32bits(want[i])
							if math.Float32bits(y[i]) != w || math.Float32bits(inA[i]) != w || math.Float32bits(inB[i]) != w {
								t.Fatalf("family %s n=%d %s %v: element %d: %v, %v -> %v (in place %v, %v), want %v", fam, n, op.name, act, i, a[i], b[i], y[i], inA[i], inB[i], want[i])
							}
						}
					}
				}
			}
		})
	}
}

// residualGraph is x -> r = Conv1x1(x) -> e = Conv1x1(r) -> t = Conv(e)
// (kxk, or depthwise) -> y = Add(t, r) or Add(r, t), MobileNetV2's block
// shape, with variants that must not fuse.
type residualGraph struct {
	batch, h, w, c, expand int
	k                      int  // the last conv's kernel: 1 (pointwise GEMM), 3 (im2col)
	depthwise              bool // the last conv is depthwise (c = expand; no fusion)
	rFirst                 bool // Add(r, t)
	convAct, addAct        ir.Activation
	tOutput                bool // t is also a graph output: no fusion
	tShared                bool // t also feeds another node: no fusion
	rLate                  bool // the residual is computed after t (by a Mul): no fusion
}

func (c residualGraph) String() string {
	type fields residualGraph // without the String method
	return fmt.Sprintf("%+v", fields(c))
}

func (c residualGraph) wantFused() int {
	if c.depthwise || c.tOutput || c.tShared || c.rLate {
		return 0
	}
	return 1
}

func (c residualGraph) build(rng *rand.Rand) *ir.Graph {
	tensor := func(name string, ch int) *ir.Tensor {
		return &ir.Tensor{Name: name, DType: ir.Float32, Shape: []int{c.batch, c.h, c.w, ch}}
	}
	conv := func(name string, x *ir.Tensor, outC, k, groups int, act ir.Activation) *ir.Node {
		return randConv(rng, name, x, tensor(name+"_y", outC), k, groups, act) // fast_hswish_test.go
	}
	x := tensor("x", c.c)
	g := &ir.Graph{Name: "residual", Inputs: []*ir.Tensor{x}}
	r := conv("r", x, c.c, 1, 1, ir.ActRelu6)
	e := conv("e", r.Out(), c.expand, 1, 1, ir.ActRelu6)
	var t *ir.Node
	if c.depthwise {
		t = conv("t", e.Out(), c.expand, 3, c.expand, c.convAct)
	} else {
		t = conv("t", e.Out(), c.c, c.k, 1, c.convAct)
	}
	g.Nodes = []*ir.Node{r, e, t}
	res := r.Out()
	if c.rLate {
		late := ir.NewNode("late", ir.OpMul, []*ir.Tensor{x, x}, tensor("late_y", c.c)) // not a conv: nothing else fuses
		g.Nodes = append(g.Nodes, late)
		res = late.Out()
	}
	ins := []*ir.Tensor{t.Out(), res}
	if c.rFirst {
		ins[0], ins[1] = ins[1], ins[0]
	}
	add := ir.NewNode("add", ir.OpAdd, ins, tensor("y", c.c))
	add.SetFusedAct(c.addAct)
	g.Nodes = append(g.Nodes, add)
	g.Outputs = []*ir.Tensor{add.Out()}
	if c.tOutput {
		g.Outputs = append(g.Outputs, t.Out())
	}
	if c.tShared {
		m := ir.NewNode("mul", ir.OpMul, []*ir.Tensor{add.Out(), t.Out()}, tensor("z", c.c))
		g.Nodes = append(g.Nodes, m)
		g.Outputs = []*ir.Tensor{m.Out()}
	}
	return g
}

// TestResidualAddFusion runs block-shaped graphs fused (Observe nil),
// unfused (an observer) and on the reference kernels: identical outputs on
// every family and thread count, and the fusion taken exactly where it
// applies.
func TestResidualAddFusion(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	cases := []residualGraph{
		{batch: 1, h: 9, w: 7, c: 24, expand: 48, k: 1},
		{batch: 1, h: 9, w: 7, c: 24, expand: 48, k: 1, rFirst: true, addAct: ir.ActRelu6},
		{batch: 2, h: 5, w: 13, c: 40, expand: 24, k: 1, convAct: ir.ActRelu, addAct: ir.ActRelu},
		{batch: 1, h: 28, w: 28, c: 32, expand: 192, k: 1},         // several GEMM chunks
		{batch: 1, h: 1, w: 1, c: 300, expand: 64, k: 1},           // one pixel: the one-row path
		{batch: 1, h: 2, w: 2, c: 9, expand: 5, k: 1},              // ragged panels
		{batch: 1, h: 6, w: 5, c: 20, expand: 12, k: 3},            // im2col
		{batch: 1, h: 6, w: 5, c: 16, expand: 16, depthwise: true}, // not a GEMM kernel
		{batch: 1, h: 6, w: 5, c: 16, expand: 32, k: 1, tOutput: true},
		{batch: 1, h: 6, w: 5, c: 16, expand: 32, k: 1, tShared: true},
		{batch: 1, h: 6, w: 5, c: 16, expand: 32, k: 1, rLate: true},
	}
	families := testFamilies(t)
	for _, c := range cases {
		if c.depthwise {
			c.c = c.expand
		}
		g := c.build(rng)
		x := NewTensor(ir.Float32, g.Inputs[0].Shape)
		copy(x.F32, randFloats(rng, x.Len(), false))
		run := func(opts Options, observe bool) (outs [][]float32, fused int) {
			it, err := NewWithOptions(g, opts)
			if err != nil {
				t.Fatalf("%v: %v", c, err)
			}
			defer it.Close()
			if observe {
				it.Observe = func(*ir.Node, []*Tensor) {}
			}
			// Twice: the second run starts from the first one's leftovers.
			for range 2 {
				if err := it.SetInput(0, x); err != nil {
					t.Fatal(err)
				}
				if err := it.Run(); err != nil {
					t.Fatalf("%v: %v", c, err)
				}
			}
			for i := range g.Outputs {
				outs = append(outs, slices.Clone(it.Output(i).F32))
			}
			return outs, FusedAdds(it)
		}
		ref, _ := run(Options{Reference: true, Threads: 1}, false)
		for _, fam := range families {
			for _, threads := range []int{1, 3} {
				withFamily(fam, func() {
					fused, n := run(Options{Threads: threads}, false)
					observed, _ := run(Options{Threads: threads}, true)
					if n != c.wantFused() {
						t.Errorf("%v family %s: %d Adds fused, want %d", c, fam, n, c.wantFused())
					}
					for i := range ref {
						for j := range ref[i] {
							rb := math.Float32bits(ref[i][j])
							if math.Float32bits(fused[i][j]) != rb || math.Float32bits(observed[i][j]) != rb {
								t.Fatalf("%v family %s threads %d: output %d element %d: fused %v, observed %v, reference %v",
									c, fam, threads, i, j, fused[i][j], observed[i][j], ref[i][j])
							}
						}
					}
				})
			}
		}
	}
}
