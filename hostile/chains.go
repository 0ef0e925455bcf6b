package hostile

import (
	"fmt"
	"strings"

	"github.com/mnconv/mnconv/ir"
)

// ConvBNReluChain is x [1,2,2,4] -> (Conv 1x1 -> BatchNormalization -> Relu)
// repeated: n nodes that FoldBatchNorm and FuseActivation reduce to n/3
// Convs with a fused Relu. It is the graph the pass-driver benchmarks and
// the convert timings (bench/chaingen) measure.
func ConvBNReluChain(n int) *ir.Graph {
	return blockChainOf("conv_bn_relu", n, ir.OpConv, ir.OpBatchNorm, ir.OpRelu)
}

// blockChainOf is x [1,2,2,4] followed by n nodes whose ops repeat block:
// Conv 1x1, BatchNorm, or an op with one input and no attributes.
func blockChainOf(name string, n int, block ...ir.Op) *ir.Graph {
	x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: []int{1, 2, 2, 4}}
	g := &ir.Graph{Name: name, Inputs: []*ir.Tensor{x}}
	vec := func(name string, v float32) *ir.Tensor {
		return ir.NewConstF32(name, []int{4}, []float32{v, v, v, v})
	}
	cur := x
	for i := range n {
		out := &ir.Tensor{Name: fmt.Sprintf("t%d", i), DType: ir.Float32, Shape: []int{1, 2, 2, 4}}
		var nd *ir.Node
		switch op := block[i%len(block)]; op {
		case ir.OpConv:
			w := make([]float32, 16)
			for j := range w {
				w[j] = float32(j%5-2) / 4
			}
			nd = ir.NewNode(fmt.Sprintf("conv%d", i), ir.OpConv, []*ir.Tensor{cur, ir.NewConstF32(fmt.Sprintf("w%d", i), []int{4, 1, 1, 4}, w)}, out)
		case ir.OpBatchNorm:
			nd = ir.NewNode(fmt.Sprintf("bn%d", i), ir.OpBatchNorm, []*ir.Tensor{cur,
				vec(fmt.Sprintf("s%d", i), 1.5), vec(fmt.Sprintf("b%d", i), 0.1), vec(fmt.Sprintf("m%d", i), 0.2), vec(fmt.Sprintf("v%d", i), 2)}, out)
			a := nd.Attrs.(*ir.BatchNormAttrs)
			a.Epsilon, a.Axis = 1e-5, 3
		case ir.OpIdentity:
			nd = ir.NewNode(fmt.Sprintf("id%d", i), op, []*ir.Tensor{cur}, out)
		default:
			nd = ir.NewNode(fmt.Sprintf("%s%d", strings.ToLower(op.String()), i), op, []*ir.Tensor{cur}, out)
		}
		g.Nodes = append(g.Nodes, nd)
		cur = out
	}
	g.Outputs = []*ir.Tensor{cur}
	return g
}
