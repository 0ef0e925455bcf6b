package onnx

import (
	"fmt"
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"math"

	"github.com/mnconv/mnconv/ir"
)

// elementwise ops: those below and onnxfmt.UnaryOps, onnxfmt.BinaryOps
func init() {
	handle(map[string]handler{
		"HardSigmoid": opHardSigmoid,
		"Clip":        opClip,
	})
	for t, op := range onnxfmt.UnaryOps {
		handle(map[string]handler{t: opUnary(op)})
	}
	for t, op := range onnxfmt.BinaryOps {
		handle(map[string]handler{t: opBinary(op)})
	}
}

func opUnary(op ir.Op) handler {
	return func(im *importer, n *node) error {
		if err := n.need(1, 1); err != nil {
			return err
		}
		return im.unary(n, op, nil)
	}
}

// unary emits a layout-transparent elementwise op: the output keeps the
// input's storage.
func (im *importer) unary(n *node, op ir.Op, a ir.Attrs) error {
	if err := n.noRawQuant(); err != nil {
		return err
	}
	x := n.in[0]
	out := n.outTensor(0, x.dtype())
	if _, err := im.emit(n, "", op, a, []*ir.Tensor{x.t}, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out, perm: x.perm})
	return nil
}

func opHardSigmoid(im *importer, n *node) error {
	if err := n.need(1, 1); err != nil {
		return err
	}
	alpha, err := n.a.float("alpha", 0.2)
	if err != nil {
		return err
	}
	beta, err := n.a.float("beta", 0.5)
	if err != nil {
		return err
	}
	return im.unary(n, ir.OpHardSigmoid, &ir.HardSigmoidAttrs{Alpha: alpha, Beta: beta})
}

// opClip reads its bounds from attributes before opset 11 and from
// optional constant inputs after.
func opClip(im *importer, n *node) error {
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if im.opset < 11 {
		if err := n.need(1, 1); err != nil {
			return err
		}
		var err error
		if lo, err = n.a.float("min", lo); err != nil {
			return err
		}
		if hi, err = n.a.float("max", hi); err != nil {
			return err
		}
	} else {
		if err := n.need(1, 3); err != nil {
			return err
		}
		for i, b := range []*float32{&lo, &hi} {
			if !n.has(i + 1) {
				continue
			}
			c := n.in[i+1]
			if !c.isConst() || c.t.Len() != 1 {
				return fmt.Errorf("bound input %d must be a constant scalar (mnconv's Clip has static bounds)", i+1)
			}
			*b = float32(constFloat(c.t, 0))
		}
	}
	return im.unary(n, ir.OpClip, &ir.ClipAttrs{Min: lo, Max: hi})
}

func opBinary(op ir.Op) handler {
	return func(im *importer, n *node) error {
		variadic := op == ir.OpMax || op == ir.OpMin
		if variadic {
			if err := n.need(max(len(n.in), 1), MaxNodeInputs); err != nil {
				return err
			}
		} else if err := n.need(2, 2); err != nil {
			return err
		}
		if len(n.in) == 1 {
			im.set(n, 0, n.in[0])
			return nil
		}
		if im.opset < 7 && n.a.has("axis") {
			// Before opset 7 broadcasting was opt-in, optionally along an
			// axis; the numpy rule that replaced it covers trailing-aligned
			// operands, the only kind accepted here.
			ax, err := n.a.int("axis", 0)
			if err != nil {
				return err
			}
			if len(n.in) != 2 || ax != int64(n.in[0].rank()-n.in[1].rank()) {
				return fmt.Errorf("legacy broadcast along axis %d is not supported", ax)
			}
		}
		if err := n.noRawQuant(); err != nil {
			return err
		}
		for _, v := range n.in[1:] {
			if v.dtype() != n.in[0].dtype() {
				return fmt.Errorf("inputs have different element types %v and %v", n.in[0].dtype(), v.dtype())
			}
		}
		acc := n.in[0]
		for i := 1; i < len(n.in); i++ {
			b := n.in[i]
			last := i == len(n.in)-1
			var err error
			if acc.isConst() && b.isConst() {
				name := n.p.Output[0]
				if !last {
					name = im.uniqueName(name + "_part")
				}
				var c *ir.Tensor
				if c, err = im.foldBinary(op, acc.t, b.t, name); err == nil {
					acc = value{t: c}
				}
			} else {
				var out *ir.Tensor
				if last {
					out = n.outTensor(0, acc.dtype())
				} else {
					out = im.tmp(n.p.Output[0]+"_part", acc.dtype(), nil)
				}
				acc, err = im.binary(n, "", op, nil, acc, b, out)
			}
			if err != nil {
				return err
			}
		}
		im.set(n, 0, acc)
		return nil
	}
}

// binary emits an elementwise broadcasting op. When one operand is a
// permuted image, the other is brought to the same NHWC storage: constants
// are reshaped and re-laid-out at import (a per-channel [C,1,1] becomes
// [1,1,1,C]), others get a Reshape or Transpose. Operands that cannot be
// aligned that way make the op run in ONNX order instead.
func (im *importer) binary(n *node, suffix string, op ir.Op, a ir.Attrs, x, y value, out *ir.Tensor) (value, error) {
	lx, ly := x.shape(), y.shape()
	lout, err := ir.BroadcastShapes(lx, ly)
	if err != nil {
		return value{}, err
	}
	if a == nil {
		a = &ir.BinaryAttrs{}
	}
	var tx, ty *ir.Tensor
	perm := false
	if (x.perm || y.perm) && len(lout) == 4 {
		if tx, err = im.alignNHWC(n, x); err != nil {
			return value{}, err
		}
		if ty, err = im.alignNHWC(n, y); err != nil {
			return value{}, err
		}
		perm = tx != nil && ty != nil
	}
	if !perm {
		if tx, err = im.nchw(n, x); err != nil {
			return value{}, err
		}
		if ty, err = im.nchw(n, y); err != nil {
			return value{}, err
		}
	}
	if _, err := im.emit(n, suffix, op, a, []*ir.Tensor{tx, ty}, out); err != nil {
		return value{}, err
	}
	return value{t: out, perm: perm}, nil
}

// alignNHWC returns operand v stored so that it broadcasts against NHWC
// images, or nil when that needs more than a constant re-layout, a Reshape
// or a Transpose.
func (im *importer) alignNHWC(n *node, v value) (*ir.Tensor, error) {
	switch {
	case v.perm:
		return v.t, nil
	case v.rank() == 0:
		return v.t, nil
	case v.isConst():
		return im.nhwcConst(v.t)
	case v.rank() == 4:
		return im.nhwc(n, v)
	}
	view := make([]int, 4-v.rank(), 4)
	for i := range view {
		view[i] = 1
	}
	view = append(view, v.t.Shape...)
	if !onnxfmt.OrderKept(view) {
		return nil, nil
	}
	if t := im.nhwcOf[v.t]; t != nil {
		return t, nil
	}
	out := im.tmp(v.t.Name+"_nhwc", v.t.DType, movedQuant(v.t.Quant, onnxfmt.ToNHWC, 4-v.rank()))
	out.Shape = onnxfmt.Permute(view, onnxfmt.ToNHWC)
	if _, err := im.emit(n, "to_nhwc", ir.OpReshape, nil, []*ir.Tensor{v.t}, out); err != nil {
		return nil, err
	}
	im.nhwcOf[v.t] = out
	return out, nil
}
