package onnx

import (
	"fmt"
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// storedAxis maps an ONNX axis of a rank-4 NCHW tensor to its position in
// the NHWC-stored tensor.
func storedAxis(axis int) int { return onnxfmt.ToNCHW[axis] }

// movedQuant returns q for a tensor transposed by perm (out dim i = in dim
// perm[i]) after the input was viewed with lead extra leading 1-dims: only a
// per-axis axis moves.
func movedQuant(q *ir.Quant, perm []int, lead int) *ir.Quant {
	q = q.Clone()
	if q.PerAxis() {
		q.Axis = slices.Index(perm, q.Axis+lead)
	}
	return q
}

// add infers n's output shapes, checks them against the limits, and appends
// n to the graph.
func (im *importer) add(n *ir.Node) error {
	if len(im.g.Nodes) >= MaxNodes {
		return fmt.Errorf("import makes more than %d nodes", MaxNodes)
	}
	for i, t := range n.Inputs {
		if t == nil && i < n.Op.Info().MinInputs {
			return fmt.Errorf("%v: required input %d is missing", n.Op, i)
		}
	}
	if err := n.Op.Info().Infer(n); err != nil {
		return stripNodePrefix(n, err)
	}
	for _, o := range n.Outputs {
		if len(o.Shape) > MaxRank {
			return fmt.Errorf("output %q has rank %d, more than the limit %d", o.Name, len(o.Shape), MaxRank)
		}
		dims := make([]int64, len(o.Shape))
		for i, d := range o.Shape {
			dims[i] = int64(d)
		}
		if _, err := ir.CheckedElements(dims, MaxElements); err != nil {
			return fmt.Errorf("output %q: %v", o.Name, err)
		}
		im.producer[o] = n
	}
	// A shape inferred from a placeholder is a placeholder too (an opaque
	// node marks its own outputs).
	if n.Op != ir.OpOpaque && slices.ContainsFunc(n.Inputs, func(t *ir.Tensor) bool { return im.shapeUnknown[t] }) {
		for _, o := range n.Outputs {
			im.shapeUnknown[o] = true
		}
	}
	im.g.Nodes = append(im.g.Nodes, n)
	return nil
}

// stripNodePrefix drops the ir's `node "x" (Op): ` from an inference error:
// the caller names the ONNX node already; the ir op stays as a hint.
func stripNodePrefix(n *ir.Node, err error) error {
	prefix := fmt.Sprintf("node %q (%s): ", n.Name, n.Op)
	msg := err.Error()
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return fmt.Errorf("%v: %s", n.Op, msg[len(prefix):])
	}
	return err
}

// emit adds an ir node made for ONNX node n. suffix distinguishes helper
// nodes ("" for the node that computes n's result).
func (im *importer) emit(n *node, suffix string, op ir.Op, a ir.Attrs, ins []*ir.Tensor, out *ir.Tensor) (*ir.Node, error) {
	name := n.label
	if suffix != "" {
		name += "/" + suffix
	}
	nd := ir.NewNode(name, op, ins, out)
	if a != nil {
		nd.Attrs = a
	}
	if n.quantized {
		nd.Arith = ir.ArithONNX
	}
	if err := im.add(nd); err != nil {
		return nil, err
	}
	return nd, nil
}

// tmp makes an intermediate tensor named after base.
func (im *importer) tmp(base string, dt ir.DType, q *ir.Quant) *ir.Tensor {
	return &ir.Tensor{Name: im.uniqueName(base), DType: dt, Quant: q}
}

// nchw returns v in ONNX element order, adding a Transpose (or a Reshape
// where the order is the same) when v is stored permuted.
func (im *importer) nchw(n *node, v value) (*ir.Tensor, error) {
	if !v.perm {
		return v.t, nil
	}
	if t := im.nchwOf[v.t]; t != nil {
		return t, nil
	}
	logical := v.shape()
	out := im.tmp(v.t.Name+"_nchw", v.t.DType, movedQuant(v.t.Quant, onnxfmt.ToNCHW, 0))
	var err error
	if onnxfmt.OrderKept(logical) {
		out.Shape = slices.Clone(logical)
		_, err = im.emit(n, "to_nchw", ir.OpReshape, nil, []*ir.Tensor{v.t}, out)
	} else {
		_, err = im.emit(n, "to_nchw", ir.OpTranspose, &ir.TransposeAttrs{Perm: slices.Clone(onnxfmt.ToNCHW)}, []*ir.Tensor{v.t}, out)
	}
	if err != nil {
		return nil, err
	}
	im.nchwOf[v.t] = out
	return out, nil
}

