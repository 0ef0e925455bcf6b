package onnx

import (
	"fmt"
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// data movement
func init() {
	handle(map[string]handler{
		"Reshape":   opReshape,
		"Flatten":   opFlatten,
		"Squeeze":   opSqueeze,
		"Unsqueeze": opUnsqueeze,
		"Transpose": opTranspose,
		"Concat":    opConcat,
		"Pad":       opPad,
	})
}

// reshapeTo gives x the ONNX shape target (Reshape, Flatten, Squeeze,
// Unsqueeze). A permuted input keeps its storage when its element order is
// already ONNX's (a 1x1 map); a rank-4 result stays NHWC-stored when its
// order allows, so a following Conv needs no transpose. A reshape that
// changes nothing in storage is an alias, not a node.
func (im *importer) reshapeTo(n *node, x value, target []int) error {
	if len(target) > MaxRank {
		return fmt.Errorf("result rank %d is more than the limit %d", len(target), MaxRank)
	}
	if ir.NumElements(target) != x.t.Len() {
		return fmt.Errorf("cannot reshape %v (%d elements) to %v", x.shape(), x.t.Len(), target)
	}
	if x.isConst() {
		im.set(n, 0, value{t: reshapedConst(x.t, n.p.Output[0], target)})
		return nil
	}
	src := x.t
	if x.perm && !onnxfmt.OrderKept(x.shape()) {
		var err error
		if src, err = im.nchw(n, x); err != nil {
			return err
		}
	}
	outPerm := len(target) == 4 && onnxfmt.OrderKept(target)
	stored := target
	if outPerm {
		stored = onnxfmt.Permute(target, onnxfmt.ToNHWC)
	}
	if slices.Equal(src.Shape, stored) {
		im.set(n, 0, value{t: src, perm: outPerm})
		return nil
	}
	if src.Quant.PerAxis() {
		return fmt.Errorf("reshaping per-axis quantized tensor %q is not supported", src.Name)
	}
	out := n.outTensor(0, src.DType)
	out.Shape = slices.Clone(stored)
	out.Quant = src.Quant.Clone()
	if _, err := im.emit(n, "", ir.OpReshape, nil, []*ir.Tensor{src}, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out, perm: outPerm})
	return nil
}

// reshapeTarget applies Reshape's shape rules: 0 copies the input dimension
// (unless allowzero), one -1 is inferred.
func reshapeTarget(in []int, spec []int64, allowZero bool) ([]int, error) {
	if len(spec) > MaxRank {
		return nil, fmt.Errorf("shape %v has rank %d, more than the limit %d", spec, len(spec), MaxRank)
	}
	total := int64(ir.NumElements(in))
	out := make([]int, len(spec))
	infer := -1
	known := int64(1)
	for i, d := range spec {
		switch {
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dimension %d of a rank-%d input", spec, i, len(in))
			}
			out[i] = in[i]
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", spec)
			}
			infer = i
			continue
		case d < 0 || d > MaxElements:
			return nil, fmt.Errorf("shape %v has invalid dimension %d", spec, d)
		default:
			out[i] = int(d)
		}
		known *= int64(out[i])
		if known > MaxElements {
			return nil, fmt.Errorf("shape %v has more than %d elements", spec, MaxElements)
		}
	}
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot infer the -1 of shape %v for %d elements", spec, total)
		}
		out[infer] = int(total / known)
	}
	return out, nil
}

func opReshape(im *importer, n *node) error {
	if err := n.need(2, 2); err != nil {
		return err
	}
	spec, err := constInts(n.in[1], "the shape input")
	if err != nil {
		return err
	}
	az, err := n.a.int("allowzero", 0)
	if err != nil {
		return err
	}
	target, err := reshapeTarget(n.in[0].shape(), spec, az != 0)
	if err != nil {
		return err
	}
	return im.reshapeTo(n, n.in[0], target)
}

