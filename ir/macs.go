package ir

// Multiply-accumulates, one convention for every package: a layer computes
// the taps it nominally reads, padded taps included. Conv (depthwise too):
// KH x KW x (input channels per group) per output element; Gemm: K per
// output element; MatMul: the last dimension of A per output element.
// package inspect reports these per layer, builder.Measure sums them, and the
// runtime's kernels count exactly these as they run (runtime/count.go).

// MACs returns n's multiply-accumulates by its op's formula; 0 for an op
// without one and for a node whose shapes do not fit its op (an unvalidated
// graph).
func (n *Node) MACs() int64 {
	f := n.Op.Info().MACs
	if f == nil || len(n.Outputs) == 0 || n.Outputs[0] == nil {
		return 0
	}
	return f(n)
}

// DoesMACs reports whether op multiplies and accumulates (it has a MACs
// formula): Conv, Gemm, MatMul.
func (op Op) DoesMACs() bool { return op.Info().MACs != nil }

func macsConv(n *Node) int64 {
	w := n.In(1)
	if w == nil || w.Rank() != 4 {
		return 0
	}
	// OHWI: each output element reads KH x KW x (Cin/group) inputs.
	return int64(n.Outputs[0].Len()) * int64(w.Shape[1]) * int64(w.Shape[2]) * int64(w.Shape[3])
}

func macsGemm(n *Node) int64 {
	a, ok := n.Attrs.(*GemmAttrs)
	x := n.In(0)
	if !ok || x == nil || x.Rank() != 2 {
		return 0
	}
	k := x.Shape[1]
	if a.TransA {
		k = x.Shape[0]
	}
	return int64(n.Outputs[0].Len()) * int64(k)
}

func macsMatMul(n *Node) int64 {
	x := n.In(0)
	if x == nil || x.Rank() == 0 {
		return 0
	}
	// The contracted dimension is the last of A whatever the ranks (a rank-1
	// A is a row vector).
	return int64(n.Outputs[0].Len()) * int64(x.Shape[x.Rank()-1])
}
