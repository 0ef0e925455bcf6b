package tflite

import (
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/ir"
)

// ResizeAttrs is the IR resize of RESIZE_BILINEAR (linear) or
// RESIZE_NEAREST_NEIGHBOR (nearest) with the options' align_corners and
// half_pixel_centers (Size left zero):
//
//	bilinear: align_corners -> CoordAlignCorners, half_pixel_centers ->
//	  CoordHalfPixel, neither -> CoordAsymmetric
//	nearest: align_corners -> CoordAlignCorners rounding half up
//	  (TfLiteRound on non-negative coordinates), half_pixel_centers ->
//	  CoordTFHalfPixelForNN flooring, neither -> CoordAsymmetric flooring
//
// Both flags set is TFLite's undefined case (its kernels assume at most
// one): ok is false.
func ResizeAttrs(code fb.BuiltinOperator, alignCorners, halfPixel bool) (a ir.ResizeAttrs, ok bool) {
	if alignCorners && halfPixel {
		return a, false
	}
	switch code {
	case fb.BuiltinOperatorRESIZE_BILINEAR:
		a.Mode, a.Coord = ir.ResizeLinear, ir.CoordAsymmetric
		if alignCorners {
			a.Coord = ir.CoordAlignCorners
		} else if halfPixel {
			a.Coord = ir.CoordHalfPixel
		}
		return a, true
	case fb.BuiltinOperatorRESIZE_NEAREST_NEIGHBOR:
		a.Mode, a.Coord, a.Nearest = ir.ResizeNearest, ir.CoordAsymmetric, ir.NearestFloor
		if alignCorners {
			a.Coord, a.Nearest = ir.CoordAlignCorners, ir.NearestRoundPreferCeil
		} else if halfPixel {
			a.Coord = ir.CoordTFHalfPixelForNN
		}
		return a, true
	}
	return a, false
}

// ResizeOp is ResizeAttrs' inverse: the builtin and its flags for an IR
// resize, ok false when TFLite has no such resize (e.g. pytorch_half_pixel,
// or nearest rounding other than the mode's own).
func ResizeOp(a ir.ResizeAttrs) (code fb.BuiltinOperator, alignCorners, halfPixel, ok bool) {
	for _, code := range []fb.BuiltinOperator{fb.BuiltinOperatorRESIZE_BILINEAR, fb.BuiltinOperatorRESIZE_NEAREST_NEIGHBOR} {
		for _, f := range [][2]bool{{false, false}, {true, false}, {false, true}} {
			b, _ := ResizeAttrs(code, f[0], f[1])
			if b.Mode == a.Mode && b.Coord == a.Coord && (a.Mode == ir.ResizeLinear || b.Nearest == a.Nearest) {
				return code, f[0], f[1], true
			}
		}
	}
	return 0, false, false, false
}
