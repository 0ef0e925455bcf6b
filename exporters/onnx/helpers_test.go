package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mnconv/mnconv/exporters"
	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/importers"
	onnximp "github.com/mnconv/mnconv/importers/onnx"
	_ "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// load imports a shared model.
func load(t *testing.T, rel string) *ir.Graph {
	t.Helper()
	g, err := importers.Load(testutil.Shared(t, "models/"+rel), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// export writes g and collects the warnings.
func export(t *testing.T, g *ir.Graph, layout string) ([]byte, []string) {
	t.Helper()
	var warns []string
	l, err := ir.ParseLayout(layout)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Export(g, exporters.Options{InputLayout: l, Warn: func(s string) { warns = append(warns, s) }})
	if err != nil {
		t.Fatal(err)
	}
	return b, warns
}

// reimport reads exported bytes back with the ONNX importer.
func reimport(t *testing.T, b []byte) *ir.Graph {
	t.Helper()
	g, err := onnximp.Import("exported.onnx", b, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// decode parses exported bytes.
func decode(t *testing.T, b []byte) *pb.ModelProto {
	t.Helper()
	m := &pb.ModelProto{}
	if err := proto.Unmarshal(b, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// writeTemp writes exported bytes where ONNX Runtime can read them.
func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// opCounts counts the file's nodes by op type.
func opCounts(m *pb.ModelProto) map[string]int {
	c := map[string]int{}
	for _, n := range m.GetGraph().GetNode() {
		c[n.GetOpType()]++
	}
	return c
}

// bodyTransposes counts the Transpose nodes that neither read a graph
// input nor write a graph output.
func bodyTransposes(m *pb.ModelProto) int {
	edge := map[string]bool{}
	for _, v := range m.GetGraph().GetInput() {
		edge[v.GetName()] = true
	}
	for _, v := range m.GetGraph().GetOutput() {
		edge[v.GetName()] = true
	}
	k := 0
	for _, n := range m.GetGraph().GetNode() {
		if n.GetOpType() == "Transpose" && !edge[n.GetInput()[0]] && !edge[n.GetOutput()[0]] {
			k++
		}
	}
	return k
}

// inputShape is the declared shape of graph input i.
func inputShape(m *pb.ModelProto, i int) []int {
	var s []int
	for _, d := range m.GetGraph().GetInput()[i].GetType().GetTensorType().GetShape().GetDim() {
		if d.GetDimParam() != "" {
			s = append(s, 1) // a symbolic batch, run at 1
			continue
		}
		s = append(s, int(d.GetDimValue()))
	}
	return s
}

// canonicalDump is g's dump with constants renamed by order of first use:
// an export to ONNX and back renames the constants it re-lays-out
// ("_nhwc"), which is all that differs for graphs that did not come from
// ONNX.
func canonicalDump(g *ir.Graph) string {
	c := g.Clone()
	k := 0
	for _, t := range c.Tensors() {
		if t.IsConst() {
			t.Name = fmt.Sprintf("const%d", k)
			k++
		}
	}
	return c.Dump()
}

// firstDiff shows where two dumps part.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n  before: %s\n  after:  %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(la), len(lb))
}

// runGraph runs g on each input (graph input 0, in g's own layout) and
// returns output 0 of each run, dequantized when quantized.
func runGraph(t *testing.T, g *ir.Graph, inputs []*runtime.Tensor) [][]float32 {
	t.Helper()
	it, err := runtime.New(g)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var outs [][]float32
	for _, in := range inputs {
		if err := it.SetInput(0, in); err != nil {
			t.Fatal(err)
		}
		if err := it.Run(); err != nil {
			t.Fatal(err)
		}
		o := it.Output(0)
		outs = append(outs, append([]float32(nil), o.Dequantized(g.Outputs[0].Quant)...))
	}
	return outs
}

// nhwcToNCHW transposes NHWC images (any batch) to NCHW.
func nhwcToNCHW[T any](x []T, h, w, c int) []T {
	out := make([]T, len(x))
	per := h * w * c
	for n := 0; n+per <= len(x); n += per {
		for y := range h {
			for i := range w {
				for k := range c {
					out[n+(k*h+y)*w+i] = x[n+(y*w+i)*c+k]
				}
			}
		}
	}
	return out
}

// nchwToNHWC transposes NCHW images (any batch) to NHWC.
func nchwToNHWC[T any](x []T, h, w, c int) []T {
	out := make([]T, len(x))
	per := h * w * c
	for n := 0; n+per <= len(x); n += per {
		for k := range c {
			for y := range h {
				for i := range w {
					out[n+(y*w+i)*c+k] = x[n+(k*h+y)*w+i]
				}
			}
		}
	}
	return out
}

// dequantizeRaw turns raw integer values of ir tensor o (in the ir's
// layout) into real ones, per axis where o is quantized per axis.
func dequantizeRaw(v []float32, o *ir.Tensor) []float32 {
	q := o.Quant
	out := make([]float32, len(v))
	inner := 1
	if q.PerAxis() {
		inner = ir.NumElements(o.Shape[q.Axis+1:])
	}
	for i, x := range v {
		c := 0
		if q.PerAxis() {
			c = (i / inner) % len(q.Scale)
		}
		out[i] = q.S(c) * (x - float32(q.ZP(c)))
	}
	return out
}

// foldConstDequantize replaces each Dequantize of a constant with the float
// constant it computes (per axis where quantized per axis), as ONNX Runtime
// does at load. The runtime has no int32 Dequantize kernel, and a QDQ bias
// is exactly that.
func foldConstDequantize(t *testing.T, g *ir.Graph) {
	t.Helper()
	var keep []*ir.Node
	for _, n := range g.Nodes {
		x := n.In(0)
		if n.Op != ir.OpDequantize || !x.IsConst() || x.Quant == nil {
			keep = append(keep, n)
			continue
		}
		raw := (&runtime.Tensor{DType: x.DType, Shape: x.Shape, I8: x.Data.I8, U8: x.Data.U8, I32: x.Data.I32}).Dequantized(x.Quant)
		c := ir.NewConstF32(n.Out().Name, x.Shape, raw)
		g.Replace(n.Out(), c)
	}
	g.Nodes = keep
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
}
