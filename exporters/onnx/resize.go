package onnx

import (
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/ir"
)

// resize writes Resize (opset 13: roi and scales left out) on the NCHW
// image with the output sizes [N, C, H, W] as an int64 input and the
// attributes spelled as ONNX spells them.
func (w *writer) resize(n *ir.Node) error {
	a := n.Attrs.(*ir.ResizeAttrs)
	x, y := n.In(0), n.Out()
	xs, err := w.read(x, true)
	if err != nil {
		return err
	}
	sizes, err := w.int64s(w.tname[y]+"_sizes", []int{x.Shape[0], x.Shape[3], a.Size[0], a.Size[1]})
	if err != nil {
		return err
	}
	attrs := []*pb.AttributeProto{
		stringAttr("mode", onnxfmt.ResizeModes[a.Mode]),
		stringAttr("coordinate_transformation_mode", a.Coord.String()),
	}
	if a.Mode == ir.ResizeNearest {
		attrs = append(attrs, stringAttr("nearest_mode", a.Nearest.String()))
	}
	w.node("Resize", n.Name, []string{xs, "", "", sizes}, []string{w.out(y, true)}, attrs...)
	return nil
}
