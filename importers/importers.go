// Package importers picks the importer for a model file, as image.Decode
// picks a decoder: each format registers its name, file extensions and magic
// bytes, and Load dispatches on them.
//
// Phase: import. It reads files and returns ir graphs; it writes nothing.
// The format packages (importers/onnx, importers/tflite) register themselves
// in init, so a program imports them for their side effect.
package importers

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mnconv/mnconv/ir"
)

// Options tune an import.
type Options struct {
	// Batch fixes a symbolic batch dimension (0 means 1).
	Batch int
	// QDQSimulate keeps an ONNX QDQ model's Dequantize -> float op ->
	// Quantize regions as they are (float simulation of the integer model)
	// instead of fusing them into integer ops (convert --qdq-mode simulate).
	QDQSimulate bool
	// ShapeSignature reads a TFLite file's shape_signature: a -1 batch on
	// the graph input makes ir.Graph.SymbolicBatch "N" (as an ONNX
	// dim_param does), so that exporters write it back. Off by default:
	// TensorFlow's converter writes -1 on most files, and outputs of the
	// default conversion keep their static batch. ONNX dim_params are always
	// read.
	ShapeSignature bool
	// Warn receives non-fatal findings (quirks accepted); nil discards them.
	Warn func(msg string)
	// Lenient keeps what cannot be translated (an unsupported op, or
	// attributes or inputs of a supported one that the translation refuses)
	// as an ir.OpOpaque node with the source op's name, inputs and outputs
	// (shapes as the file declares them), instead of failing: for inspect,
	// which shows every model it can read. Such a graph has no kernels or
	// exporter for its opaque nodes. Without Lenient an import fails, and a
	// model with unsupported ops is refused with all of them named
	// (UnsupportedError).
	Lenient bool
}

// UnsupportedError is a strict import's refusal of a model whose op types
// have no translation: it names every such op, not only the first.
type UnsupportedError struct {
	Prefix string           // "tflite: file.tflite"
	Ops    []ir.OpaqueGroup // by op type, with counts
}

func (e *UnsupportedError) Error() string {
	if len(e.Ops) == 1 && e.Ops[0].Count == 1 {
		o := e.Ops[0]
		return fmt.Sprintf("%s: %s (%s): %s", e.Prefix, o.First, o.Op, o.Reason)
	}
	n := 0
	parts := make([]string, len(e.Ops))
	for i, o := range e.Ops {
		n += o.Count
		parts[i] = o.String()
	}
	return fmt.Sprintf("%s: %d unsupported ops: %s", e.Prefix, n, strings.Join(parts, ", "))
}

// Unsupported collects the untranslatable op types of a lenient import's
// graph as an UnsupportedError, nil when there are none. Importers call it
// to turn a strict import that met an unsupported op into the full list.
func Unsupported(prefix string, g *ir.Graph) error {
	e := &UnsupportedError{Prefix: prefix}
	for _, o := range g.OpaqueOps() {
		if o.Unsupported {
			e.Ops = append(e.Ops, o)
		}
	}
	if len(e.Ops) == 0 {
		return nil
	}
	return e
}

// Format is a registered model format.
type Format struct {
	Name string
	// Exts are lower-case file extensions with the dot (".onnx").
	Exts []string
	// Magic reports whether the file's first bytes look like this format.
	Magic func(head []byte) bool
	// Import parses a whole file. name is used in error messages.
	Import func(name string, data []byte, opts Options) (*ir.Graph, error)
}

var formats []Format

// Register adds a format.
func Register(f Format) { formats = append(formats, f) }

// Formats lists the registered formats.
func Formats() []Format { return formats }

// MaxFileSize bounds a model file read into memory.
const MaxFileSize = 1 << 30

// Load reads and imports a model file, choosing the format by magic bytes,
// then by extension. Errors name the file.
func Load(path string, opts Options) (*ir.Graph, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, want a model file", path)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: file is %d bytes, more than the %d-byte limit", path, st.Size(), int64(MaxFileSize))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Detect(path, data)
	if err != nil {
		return nil, err
	}
	g, err := f.Import(path, data, opts)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// Detect finds the format of data: by magic bytes first, then extension.
func Detect(path string, data []byte) (*Format, error) {
	ext := strings.ToLower(filepath.Ext(path))
	head := data[:min(len(data), 64)]
	var byExt *Format
	for i := range formats {
		f := &formats[i]
		for _, e := range f.Exts {
			if e == ext {
				byExt = f
			}
		}
	}
	for i := range formats {
		if f := &formats[i]; f.Magic != nil && f.Magic(head) {
			if byExt != nil && byExt != f {
				return nil, fmt.Errorf("%s: extension %q says %s but the content is %s", path, ext, byExt.Name, f.Name)
			}
			return f, nil
		}
	}
	if byExt != nil {
		return byExt, nil
	}
	if len(bytes.TrimSpace(head)) == 0 {
		return nil, fmt.Errorf("%s: empty file", path)
	}
	return nil, fmt.Errorf("%s: unknown model format (extension %q)", path, ext)
}
