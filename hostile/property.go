package hostile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/mnconv/mnconv/exporters"
	_ "github.com/mnconv/mnconv/exporters/onnx"   // registers .onnx output
	_ "github.com/mnconv/mnconv/exporters/tflite" // registers .tflite output
	"github.com/mnconv/mnconv/ir"
)

// What the importers' fuzz targets (FuzzImport in importers/onnx and
// importers/tflite) check on every input, kept here so that both check the
// same thing. This file imports no importer, so the importers' own tests
// can use it.

// Budgets for importing one fuzz input. Inputs are small (the fuzzer keeps
// them to kilobytes), so these are far above any legitimate cost and far
// below what a missed size check would take. The round trip that follows
// reads mnconv's own output; Watchdog bounds the whole.
const (
	FuzzMaxAlloc = 256 << 20
	FuzzMaxTime  = 5 * time.Second
)

// RoundTrip checks a graph an importer accepted: it validates, the exporter
// registered for ext writes it, and reimport reads those bytes back into a
// graph that validates too.
func RoundTrip(g *ir.Graph, ext string, reimport func(data []byte) (*ir.Graph, error)) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("imported graph does not validate: %v", err)
	}
	exp, err := exporters.ForPath("fuzz" + ext)
	if err != nil {
		return err
	}
	data, err := exp.Export(g, exporters.Options{})
	if err != nil {
		return fmt.Errorf("%s export of an imported graph failed: %v", exp.Name, err)
	}
	back, err := reimport(data)
	if err != nil {
		return fmt.Errorf("re-import of the exported %s failed: %v", exp.Name, err)
	}
	if err := back.Validate(); err != nil {
		return fmt.Errorf("re-imported graph does not validate: %v", err)
	}
	return nil
}

// allocsMetric counts every byte the heap ever allocated; reading it does
// not stop the world, unlike runtime.ReadMemStats.
const allocsMetric = "/gc/heap/allocs:bytes"

// Measure runs f and returns the bytes it allocated (all goroutines
// together) and the time it took.
func Measure(f func()) (alloc uint64, took time.Duration) {
	s := []metrics.Sample{{Name: allocsMetric}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	start := time.Now()
	f()
	took = time.Since(start)
	metrics.Read(s)
	return s[0].Value.Uint64() - before, took
}

// CheckBudget reports an input that went over FuzzMaxAlloc or FuzzMaxTime.
func CheckBudget(alloc uint64, took time.Duration, size int) error {
	if alloc > FuzzMaxAlloc {
		return fmt.Errorf("a %d-byte input allocated %d bytes, more than %d", size, alloc, FuzzMaxAlloc)
	}
	if took > FuzzMaxTime {
		return fmt.Errorf("a %d-byte input took %v, more than %v", size, took, FuzzMaxTime)
	}
	return nil
}

// CheckLenient is the property of a lenient import (inspect's) of a file
// the strict import refused: it stays within the same budgets and, when it
// succeeds, gives a graph that validates.
func CheckLenient(size int, lenient func() (*ir.Graph, error)) error {
	var g *ir.Graph
	var err error
	alloc, took := Measure(func() { g, err = lenient() })
	if err := CheckBudget(alloc, took, size); err != nil {
		return fmt.Errorf("lenient import: %v", err)
	}
	if err == nil {
		if err := g.Validate(); err != nil {
			return fmt.Errorf("lenient import: %v\ngraph:\n%s", err, g.Dump())
		}
	}
	return nil
}

// AddCorpusSeeds adds every file of the malformed corpus (testdata/malformed
// at the repository root, found from dir, a package folder) whose name ends
// in ext as a fuzz seed: each is one defect away from a valid model.
func AddCorpusSeeds(f *testing.F, dir, ext string) {
	root := filepath.Join(dir, "..", "..", "testdata", "malformed")
	entries, err := os.ReadDir(root)
	if err != nil {
		f.Logf("no corpus seeds: %v", err)
		return
	}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ext) {
			if data, err := os.ReadFile(filepath.Join(root, e.Name())); err == nil {
				f.Add(data)
			}
		}
	}
}

// Watchdog crashes the process, printing every goroutine's stack, unless
// the returned stop is called within 2*FuzzMaxTime. A check after the call
// cannot catch an input that never returns; a crash can, and the fuzzer then
// keeps the input that caused it.
func Watchdog(what string) (stop func() bool) {
	t := time.AfterFunc(2*FuzzMaxTime, func() {
		debug.SetTraceback("all")
		panic(fmt.Sprintf("%s: still running after %v: a hang or a runaway loop", what, 2*FuzzMaxTime))
	})
	return t.Stop
}
