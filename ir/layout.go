package ir

import (
	"fmt"
	"strings"
)

// Layout is the dimension order of a 4-D image tensor at a model's
// interface. Inside the ir every image tensor is NHWC; a Layout records what
// a source format declared, or what an exporter is asked to write.
type Layout uint8

// Layouts. LayoutUnspecified is the zero value: on a graph input or output it
// means the tensor is stored as the source had it; in exporter options it
// means "as the source declared" (Graph.InputLayouts).
const (
	LayoutUnspecified Layout = iota
	NHWC
	NCHW
)

var layoutNames = [...]string{"", "NHWC", "NCHW"}

// String is "NHWC", "NCHW" or "" for LayoutUnspecified.
func (l Layout) String() string {
	if int(l) < len(layoutNames) {
		return layoutNames[l]
	}
	return fmt.Sprintf("layout(%d)", uint8(l))
}

// ParseLayout reads a layout name, case-insensitively; "" is
// LayoutUnspecified.
func ParseLayout(s string) (Layout, error) {
	switch strings.ToUpper(s) {
	case "":
		return LayoutUnspecified, nil
	case "NHWC":
		return NHWC, nil
	case "NCHW":
		return NCHW, nil
	}
	return LayoutUnspecified, fmt.Errorf("layout %q: want NCHW, NHWC or empty", s)
}
