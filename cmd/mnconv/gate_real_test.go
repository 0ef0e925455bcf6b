package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/internal/testutil"
)

// TestGateRealModels gates real models on a slice of eval/: a much smaller
// model against a larger baseline drops far more than 5 points (exit 1), a
// model against itself drops nothing (exit 0).
func TestGateRealModels(t *testing.T) {
	small := testutil.Shared(t, "models/tflite/coral_mobilenet_v1_0.25_128_quant.tflite")
	big := testutil.Shared(t, "models/tflite/coral_mobilenet_v1_0.75_192_quant.tflite")
	evalDir := testutil.Shared(t, "images/imagenet/eval")
	// 60 labelled images: enough for the 30-point gap between these models
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(evalDir, "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var keep []string
	for i, l := range lines {
		if i == 0 || i%6 == 1 {
			keep = append(keep, l)
		}
	}
	for _, l := range keep[1:] {
		name := strings.SplitN(l, ",", 2)[0]
		if err := os.Symlink(filepath.Join(evalDir, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(strings.Join(keep, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cand, base string
		want       int
	}{
		{small, big, 1},
		{big, big, 0},
	}
	for _, c := range cases {
		out, err := evalCLI(t, "eval", c.cand, "--images", dir, "--baseline", c.base, "--max-drop", "5", "--no-progress")
		code := exitCode(err)
		if code != c.want {
			t.Errorf("gate %s vs %s: exit %d, want %d\n%s", filepath.Base(c.cand), filepath.Base(c.base), code, c.want, out)
		}
		t.Logf("%s vs %s: exit %d\n%s", filepath.Base(c.cand), filepath.Base(c.base), code, out)
	}
}
