package ir

import (
	"fmt"
	"math"
)

// ResizeMode is how Resize interpolates.
type ResizeMode uint8

// Resize modes.
const (
	ResizeLinear  ResizeMode = iota // bilinear over H and W
	ResizeNearest                   // the nearest source pixel, chosen by NearestMode
)

var resizeModeNames = [...]string{"linear", "nearest"}

func (m ResizeMode) String() string {
	if int(m) < len(resizeModeNames) {
		return resizeModeNames[m]
	}
	return fmt.Sprintf("resizemode(%d)", uint8(m))
}

// CoordMode maps an output coordinate to a source coordinate (ONNX
// Resize's coordinate_transformation_mode; TFLite's align_corners and
// half_pixel_centers are two of them). With in and out the input and output
// sizes of one axis and s = in/out:
//
//	CoordHalfPixel        (x+0.5)*s - 0.5      TFLite half_pixel_centers (bilinear)
//	CoordAlignCorners     x*(in-1)/(out-1)     TFLite align_corners (x*s when out is 1)
//	CoordAsymmetric       x*s                  TFLite's default
//	CoordPytorchHalfPixel (x+0.5)*s - 0.5, 0 when out is 1
//	CoordTFHalfPixelForNN (x+0.5)*s            TFLite half_pixel_centers (nearest)
type CoordMode uint8

// Coordinate transformation modes.
const (
	CoordHalfPixel CoordMode = iota
	CoordAlignCorners
	CoordAsymmetric
	CoordPytorchHalfPixel
	CoordTFHalfPixelForNN
)

var coordModeNames = [...]string{"half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel", "tf_half_pixel_for_nn"}

func (m CoordMode) String() string {
	if int(m) < len(coordModeNames) {
		return coordModeNames[m]
	}
	return fmt.Sprintf("coordmode(%d)", uint8(m))
}

// CoordModeByName is the mode ONNX's coordinate_transformation_mode names.
func CoordModeByName(s string) (CoordMode, bool) {
	for i, n := range coordModeNames {
		if n == s {
			return CoordMode(i), true
		}
	}
	return 0, false
}

// NearestMode rounds a source coordinate to a pixel (ONNX Resize's
// nearest_mode).
type NearestMode uint8

// Nearest rounding modes. TFLite's RESIZE_NEAREST_NEIGHBOR floors, or rounds
// half away from zero (RoundPreferCeil on the non-negative coordinates)
// with align_corners.
const (
	NearestRoundPreferFloor NearestMode = iota
	NearestRoundPreferCeil
	NearestFloor
	NearestCeil
)