func opFlatten(im *importer, n *node) error {
	if err := n.need(1, 1); err != nil {
		return err
	}
	s := n.in[0].shape()
	ax, err := n.a.int("axis", 1)
	if err != nil {
		return err
	}
	if ax < 0 {
		ax += int64(len(s))
	}
	if ax < 0 || ax > int64(len(s)) {
		return fmt.Errorf("axis %d out of range for rank %d", ax, len(s))
	}
	return im.reshapeTo(n, n.in[0], []int{ir.NumElements(s[:ax]), ir.NumElements(s[ax:])})
}

// axesArg reads an axes list: an attribute before opset 13, an optional
// constant input from 13.
func (im *importer) axesArg(n *node, input int) ([]int64, bool, error) {
	if im.opset < 13 {
		v, err := n.a.ints("axes")
		return v, v != nil, err
	}
	if !n.has(input) {
		return nil, false, nil
	}
	v, err := constInts(n.in[input], "the axes input")
	return v, true, err
}

func opSqueeze(im *importer, n *node) error {
	if err := n.need(1, 2); err != nil {
		return err
	}
	s := n.in[0].shape()
	axes, given, err := im.axesArg(n, 1)
	if err != nil {
		return err
	}
	drop := make([]bool, len(s))
	if !given {
		for i, d := range s {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		k, err := normAxis(int(a), len(s))
		if err != nil {
			return err
		}
		if s[k] != 1 {
			return fmt.Errorf("cannot squeeze axis %d of size %d", a, s[k])
		}
		drop[k] = true
	}
	var target []int
	for i, d := range s {
		if !drop[i] {
			target = append(target, d)
		}
	}
	return im.reshapeTo(n, n.in[0], target)
}

func opUnsqueeze(im *importer, n *node) error {
	if err := n.need(1, 2); err != nil {
		return err
	}
	s := n.in[0].shape()
	axes, given, err := im.axesArg(n, 1)
	if err != nil {
		return err
	}
	if !given {
		return fmt.Errorf("axes are missing")
	}
	r := len(s) + len(axes)
	if r > MaxRank {
		return fmt.Errorf("result rank %d is more than the limit %d", r, MaxRank)
	}
	ins := make([]bool, r)
	for _, a := range axes {
		k, err := normAxis(int(a), r)
		if err != nil {
			return err
		}
		if ins[k] {
			return fmt.Errorf("axis %d appears twice", a)
		}
		ins[k] = true
	}
	target := make([]int, r)
	j := 0
	for i := range target {
		if ins[i] {
			target[i] = 1
		} else {
			target[i] = s[j]
			j++
		}
	}
	return im.reshapeTo(n, n.in[0], target)
}

// opTranspose composes the ONNX permutation with the input's storage. When
// the result is the stored tensor itself, seen as NCHW or NHWC (the
// Transpose a TensorFlow export puts after an NHWC input), it is an alias
// and no node is made.
func opTranspose(im *importer, n *node) error {
	if err := n.need(1, 1); err != nil {
		return err
	}
	x := n.in[0]
	r := x.rank()
	p64, err := n.a.ints("perm")
	if err != nil {
		return err
	}
	perm := make([]int, r)
	if p64 == nil {
		for i := range perm {
			perm[i] = r - 1 - i
		}
	} else {
		if len(p64) != r {
			return fmt.Errorf("perm %v has %d entries for rank %d", p64, len(p64), r)
		}
		seen := make([]bool, r)
		for i, p := range p64 {
			if p < 0 || p >= int64(r) || seen[p] {
				return fmt.Errorf("perm %v is not a permutation", p64)
			}
			seen[p] = true
			perm[i] = int(p)
		}
	}
	if x.isConst() {
		c, err := im.transposeConst(x.t, x.t.Shape, perm, n.p.Output[0])
		if err != nil {
			return err
		}
		c.Name = n.p.Output[0]
		im.set(n, 0, value{t: c})
		return nil
	}
	// q: the transpose of the stored tensor that yields the result in ONNX
	// order; qp: the one that yields it stored NHWC.
	q := make([]int, r)
	for i := range q {
		q[i] = perm[i]
		if x.perm {
			q[i] = onnxfmt.ToNCHW[perm[i]]
		}
	}
	identity := func(p []int) bool {
		for i, v := range p {
			if v != i {
				return false
			}
		}
		return true
	}
	if identity(q) {
		im.set(n, 0, value{t: x.t})
		return nil
	}
	if r == 4 {
		if qp := onnxfmt.Permute(q, onnxfmt.ToNHWC); identity(qp) {
			im.set(n, 0, value{t: x.t, perm: true})
			return nil
		}
	}
	out := n.outTensor(0, x.dtype())
	out.Quant = movedQuant(x.t.Quant, q, 0)
	if _, err := im.emit(n, "", ir.OpTranspose, &ir.TransposeAttrs{Perm: q}, []*ir.Tensor{x.t}, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out})
	return nil
}

