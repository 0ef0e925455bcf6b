package passes

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// randomGraph builds a chain of the patterns the passes look for, in random
// order and with random fan-out, so that rules meet each other's leftovers:
// every rewrite must keep the graph valid and its outputs equal.
func randomGraph(t *testing.T, seed int64) *ir.Graph {
	b := newBuilder(t, fmt.Sprintf("random_%d", seed))
	b.rng = rand.New(rand.NewSource(seed))
	rng := b.rng
	cur := b.input("x", 1, 6, 6, 4)
	var all []*ir.Tensor
	var extra []*ir.Tensor // tensors also made graph outputs
	id := 0
	name := func(s string) string { id++; return fmt.Sprintf("%s_%d", s, id) }
	bin := func(op ir.Op, l, r *ir.Tensor) *ir.Tensor {
		return b.node(op, name(op.String()), &ir.BinaryAttrs{}, l, r)
	}
	steps := 4 + rng.Intn(8)
	for range steps {
		ch := cur.Shape[3]
		switch rng.Intn(17) {
		case 0:
			cur = b.conv(name("conv"), cur, 2+rng.Intn(5), 1+2*rng.Intn(2), 1)
		case 1:
			cur = b.conv(name("dw"), cur, ch, 3, ch)
		case 2:
			cur = b.bn(name("bn"), cur)
		case 3:
			cur = b.node(ir.OpRelu, name("relu"), nil, cur)
		case 4:
			cur = b.clip(name("clip"), cur, 0, 6)
		case 5:
			cur = bin(ir.OpMin, bin(ir.OpMax, cur, b.scalar(name("zero"), 0)), b.scalar(name("six"), 6))
		case 6:
			cur = bin(ir.OpAdd, cur, b.weights(name("k"), ch))
		case 7:
			cur = b.node(ir.OpIdentity, name("id"), nil, cur)
		case 8:
			t1 := b.node(ir.OpTranspose, name("nchw"), &ir.TransposeAttrs{Perm: []int{0, 3, 1, 2}}, cur)
			m := bin(ir.OpMul, t1, b.uniform(name("k"), 0.5, 1.5, ch, 1, 1))
			cur = b.node(ir.OpTranspose, name("nhwc"), &ir.TransposeAttrs{Perm: []int{0, 2, 3, 1}}, b.node(ir.OpRelu, name("relu"), nil, m))
		case 9:
			p := b.node(ir.OpPad, name("pad"), &ir.PadAttrs{Pads: []int{0, 1, 0, 0, 0, 1, 1, 0}}, cur)
			cur = b.node(ir.OpConv, name("conv"), convAttrs([4]int{0, 1, 0, 0}), p, b.weights(name("w"), ch, 3, 3, ch))
		case 10:
			a := b.clip(name("clip"), bin(ir.OpAdd, cur, b.scalar(name("three"), 3)), 0, 6)
			cur = bin(ir.OpDiv, bin(ir.OpMul, cur, a), b.scalar(name("six"), 6))
		case 11:
			if len(all) > 0 {
				if o := all[rng.Intn(len(all))]; o != cur && fmt.Sprint(o.Shape) == fmt.Sprint(cur.Shape) {
					cur = bin(ir.OpAdd, cur, o)
				}
			}
		case 12:
			cur = b.node(ir.OpAvgPool, name("pool"), &ir.PoolAttrs{Kernel: [2]int{3, 3}, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, CountIncludePad: true}, cur)
		case 13:
			b.node(ir.OpSigmoid, name("dead"), nil, cur)
		case 14:
			a := b.clip(name("clip"), bin(ir.OpAdd, b.scalar(name("three"), 3), cur), 0, 6)
			cur = bin(ir.OpMul, cur, bin(ir.OpMul, a, b.scalar(name("sixth"), 0.16666667)))
		case 15:
			cur = b.node(ir.OpRelu, name("relu"), nil, b.node(ir.OpConcat, name("cat"), &ir.ConcatAttrs{Axis: 3}, cur, cur))
		case 16:
			r := b.reshape(name("flat"), cur, 1, 36, ch)
			cur = b.reshape(name("unflat"), r, 1, 6, 6, ch)
		}
		all = append(all, cur)
		if rng.Intn(6) == 0 {
			extra = append(extra, cur)
		}
	}
	if rng.Intn(2) == 0 {
		// A classifier head: global pool, fully connected, BatchNorm, Relu.
		ch := cur.Shape[3]
		gap := b.node(ir.OpMean, name("gap"), &ir.ReduceAttrs{Axes: []int{1, 2}}, cur)
		fc := b.node(ir.OpGemm, name("fc"), &ir.GemmAttrs{TransB: true, Alpha: 1, Beta: 1}, gap, b.weights(name("fc_w"), 5, ch), b.weights(name("fc_b"), 5))
		cur = b.node(ir.OpRelu, name("relu"), nil, b.bn(name("bn"), fc))
	}
	outs := []*ir.Tensor{cur}
	for _, e := range extra {
		if e != cur && e != b.g.Inputs[0] {
			outs = append(outs, e)
		}
	}
	return b.build(outs...)
}

func TestDefaultOnRandomGraphs(t *testing.T) {
	for seed := int64(1); seed <= 150; seed++ {
		g := randomGraph(t, seed)
		t.Run(g.Name, func(t *testing.T) {
			after, rep := runPasses(t, g, Default...)
			if !rep.Converged {
				t.Errorf("did not converge:\n%s", rep)
			}
			for _, op := range []ir.Op{ir.OpBatchNorm, ir.OpPad, ir.OpTranspose} {
				if k := countOp(after, op); k > 0 {
					t.Errorf("%d %v left:\n%s", k, op, after.Dump())
				}
			}
			// An Identity may stay only between a graph input or output and
			// a graph output: removing it would lose a name.
			for _, n := range after.Nodes {
				if n.Op == ir.OpIdentity && !(after.IsOutput(n.Out()) && (after.IsOutput(n.In(0)) || slices.Contains(after.Inputs, n.In(0)))) {
					t.Errorf("Identity %q left:\n%s", n.Name, after.Dump())
				}
			}
			sameOutputs(t, g, after)
			// A second run finds nothing more to do.
			again := cloneGraph(after)
			if rep, err := Run(again, Default, &Options{Validate: true}); err != nil || rep.Changes() != 0 {
				t.Errorf("second run: %v, %d changes:\n%s", err, rep.Changes(), rep)
			}
		})
	}
}
