package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/internal/testutil"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/output_sha256.txt from this build's outputs")

// goldenPath holds the sha256 of every file that convert and quantize write
// for the shared models. Refactors must leave it unchanged: a difference is a
// change of behaviour, made on purpose (refresh with -update-golden and say
// why in the commit) or a bug.
const goldenPath = "testdata/output_sha256.txt"

// TestOutputBytesUnchanged converts every shared model to both formats (and
// dequantized), and quantizes every float or dequantized classifier on 8
// calibration images to both formats, comparing each output's sha256 with
// the recorded one; and builds the four architectures (random weights,
// fixed seed) and converts and quantizes those.
func TestOutputBytesUnchanged(t *testing.T) {
	shared, ok := testutil.SharedDir()
	if !ok {
		t.Skipf("skipping: shared test data not found at %s (set MNCONV_SHARED or put shared/ beside the checkout)", shared)
	}
	if testing.Short() {
		t.Skip("skipping in -short mode: converts and quantizes every shared model")
	}
	exe := buildMnconv(t)
	dir := t.TempDir()
	calib := filepath.Join(shared, "images", "imagenet", "calib")

	var models []string
	for _, glob := range []string{"models/tflite/*.tflite", "models/onnx/*.onnx"} {
		m, _ := filepath.Glob(filepath.Join(shared, glob))
		models = append(models, m...)
	}
	sort.Strings(models)
	if len(models) == 0 {
		t.Skip("skipping: no shared models found")
	}

	got := map[string]string{}
	// run executes "mnconv VERB IN OUT FLAGS..." with OUT named by key.
	run := func(key, verb, in string, flags ...string) string {
		out := filepath.Join(dir, key)
		msg, err := exec.Command(exe, append([]string{verb, in, out}, flags...)...).CombinedOutput()
		if err != nil {
			got[key] = "error"
			t.Logf("%s: %v\n%s", key, err, lastLine(msg))
			return ""
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		got[key] = hex.EncodeToString(sum[:])
		return out
	}
	for _, m := range models {
		base := strings.TrimSuffix(filepath.Base(m), filepath.Ext(m))
		run(base+".convert.onnx", "convert", m)
		run(base+".convert.tflite", "convert", m)
		float := run(base+".dequantize.tflite", "convert", m, "--dequantize")
		if strings.Contains(base, "excerpt") || strings.Contains(base, "head_layers") || float == "" {
			continue // not a whole classifier fed by images
		}
		q := []string{"--calib", calib, "--calib-count", "8", "--no-progress", "--report-images", "0"}
		if strings.HasPrefix(base, "onnxzoo") {
			q = append(q, "--preprocess", "torch")
		}
		run(base+".quantize.tflite", "quantize", float, q...)
		run(base+".quantize.onnx", "quantize", float, q...)
	}

	// Built models (random weights) cover v3's hard-swish and SE blocks.
	for _, arch := range []string{"mobilenet-v1", "mobilenet-v2", "mobilenet-v3-large", "mobilenet-v3-small"} {
		built := filepath.Join(dir, arch+".build.onnx")
		if msg, err := exec.Command(exe, "build", arch, "--alpha", "0.5", "--resolution", "96", "--classes", "10", "-o", built).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", arch, err, msg)
		}
		run(arch+".build.convert.onnx", "convert", built)
		run(arch+".build.convert.tflite", "convert", built)
		q := []string{"--calib", calib, "--calib-count", "8", "--no-progress", "--report-images", "0"}
		run(arch+".build.quantize.tflite", "quantize", built, q...)
		run(arch+".build.quantize.onnx", "quantize", built, q...)
	}

	if *updateGolden {
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("# sha256 of convert / quantize outputs for ../shared models (TestOutputBytesUnchanged; -update-golden rewrites)\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "%s  %s\n", got[k], k)
		}
		if err := os.WriteFile(goldenPath, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readGolden(t)
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: recorded but not produced", k)
		case g != w:
			t.Errorf("%s: sha256 %s, recorded %s", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: produced but not recorded (run with -update-golden)", k)
		}
	}
	t.Logf("%d outputs compared", len(got))
}

func readGolden(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, key, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("%s: bad line %q", goldenPath, line)
		}
		want[key] = sum
	}
	return want
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
