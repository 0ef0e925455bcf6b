package tflite

import (
	"os"
	"runtime/debug"
	"testing"

	"github.com/mnconv/mnconv/hostile"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
)

// FuzzImport feeds arbitrary bytes to the importer without the recover that
// Import adds, so that any fault the verifier lets through crashes the
// fuzzer. Each input must stay within the fuzz time and allocation budgets;
// a file that imports must give a graph that validates (leniently too), that the TFLite
// exporter writes, and that imports again. By default `go test` runs only
// the seeds and testdata/fuzz/FuzzImport; scripts/fuzz.sh fuzzes, or
//
//	go test ./importers/tflite -run '^$' -fuzz FuzzImport -fuzztime 5m
func FuzzImport(f *testing.F) {
	f.Add(tinyModel().Build())
	if dir, ok := testutil.SharedDir(); ok {
		if data, err := os.ReadFile(dir + "/" + smallestShared); err == nil {
			f.Add(data)
		}
	}
	hostile.AddCorpusSeeds(f, ".", ".tflite")
	f.Fuzz(func(t *testing.T, data []byte) {
		defer hostile.Watchdog("import, export and re-import")()
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		var g *ir.Graph
		var err error
		// The budget is the importer's on the hostile bytes; the round trip
		// below reads mnconv's own output, bounded by the watchdog alone.
		alloc, took := hostile.Measure(func() { g, err = importModel("fuzz.tflite", data, importers.Options{}) })
		if err := hostile.CheckBudget(alloc, took, len(data)); err != nil {
			t.Fatal(err)
		}
		if err != nil {
			lenient := func() (*ir.Graph, error) { return importModel("fuzz.tflite", data, importers.Options{Lenient: true}) }
			if err := hostile.CheckLenient(len(data), lenient); err != nil {
				t.Fatal(err)
			}
			return
		}
		err = hostile.RoundTrip(g, ".tflite", func(b []byte) (*ir.Graph, error) {
			return importModel("fuzz-again.tflite", b, importers.Options{})
		})
		if err != nil {
			t.Fatalf("%v\ngraph:\n%s", err, g.Dump())
		}
	})
}