var nearestModeNames = [...]string{"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}

func (m NearestMode) String() string {
	if int(m) < len(nearestModeNames) {
		return nearestModeNames[m]
	}
	return fmt.Sprintf("nearestmode(%d)", uint8(m))
}

// NearestModeByName is the mode ONNX's nearest_mode names.
func NearestModeByName(s string) (NearestMode, bool) {
	for i, n := range nearestModeNames {
		if n == s {
			return NearestMode(i), true
		}
	}
	return 0, false
}

// ResizeAttrs are Resize's attributes: an NHWC input resized over H and W
// to Size ([h, w]); N and C are kept. Nearest is read only in ResizeNearest.
// ONNXCoords computes source coordinates in float32 as ONNX Runtime does
// (ResizeSourceONNX: divided by out/in) instead of as TFLite does
// (ResizeSource: multiplied by in/out); the two differ in the last bit,
// which decides nearest-neighbour ties.
type ResizeAttrs struct {
	Size       [2]int
	Mode       ResizeMode
	Coord      CoordMode
	Nearest    NearestMode
	ONNXCoords bool
}

func (*ResizeAttrs) isAttrs() {}

func inferResize(n *Node) error {
	a := n.Attrs.(*ResizeAttrs)
	x := n.Inputs[0]
	if x.Rank() != 4 {
		return n.Errorf("input %q has rank %d, want 4 (NHWC)", x.Name, x.Rank())
	}
	if a.Size[0] < 1 || a.Size[1] < 1 {
		return n.Errorf("output size %v must be >= 1", a.Size)
	}
	if a.Mode > ResizeNearest || a.Coord > CoordTFHalfPixelForNN || a.Nearest > NearestCeil {
		return n.Errorf("mode %v, coordinate mode %v, nearest mode %v: unknown", a.Mode, a.Coord, a.Nearest)
	}
	setOut(n, []int{x.Shape[0], a.Size[0], a.Size[1], x.Shape[3]})
	return nil
}

// ResizeScale is the float32 factor TFLite multiplies an output coordinate
// by on an axis resized from in to out: in/out, or (in-1)/(out-1) for
// CoordAlignCorners when out > 1.
func ResizeScale(c CoordMode, in, out int) float32 {
	if c == CoordAlignCorners && out > 1 {
		return float32(in-1) / float32(out-1)
	}
	return float32(in) / float32(out)
}

// ResizeSource is the source coordinate of output coordinate x on an axis
// resized from in to out with scale s = ResizeScale(c, in, out), computed
// in float32 as TFLite does.
func ResizeSource(c CoordMode, x int, s float32, out int) float32 {
	v := float32(x)
	switch c {
	case CoordHalfPixel:
		return float32((v+0.5)*s) - 0.5
	case CoordPytorchHalfPixel:
		if out <= 1 {
			return 0
		}
		return float32((v+0.5)*s) - 0.5
	case CoordTFHalfPixelForNN:
		return float32((v + 0.5) * s)
	}
	return float32(v * s)
}

// ResizeSourceONNX is the source coordinate of output coordinate x on an
// axis resized from in to out as ONNX Runtime computes it in float32, with
// scale = out/in: (x+0.5)/scale - 0.5, x/scale, (x+0.5)/scale, and
// x*(in-1)/(out-1) for align_corners (0 when out is 1). A linear resize
// clamps it to [0, in-1] (ResizeLinearTaps does the same in effect).
func ResizeSourceONNX(c CoordMode, x, in, out int) float32 {
	v, scale := float32(x), float32(out)/float32(in)
	switch c {
	case CoordHalfPixel:
		return float32((v+0.5)/scale) - 0.5
	case CoordPytorchHalfPixel:
		if out <= 1 {
			return 0
		}
		return float32((v+0.5)/scale) - 0.5
	case CoordTFHalfPixelForNN:
		return float32((v + 0.5) / scale)
	case CoordAlignCorners:
		if out == 1 {
			return 0
		}
		return float32(v*float32(in-1)) / float32(out-1)
	}
	return float32(v / scale)
}

// Source is the source coordinate of output coordinate x on an axis resized
// from in to out: ResizeSourceONNX with ONNXCoords, else ResizeSource.
func (a *ResizeAttrs) Source(x, in, out int) float32 {
	if a.ONNXCoords {
		return ResizeSourceONNX(a.Coord, x, in, out)
	}
	return ResizeSource(a.Coord, x, ResizeScale(a.Coord, in, out), out)
}

// ResizeNearestIndex rounds source coordinate src to a pixel index in
// [0, in).
func ResizeNearestIndex(m NearestMode, src float32, in int) int {
	f := float64(src)
	var i float64
	switch m {
	case NearestRoundPreferFloor:
		if f-math.Floor(f) == 0.5 {
			i = math.Floor(f)
		} else {
			i = math.Round(f)
		}
	case NearestRoundPreferCeil:
		if f-math.Floor(f) == 0.5 {
			i = math.Ceil(f)
		} else {
			i = math.Round(f)
		}
	case NearestFloor:
		i = math.Floor(f)
	case NearestCeil:
		i = math.Ceil(f)
	}
	return min(max(int(i), 0), in-1)
}

// ResizeLinearTaps are the two source pixels of src on an axis of size in
// and the weight of the upper one, as TFLite's reference bilinear kernel
// takes them: lo = max(floor(src), 0), hi = min(ceil(src), in-1),
// frac = src - lo.
func ResizeLinearTaps(src float32, in int) (lo, hi int, frac float32) {
	lo = max(int(math.Floor(float64(src))), 0)
	hi = min(int(math.Ceil(float64(src))), in-1)
	// A coordinate past the last pixel clamps both taps there.
	lo = min(lo, in-1)
	return lo, hi, src - float32(lo)
}
