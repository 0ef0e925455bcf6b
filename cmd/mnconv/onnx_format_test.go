package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/internal/testutil"
)

// TestConvertONNXFormat: `convert m.tflite m.onnx --onnx-format qoperator`
// writes QLinearConv where the default (qdq) writes none, and an unknown
// form is a usage error that names the flag.
func TestConvertONNXFormat(t *testing.T) {
	model := testutil.Shared(t, "models/tflite/coral_mobilenet_v1_0.25_128_quant.tflite")
	dir := t.TempDir()
	for _, c := range []struct {
		form string
		want bool
	}{{"qdq", false}, {"qoperator", true}} {
		out := filepath.Join(dir, c.form+".onnx")
		if _, err := execCLI(t, []*cobra.Command{convertCmd}, "convert", model, out, "--onnx-format", c.form); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(data), "QLinearConv"); got != c.want {
			t.Errorf("--onnx-format %s: QLinearConv in the file %v, want %v", c.form, got, c.want)
		}
	}
	_, err := execCLI(t, []*cobra.Command{convertCmd}, "convert", model, filepath.Join(dir, "x.onnx"), "--onnx-format", "qlinear")
	if err == nil || !strings.Contains(err.Error(), "--onnx-format") {
		t.Errorf("--onnx-format qlinear: error %v", err)
	}
}
