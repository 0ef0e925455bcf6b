package hostile

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"testing"
	"time"

	"github.com/mnconv/mnconv/exporters"
	_ "github.com/mnconv/mnconv/exporters/onnx"
	_ "github.com/mnconv/mnconv/exporters/tflite"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
)

// chainLength is the node count every graph walk must handle without
// recursion.
const chainLength = 10000

// plainChain is x [1,4] -> Relu -> Add(const) -> Relu -> ... : n nodes.
func plainChain(n int) *ir.Graph {
	x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: []int{1, 4}}
	g := &ir.Graph{Name: "chain", Inputs: []*ir.Tensor{x}}
	cur := x
	for i := 0; i < n; i++ {
		out := &ir.Tensor{Name: fmt.Sprintf("t%d", i), DType: ir.Float32, Shape: []int{1, 4}}
		var nd *ir.Node
		if i%2 == 0 {
			nd = ir.NewNode(fmt.Sprintf("relu%d", i), ir.OpRelu, []*ir.Tensor{cur}, out)
		} else {
			c := ir.NewConstF32(fmt.Sprintf("c%d", i), []int{4}, []float32{0.5, -0.25, 0.125, -1})
			nd = ir.NewNode(fmt.Sprintf("add%d", i), ir.OpAdd, []*ir.Tensor{cur, c}, out)
		}
		g.Nodes = append(g.Nodes, nd)
		cur = out
	}
	g.Outputs = []*ir.Tensor{cur}
	return g
}

// blockChain is x [1,2,2,4] -> (Conv 1x1 -> BatchNorm -> Relu -> Identity)
// repeated: n nodes that FoldBatchNorm, FuseActivation and RemoveIdentity
// all rewrite.
func blockChain(n int) *ir.Graph {
	return blockChainOf("blocks", n, ir.OpConv, ir.OpBatchNorm, ir.OpRelu, ir.OpIdentity)
}

// TestLongChain sends 10,000-node chains through Validate, TopoSort (from
// a shuffled order), passes.Run, both exporters and both importers, with
// the goroutine stack capped at 512 KiB: a walk that recursed once per
// node would need more than that and crash the test.
func TestLongChain(t *testing.T) {
	old := debug.SetMaxStack(512 << 10)
	defer debug.SetMaxStack(old)

	timed := func(what string, f func() error) {
		t.Helper()
		start := time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%-40s %v", what, time.Since(start).Round(time.Millisecond))
	}

	g := plainChain(chainLength)
	timed("Validate", g.Validate)
	r := rand.New(rand.NewPCG(7, 7))
	r.Shuffle(len(g.Nodes), func(i, j int) { g.Nodes[i], g.Nodes[j] = g.Nodes[j], g.Nodes[i] })
	timed("TopoSort (shuffled)", g.TopoSort)
	timed("Validate after TopoSort", g.Validate)

	for _, ext := range []string{".onnx", ".tflite"} {
		roundTrip(t, timed, "plain chain", plainChain(chainLength), ext, chainLength)
	}

	// passes.Run keeps its use-lists current and drives its rules from a
	// worklist, so the full chain takes well under a second; the stack cap
	// stays, since a walk that recursed once per node would overflow it.
	n := chainLength
	pg := plainChain(n)
	timed(fmt.Sprintf("passes.Run (plain chain of %d)", n), func() error {
		_, err := passes.Run(pg, passes.Default, &passes.Options{})
		if err != nil {
			return err
		}
		return pg.Validate()
	})

	bg := blockChain(n)
	timed(fmt.Sprintf("Validate (block chain of %d)", n), bg.Validate)
	timed(fmt.Sprintf("passes.Run (block chain of %d)", n), func() error {
		rep, err := passes.Run(bg, passes.Default, nil)
		if err != nil {
			return err
		}
		if rep.NodesAfter != n/4 {
			return fmt.Errorf("%d nodes after the passes, want %d (one Conv per block)", rep.NodesAfter, n/4)
		}
		return bg.Validate()
	})
	for _, ext := range []string{".onnx", ".tflite"} {
		roundTrip(t, timed, "folded block chain", bg, ext, n/4)
	}
}

// roundTrip exports g through the exporter for ext, imports the bytes back
// and checks the node count.
func roundTrip(t *testing.T, timed func(string, func() error), what string, g *ir.Graph, ext string, nodes int) {
	t.Helper()
	exp, err := exporters.ForPath("chain" + ext)
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	timed(fmt.Sprintf("export %s to %s", what, ext), func() error {
		data, err = exp.Export(g, exporters.Options{})
		return err
	})
	timed(fmt.Sprintf("import %s from %s", what, ext), func() error {
		f, err := importers.Detect("chain"+ext, data)
		if err != nil {
			return err
		}
		back, err := f.Import("chain"+ext, data, importers.Options{})
		if err != nil {
			return err
		}
		// ONNX has no fused activations: a Conv with one comes back as two nodes.
		if len(back.Nodes) < nodes || len(back.Nodes) > 2*nodes {
			return fmt.Errorf("%d nodes back, want %d to %d", len(back.Nodes), nodes, 2*nodes)
		}
		return back.Validate()
	})
}
