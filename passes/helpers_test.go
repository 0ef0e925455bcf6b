package passes

import (
	"flag"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

var update = flag.Bool("update", false, "rewrite the golden graph dumps in testdata/")

// builder makes small graphs for pass tests. Every node's output tensor has
// the node's name; shapes come from the op's shape inference.
type builder struct {
	t   *testing.T
	g   *ir.Graph
	rng *rand.Rand
}

func newBuilder(t *testing.T, name string) *builder {
	return &builder{t: t, g: &ir.Graph{Name: name}, rng: rand.New(rand.NewSource(int64(len(name)) * 7919))}
}

func (b *builder) input(name string, shape ...int) *ir.Tensor {
	x := &ir.Tensor{Name: name, DType: ir.Float32, Shape: shape}
	b.g.Inputs = append(b.g.Inputs, x)
	return x
}

// uniform makes a float constant with values in [lo, hi).
func (b *builder) uniform(name string, lo, hi float64, shape ...int) *ir.Tensor {
	v := make([]float32, ir.NumElements(shape))
	for i := range v {
		v[i] = float32(lo + (hi-lo)*b.rng.Float64())
	}
	return ir.NewConstF32(name, shape, v)
}

func (b *builder) weights(name string, shape ...int) *ir.Tensor {
	return b.uniform(name, -1, 1, shape...)
}

func (b *builder) scalar(name string, v float32) *ir.Tensor {
	return ir.NewConstF32(name, []int{}, []float32{v})
}

// node adds a node named name whose output tensor is also named name.
func (b *builder) node(op ir.Op, name string, attrs ir.Attrs, ins ...*ir.Tensor) *ir.Tensor {
	b.t.Helper()
	return b.nodeOut(op, name, attrs, &ir.Tensor{Name: name}, ins...)
}

func (b *builder) nodeOut(op ir.Op, name string, attrs ir.Attrs, out *ir.Tensor, ins ...*ir.Tensor) *ir.Tensor {
	b.t.Helper()
	n := ir.NewNode(name, op, ins, out)
	if attrs != nil {
		n.Attrs = attrs
	}
	if err := op.Info().Infer(n); err != nil {
		b.t.Fatalf("building %s: %v", name, err)
	}
	b.g.Nodes = append(b.g.Nodes, n)
	return out
}

func (b *builder) reshape(name string, x *ir.Tensor, shape ...int) *ir.Tensor {
	b.t.Helper()
	return b.nodeOut(ir.OpReshape, name, nil, &ir.Tensor{Name: name, Shape: shape}, x)
}

// conv adds a k x k Conv with stride 1, "same" padding and a bias.
func (b *builder) conv(name string, x *ir.Tensor, outCh, k, group int) *ir.Tensor {
	b.t.Helper()
	inCh := x.Shape[3]
	w := b.weights(name+"_w", outCh, k, k, inCh/group)
	bias := b.weights(name+"_b", outCh)
	p := k / 2
	return b.node(ir.OpConv, name, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{p, p, p, p}, Group: group}, x, w, bias)
}

// bn adds a BatchNorm over the last axis with random constant parameters.
func (b *builder) bn(name string, x *ir.Tensor) *ir.Tensor {
	b.t.Helper()
	ch := x.Shape[x.Rank()-1]
	return b.node(ir.OpBatchNorm, name, &ir.BatchNormAttrs{Epsilon: 1e-3, Axis: x.Rank() - 1}, x,
		b.uniform(name+"_s", 0.5, 2, ch), b.weights(name+"_b", ch), b.weights(name+"_m", ch), b.uniform(name+"_v", 0.1, 2, ch))
}

func (b *builder) clip(name string, x *ir.Tensor, lo, hi float32) *ir.Tensor {
	b.t.Helper()
	return b.node(ir.OpClip, name, &ir.ClipAttrs{Min: lo, Max: hi}, x)
}

func (b *builder) build(outs ...*ir.Tensor) *ir.Graph {
	b.t.Helper()
	b.g.Outputs = outs
	if err := b.g.Validate(); err != nil {
		b.t.Fatalf("test graph is invalid: %v", err)
	}
	return b.g
}

