package onnx

import "github.com/mnconv/mnconv/ir"

// ResizeModes names the IR's resize modes as Resize's mode attribute spells
// them ("cubic" has no IR equivalent). The coordinate transformation and
// nearest modes are spelled as ir.CoordMode and ir.NearestMode print
// (ir.CoordModeByName, ir.NearestModeByName).
var ResizeModes = map[ir.ResizeMode]string{ir.ResizeLinear: "linear", ir.ResizeNearest: "nearest"}

// ResizeMode is the IR resize mode Resize's mode attribute names.
func ResizeMode(name string) (ir.ResizeMode, bool) {
	for m, s := range ResizeModes {
		if s == name {
			return m, true
		}
	}
	return 0, false
}
