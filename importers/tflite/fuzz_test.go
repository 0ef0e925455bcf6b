package tflite

import (
	"os"
	"runtime/debug"
	"testing"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
)

// FuzzImport feeds arbitrary bytes to the importer without the recover that
// Import adds, so that any fault the verifier lets through crashes the
// fuzzer. A file that imports must give a graph that validates. By default
// `go test` runs only the seeds; fuzz with
//
//	go test ./importers/tflite -run '^$' -fuzz FuzzImport -fuzztime 5m
func FuzzImport(f *testing.F) {
	f.Add(tinyModel().build())
	if dir, ok := testutil.SharedDir(); ok {
		if data, err := os.ReadFile(dir + "/" + smallestShared); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("panic got past the verifier: %v\n%s", r, debug.Stack())
			}
		}()
		g, err := importModel("fuzz.tflite", data, importers.Options{})
		if err != nil {
			return
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("imported graph does not validate: %v", err)
		}
	})
}