// opConcat joins along an axis; when any input is a permuted image and all
// are rank 4, it joins the NHWC tensors along the remapped axis.
func opConcat(im *importer, n *node) error {
	if err := n.need(1, MaxNodeInputs); err != nil {
		return err
	}
	if !n.a.has("axis") && im.opset >= 4 {
		return fmt.Errorf("axis attribute is missing")
	}
	ax, err := n.a.int("axis", 1)
	if err != nil {
		return err
	}
	x := n.in[0]
	if x.rank() == 0 {
		return fmt.Errorf("cannot concatenate scalars")
	}
	axis, err := normAxis(int(ax), x.rank())
	if err != nil {
		return err
	}
	allConst, anyPerm, all4 := true, false, true
	for i, v := range n.in {
		if !v.present() {
			return fmt.Errorf("input %d is empty", i)
		}
		if v.dtype() != x.dtype() || v.rank() != x.rank() {
			return fmt.Errorf("input %d is %v%v, input 0 is %v%v", i, v.dtype(), v.shape(), x.dtype(), x.shape())
		}
		if !v.quant().Equal(x.quant()) {
			return fmt.Errorf("inputs %q and %q have different quantization parameters", x.t.Name, v.t.Name)
		}
		allConst = allConst && v.isConst()
		anyPerm = anyPerm || v.perm
		all4 = all4 && v.rank() == 4
	}
	if allConst {
		c, err := im.concatConst(n, axis)
		if err != nil {
			return err
		}
		im.set(n, 0, value{t: c})
		return nil
	}
	perm := anyPerm && all4
	ins := make([]*ir.Tensor, len(n.in))
	for i, v := range n.in {
		if perm {
			ins[i], err = im.nhwc(n, v)
		} else {
			ins[i], err = im.nchw(n, v)
		}
		if err != nil {
			return err
		}
	}
	if perm {
		axis = storedAxis(axis)
	}
	out := n.outTensor(0, x.dtype())
	out.Quant = ins[0].Quant.Clone()
	if _, err := im.emit(n, "", ir.OpConcat, &ir.ConcatAttrs{Axis: axis}, ins, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out, perm: perm})
	return nil
}

// concatConst folds a Concat of constants.
func (im *importer) concatConst(n *node, axis int) (*ir.Tensor, error) {
	x := n.in[0].t
	shape := slices.Clone(x.Shape)
	shape[axis] = 0
	for _, v := range n.in {
		for i, d := range v.t.Shape {
			if i != axis && d != x.Shape[i] {
				return nil, fmt.Errorf("input %q shape %v does not match %v outside axis %d", v.t.Name, v.t.Shape, x.Shape, axis)
			}
		}
		shape[axis] += v.t.Shape[axis]
	}
	total := ir.NumElements(shape)
	if int64(total) > MaxFoldElements {
		return nil, fmt.Errorf("result has %d elements, more than %d, the limit for a computed constant", total, MaxFoldElements)
	}
	if err := im.spend(int64(total) * int64(x.DType.Size())); err != nil {
		return nil, err
	}
	// Gather every element's source as (input, index), then copy by dtype.
	outer := ir.NumElements(shape[:axis])
	inner := ir.NumElements(shape[axis+1:])
	src := make([]int, 0, total)
	which := make([]int, 0, total)
	for o := 0; o < outer; o++ {
		for k, v := range n.in {
			block := v.t.Shape[axis] * inner
			for i := 0; i < block; i++ {
				src = append(src, o*block+i)
				which = append(which, k)
			}
		}
	}
	d := &ir.Data{}
	for j := range src {
		appendElem(d, x.DType, n.in[which[j]].t.Data, src[j])
	}
	return &ir.Tensor{Name: n.p.Output[0], DType: x.DType, Shape: shape, Quant: x.Quant.Clone(), Data: d}, nil
}

