package tflite_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/exporters"
	tfliteexp "github.com/mnconv/mnconv/exporters/tflite"
	"github.com/mnconv/mnconv/importers"
	tfliteimp "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
)

// sharedModels lists the .tflite files of shared/models/tflite (the apps
// models live elsewhere and are not part of this sweep).
func sharedModels(t *testing.T) []string {
	t.Helper()
	dir := testutil.Shared(t, "models/tflite")
	paths, err := filepath.Glob(filepath.Join(dir, "*.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skipf("skipping: no models in %s", dir)
	}
	return paths
}

func importFile(t testing.TB, path string) *ir.Graph {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := tfliteimp.Import(path, data, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func export(t testing.TB, g *ir.Graph) []byte {
	t.Helper()
	out, err := tfliteexp.Export(g, exporters.Options{Warn: func(msg string) { t.Log("warning:", msg) }})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TFLite -> IR -> TFLite -> IR gives the same graph, and exporting that
// graph again gives the same bytes.
func TestRoundTripSharedModels(t *testing.T) {
	for _, path := range sharedModels(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".tflite")
		t.Run(name, func(t *testing.T) {
			g := importFile(t, path)
			want := g.Dump()
			data := export(t, g)
			if g.Dump() != want {
				t.Fatal("Export changed the graph")
			}
			g2, err := tfliteimp.Import(path, data, importers.Options{Warn: func(msg string) { t.Errorf("re-import warns: %s", msg) }})
			if err != nil {
				t.Fatal(err)
			}
			if err := g2.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := g2.Dump(); got != want {
				t.Errorf("round trip changed the graph:\n%s", diffLines(want, got))
			}
			again := export(t, g2)
			if string(again) != string(data) {
				t.Errorf("exporting the re-imported graph gives other bytes (%d vs %d)", len(again), len(data))
			}
			t.Logf("%d nodes; original %d bytes, exported %d bytes", len(g.Nodes), fileSize(t, path), len(data))
		})
	}
}

func fileSize(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// diffLines shows the first differing lines of two dumps.
func diffLines(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(la), len(lb)) && len(out) < 20; i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			out = append(out, "- "+x, "+ "+y)
		}
	}
	return strings.Join(out, "\n")
}
