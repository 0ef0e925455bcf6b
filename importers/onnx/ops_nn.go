package onnx

import (
	"fmt"
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// neural network ops
func init() {
	handle(map[string]handler{
		"Conv":               opConv,
		"BatchNormalization": opBatchNorm,
		"AveragePool":        opPool(ir.OpAvgPool),
		"MaxPool":            opPool(ir.OpMaxPool),
		"GlobalAveragePool":  opGlobalPool(ir.OpMean),
		"GlobalMaxPool":      opGlobalPool(ir.OpReduceMax),
		"Gemm":               opGemm,
		"MatMul":             opMatMul,
		"Softmax":            opSoftmax,
		"ReduceMean":         opReduce(ir.OpMean),
		"ReduceMax":          opReduce(ir.OpReduceMax),
		"ArgMax":             opArgMax,
	})
}

// windowPads resolves auto_pad / pads for a 2D window into the ir's
// [top, left, bottom, right].
func windowPads(a attrs, in, k, stride, dil [2]int) ([4]int, error) {
	mode, err := a.str("auto_pad", "NOTSET")
	if err != nil {
		return [4]int{}, err
	}
	var pads [4]int
	switch mode {
	case "NOTSET", "":
		p, err := a.ints("pads")
		if err != nil {
			return pads, err
		}
		if p == nil {
			return pads, nil
		}
		if len(p) != 4 {
			return pads, fmt.Errorf("pads has %d values, want 4 (only 2D windows are supported)", len(p))
		}
		// ONNX orders them (H begin, W begin, H end, W end): the ir's order.
		for i, v := range p {
			if v < 0 || v > MaxElements {
				return pads, fmt.Errorf("pads %v out of range", p)
			}
			pads[i] = int(v)
		}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < 2; i++ {
			out := (in[i] + stride[i] - 1) / stride[i]
			total := max(0, (out-1)*stride[i]+(k[i]-1)*dil[i]+1-in[i])
			small := total / 2
			if mode == "SAME_UPPER" {
				pads[i], pads[i+2] = small, total-small
			} else {
				pads[i], pads[i+2] = total-small, small
			}
		}
	default:
		return pads, fmt.Errorf("auto_pad %q is not supported", mode)
	}
	return pads, nil
}

func opConv(im *importer, n *node) error {
	if err := n.need(2, 3); err != nil {
		return err
	}
	if err := n.noRawQuant(); err != nil {
		return err
	}
	x, w := n.in[0], n.in[1]
	var b *ir.Tensor
	if n.has(2) {
		b = n.in[2].t
	}
	attrs, err := im.convAttrs(n, x, w)
	if err != nil {
		return err
	}
	return im.conv(n, x, w, b, attrs, n.outTensor(0, x.dtype()))
}

// convAttrs reads Conv's and QLinearConv's attributes for input x and
// weight w (ONNX layout).
func (im *importer) convAttrs(n *node, x, w value) (*ir.ConvAttrs, error) {
	if x.rank() != 4 || w.rank() != 4 {
		return nil, fmt.Errorf("only 2D convolution is supported (input rank %d, weight rank %d; want 4 and 4)", x.rank(), w.rank())
	}
	xs, ws := x.shape(), w.shape()
	group, err := n.a.int("group", 1)
	if err != nil {
		return nil, err
	}
	if group < 1 || group > int64(xs[1]) {
		return nil, fmt.Errorf("group %d out of range for %d input channels", group, xs[1])
	}
	k := [2]int{ws[2], ws[3]}
	if ks, err := n.a.ints("kernel_shape"); err != nil {
		return nil, err
	} else if ks != nil && (len(ks) != 2 || ks[0] != int64(k[0]) || ks[1] != int64(k[1])) {
		return nil, fmt.Errorf("kernel_shape %v does not match weight shape %v", ks, ws)
	}
	a := &ir.ConvAttrs{Group: int(group)}
	if a.Strides, err = n.a.ints2("strides", 1); err != nil {
		return nil, err
	}
	if a.Dilations, err = n.a.ints2("dilations", 1); err != nil {
		return nil, err
	}
	if a.Pads, err = windowPads(n.a, [2]int{xs[2], xs[3]}, k, a.Strides, a.Dilations); err != nil {
		return nil, err
	}
	return a, nil
}

// conv emits a Conv on NHWC input with OHWI weights.
func (im *importer) conv(n *node, x, w value, b *ir.Tensor, a *ir.ConvAttrs, out *ir.Tensor) error {
	tx, err := im.nhwc(n, x)
	if err != nil {
		return err
	}
	tw, err := im.nhwc(n, w)
	if err != nil {
		return err
	}
	if b != nil && b.Rank() != 1 {
		return fmt.Errorf("bias %q has rank %d, want 1", b.Name, b.Rank())
	}
	ins := []*ir.Tensor{tx, tw}
	if b != nil {
		ins = append(ins, b)
	}
	if _, err := im.emit(n, "", ir.OpConv, a, ins, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out, perm: true})
	return nil
}

