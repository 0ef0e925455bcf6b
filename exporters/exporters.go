// Package exporters picks the writer for an output path, mirroring package
// importers: each format registers its name and extensions, and ForPath
// dispatches on the extension (or a name given with --to).
//
// Phase: export. Writers turn ir graphs into bytes; they never read files
// and never write them (callers write through internal/atomicfile).
package exporters

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mnconv/mnconv/ir"
)

// Options tune an export.
type Options struct {
	// Warn receives non-fatal notes; nil discards them.
	Warn func(msg string)
}

// Format is a registered output format.
type Format struct {
	Name   string
	Exts   []string // lower-case, with the dot
	Export func(g *ir.Graph, opts Options) ([]byte, error)
}

var formats []Format

// Register adds a format.
func Register(f Format) { formats = append(formats, f) }

// Formats lists the registered formats.
func Formats() []Format { return formats }

// ByName finds a format by name ("onnx", "tflite").
func ByName(name string) (*Format, error) {
	for i := range formats {
		if strings.EqualFold(formats[i].Name, name) {
			return &formats[i], nil
		}
	}
	return nil, fmt.Errorf("unknown output format %q (have %s)", name, names())
}

// ForPath finds the format for an output path by its extension.
func ForPath(path string) (*Format, error) {
	ext := strings.ToLower(filepath.Ext(path))
	for i := range formats {
		for _, e := range formats[i].Exts {
			if e == ext {
				return &formats[i], nil
			}
		}
	}
	return nil, fmt.Errorf("%s: no exporter for extension %q (have %s)", path, ext, names())
}

func names() string {
	var s []string
	for _, f := range formats {
		s = append(s, f.Name)
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