// ops lists the graph's node ops in order, as "Conv Relu".
func ops(g *ir.Graph) string {
	var s []string
	for _, n := range g.Nodes {
		s = append(s, n.Op.String())
	}
	return strings.Join(s, " ")
}

func countOp(g *ir.Graph, op ir.Op) int {
	k := 0
	for _, n := range g.Nodes {
		if n.Op == op {
			k++
		}
	}
	return k
}

func findNode(g *ir.Graph, name string) *ir.Node {
	for _, n := range g.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// cloneGraph deep-copies g, constants included: ir's Clone shares constant
// data, and the copy here keeps a reference graph safe from a pass that
// would write a constant in place.
func cloneGraph(g *ir.Graph) *ir.Graph {
	c := g.Clone()
	for _, t := range c.Tensors() {
		if d := t.Data; d != nil {
			t.Data = &ir.Data{F32: slices.Clone(d.F32), I8: slices.Clone(d.I8), U8: slices.Clone(d.U8),
				I32: slices.Clone(d.I32), I64: slices.Clone(d.I64)}
		}
	}
	return c
}

// runPasses runs list on a copy of g with validation after every pass and
// returns the rewritten copy and the report.
func runPasses(t *testing.T, g *ir.Graph, list ...Pass) (*ir.Graph, *Report) {
	t.Helper()
	after := cloneGraph(g)
	rep, err := Run(after, list, &Options{Validate: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := after.Validate(); err != nil {
		t.Fatalf("rewritten graph is invalid: %v", err)
	}
	for i, o := range g.Outputs {
		if after.Outputs[i].Name != o.Name {
			t.Errorf("graph output %d is now named %q, want %q", i, after.Outputs[i].Name, o.Name)
		}
	}
	return after, rep
}

// relTol is how far a rewritten graph's float outputs may move: the largest
// difference may be 1e-5 of the output's largest magnitude (max-norm
// relative error). Per element it would not do: folding reorders float32
// sums, and a value that cancels to near zero keeps the absolute rounding
// error of its terms.
const relTol = 1e-5

// sameOutputs runs both graphs on the same random float inputs (uniform in
// [-4, 4), which covers the clamp ranges the passes care about) and checks
// every output agrees within relTol.
func sameOutputs(t *testing.T, before, after *ir.Graph) {
	t.Helper()
	for seed := int64(1); seed <= 2; seed++ {
		rng := rand.New(rand.NewSource(seed))
		var ins []*runtime.Tensor
		for _, x := range before.Inputs {
			v := runtime.NewTensor(x.DType, x.Shape)
			for i := range v.F32 {
				v.F32[i] = float32(8*rng.Float64() - 4)
			}
			ins = append(ins, v)
		}
		want := runGraph(t, "before", before, ins)
		got := runGraph(t, "after", after, ins)
		for i := range want {
			if worst := relErr(got[i], want[i]); worst > relTol {
				t.Errorf("output %q: worst relative error %.3g > %g", before.Outputs[i].Name, worst, relTol)
			}
		}
	}
}

func runGraph(t *testing.T, label string, g *ir.Graph, ins []*runtime.Tensor) [][]float32 {
	t.Helper()
	it, err := runtime.New(g)
	if err != nil {
		t.Fatalf("%s: runtime.New: %v", label, err)
	}
	for i, v := range ins {
		if err := it.SetInput(i, v); err != nil {
			t.Fatalf("%s: %v", label, err)
		}
	}
	if err := it.Run(); err != nil {
		t.Fatalf("%s: Run: %v", label, err)
	}
	var out [][]float32
	for i, o := range g.Outputs {
		out = append(out, slices.Clone(it.Output(i).Dequantized(o.Quant)))
	}
	return out
}

// relErr is max|got-want| / max|want|.
func relErr(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	peak, worst := 0.0, 0.0
	for i := range want {
		peak = max(peak, math.Abs(float64(want[i])))
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		worst = max(worst, d)
	}
	if peak == 0 {
		return worst
	}
	return worst / peak
}

// golden compares g's dump with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name string, g *ir.Graph) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	got := g.Dump()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./passes -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("dump differs from %s (go test ./passes -update refreshes it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
