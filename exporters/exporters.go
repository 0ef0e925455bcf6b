// Package exporters picks the exporter for an output path, as importers picks
// the importer for an input file: each format registers its name, file
// extensions and Export function, and ForPath dispatches on the extension.
//
// Phase: export. Exporters turn an ir graph into the bytes of a model file;
// they never change the graph and write no files themselves (callers write
// the bytes with internal/atomicfile). The format packages (exporters/onnx,
// exporters/tflite) register themselves in init, so a program imports them
// for their side effect.
package exporters

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mnconv/mnconv/ir"
)

// Options tune an export.
type Options struct {
	// InputLayout overrides the layout of image inputs where the format has
	// a choice: ir.NCHW, ir.NHWC, or ir.LayoutUnspecified for what the source
	// declared (ir.Graph.InputLayouts). TFLite is NHWC only and refuses NCHW.
	InputLayout ir.Layout
	// Warn receives non-fatal findings (something written in a form that may
	// compute slightly differently, a name changed); nil discards them.
	Warn func(msg string)
	// PadMode says how a window op's pads that the format's SAME cannot
	// express (Keras' ZeroPadding2D before a stride-2 convolution pads top
	// and left) are written where the format has a choice (TFLite).
	PadMode PadMode
	// QOperator writes a quantized graph to ONNX in QOperator form
	// (QLinearConv, com.microsoft QGemm / QLinearAdd / ...) instead of QDQ
	// (convert --onnx-format qoperator); other formats ignore it.
	QOperator bool
}

// PadMode is how pads that SAME cannot express are written.
type PadMode int

const (
	// PadExplicit writes an explicit PAD op, then the op with VALID
	// padding: what TFLite's own converter writes. The default.
	PadExplicit PadMode = iota
	// PadGrow grows a convolution's kernel by zero taps until SAME expresses
	// the pads (a 3x3 stride-2 kernel padded top-left becomes a 4x4 one with
	// a zero last row and column): no PAD op, but 16/9 of those layers'
	// multiply-adds and no 3x3 fast path. Convolutions that no small growth
	// fits, and pools, still get a PAD.
	PadGrow
)

// ParsePadMode reads a PadMode by name: "pad" (or "") or "grow".
func ParsePadMode(s string) (PadMode, error) {
	switch s {
	case "pad", "":
		return PadExplicit, nil
	case "grow":
		return PadGrow, nil
	}
	return 0, fmt.Errorf("pad mode %q: want pad or grow", s)
}

// String returns the name ParsePadMode reads.
func (m PadMode) String() string {
	if m == PadGrow {
		return "grow"
	}
	return "pad"
}

// Warnf sends a formatted warning to o.Warn when it is set.
func (o Options) Warnf(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, args...))
	}
}

// Format is a registered output format.
type Format struct {
	Name string
	// Exts are lower-case file extensions with the dot (".tflite").
	Exts []string
	// Export serializes a whole graph. It must not modify g.
	Export func(g *ir.Graph, opts Options) ([]byte, error)
}

var formats []Format

// Register adds a format.
func Register(f Format) { formats = append(formats, f) }

// Formats lists the registered formats.
func Formats() []Format { return formats }

// ByName finds a format by its name ("onnx", "tflite"), case-insensitively.
func ByName(name string) (*Format, error) {
	var known []string
	for i := range formats {
		if strings.EqualFold(formats[i].Name, name) {
			return &formats[i], nil
		}
		known = append(known, formats[i].Name)
	}
	return nil, fmt.Errorf("unknown output format %q (known: %s)", name, strings.Join(known, ", "))
}

// ForPath finds the format that path's extension names.
func ForPath(path string) (*Format, error) {
	ext := strings.ToLower(filepath.Ext(path))
	for i := range formats {
		for _, e := range formats[i].Exts {
			if e == ext {
				return &formats[i], nil
			}
		}
	}
	var known []string
	for _, f := range formats {
		known = append(known, f.Exts...)
	}
	if len(known) == 0 {
		return nil, fmt.Errorf("%s: no exporter is registered (import exporters/onnx or exporters/tflite)", path)
	}
	return nil, fmt.Errorf("%s: no exporter for extension %q (known: %s)", path, ext, strings.Join(known, ", "))
}
