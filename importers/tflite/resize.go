package tflite

import (
	tfl "github.com/mnconv/mnconv/format/tflite"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/ir"
)

// convertResize: RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR (x, size) ->
// Resize with Size from the constant int32 size [new_h, new_w].
func convertResize(c *opCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	x, err := c.need(0)
	if err != nil {
		return err
	}
	if err := rank4(c, x); err != nil {
		return err
	}
	size, _, err := c.constInts(1)
	if err != nil {
		return err
	}
	if len(size) != 2 || size[0] < 1 || size[1] < 1 {
		return c.errorf("size %v, want two positive entries [height, width]", size)
	}
	y, err := c.out()
	if err != nil {
		return err
	}
	var align, half bool
	if c.code.code == fb.BuiltinOperatorRESIZE_BILINEAR {
		var o fb.ResizeBilinearOptions
		if err := c.options(fb.BuiltinOptionsResizeBilinearOptions, &o); err != nil {
			return err
		}
		align, half = o.AlignCorners(), o.HalfPixelCenters()
	} else {
		var o fb.ResizeNearestNeighborOptions
		if err := c.options(fb.BuiltinOptionsResizeNearestNeighborOptions, &o); err != nil {
			return err
		}
		align, half = o.AlignCorners(), o.HalfPixelCenters()
	}
	a, ok := tfl.ResizeAttrs(c.code.code, align, half)
	if !ok {
		return c.errorf("align_corners and half_pixel_centers are both set")
	}
	a.Size = [2]int{size[0], size[1]}
	c.emit(ir.OpResize, []*ir.Tensor{x}, y, &a)
	return nil
}