// nhwc returns a rank-4 v stored as NHWC (for a weight: OIHW as OHWI).
// Constants are re-laid-out at import; a dequantized constant (a QDQ
// weight) is re-laid-out before its Dequantize; anything else gets a
// Reshape where the order is the same, else a Transpose.
func (im *importer) nhwc(n *node, v value) (*ir.Tensor, error) {
	if v.perm {
		return v.t, nil
	}
	if v.rank() != 4 {
		return nil, fmt.Errorf("tensor %q has rank %d, want 4", v.t.Name, v.rank())
	}
	if t := im.nhwcOf[v.t]; t != nil {
		return t, nil
	}
	if v.isConst() {
		return im.nhwcConst(v.t)
	}
	var out *ir.Tensor
	if p := im.producer[v.t]; p != nil && p.Op == ir.OpDequantize && p.Inputs[0].IsConst() {
		qc, err := im.nhwcConst(p.Inputs[0])
		if err != nil {
			return nil, err
		}
		out = im.tmp(v.t.Name+"_nhwc", v.t.DType, nil)
		dq := ir.NewNode(p.Name+"/nhwc", ir.OpDequantize, []*ir.Tensor{qc}, out)
		dq.Arith = p.Arith
		if err := im.add(dq); err != nil {
			return nil, err
		}
	} else {
		out = im.tmp(v.t.Name+"_nhwc", v.t.DType, movedQuant(v.t.Quant, onnxfmt.ToNHWC, 0))
		var err error
		if onnxfmt.OrderKept(v.t.Shape) {
			out.Shape = onnxfmt.Permute(v.t.Shape, onnxfmt.ToNHWC)
			_, err = im.emit(n, "to_nhwc", ir.OpReshape, nil, []*ir.Tensor{v.t}, out)
		} else {
			_, err = im.emit(n, "to_nhwc", ir.OpTranspose, &ir.TransposeAttrs{Perm: slices.Clone(onnxfmt.ToNHWC)}, []*ir.Tensor{v.t}, out)
		}
		if err != nil {
			return nil, err
		}
	}
	im.nhwcOf[v.t] = out
	return out, nil
}

// nhwcConst returns constant c (rank <= 4) viewed as rank 4 with leading
// 1-dims and re-laid-out as NHWC; it is made once per constant.
func (im *importer) nhwcConst(c *ir.Tensor) (*ir.Tensor, error) {
	if t := im.nhwcOf[c]; t != nil {
		return t, nil
	}
	if c.Rank() > 4 {
		return nil, fmt.Errorf("constant %q has rank %d, cannot broadcast against a rank-4 image", c.Name, c.Rank())
	}
	view := append(slices.Repeat([]int{1}, 4-c.Rank()), c.Shape...)
	t, err := im.transposeConst(c, view, onnxfmt.ToNHWC, c.Name+"_nhwc")
	if err != nil {
		return nil, err
	}
	im.nhwcOf[c] = t
	return t, nil
}

// transposeConst makes a new constant: c viewed with shape view (c's shape
// with optional leading 1-dims), transposed by perm.
func (im *importer) transposeConst(c *ir.Tensor, view, perm []int, name string) (*ir.Tensor, error) {
	if err := im.spend(c.Bytes()); err != nil {
		return nil, err
	}
	return &ir.Tensor{
		Name:  im.uniqueName(name),
		DType: c.DType,
		Shape: onnxfmt.Permute(view, perm),
		Quant: movedQuant(c.Quant, perm, len(view)-c.Rank()),
		Data:  onnxfmt.TransposeData(c.Data, c.DType, view, perm),
	}, nil
}