// opBatchNorm imports inference-mode BatchNormalization; the channel axis
// is 3 for images (stored NHWC), 1 otherwise. Training mode is refused when
// the file says so explicitly (training_mode=1, running-statistics outputs);
// opset 6's is_test is ignored.
func opBatchNorm(im *importer, n *node) error {
	if err := n.need(5, 5); err != nil {
		return err
	}
	if err := n.noRawQuant(); err != nil {
		return err
	}
	if tm, err := n.a.int("training_mode", 0); err != nil {
		return err
	} else if tm != 0 {
		return fmt.Errorf("training-mode BatchNormalization (training_mode=1) is not supported")
	}
	if err := n.onlyOutputs(1, "running statistics of training mode"); err != nil {
		return fmt.Errorf("training-mode BatchNormalization is not supported: %v", err)
	}
	if sp, err := n.a.int("spatial", 1); err != nil {
		return err
	} else if sp != 1 {
		return fmt.Errorf("BatchNormalization with spatial=0 is not supported")
	}
	eps, err := n.a.float("epsilon", 1e-5)
	if err != nil {
		return err
	}
	x := n.in[0]
	if x.rank() < 2 {
		return fmt.Errorf("input has rank %d, want at least 2", x.rank())
	}
	c := x.shape()[1]
	for i := 1; i < 5; i++ {
		if p := n.in[i]; p.rank() != 1 || p.t.Len() != c {
			return fmt.Errorf("input %d (%q) has shape %v, want [%d]", i, p.t.Name, p.shape(), c)
		}
	}
	tx, axis := x.t, 1
	if x.rank() == 4 {
		if tx, err = im.nhwc(n, x); err != nil {
			return err
		}
		axis = 3
	}
	ins := []*ir.Tensor{tx, n.in[1].t, n.in[2].t, n.in[3].t, n.in[4].t}
	out := n.outTensor(0, x.dtype())
	if _, err := im.emit(n, "", ir.OpBatchNorm, &ir.BatchNormAttrs{Epsilon: eps, Axis: axis}, ins, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out, perm: x.rank() == 4})
	return nil
}

