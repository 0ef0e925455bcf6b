package quantize

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/internal/shard"
)

// Statistics of 4 shards written, read back and merged equal those of all
// the values at once, whatever shard a value went to; an empty histogram
// (only NaN seen) survives the round trip.
func TestStatsFileMergeExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	whole := &Stats{Hist: map[string]*Histogram{"a": NewHistogram(), "b": NewHistogram(), "nan": NewHistogram()}}
	parts := make([]*Stats, 4)
	for i := range parts {
		parts[i] = &Stats{Hist: map[string]*Histogram{"a": NewHistogram(), "b": NewHistogram(), "nan": NewHistogram()}}
	}
	for range 40 {
		p := parts[r.IntN(4)]
		for _, name := range []string{"a", "b"} {
			v := make([]float32, 100)
			scale := math.Ldexp(1, r.IntN(12)-6)
			for k := range v {
				v[k] = float32(r.NormFloat64() * scale)
			}
			whole.Hist[name].Add(v)
			p.Hist[name].Add(v)
		}
		nan := []float32{float32(math.NaN())}
		whole.Hist["nan"].Add(nan)
		p.Hist["nan"].Add(nan)
		whole.Images++
		p.Images++
	}
	dir := t.TempDir()
	fp := StatsFingerprint{Version: "v", Model: "m", Images: "i", ImageCount: 40, Preprocess: "slim", InputMode: "auto"}
	var files []*StatsFile
	var names []string
	for i, p := range parts {
		path := filepath.Join(dir, "s.stats"+string(rune('0'+i)))
		if err := WriteStats(path, fp, shard.Spec{Index: i, Count: 4}, p); err != nil {
			t.Fatal(err)
		}
		f, err := ReadStats(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		names = append(names, path)
	}
	got, err := MergeStats(files, names)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, whole) {
		for name := range whole.Hist {
			if !reflect.DeepEqual(got.Hist[name], whole.Hist[name]) {
				t.Errorf("%s: merged %+v, whole %+v", name, *got.Hist[name], *whole.Hist[name])
			}
		}
		t.Fatalf("merged stats differ: %d vs %d images", got.Images, whole.Images)
	}
	files[2].Fingerprint.Preprocess = "torch"
	if _, err := MergeStats(files, names); err == nil || !strings.Contains(err.Error(), "different preprocessing") {
		t.Errorf("preprocessing mismatch: %v", err)
	}
}
