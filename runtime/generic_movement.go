package runtime

import (
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Data-movement kernels that work on any dtype: they copy stored values and
// never interpret them, so quantized graphs use them as long as input and
// output share their quantization parameters (checked in Prepare; a node
// that must requantize belongs to the Quantized table, which Prepare
// consults first for quantized nodes).

func init() {
	Register(ir.OpIdentity, Generic, checked(prepareCopy))
	Register(ir.OpReshape, Generic, checked(prepareCopy))
	Register(ir.OpTranspose, Generic, checked(prepareTranspose))
	Register(ir.OpConcat, Generic, checked(prepareConcat))
	Register(ir.OpPad, Generic, checked(preparePad))
}

var (
	_ Kernel = copyKernel{}
	_ Kernel = (*transposeKernel)(nil)
	_ Kernel = (*concatKernel)(nil)
	_ Kernel = (*padKernel)(nil)
)

// checkMovement checks what every generic kernel needs: a known dtype shared
// by input 0 and the output, and quantization that leaves the stored values'
// meaning unchanged.
func checkMovement(n *ir.Node) error {
	x, y := n.Inputs[0], n.Outputs[0]
	if x.DType.Size() == 0 {
		return n.Errorf("input %q has unknown dtype %v", x.Name, x.DType)
	}
	if x.DType != y.DType {
		return n.Errorf("input %q is %v but output %q is %v", x.Name, x.DType, y.Name, y.DType)
	}
	if x.Quant != nil && y.Quant != nil && !x.Quant.Equal(y.Quant) && n.Op != ir.OpTranspose {
		return n.Errorf("input %q has %s but output %q has %s; copying stored values would change their meaning", x.Name, describeQuant(x.Quant), y.Name, describeQuant(y.Quant))
	}
	return nil
}

// copyTensor copies src's elements into dst (same dtype and length); only
// the slice matching the dtype is non-empty.
func copyTensor(dst, src *Tensor) {
	copy(dst.F32, src.F32)
	copy(dst.I8, src.I8)
	copy(dst.U8, src.U8)
	copy(dst.I32, src.I32)
	copy(dst.I64, src.I64)
}

// copyKernel is Identity and Reshape: both keep the elements in order.
type copyKernel struct{}

func prepareCopy(n *ir.Node) (Kernel, error) {
	if err := checkMovement(n); err != nil {
		return nil, err
	}
	x, y := n.Inputs[0], n.Outputs[0]
	if x.Len() != y.Len() {
		return nil, n.Errorf("input %q %v has %d elements, output %q %v has %d", x.Name, x.Shape, x.Len(), y.Name, y.Shape, y.Len())
	}
	return copyKernel{}, nil
}

func (copyKernel) Eval(in, out []*Tensor) error {
	copyTensor(out[0], in[0])
	return nil
}

// transposeKernel walks the output in order and reads the input through
// permuted strides.
type transposeKernel struct {
	loop *stridedLoop // operand 0: output, 1: input
}

func prepareTranspose(n *ir.Node) (Kernel, error) {
	if err := checkMovement(n); err != nil {
		return nil, err
	}
	a := n.Attrs.(*ir.TransposeAttrs)
	x, y := n.Inputs[0], n.Outputs[0]
	rank := x.Rank()
	if len(a.Perm) != rank || y.Rank() != rank {
		return nil, n.Errorf("perm %v does not fit input rank %d and output rank %d", a.Perm, rank, y.Rank())
	}
	seen := make([]bool, rank)
	inStrides := contiguousStrides(x.Shape)
	// Output dim outD is input dim Perm[outD], so stepping along it steps
	// the input by that dim's stride.
	readStrides := make([]int, rank)
	for outD, inD := range a.Perm {
		if inD < 0 || inD >= rank || seen[inD] {
			return nil, n.Errorf("perm %v is not a permutation of 0..%d", a.Perm, rank-1)
		}
		seen[inD] = true
		if y.Shape[outD] != x.Shape[inD] {
			return nil, n.Errorf("output %q shape %v is not input shape %v permuted by %v", y.Name, y.Shape, x.Shape, a.Perm)
		}
		readStrides[outD] = inStrides[inD]
	}
	if x.Quant.PerAxis() || y.Quant.PerAxis() {
		if !x.Quant.PerAxis() || !y.Quant.PerAxis() || !slices.Equal(x.Quant.Scale, y.Quant.Scale) ||
			y.Quant.Axis < 0 || y.Quant.Axis >= rank || a.Perm[y.Quant.Axis] != x.Quant.Axis {
			return nil, n.Errorf("per-axis quantization of %q and %q does not follow perm %v", x.Name, y.Name, a.Perm)
		}
	} else if x.Quant != nil && y.Quant != nil && !x.Quant.Equal(y.Quant) {
		return nil, n.Errorf("input %q has %s but output %q has %s", x.Name, describeQuant(x.Quant), y.Name, describeQuant(y.Quant))
	}
	return &transposeKernel{loop: newStridedLoop(y.Shape, contiguousStrides(y.Shape), readStrides)}, nil
}

func (k *transposeKernel) Eval(in, out []*Tensor) error {
	switch x, y := in[0], out[0]; x.DType {
	case ir.Float32:
		transposeRows(k.loop, y.F32, x.F32)
	case ir.Int8:
		transposeRows(k.loop, y.I8, x.I8)
	case ir.Uint8:
		transposeRows(k.loop, y.U8, x.U8)
	case ir.Int32:
		transposeRows(k.loop, y.I32, x.I32)
	case ir.Int64:
		transposeRows(k.loop, y.I64, x.I64)
	}
	return nil
}

func transposeRows[T number](loop *stridedLoop, y, x []T) {
	n, step := loop.rowLen(), loop.step(1)
	loop.rows(func(offs []int) {
		row := y[offs[0] : offs[0]+n]
		src := offs[1]
		for i := range row {
			row[i] = x[src]
			src += step
		}
	})
}

// concatKernel copies, for each index of the dims before Axis, one block
// from every input in turn.
type concatKernel struct {
	outer  int   // product of the dims before the axis
	blocks []int // per input: elements per outer index (its axis length times the inner size)
	lo, hi float32
	act    bool // float32 output with a fused activation
}

func prepareConcat(n *ir.Node) (Kernel, error) {
	a := n.Attrs.(*ir.ConcatAttrs)
	y := n.Outputs[0]
	axis, err := ir.NormAxis(a.Axis, y.Rank())
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	// Stored values may be copied only when every quantized input means
	// what the output means; the Quantized table requantizes otherwise.
	ref := y.Quant
	for _, t := range n.Inputs {
		if t == nil {
			return nil, n.Errorf("has an absent input")
		}
		if t.DType != y.DType {
			return nil, n.Errorf("input %q is %v, output %q is %v", t.Name, t.DType, y.Name, y.DType)
		}
		if t.Quant == nil {
			continue
		}
		if ref == nil {
			ref = t.Quant
		}
		if !t.Quant.Equal(ref) {
			return nil, n.Errorf("input %q has %s, output %q has %s: needs requantization, which the generic kernel does not do", t.Name, describeQuant(t.Quant), y.Name, describeQuant(ref))
		}
	}
	if y.DType.Size() == 0 {
		return nil, n.Errorf("output %q has unknown dtype %v", y.Name, y.DType)
	}
	k := &concatKernel{outer: ir.NumElements(y.Shape[:axis])}
	inner := ir.NumElements(y.Shape[axis+1:])
	total := 0
	for _, t := range n.Inputs {
		if t.Rank() != y.Rank() {
			return nil, n.Errorf("input %q has rank %d, output has %d", t.Name, t.Rank(), y.Rank())
		}
		for d := range t.Shape {
			if d != axis && t.Shape[d] != y.Shape[d] {
				return nil, n.Errorf("input %q shape %v does not match output %v outside axis %d", t.Name, t.Shape, y.Shape, axis)
			}
		}
		total += t.Shape[axis]
		k.blocks = append(k.blocks, t.Shape[axis]*inner)
	}
	if total != y.Shape[axis] {
		return nil, n.Errorf("inputs sum to %d along axis %d, output %q has %d", total, axis, y.Name, y.Shape[axis])
	}
	if a.Act != ir.ActNone {
		if y.DType != ir.Float32 {
			return nil, n.Errorf("fused %v on a %v concat is not supported by the generic kernel", a.Act, y.DType)
		}
		k.act = true
		k.lo, k.hi = a.Act.Bounds()
	}
	return k, nil
}

func (k *concatKernel) Eval(in, out []*Tensor) error {
	switch y := out[0]; y.DType {
	case ir.Float32:
		concatBlocks(k, y.F32, in, elems[float32])
		if k.act {
			for i, v := range y.F32 {
				y.F32[i] = min(max(v, k.lo), k.hi)
			}
		}
	case ir.Int8:
		concatBlocks(k, y.I8, in, elems[int8])
	case ir.Uint8:
		concatBlocks(k, y.U8, in, elems[uint8])
	case ir.Int32:
		concatBlocks(k, y.I32, in, elems[int32])
	case ir.Int64:
		concatBlocks(k, y.I64, in, elems[int64])
	}
	return nil
}

func concatBlocks[T number](k *concatKernel, y []T, in []*Tensor, get func(*Tensor) []T) {
	dst := 0
	for outer := 0; outer < k.outer; outer++ {
		for i, t := range in {
			block := k.blocks[i]
			copy(y[dst:dst+block], get(t)[outer*block:(outer+1)*block])
			dst += block
		}
	}
}

// padKernel maps each output coordinate, per dimension, to the input
// coordinate it copies (or -1 to fill with the constant).
type padKernel struct {
	outShape  []int
	inStrides []int
	src       [][]int // [dim][output coordinate] -> input coordinate or -1
	fill      float64 // the constant, in stored units
	idx       []int   // odometer scratch
}

// preparePad resolves ONNX Pad semantics: negative pads crop first, then
// the cropped tensor is padded; reflect mirrors without repeating the edge
// (pads at most length-1), edge repeats the border value, wrap repeats the
// tensor periodically, and constant fills. A dimension cropped away entirely
// can only be filled with the constant.
func preparePad(n *ir.Node) (Kernel, error) {
	if err := checkMovement(n); err != nil {
		return nil, err
	}
	a := n.Attrs.(*ir.PadAttrs)
	x, y := n.Inputs[0], n.Outputs[0]
	rank := x.Rank()
	if len(a.Pads) != 2*rank || y.Rank() != rank {
		return nil, n.Errorf("pads %v do not fit input rank %d and output rank %d", a.Pads, rank, y.Rank())
	}
	if a.Mode > ir.PadWrap {
		return nil, n.Errorf("unknown pad mode %v", a.Mode)
	}
	k := &padKernel{
		outShape:  slices.Clone(y.Shape),
		inStrides: contiguousStrides(x.Shape),
		src:       make([][]int, rank),
		fill:      float64(a.Value),
		idx:       make([]int, rank),
	}
	if q := quantOf(x, y); q != nil && a.Mode == ir.PadConstant {
		// A quantized pad fills with real zero, which is stored as the zero
		// point (Value is meaningful only for float tensors).
		k.fill = float64(q.ZP(0))
	}
	for d := 0; d < rank; d++ {
		begin, end := a.Pads[d], a.Pads[rank+d]
		if y.Shape[d] != x.Shape[d]+begin+end {
			return nil, n.Errorf("output %q dim %d is %d, want %d + %d + %d", y.Name, d, y.Shape[d], x.Shape[d], begin, end)
		}
		cropBegin, cropEnd := max(-begin, 0), max(-end, 0)
		kept := x.Shape[d] - cropBegin - cropEnd // length after cropping
		padBegin := max(begin, 0)
		padded := max(begin, 0) > 0 || max(end, 0) > 0
		if kept < 0 {
			kept = 0
		}
		if padded && a.Mode != ir.PadConstant {
			if kept == 0 {
				return nil, n.Errorf("dim %d has nothing left after cropping to pad from in %v mode", d, a.Mode)
			}
			if a.Mode == ir.PadReflect && (kept < 2 || max(begin, end) > kept-1) {
				return nil, n.Errorf("reflect pads %d, %d on dim %d need a length above the pad (length %d after cropping)", begin, end, d, kept)
			}
		}
		src := make([]int, y.Shape[d])
		for o := range src {
			j := o - padBegin // coordinate in the cropped input
			if j < 0 || j >= kept {
				switch a.Mode {
				case ir.PadConstant:
					src[o] = -1
					continue
				case ir.PadEdge:
					j = min(max(j, 0), kept-1)
				case ir.PadReflect:
					if j < 0 {
						j = -j
					} else {
						j = 2*(kept-1) - j
					}
				case ir.PadWrap:
					j = ((j % kept) + kept) % kept
				}
			}
			src[o] = cropBegin + j
		}
		k.src[d] = src
	}
	return k, nil
}

// quantOf returns the quantization that gives x's and y's stored values
// their meaning (y's when both have one; checkMovement made them equal).
func quantOf(x, y *ir.Tensor) *ir.Quant {
	if y.Quant != nil {
		return y.Quant
	}
	return x.Quant
}

func (k *padKernel) Eval(in, out []*Tensor) error {
	switch x, y := in[0], out[0]; x.DType {
	case ir.Float32:
		padRows(k, y.F32, x.F32)
	case ir.Int8:
		padRows(k, y.I8, x.I8)
	case ir.Uint8:
		padRows(k, y.U8, x.U8)
	case ir.Int32:
		padRows(k, y.I32, x.I32)
	case ir.Int64:
		padRows(k, y.I64, x.I64)
	}
	return nil
}

// padRows walks the output row by row (all dims but the last); a row whose
// outer coordinates fall in the constant padding is filled whole.
func padRows[T number](k *padKernel, y, x []T) {
	rank := len(k.outShape)
	fill := saturate[T](k.fill)
	if rank == 0 {
		copy(y, x)
		return
	}
	if slices.Contains(k.outShape, 0) {
		return
	}
	last := rank - 1
	rowLen := k.outShape[last]
	lastSrc := k.src[last]
	idx := k.idx
	clear(idx)
	for dst := 0; dst < len(y); dst += rowLen {
		row := y[dst : dst+rowLen]
		base, inPad := 0, false
		for d := 0; d < last; d++ {
			s := k.src[d][idx[d]]
			if s < 0 {
				inPad = true
				break
			}
			base += s * k.inStrides[d]
		}
		for o := range row {
			if s := lastSrc[o]; s >= 0 && !inPad {
				row[o] = x[base+s]
			} else {
				row[o] = fill
			}
		}
		for d := last - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < k.outShape[d] {
				break
			}
			idx[d] = 0
		}
	}
}