func appendElem(d *ir.Data, dt ir.DType, s *ir.Data, i int) {
	switch dt {
	case ir.Float32:
		d.F32 = append(d.F32, s.F32[i])
	case ir.Int8:
		d.I8 = append(d.I8, s.I8[i])
	case ir.Uint8:
		d.U8 = append(d.U8, s.U8[i])
	case ir.Int32:
		d.I32 = append(d.I32, s.I32[i])
	case ir.Int64:
		d.I64 = append(d.I64, s.I64[i])
	}
}

// opPad reads pads from the attribute (before opset 11) or the inputs
// (pads, constant_value, axes) and remaps them to the stored layout.
func opPad(im *importer, n *node) error {
	if !n.has(0) {
		return fmt.Errorf("required input 0 is missing")
	}
	x := n.in[0]
	r := x.rank()
	var pads []int64
	var err error
	fill := float32(0)
	if im.opset < 11 {
		if err := n.need(1, 1); err != nil {
			return err
		}
		if pads, err = n.a.ints("pads"); err != nil {
			return err
		}
		if pads == nil {
			return fmt.Errorf("pads attribute is missing")
		}
		if fill, err = n.a.float("value", 0); err != nil {
			return err
		}
	} else {
		if err := n.need(2, 4); err != nil {
			return err
		}
		if pads, err = constInts(n.in[1], "the pads input"); err != nil {
			return err
		}
		if n.has(2) {
			c := n.in[2]
			if !c.isConst() || c.t.Len() != 1 {
				return fmt.Errorf("constant_value must be a constant scalar")
			}
			fill = float32(constFloat(c.t, 0))
		}
		if n.has(3) {
			axes, err := constInts(n.in[3], "the axes input")
			if err != nil {
				return err
			}
			if len(pads) != 2*len(axes) {
				return fmt.Errorf("pads has %d values for %d axes", len(pads), len(axes))
			}
			full := make([]int64, 2*r)
			for i, a := range axes {
				k, err := normAxis(int(a), r)
				if err != nil {
					return err
				}
				full[k], full[r+k] = pads[i], pads[len(axes)+i]
			}
			pads = full
		}
	}
	if len(pads) != 2*r {
		return fmt.Errorf("pads has %d values, want %d for rank %d", len(pads), 2*r, r)
	}
	mode, err := n.a.str("mode", "constant")
	if err != nil {
		return err
	}
	a := &ir.PadAttrs{Pads: make([]int, 2*r), Value: fill}
	m, ok := onnxfmt.PadMode(mode)
	if !ok {
		return fmt.Errorf("pad mode %q is not supported", mode)
	}
	a.Mode = m
	for i, p := range pads {
		if p < -MaxElements || p > MaxElements {
			return fmt.Errorf("pads %v out of range", pads)
		}
		a.Pads[i] = int(p)
	}
	if x.perm {
		begin, end := onnxfmt.Permute(a.Pads[:4], onnxfmt.ToNHWC), onnxfmt.Permute(a.Pads[4:], onnxfmt.ToNHWC)
		a.Pads = append(begin, end...)
	}
	if q := x.quant(); q != nil && x.dtype().IsQuantized() {
		if q.PerAxis() {
			return fmt.Errorf("padding per-axis quantized tensor %q is not supported", x.t.Name)
		}
		// ONNX pads the stored integers; the ir's fill is a real value.
		a.Value = q.S(0) * (fill - float32(q.ZP(0)))
	}
	out := n.outTensor(0, x.dtype())
	out.Quant = x.t.Quant.Clone()
	if _, err := im.emit(n, "", ir.OpPad, a, []*ir.Tensor{x.t}, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out, perm: x.perm})
	return nil
}
