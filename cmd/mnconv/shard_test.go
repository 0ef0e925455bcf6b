package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/internal/shard"
	"github.com/mnconv/mnconv/internal/testutil"
)

func shardCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if len(args) > 0 && (args[0] == "merge" || args[0] == "eval" && !slices.Contains(args, "--partial-out")) {
		// the folders here are small: below eval's default --min-images
		// (a shard takes none: merge applies it)
		args = append([]string{args[0], "--min-images", "1"}, args[1:]...)
	}
	return execCLI(t, []*cobra.Command{evalCmd, mergeCmd, quantizeCmd}, args...)
}

// labelledSlice links every step-th image of shared eval/ into a folder
// with its own labels.csv.
func labelledSlice(t *testing.T, step int) string {
	t.Helper()
	evalDir := testutil.Shared(t, "images/imagenet/eval")
	data, err := os.ReadFile(filepath.Join(evalDir, "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	keep := []string{lines[0]}
	for i, l := range lines[1:] {
		if i%step != 0 {
			continue
		}
		keep = append(keep, l)
		name := strings.SplitN(l, ",", 2)[0]
		if err := os.Symlink(filepath.Join(evalDir, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(strings.Join(keep, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// timingFree is a --json report without the measured (not counted) fields.
func timingFree(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var strip func(map[string]any)
	strip = func(m map[string]any) {
		for _, k := range []string{"workers", "images_per_second", "wall_seconds", "decode_seconds", "inference_seconds"} {
			delete(m, k)
		}
		if b, ok := m["baseline"].(map[string]any); ok {
			strip(b)
		}
	}
	strip(m)
	return m
}

var junitTime = regexp.MustCompile(` time="[^"]*"`)

func readJUnit(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return junitTime.ReplaceAllString(string(data), "")
}

// TestShardedEvalMerge: eval over a slice of shared eval/ as 1, 2, 4 and 7
// shards, merged, gives the report (JSON), JUnit file and gate exit of the
// unsharded run, for a passing and a failing gate.
func TestShardedEvalMerge(t *testing.T) {
	model := testutil.Shared(t, "models/tflite/coral_mobilenet_v1_0.25_128_quant.tflite")
	images := labelledSlice(t, 40) // 10 images
	tmp := t.TempDir()
	for _, gate := range []struct {
		name string
		args []string
		exit int
	}{
		{"pass", []string{"--max-drop", "0"}, 0},
		{"fail", []string{"--max-drop", "0", "--min-top1", "100"}, 1},
	} {
		junit := filepath.Join(tmp, gate.name+"-full.xml")
		full, err := shardCLI(t, append([]string{"eval", model, "--images", images, "--baseline", model, "--json", "--no-progress", "--workers", "2", "--junit", junit}, gate.args...)...)
		if exitCode(err) != gate.exit {
			t.Fatalf("%s: unsharded exit %d (%v), want %d", gate.name, exitCode(err), err, gate.exit)
		}
		want, wantJUnit := timingFree(t, full), readJUnit(t, junit)
		for _, n := range []int{1, 2, 4, 7} {
			var parts []string
			for i := range n {
				p := filepath.Join(tmp, fmt.Sprintf("%s-%d-of-%d.json", gate.name, i, n))
				if _, err := shardCLI(t, "eval", model, "--images", images, "--baseline", model, "--no-progress", "--workers", "1",
					"--shard", fmt.Sprintf("%d/%d", i, n), "--partial-out", p); err != nil {
					t.Fatalf("shard %d/%d: %v", i, n, err)
				}
				parts = append(parts, p)
			}
			mj := filepath.Join(tmp, fmt.Sprintf("%s-merged-%d.xml", gate.name, n))
			// parts in reverse order: the merge does not depend on it
			args := []string{"merge", "--json", "--junit", mj}
			for i := len(parts) - 1; i >= 0; i-- {
				args = append(args, parts[i])
			}
			out, err := shardCLI(t, append(args, gate.args...)...)
			if exitCode(err) != gate.exit {
				t.Fatalf("%s, %d shards: merge exit %d (%v), want %d", gate.name, n, exitCode(err), err, gate.exit)
			}
			got := timingFree(t, out)
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("%s, %d shards: merged report differs\ngot  %s\nwant %s", gate.name, n, gotJSON, wantJSON)
			}
			if g := readJUnit(t, mj); g != wantJUnit {
				t.Errorf("%s, %d shards: JUnit differs\ngot  %s\nwant %s", gate.name, n, g, wantJUnit)
			}
		}
	}
}

// TestShardFromEnvironment: a Kubernetes Indexed Job pod (JOB_COMPLETION_INDEX
// with MNCONV_SHARD_COUNT) writes the same partial as --shard.
func TestShardFromEnvironment(t *testing.T) {
	dir := evalDataset(t)
	model := filepath.Join(dir, "right.evaltest")
	a, b := filepath.Join(dir, "flag.json"), filepath.Join(dir, "env.json")
	if _, err := shardCLI(t, "eval", model, "--images", dir, "--shard", "1/3", "--partial-out", a); err != nil {
		t.Fatal(err)
	}
	t.Setenv(shard.EnvJobIndex, "1")
	t.Setenv(shard.EnvCount, "3")
	if _, err := shardCLI(t, "eval", model, "--images", dir, "--partial-out", b); err != nil {
		t.Fatal(err)
	}
	pa, pb := readPartialMap(t, a), readPartialMap(t, b)
	if fmt.Sprint(pa["shard"]) != fmt.Sprint(pb["shard"]) || fmt.Sprint(pa["model"].(map[string]any)["images"]) != fmt.Sprint(pb["model"].(map[string]any)["images"]) {
		t.Errorf("env shard %v differs from flag shard %v", pb["shard"], pa["shard"])
	}
	// sharded without --partial-out is refused
	if _, err := shardCLI(t, "eval", model, "--images", dir); err == nil || !strings.Contains(err.Error(), "--partial-out") {
		t.Errorf("env shard without --partial-out: %v", err)
	}
}

func readPartialMap(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMergeRefusals: each kind of mismatched part is refused with a
// message naming it.
func TestMergeRefusals(t *testing.T) {
	dir := evalDataset(t)
	right, wrong := filepath.Join(dir, "right.evaltest"), filepath.Join(dir, "wrong.evaltest")
	part := func(name string, extra ...string) string {
		t.Helper()
		p := filepath.Join(dir, name+".json")
		args := append([]string{"eval", "--images", dir, "--partial-out", p}, extra...)
		if _, err := shardCLI(t, args...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return p
	}
	s0 := part("s0", right, "--shard", "0/2")
	s1 := part("s1", right, "--shard", "1/2")
	w1 := part("w1", wrong, "--shard", "1/2")
	l1 := part("l1", right, "--shard", "1/2", "--limit", "4")
	p1 := part("p1", right, "--shard", "1/2", "--preprocess", "full")
	b1 := part("b1", right, "--shard", "1/2", "--baseline", wrong)
	t3 := part("t3", right, "--shard", "1/3")
	// another mnconv build: the same part with another version string
	v1 := filepath.Join(dir, "v1.json")
	m := readPartialMap(t, s1)
	m["fingerprint"].(map[string]any)["mnconv_version"] = "v0.0.1-other"
	data, _ := json.Marshal(m)
	os.WriteFile(v1, data, 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"format":"something-else"}`), 0o644)

	for _, c := range []struct {
		name  string
		parts []string
		want  string
	}{
		{"different model", []string{s0, w1}, "parts of different models do not merge"},
		{"different images", []string{s0, l1}, "parts of different image folders or labels do not merge"},
		{"different preprocessing", []string{s0, p1}, "parts of different preprocessing do not merge"},
		{"different baseline", []string{s0, b1}, "parts of different baselines do not merge"},
		{"different version", []string{s0, v1}, "parts of different mnconv builds do not merge"},
		{"missing shard", []string{s0}, "missing shard 1/2"},
		{"duplicated shard", []string{s0, s1, s1}, "is given twice"},
		{"different shard counts", []string{s0, t3}, "parts of different shard counts"},
		{"not a partial", []string{s0, bad}, "a file written by mnconv eval --partial-out"},
	} {
		_, err := shardCLI(t, append([]string{"merge"}, c.parts...)...)
		if exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), c.want) {
			t.Errorf("%s: exit %d, %v; want exit 2 and %q", c.name, exitCode(err), err, c.want)
			continue
		}
		t.Logf("%s: %v", c.name, err)
	}
	if _, err := shardCLI(t, "merge", s0, s1); err != nil {
		t.Errorf("matching parts: %v", err)
	}
	// --junit is checked before any part is read, as eval checks it before any image
	if _, err := shardCLI(t, "merge", "--junit", filepath.Join(dir, "nodir", "j.xml"), filepath.Join(dir, "absent.json")); exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), "--junit") {
		t.Errorf("merge --junit into a missing folder: exit %d, %v; want exit 2 naming --junit", exitCode(err), err)
	}
	// gate flags belong to merge, not to a shard
	if _, err := shardCLI(t, "eval", right, "--images", dir, "--shard", "0/2", "--partial-out", filepath.Join(dir, "x.json"), "--baseline", wrong, "--max-drop", "1"); err == nil || !strings.Contains(err.Error(), "give it to mnconv merge") {
		t.Errorf("gate flag on a shard: %v", err)
	}
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// TestShardedCalibration: calibrating as 4 shards and merging the
// statistics writes the bytes of one unsharded run, for a model built here
// and a shared one, on a few shared calibration images.
func TestShardedCalibration(t *testing.T) {
	calib := testutil.Shared(t, "images/imagenet/calib")
	tmp := t.TempDir()
	built := writeFloatModel(t, tmp, smallV2)
	for _, c := range []struct {
		model string
		args  []string
	}{
		{built, []string{"--method", "entropy"}},
		{testutil.Shared(t, "models/tflite/mlcommons_tiny_vww_96_float.tflite"), []string{"--method", "percentile"}},
	} {
		common := append([]string{"--calib", calib, "--calib-count", "8", "--no-progress", "--report-images", "0"}, c.args...)
		full := filepath.Join(tmp, "full.tflite")
		if _, err := shardCLI(t, append([]string{"quantize", c.model, full}, common...)...); err != nil {
			t.Fatal(err)
		}
		var stats []string
		for i := range 4 {
			s := filepath.Join(tmp, fmt.Sprintf("s%d.stats", i))
			if _, err := shardCLI(t, append([]string{"quantize", c.model, "--shard", fmt.Sprintf("%d/4", i), "--stats-out", s}, common...)...); err != nil {
				t.Fatalf("shard %d: %v", i, err)
			}
			stats = append(stats, s)
		}
		merged := filepath.Join(tmp, "merged.tflite")
		if _, err := shardCLI(t, "quantize", c.model, merged, "--stats", strings.Join(stats, ","), "--method", c.args[1], "--report-images", "0"); err != nil {
			t.Fatal(err)
		}
		if a, b := fileSHA(t, full), fileSHA(t, merged); a != b {
			t.Errorf("%s: 4 shards merged give sha256 %s, one run %s", filepath.Base(c.model), b, a)
		}
		// refusals: a missing shard, and statistics of another model
		if _, err := shardCLI(t, "quantize", c.model, merged, "--stats", strings.Join(stats[:3], ",")); err == nil || !strings.Contains(err.Error(), "missing shard 3/4") {
			t.Errorf("missing shard: %v", err)
		}
		other := built
		if c.model == built {
			other = testutil.Shared(t, "models/tflite/mlcommons_tiny_vww_96_float.tflite")
		}
		if _, err := shardCLI(t, "quantize", other, merged, "--stats", strings.Join(stats, ",")); err == nil || !strings.Contains(err.Error(), "statistics of different models do not merge") {
			t.Errorf("other model: %v", err)
		}
	}
}
