package tflite_test

import (
	"testing"

	"github.com/mnconv/mnconv/exporters"
	tfliteexp "github.com/mnconv/mnconv/exporters/tflite"
	"github.com/mnconv/mnconv/importers"
	tfliteimp "github.com/mnconv/mnconv/importers/tflite"
)

// Whatever the importer reads, the exporter writes, and the importer reads
// that back as the same graph (image/png's fuzz test: if Decode succeeds,
// re-encode must succeed). Seeded with the exports of the op cases.
func FuzzReexport(f *testing.F) {
	for _, tc := range opCases {
		if tc.reimport {
			f.Add(export(f, tc.build(f)))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := tfliteimp.Import("fuzz.tflite", data, importers.Options{})
		if err != nil {
			return
		}
		out, err := tfliteexp.Export(g, exporters.Options{})
		if err != nil {
			t.Fatalf("imported graph does not export: %v", err)
		}
		g2, err := tfliteimp.Import("fuzz.tflite", out, importers.Options{})
		if err != nil {
			t.Fatalf("export does not re-import: %v", err)
		}
		if g2.Dump() != g.Dump() {
			t.Fatalf("round trip changed the graph:\n%s", diffLines(g.Dump(), g2.Dump()))
		}
	})
}
