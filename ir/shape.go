package ir

import (
	"fmt"
	"math"
)

var inf = float32(math.Inf(1))

// InferShapes walks the nodes in order and sets every output's shape (and its
// dtype where the importer left it unset) from the inputs. Nodes must be in
// topological order.
func (g *Graph) InferShapes() error {
	for _, n := range g.Nodes {
		if err := checkArity(n); err != nil {
			return err
		}
		if err := n.Op.Info().Infer(n); err != nil {
			return err
		}
	}
	return nil
}

func checkArity(n *Node) error {
	info := n.Op.Info()
	if n.Op == OpInvalid || n.Op >= numOps {
		return n.Errorf("unknown op")
	}
	if len(n.Inputs) < info.MinInputs || len(n.Inputs) > info.MaxInputs {
		return n.Errorf("has %d inputs, want %d to %d", len(n.Inputs), info.MinInputs, info.MaxInputs)
	}
	for i := 0; i < info.MinInputs; i++ {
		if n.Inputs[i] == nil {
			return n.Errorf("required input %d is missing", i)
		}
	}
	if hi := max(info.Outputs, info.MaxOutputs); len(n.Outputs) < info.Outputs || len(n.Outputs) > hi {
		if hi == info.Outputs {
			return n.Errorf("has %d outputs, want %d", len(n.Outputs), info.Outputs)
		}
		return n.Errorf("has %d outputs, want %d to %d", len(n.Outputs), info.Outputs, hi)
	}
	for i, t := range n.Outputs {
		if t == nil {
			return n.Errorf("output %d is nil", i)
		}
	}
	return nil
}

func setOut(n *Node, shape []int) {
	o := n.Outputs[0]
	o.Shape = shape
	if o.DType == Invalid {
		o.DType = n.Inputs[0].DType
	}
}

func inferSame(n *Node) error {
	setOut(n, append([]int(nil), n.Inputs[0].Shape...))
	return nil
}

func inferDequantize(n *Node) error {
	setOut(n, append([]int(nil), n.Inputs[0].Shape...))
	if n.Outputs[0].DType == n.Inputs[0].DType && n.Inputs[0].DType != Float32 {
		n.Outputs[0].DType = Float32
	}
	return nil
}

func inferConv(n *Node) error {
	a := n.Attrs.(*ConvAttrs)
	x, w := n.Inputs[0], n.Inputs[1]
	if x.Rank() != 4 {
		return n.Errorf("input %q has rank %d, want 4 (NHWC)", x.Name, x.Rank())
	}
	if w.Rank() != 4 {
		return n.Errorf("weight %q has rank %d, want 4 (OHWI)", w.Name, w.Rank())
	}
	if a.Group < 1 || x.Shape[3]%a.Group != 0 || w.Shape[0]%a.Group != 0 {
		return n.Errorf("group %d does not divide input channels %d and output channels %d", a.Group, x.Shape[3], w.Shape[0])
	}
	if w.Shape[3]*a.Group != x.Shape[3] {
		return n.Errorf("weight %q has %d input channels per group, input has %d channels in %d groups", w.Name, w.Shape[3], x.Shape[3], a.Group)
	}
	win, err := n.Window()
	if err != nil {
		return err
	}
	if b := n.In(2); b != nil && b.Len() != w.Shape[0] {
		return n.Errorf("bias %q has %d elements, want %d", b.Name, b.Len(), w.Shape[0])
	}
	setOut(n, []int{x.Shape[0], win.OutH, win.OutW, w.Shape[0]})
	return nil
}

func inferPool(n *Node) error {
	a := n.Attrs.(*PoolAttrs)
	x := n.Inputs[0]
	if x.Rank() != 4 {
		return n.Errorf("input %q has rank %d, want 4 (NHWC)", x.Name, x.Rank())
	}
	if a.Dilations == [2]int{} {
		a.Dilations = [2]int{1, 1}
	}
	win, err := n.Window()
	if err != nil {
		return err
	}
	setOut(n, []int{x.Shape[0], win.OutH, win.OutW, x.Shape[3]})
	return nil
}

func inferGemm(n *Node) error {
	a := n.Attrs.(*GemmAttrs)
	x, w := n.Inputs[0], n.Inputs[1]
	if x.Rank() != 2 || w.Rank() != 2 {
		return n.Errorf("inputs have ranks %d and %d, want 2 and 2", x.Rank(), w.Rank())
	}
	m, k := x.Shape[0], x.Shape[1]
	if a.TransA {
		m, k = k, m
	}
	k2, nn := w.Shape[0], w.Shape[1]
	if a.TransB {
		k2, nn = nn, k2
	}
	if k != k2 {
		return n.Errorf("inner dimensions differ: %v and %v", x.Shape, w.Shape)
	}
	if c := n.In(2); c != nil {
		if _, err := BroadcastShapes(c.Shape, []int{m, nn}); err != nil {
			return n.Errorf("bias %q shape %v does not broadcast to [%d %d]", c.Name, c.Shape, m, nn)
		}
	}
	setOut(n, []int{m, nn})
	return nil
}

func inferMatMul(n *Node) error {
	a, b := n.Inputs[0].Shape, n.Inputs[1].Shape
	if len(a) == 0 || len(b) == 0 {
		return n.Errorf("matmul of a scalar")
	}
	a2, b2 := a, b
	if len(a) == 1 {
		a2 = []int{1, a[0]}
	}
	if len(b) == 1 {
		b2 = []int{b[0], 1}
	}
	if a2[len(a2)-1] != b2[len(b2)-2] {
		return n.Errorf("inner dimensions differ: %v and %v", a, b)
	}
	batch, err := BroadcastShapes(a2[:len(a2)-2], b2[:len(b2)-2])
	if err != nil {
		return n.Errorf("batch dimensions: %v", err)
	}
	out := append(batch, a2[len(a2)-2], b2[len(b2)-1])
	if len(a) == 1 {
		out = append(out[:len(out)-2], out[len(out)-1])
	}
	if len(b) == 1 {
		out = out[:len(out)-1]
	}
	setOut(n, out)
	return nil
}