func opPool(op ir.Op) handler {
	return func(im *importer, n *node) error {
		if err := n.need(1, 1); err != nil {
			return err
		}
		if err := n.onlyOutputs(1, "MaxPool indices"); err != nil {
			return err
		}
		x := n.in[0]
		if x.rank() != 4 {
			return fmt.Errorf("only 2D pooling is supported (input rank %d, want 4)", x.rank())
		}
		if op == ir.OpAvgPool {
			if err := n.noRawQuant(); err != nil {
				return err
			}
		}
		a := &ir.PoolAttrs{}
		k, err := n.a.ints("kernel_shape")
		if err != nil {
			return err
		}
		if len(k) != 2 {
			return fmt.Errorf("kernel_shape %v: only 2D pooling is supported", k)
		}
		if a.Kernel, err = n.a.ints2("kernel_shape", 1); err != nil {
			return err
		}
		if a.Strides, err = n.a.ints2("strides", 1); err != nil {
			return err
		}
		if a.Dilations, err = n.a.ints2("dilations", 1); err != nil {
			return err
		}
		xs := x.shape()
		if a.Pads, err = windowPads(n.a, [2]int{xs[2], xs[3]}, a.Kernel, a.Strides, a.Dilations); err != nil {
			return err
		}
		ceil, err := n.a.int("ceil_mode", 0)
		if err != nil {
			return err
		}
		a.CeilMode = ceil != 0
		if op == ir.OpAvgPool {
			cip, err := n.a.int("count_include_pad", 0)
			if err != nil {
				return err
			}
			a.CountIncludePad = cip != 0
		}
		tx, err := im.nhwc(n, x)
		if err != nil {
			return err
		}
		out := n.outTensor(0, x.dtype())
		out.Quant = tx.Quant.Clone()
		if _, err := im.emit(n, "", op, a, []*ir.Tensor{tx}, out); err != nil {
			return err
		}
		im.set(n, 0, value{t: out, perm: true})
		return nil
	}
}

// opGlobalPool reduces over the spatial axes, keeping them as 1s: H and W of
// a stored-NHWC image, axes 2.. otherwise.
func opGlobalPool(op ir.Op) handler {
	return func(im *importer, n *node) error {
		if err := n.need(1, 1); err != nil {
			return err
		}
		if err := n.noRawQuant(); err != nil {
			return err
		}
		return im.globalPool(n, op, n.in[0], n.outTensor(0, n.in[0].dtype()))
	}
}

func (im *importer) globalPool(n *node, op ir.Op, x value, out *ir.Tensor) error {
	if x.rank() < 3 {
		return fmt.Errorf("input has rank %d, want at least 3", x.rank())
	}
	var tx *ir.Tensor
	var axes []int
	var err error
	if x.rank() == 4 {
		if tx, err = im.nhwc(n, x); err != nil {
			return err
		}
		axes = []int{1, 2}
	} else {
		tx = x.t
		for i := 2; i < x.rank(); i++ {
			axes = append(axes, i)
		}
	}
	if _, err := im.emit(n, "", op, &ir.ReduceAttrs{Axes: axes, KeepDims: true}, []*ir.Tensor{tx}, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out, perm: x.rank() == 4})
	return nil
}

// opGemm imports Gemm. A constant B is stored as [N,K] with TransB, the ir's
// fully connected form.
func opGemm(im *importer, n *node) error {
	if err := n.need(2, 3); err != nil {
		return err
	}
	if err := n.noRawQuant(); err != nil {
		return err
	}
	a := &ir.GemmAttrs{Alpha: 1, Beta: 1}
	var err error
	if a.Alpha, err = n.a.float("alpha", 1); err != nil {
		return err
	}
	if a.Beta, err = n.a.float("beta", 1); err != nil {
		return err
	}
	ta, err := n.a.int("transA", 0)
	if err != nil {
		return err
	}
	tb, err := n.a.int("transB", 0)
	if err != nil {
		return err
	}
	a.TransA, a.TransB = ta != 0, tb != 0
	x, w := n.in[0], n.in[1]
	if x.rank() != 2 || w.rank() != 2 {
		return fmt.Errorf("inputs have ranks %d and %d, want 2 and 2", x.rank(), w.rank())
	}
	tw := w.t
	if !a.TransB && w.isConst() {
		if tw, err = im.transposeConst(w.t, w.t.Shape, []int{1, 0}, w.t.Name+"_t"); err != nil {
			return err
		}
		a.TransB = true
	}
	ins := []*ir.Tensor{x.t, tw}
	if n.has(2) {
		ins = append(ins, n.in[2].t)
	}
	out := n.outTensor(0, x.dtype())
	if _, err := im.emit(n, "", ir.OpGemm, a, ins, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out})
	return nil
}

