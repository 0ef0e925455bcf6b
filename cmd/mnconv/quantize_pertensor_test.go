package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/passes"
)

// TestQuantizePerTensorDefaults: --per-tensor turns on depthwise scale
// search, rounding and bias correction, with a report line per searched
// layer; --scale-search=false --round-weights=false turn them off; --equalize-bounded reports a
// line per pair; the data-aware options refuse to run without --calib.
func TestQuantizePerTensorDefaults(t *testing.T) {
	images := writeCalibImages(t, 4)
	dir := t.TempDir()
	g, err := builder.Build(builder.Config{Arch: builder.V2, Alpha: 0.35, Resolution: 32, Classes: 4, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil { // batch norm folded into the convs
		t.Fatal(err)
	}
	float := filepath.Join(dir, "v2.tflite")
	exp, err := exporters.ForPath(float)
	if err != nil {
		t.Fatal(err)
	}
	data, err := exp.Export(g, exporters.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(float, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmds := []*cobra.Command{quantizeCmd}
	int8 := filepath.Join(dir, "int8.tflite")
	base := []string{"quantize", float, int8, "--calib", images, "--no-progress", "--report-images", "0", "--per-tensor"}

	out, err := execCLI(t, cmds, base...)
	if err != nil {
		t.Fatalf("quantize --per-tensor: %v\n%s", err, out)
	}
	lines := strings.Count(out, "\nweights ") + map[bool]int{true: 1}[strings.HasPrefix(out, "weights ")]
	for _, want := range []string{"depthwise weights: 17 layers searched on 4 calibration images", "bias correction: "} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if lines != 17 || strings.Count(out, "rounding optimised, output SQNR") != 17 {
		t.Errorf("%d per-layer lines, want 17:\n%s", lines, out)
	}

	out, err = execCLI(t, cmds, append(base, "--scale-search=false", "--round-weights=false", "--equalize-bounded")...)
	if err != nil {
		t.Fatalf("--scale-search=false --equalize-bounded: %v\n%s", err, out)
	}
	if strings.Contains(out, "depthwise weights:") || !strings.Contains(out, "ReLU6: ") || !strings.Contains(out, "equalization: ") {
		t.Errorf("--scale-search=false --equalize-bounded printed:\n%s", out)
	}

	if _, err := execCLI(t, cmds, append(base, "--equalize-bounded", "--equalize-relu6")...); err == nil {
		t.Errorf("--equalize-bounded with --equalize-relu6 accepted")
	}
}
