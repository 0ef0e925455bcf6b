package onnx

import (
	"fmt"
	"math"

	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"github.com/mnconv/mnconv/ir"
)

func init() {
	handle(map[string]handler{
		"Resize":   opResize,
		"Upsample": opResize, // opset 7-9: scales only
	})
}

// opResize imports Resize (opsets 10+) and Upsample (opsets 7-9) of a
// rank-4 NCHW image over H and W: -> Resize on the NHWC image.
//
// Output size: the sizes input where given, else floor(in * scale) from
// scales (input or, for Upsample-7, attribute). Scales must give whole
// sizes (in * scale integral), because the IR derives the coordinate scale
// from the sizes as TFLite does; N and C must keep their sizes. Opset 10
// Resize and Upsample use asymmetric coordinates and truncate for nearest
// (ONNX Runtime's "simple" rounding, which only upsampling has); from
// opset 11 coordinate_transformation_mode and nearest_mode apply.
// Refused: cubic, tf_crop_and_resize, half_pixel_symmetric, antialias,
// keep_aspect_ratio_policy other than stretch, axes other than all or
// [2, 3].
func opResize(im *importer, n *node) error {
	upsample := n.p.GetOpType() == "Upsample"
	if err := n.need(1, 4); err != nil {
		return err
	}
	x := n.in[0]
	if x.rank() != 4 {
		return fmt.Errorf("input has rank %d; only 4-D NCHW images are resized", x.rank())
	}
	xs := x.shape()
	a := &ir.ResizeAttrs{Coord: ir.CoordHalfPixel, Nearest: ir.NearestRoundPreferFloor, ONNXCoords: true}
	mode, err := n.a.str("mode", "nearest")
	if err != nil {
		return err
	}
	m, ok := onnxfmt.ResizeMode(mode)
	if !ok {
		return fmt.Errorf("mode %q is not supported (linear, nearest)", mode)
	}
	a.Mode = m
	legacy := upsample || im.opset < 11
	if legacy {
		a.Coord, a.Nearest = ir.CoordAsymmetric, ir.NearestFloor
	} else {
		cm, err := n.a.str("coordinate_transformation_mode", "half_pixel")
		if err != nil {
			return err
		}
		if a.Coord, ok = ir.CoordModeByName(cm); !ok {
			return fmt.Errorf("coordinate_transformation_mode %q is not supported", cm)
		}
		nm, err := n.a.str("nearest_mode", "round_prefer_floor")
		if err != nil {
			return err
		}
		if a.Nearest, ok = ir.NearestModeByName(nm); !ok {
			return fmt.Errorf("nearest_mode %q is not supported", nm)
		}
		if aa, err := n.a.int("antialias", 0); err != nil || aa != 0 {
			return fmtErr(err, "antialias is not supported")
		}
		if p, err := n.a.str("keep_aspect_ratio_policy", "stretch"); err != nil || p != "stretch" {
			return fmtErr(err, fmt.Sprintf("keep_aspect_ratio_policy %q is not supported (stretch only)", p))
		}
		if axes, err := n.a.ints("axes"); err != nil {
			return err
		} else if len(axes) != 0 && fmt.Sprint(axes) != "[2 3]" && fmt.Sprint(axes) != "[0 1 2 3]" {
			return fmt.Errorf("axes %v are not supported (all, or [2 3])", axes)
		}
	}
	// Where the sizes and scales come from.
	var sizes []int64
	var scales []float64
	switch {
	case upsample && n.a.has("scales"):
		f, err := n.a.floats("scales")
		if err != nil {
			return err
		}
		for _, v := range f {
			scales = append(scales, float64(v))
		}
	case upsample || im.opset < 11:
		if err := n.need(2, 2); err != nil {
			return err
		}
		if scales, err = constScales(n.in[1]); err != nil {
			return err
		}
	default:
		if n.has(3) {
			if sizes, err = constInts(n.in[3], "sizes"); err != nil {
				return err
			}
		} else if n.has(2) {
			if scales, err = constScales(n.in[2]); err != nil {
				return err
			}
		}
		if len(sizes) == 0 && len(scales) == 0 {
			return fmt.Errorf("has neither scales nor sizes")
		}
	}
	if len(sizes) == 2 || len(scales) == 2 {
		// axes [2, 3]
		sizes = append([]int64{int64(xs[0]), int64(xs[1])}, sizes...)
		if len(scales) == 2 {
			scales = append([]float64{1, 1}, scales...)
		}
	}
	if len(sizes) == 0 {
		if len(scales) != 4 {
			return fmt.Errorf("scales %v, want 4 entries", scales)
		}
		for i, s := range scales {
			out := math.Floor(float64(xs[i]) * s)
			if !(s > 0) || float64(xs[i])*s != out {
				return fmt.Errorf("scale %g of axis %d (size %d) does not give a whole size; only scales that do are supported", s, i, xs[i])
			}
			sizes = append(sizes, int64(out))
		}
	}
	if len(sizes) != 4 {
		return fmt.Errorf("sizes %v, want 4 entries", sizes)
	}
	if sizes[0] != int64(xs[0]) || sizes[1] != int64(xs[1]) {
		return fmt.Errorf("resizes N or C (%v -> %v); only H and W are resized", xs, sizes)
	}
	if sizes[2] < 1 || sizes[3] < 1 || sizes[2] > 1<<20 || sizes[3] > 1<<20 {
		return fmt.Errorf("output size %v out of range", sizes[2:])
	}
	a.Size = [2]int{int(sizes[2]), int(sizes[3])}
	if legacy && a.Mode == ir.ResizeNearest && (a.Size[0] < xs[2] || a.Size[1] < xs[3]) {
		return fmt.Errorf("nearest downsampling before opset 11 (ONNX Runtime's ceil rounding) is not supported")
	}
	tx, err := im.nhwc(n, x)
	if err != nil {
		return err
	}
	out := n.outTensor(0, x.dtype())
	out.Quant = tx.Quant.Clone()
	if _, err := im.emit(n, "", ir.OpResize, a, []*ir.Tensor{tx}, out); err != nil {
		return err
	}
	im.set(n, 0, value{t: out, perm: true})
	return nil
}

func fmtErr(err error, msg string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%s", msg)
}

// constScales reads a constant float scales input.
func constScales(v value) ([]float64, error) {
	if !v.isConst() {
		return nil, fmt.Errorf("scales must be a constant (mnconv's shapes are static)")
	}
	if v.dtype() != ir.Float32 {
		return nil, fmt.Errorf("scales have element type %v, want float", v.dtype())
	}
	out := make([]float64, v.t.Len())
	for i := range out {
		out[i] = constFloat(v.t, i)
	}
	return out, nil
}
