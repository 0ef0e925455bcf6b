package tflite

import (
	flatbuffers "github.com/google/flatbuffers/go"

	tfl "github.com/mnconv/mnconv/format/tflite"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/ir"
)

// resize writes Resize as RESIZE_BILINEAR or RESIZE_NEAREST_NEIGHBOR with
// a constant int32 size [h, w] (tfl.ResizeOp picks the builtin and flags).
// Versions: 3 with half_pixel_centers (and nearest align_corners), 2 for
// int8, else 1.
func (w *writer) resize(n *ir.Node) error {
	a := n.Attrs.(*ir.ResizeAttrs)
	code, align, half, ok := tfl.ResizeOp(*a)
	if !ok {
		return n.Errorf("%v resize with coordinate mode %v (nearest %v) has no TFLite equivalent", a.Mode, a.Coord, a.Nearest)
	}
	x, y := n.In(0), n.Out()
	if isQuantized(n) && !sameQuant(x, y) {
		return n.Errorf("quantized Resize changes the quantization; TFLite's resize kernels keep it")
	}
	xt, err := w.tensor(x)
	if err != nil {
		return err
	}
	size, err := w.int32Const(y.Name+"/size", []int{2}, a.Size[:])
	if err != nil {
		return err
	}
	yt, err := w.tensor(y)
	if err != nil {
		return err
	}
	version := int8Version(x, 2)
	if half || (align && code == fb.BuiltinOperatorRESIZE_NEAREST_NEIGHBOR) {
		version = 3
	}
	op := &fop{code: code, version: version, inputs: []*ftensor{xt, size}, outputs: []*ftensor{yt}}
	if code == fb.BuiltinOperatorRESIZE_BILINEAR {
		op.optType = fb.BuiltinOptionsResizeBilinearOptions
		op.options = func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
			fb.ResizeBilinearOptionsStart(b)
			fb.ResizeBilinearOptionsAddAlignCorners(b, align)
			fb.ResizeBilinearOptionsAddHalfPixelCenters(b, half)
			return fb.ResizeBilinearOptionsEnd(b)
		}
	} else {
		op.optType = fb.BuiltinOptionsResizeNearestNeighborOptions
		op.options = func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
			fb.ResizeNearestNeighborOptionsStart(b)
			fb.ResizeNearestNeighborOptionsAddAlignCorners(b, align)
			fb.ResizeNearestNeighborOptionsAddHalfPixelCenters(b, half)
			return fb.ResizeNearestNeighborOptionsEnd(b)
		}
	}
	w.emit(op)
	return nil
}

// requantizeConcatInputs: TFLite's int8 CONCATENATION needs every input
// quantized as the output (its uint8 kernel rescales, the int8 one refuses
// other parameters), so an int8 input with other parameters goes through a
// QUANTIZE (TFLite's fixed-point Requantize) to the output's first.
func (w *writer) requantizeConcatInputs(n *ir.Node, ins []*ftensor) ([]*ftensor, error) {
	y := n.Out()
	if y.DType != ir.Int8 || y.Quant == nil {
		return ins, nil
	}
	for i, x := range n.Inputs {
		if sameQuant(x, y) {
			continue
		}
		rq, err := w.activation(x.Name+"/requantized", y, x.Shape)
		if err != nil {
			return nil, err
		}
		w.emit(&fop{code: fb.BuiltinOperatorQUANTIZE, version: 2, inputs: []*ftensor{ins[i]}, outputs: []*ftensor{rq}})
		ins[i] = rq
	}
	return ins, nil
}