// BroadcastShapes applies numpy broadcasting.
func BroadcastShapes(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := len(a) - r + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - r + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

func inferBroadcast(n *Node) error {
	s, err := BroadcastShapes(n.Inputs[0].Shape, n.Inputs[1].Shape)
	if err != nil {
		return n.Errorf("%v", err)
	}
	setOut(n, s)
	return nil
}

// NormAxis maps a possibly negative axis into [0, rank).
func NormAxis(axis, rank int) (int, error) {
	if axis < -rank || axis >= max(rank, 1) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}

func inferReduce(n *Node) error {
	a := n.Attrs.(*ReduceAttrs)
	x := n.Inputs[0]
	red := make([]bool, x.Rank())
	for i, ax := range a.Axes {
		k, err := NormAxis(ax, x.Rank())
		if err != nil {
			return n.Errorf("%v", err)
		}
		a.Axes[i] = k
		red[k] = true
	}
	var out []int
	for i, d := range x.Shape {
		switch {
		case !red[i]:
			out = append(out, d)
		case a.KeepDims:
			out = append(out, 1)
		}
	}
	setOut(n, out)
	return nil
}

func inferReshape(n *Node) error {
	x, o := n.Inputs[0], n.Outputs[0]
	if o.Shape == nil {
		return n.Errorf("output %q has no target shape", o.Name)
	}
	if NumElements(o.Shape) != x.Len() {
		return n.Errorf("cannot reshape %v (%d elements) to %v", x.Shape, x.Len(), o.Shape)
	}
	setOut(n, o.Shape)
	return nil
}

func inferTranspose(n *Node) error {
	a := n.Attrs.(*TransposeAttrs)
	x := n.Inputs[0]
	if len(a.Perm) != x.Rank() {
		return n.Errorf("perm %v has %d entries, input rank is %d", a.Perm, len(a.Perm), x.Rank())
	}
	seen := make([]bool, x.Rank())
	out := make([]int, x.Rank())
	for i, p := range a.Perm {
		if p < 0 || p >= x.Rank() || seen[p] {
			return n.Errorf("perm %v is not a permutation", a.Perm)
		}
		seen[p] = true
		out[i] = x.Shape[p]
	}
	setOut(n, out)
	return nil
}

func inferConcat(n *Node) error {
	a := n.Attrs.(*ConcatAttrs)
	x := n.Inputs[0]
	ax, err := NormAxis(a.Axis, x.Rank())
	if err != nil {
		return n.Errorf("%v", err)
	}
	a.Axis = ax
	out := append([]int(nil), x.Shape...)
	for _, t := range n.Inputs[1:] {
		if t == nil || t.Rank() != x.Rank() {
			return n.Errorf("inputs differ in rank")
		}
		for i := range out {
			if i != ax && t.Shape[i] != out[i] {
				return n.Errorf("input %q shape %v does not match %v outside axis %d", t.Name, t.Shape, x.Shape, ax)
			}
		}
		out[ax] += t.Shape[ax]
	}
	setOut(n, out)
	return nil
}

func inferPad(n *Node) error {
	a := n.Attrs.(*PadAttrs)
	x := n.Inputs[0]
	r := x.Rank()
	if len(a.Pads) != 2*r {
		return n.Errorf("pads %v has %d entries, want %d", a.Pads, len(a.Pads), 2*r)
	}
	out := make([]int, r)
	for i := range out {
		out[i] = x.Shape[i] + a.Pads[i] + a.Pads[r+i]
		if out[i] < 0 {
			return n.Errorf("pads %v make dimension %d negative", a.Pads, i)
		}
		if a.Mode == PadReflect && (a.Pads[i] >= x.Shape[i] || a.Pads[r+i] >= x.Shape[i]) && (a.Pads[i] > 0 || a.Pads[r+i] > 0) {
			return n.Errorf("reflect pads %v need dimension %d larger than the pad", a.Pads, i)
		}
	}
	setOut(n, out)
	return nil
}

// inferArgMax drops Axis (or keeps it as 1 with KeepDims); the output is
// OutputType, Int32 or Int64.
func inferArgMax(n *Node) error {
	a := n.Attrs.(*ArgMaxAttrs)
	x, o := n.Inputs[0], n.Outputs[0]
	if x.Rank() == 0 {
		return n.Errorf("argmax of a scalar")
	}
	ax, err := NormAxis(a.Axis, x.Rank())
	if err != nil {
		return n.Errorf("%v", err)
	}
	a.Axis = ax
	if x.Shape[ax] == 0 {
		return n.Errorf("argmax along axis %d of size 0", ax)
	}
	if a.OutputType != Int32 && a.OutputType != Int64 {
		return n.Errorf("output type %v, want int32 or int64", a.OutputType)
	}
	if o.DType != Invalid && o.DType != a.OutputType {
		return n.Errorf("output %q is %v, the attributes say %v", o.Name, o.DType, a.OutputType)
	}
	var out []int
	for i, d := range x.Shape {
		switch {
		case i != ax:
			out = append(out, d)
		case a.KeepDims:
			out = append(out, 1)
		}
	}
	o.Shape, o.DType = out, a.OutputType
	return nil
}