// opMatMul imports MatMul; a rank-2 input times a rank-2 constant becomes the
// fully connected Gemm.
func opMatMul(im *importer, n *node) error {
	if err := n.need(2, 2); err != nil {
		return err
	}
	if err := n.noRawQuant(); err != nil {
		return err
	}
	return im.matmul(n, n.in[0], n.in[1], n.outTensor(0, n.in[0].dtype()))
}

func (im *importer) matmul(n *node, x, w value, out *ir.Tensor) error {
	tx, err := im.nchw(n, x)
	if err != nil {
		return err
	}
	if x.rank() == 2 && w.rank() == 2 && w.isConst() {
		tw, err := im.transposeConst(w.t, w.t.Shape, []int{1, 0}, w.t.Name+"_t")
		if err != nil {
			return err
		}
		a := &ir.GemmAttrs{Alpha: 1, Beta: 1, TransB: true}
		if _, err := im.emit(n, "", ir.OpGemm, a, []*ir.Tensor{tx, tw}, out); err != nil {
			return err
		}
	} else {
		tw, err := im.nchw(n, w)
		if err != nil {
			return err
		}
		if _, err := im.emit(n, "", ir.OpMatMul, nil, []*ir.Tensor{tx, tw}, out); err != nil {
			return err
		}
	}
	im.set(n, 0, value{t: out})
	return nil
}

// opSoftmax maps both definitions: from opset 13 the softmax runs along one
// axis; before, the input is flattened to 2D at axis and the softmax covers
// every dimension from axis on. The old form maps to one axis when at most
// one of those dimensions is larger than 1; otherwise it runs as Reshape,
// Softmax, Reshape.
func opSoftmax(im *importer, n *node) error {
	if err := n.need(1, 1); err != nil {
		return err
	}
	if err := n.noRawQuant(); err != nil {
		return err
	}
	x := n.in[0]
	s := x.shape()
	r := len(s)
	if r == 0 {
		return fmt.Errorf("softmax of a scalar")
	}
	def := int64(-1)
	if im.opset < 13 {
		def = 1
	}
	ax64, err := n.a.int("axis", def)
	if err != nil {
		return err
	}
	axis, err := normAxis(int(ax64), r)
	if err != nil {
		return err
	}
	if im.opset < 13 {
		var big []int
		for i := axis; i < r; i++ {
			if s[i] > 1 {
				big = append(big, i)
			}
		}
		switch len(big) {
		case 0:
			axis = r - 1
		case 1:
			axis = big[0]
		default:
			return im.flatSoftmax(n, x, axis)
		}
	}
	out := n.outTensor(0, x.dtype())
	stored := axis
	if x.perm {
		stored = storedAxis(axis)
	}
	if _, err := im.emit(n, "", ir.OpSoftmax, &ir.SoftmaxAttrs{Axis: stored, Beta: 1}, []*ir.Tensor{x.t}, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out, perm: x.perm})
	return nil
}

// flatSoftmax is the opset < 13 softmax over the flattened trailing dims.
func (im *importer) flatSoftmax(n *node, x value, axis int) error {
	tx, err := im.nchw(n, x)
	if err != nil {
		return err
	}
	s := x.shape()
	flat := im.tmp(n.p.Output[0]+"_2d", x.dtype(), nil)
	flat.Shape = []int{ir.NumElements(s[:axis]), ir.NumElements(s[axis:])}
	if _, err := im.emit(n, "flatten", ir.OpReshape, nil, []*ir.Tensor{tx}, flat); err != nil {
		return err
	}
	soft := im.tmp(n.p.Output[0]+"_2d_softmax", x.dtype(), nil)
	if _, err := im.emit(n, "softmax", ir.OpSoftmax, &ir.SoftmaxAttrs{Axis: 1, Beta: 1}, []*ir.Tensor{flat}, soft); err != nil {
		return err
	}
	out := n.outTensor(0, x.dtype())
	out.Shape = slices.Clone(s)
	if _, err := im.emit(n, "", ir.OpReshape, nil, []*ir.Tensor{soft}, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out})
	return nil
}

