package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestQuantizeFallbackExit runs quantize --eval --max-drop on a tiny built
// model and six labelled images: a budget below zero cannot be met, so every
// ranked layer is tried in float and the command exits 1, still writing the
// best model found, and --junit records the failure; a budget of 100 points
// passes at once with the all-int8 model.
func TestQuantizeFallbackExit(t *testing.T) {
	dir := evalDataset(t)
	floatPath, _ := costTwins(t, dir)
	for _, tc := range []struct {
		budget   string
		code     int
		verdict  string
		failures string
	}{
		{"-1", 1, "NOT within the budget -1.00", `failures="1"`},
		{"100", 0, "within the budget 100.00", `failures="0"`},
	} {
		t.Run(tc.budget, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "q.tflite")
			junit := filepath.Join(t.TempDir(), "fallback.xml")
			stdout, err := execCLI(t, []*cobra.Command{quantizeCmd}, "quantize", floatPath, out, "--calib", dir,
				"--eval", dir, "--max-drop="+tc.budget, "--junit", junit, "--preprocess", "full", "--no-progress")
			if got := exitCode(err); got != tc.code {
				t.Fatalf("exit %d (%v), want %d\n%s", got, err, tc.code, stdout)
			}
			if tc.code == 1 && (err == nil || !strings.Contains(err.Error(), "wrote the best model found")) {
				t.Errorf("error %v does not say the best model was written", err)
			}
			if !strings.Contains(stdout, tc.verdict) || !strings.Contains(stdout, "fallback: kept in float") {
				t.Errorf("output lacks %q or the layers kept:\n%s", tc.verdict, stdout)
			}
			if st, err := os.Stat(out); err != nil || st.Size() == 0 {
				t.Errorf("model not written: %v", err)
			}
			data, err := os.ReadFile(junit)
			if err != nil || !strings.Contains(string(data), tc.failures) {
				t.Errorf("junit (%v) lacks %s:\n%s", err, tc.failures, data)
			}
		})
	}
}
