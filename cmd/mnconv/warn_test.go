package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestWarningsFamilies(t *testing.T) {
	var b bytes.Buffer
	ws := newWarnings(&b)
	for _, m := range []string{`tensor "a": axis 3`, `tensor "b": axis 4`, "other", `tensor "c": axis 5`} {
		ws.add(m)
	}
	ws.flush()
	want := "mnconv: warning: tensor \"a\": axis 3 (3 warnings like this one, 2 more not shown)\nmnconv: warning: other\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	ws.flush()
	if b.String() != want {
		t.Errorf("a second flush printed again:\n%s", b.String())
	}
}

// TestWarningsOnePrinter: a quantize run's warnings (calibration images
// skipped, from the quantizer) go through the command's one printer: the
// prefix "mnconv: warning:" on every line, near-identical ones folded into
// one line, printed once the command ends.
func TestWarningsOnePrinter(t *testing.T) {
	model := writeFloatModel(t, t.TempDir(), smallV2)
	calib := writeCalibImages(t, 2, "bad1.png", "bad2.png", "bad3.png")
	out := t.TempDir() + "/q.tflite"
	stdout, stderr, err := execCLIStderr(t, []*cobra.Command{quantizeCmd}, "quantize", model, out, "--calib", calib, "--no-progress", "--report-images", "0")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	t.Logf("stderr:\n%s", stderr)
	var warns []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.Contains(l, "warning") {
			warns = append(warns, l)
		}
	}
	folded := 0
	for _, l := range warns {
		if !strings.HasPrefix(l, "mnconv: warning: ") {
			t.Errorf("warning line without the prefix: %q", l)
		}
		if strings.Contains(l, "bad1.png") && strings.Contains(l, "(2 warnings like this one, 1 more not shown)") {
			folded++
		}
		if strings.Contains(l, "bad3.png") {
			t.Errorf("bad3.png's warning is bad1.png's family, printed anyway: %q", l)
		}
	}
	if folded != 1 || len(warns) != 2 {
		t.Errorf("want 2 warning lines (bad1.png's family of 2, bad2.png), got:\n%s\nstdout:\n%s", stderr, stdout)
	}
	if cmdWarnings != nil {
		t.Error("the command's printer outlives the command")
	}
}