// opReduce imports ReduceMean / ReduceMax. On a stored-NHWC image the axes
// are remapped; when dropping axes would leave the kept ones in another
// order than ONNX's, the reduction runs on the ONNX-order tensor instead.
func opReduce(op ir.Op) handler {
	return func(im *importer, n *node) error {
		if err := n.need(1, 2); err != nil {
			return err
		}
		if err := n.noRawQuant(); err != nil {
			return err
		}
		x := n.in[0]
		r := x.rank()
		var axes []int64
		var err error
		if im.opset < 18 {
			axes, err = n.a.ints("axes")
		} else if n.has(1) {
			axes, err = constInts(n.in[1], "the axes input")
		}
		if err != nil {
			return err
		}
		keep, err := n.a.int("keepdims", 1)
		if err != nil {
			return err
		}
		noop, err := n.a.int("noop_with_empty_axes", 0)
		if err != nil {
			return err
		}
		if len(axes) == 0 && noop != 0 {
			im.set(n, 0, x)
			return nil
		}
		red := make([]bool, r)
		for _, a := range axes {
			k, err := normAxis(int(a), r)
			if err != nil {
				return err
			}
			red[k] = true
		}
		if len(axes) == 0 {
			for i := range red {
				red[i] = true
			}
		}
		tx, perm := x.t, x.perm
		if perm && keep == 0 {
			// kept ONNX axes, listed in stored order, must be ascending
			last := -1
			for _, a := range onnxfmt.ToNHWC {
				if !red[a] {
					if a < last {
						perm = false
					}
					last = a
				}
			}
			if !perm {
				if tx, err = im.nchw(n, x); err != nil {
					return err
				}
			}
		}
		var irAxes []int
		for a := range red {
			if red[a] {
				if perm {
					irAxes = append(irAxes, storedAxis(a))
				} else {
					irAxes = append(irAxes, a)
				}
			}
		}
		slices.Sort(irAxes)
		out := n.outTensor(0, x.dtype())
		if _, err := im.emit(n, "", op, &ir.ReduceAttrs{Axes: irAxes, KeepDims: keep != 0}, []*ir.Tensor{tx}, out); err != nil {
			return err
		}
		im.set(n, 0, value{t: out, perm: perm && keep != 0})
		return nil
	}
}

// opArgMax imports ArgMax (opsets 1 to 13: axis, keepdims,
// select_last_index; int64 indices). On a stored-NHWC image the axis is
// remapped; dropping it keeps ONNX's order of the other axes only for the
// channel axis, so another dropped axis reduces the ONNX-order tensor.
// Integer inputs are fine as they are: ONNX compares stored integers, and so
// does the ir's kernel on a quantized tensor (one positive scale keeps the
// order of the real values).
func opArgMax(im *importer, n *node) error {
	if err := n.need(1, 1); err != nil {
		return err
	}
	x := n.in[0]
	if x.rank() == 0 {
		return fmt.Errorf("argmax of a scalar")
	}
	ax64, err := n.a.int("axis", 0)
	if err != nil {
		return err
	}
	keep, err := n.a.int("keepdims", 1)
	if err != nil {
		return err
	}
	last, err := n.a.int("select_last_index", 0)
	if err != nil {
		return err
	}
	axis, err := normAxis(int(ax64), x.rank())
	if err != nil {
		return err
	}
	tx, perm := x.t, x.perm
	if perm && keep == 0 && axis != 1 {
		if tx, err = im.nchw(n, x); err != nil {
			return err
		}
		perm = false
	}
	if perm {
		axis = storedAxis(axis)
	}
	out := n.outTensor(0, ir.Int64)
	a := &ir.ArgMaxAttrs{Axis: axis, KeepDims: keep != 0, SelectLastIndex: last != 0, OutputType: ir.Int64}
	if _, err := im.emit(n, "", ir.OpArgMax, a, []*ir.Tensor{tx}, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out, perm: perm && keep != 0})
	return nil
}
