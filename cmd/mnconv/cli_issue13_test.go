package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mnconv/mnconv/internal/testutil"
)

// exitStatus is a finished command's exit status (0 on success).
func exitStatus(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// TestIssue13Reproductions runs each reproduction of issue 13 (parts 1, 2,
// 4, 5) on the built binary: the command, its exit status and what it
// prints.
func TestIssue13Reproductions(t *testing.T) {
	exe := buildMnconv(t)
	dir := t.TempDir()
	model := writeFloatModel(t, dir, smallV2)
	calib := writeCalibImages(t, 6)
	bad := writeCalibImages(t, 4, "bad1.png", "bad2.png")
	for _, d := range []string{calib, bad} {
		var rows strings.Builder
		rows.WriteString("file,class_index\n")
		entries, _ := os.ReadDir(d)
		for i, e := range entries {
			fmt.Fprintf(&rows, "%s,%d\n", e.Name(), i%10)
		}
		if err := os.WriteFile(filepath.Join(d, "labels.csv"), []byte(rows.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pixels := filepath.Join(dir, "one.bin")
	if err := os.WriteFile(pixels, make([]byte, 96*96*3), 0o644); err != nil {
		t.Fatal(err)
	}
	names := filepath.Join(dir, "names.txt")
	if err := os.WriteFile(names, []byte("zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nodir := filepath.Join(dir, "nodir")
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string // in stderr ("" unchecked)
		stdout string // in stdout ("" unchecked)
	}{
		{"run --input-mode", []string{"run", model, "--pixels", pixels, "--input-mode", "torch"}, 0, "", "  1. "},
		{"run old --preprocess tf", []string{"run", model, "--pixels", pixels, "--preprocess", "tf"}, 0,
			"note: --preprocess tf is a pixel mapping; use --input-mode tf", ""},
		{"eval old --preprocess full", []string{"eval", model, "--images", calib, "--min-images", "6", "--preprocess", "full"}, 0,
			"note: --preprocess full is a geometry; use --resize full", "images:  6"},
		{"auto hint", []string{"eval", model, "--images", calib, "--min-images", "6"}, 0, "hint: --preprocess auto:", ""},
		{"quantize into a missing folder", []string{"quantize", model, filepath.Join(nodir, "v2.tflite"), "--calib", calib}, 2,
			"folder " + nodir + " does not exist", ""},
		{"quantize --report into a missing folder", []string{"quantize", model, filepath.Join(dir, "q.tflite"), "--calib", calib,
			"--report", filepath.Join(nodir, "r.md")}, 2, "--report", ""},
		{"quantize --report unknown extension", []string{"quantize", model, filepath.Join(dir, "q.tflite"), "--calib", calib,
			"--report", filepath.Join(dir, "r.txt")}, 2, "want a .json or .md or .markdown file", ""},
		{"eval --junit into a missing folder", []string{"eval", model, "--images", calib, "--min-images", "1", "--baseline", model,
			"--max-drop", "1", "--junit", filepath.Join(nodir, "j.xml")}, 2, "does not exist", ""},
		{"convert extension and --to disagree", []string{"convert", model, filepath.Join(dir, "x.onnx"), "--to", "tflite"}, 2,
			"is named as a onnx file, but --to is tflite", ""},
		{"convert unknown extension", []string{"convert", model, filepath.Join(dir, "x.bin")}, 2, "want a .onnx or .tflite file", ""},
		{"negative --calib-count", []string{"quantize", model, filepath.Join(dir, "q.tflite"), "--calib", calib, "--calib-count", "-5"}, 2,
			"--calib-count -5 must not be negative", ""},
		{"negative --limit", []string{"eval", model, "--images", calib, "--limit", "-3"}, 2, "--limit -3 must not be negative", ""},
		{"negative --workers", []string{"eval", model, "--images", calib, "--workers", "-1"}, 2, "--workers -1 must not be negative", ""},
		{"unreadable images", []string{"eval", model, "--images", bad, "--min-images", "1"}, 2,
			"2 of 6 images are unreadable, more than the 0% allowed: bad1.png", ""},
		{"unreadable images allowed", []string{"eval", model, "--images", bad, "--min-images", "1", "--max-unreadable", "50"}, 0,
			"skipping unreadable image bad1.png", "(2 unreadable, skipped)"},
		{"a handful of images", []string{"eval", model, "--images", calib}, 2, "fewer than the minimum 50", ""},
		{"bare verb prints usage", []string{"quantize"}, 2, "Usage:\n  mnconv quantize IN OUT", ""},
		{"flag error prints usage", []string{"run", model, "--nope"}, 2, "Usage:\n  mnconv run MODEL", ""},
		{"--version", []string{"--version"}, 0, "", "mnconv "},
		{"run --labels", []string{"run", model, "--pixels", pixels, "--labels", names}, 0, "", ""},
		{"inspect --plot unknown extension", []string{"inspect", model, "--plot", filepath.Join(dir, "p.jpg")}, 2, "want a .png or .svg file", ""},
		{"bench preprocessing without --image", []string{"bench", model, "--preprocess", "torchvision"}, 2, "give one", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, err := runMnconv(t, exe, nil, c.args...)
			if got := exitStatus(t, err); got != c.code {
				t.Fatalf("mnconv %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(c.args, " "), got, c.code, stdout, stderr)
			}
			if !strings.Contains(stderr, c.stderr) || !strings.Contains(stdout, c.stdout) {
				t.Errorf("mnconv %s: stderr lacks %q or stdout lacks %q\nstdout:\n%s\nstderr:\n%s", strings.Join(c.args, " "), c.stderr, c.stdout, stdout, stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "q.tflite")); err == nil {
		t.Error("a refused quantize wrote its model")
	}

	t.Run("labels name the classes", func(t *testing.T) {
		stdout, _, err := runMnconv(t, exe, nil, "run", model, "--pixels", pixels, "--labels", names)
		if exitStatus(t, err) != 0 {
			t.Fatal(err)
		}
		found := false
		for _, n := range []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"} {
			found = found || strings.Contains(stdout, " "+n+"\n")
		}
		if !found {
			t.Errorf("no class name in:\n%s", stdout)
		}
	})

	t.Run("plot format from the extension", func(t *testing.T) {
		for ext, magic := range map[string]string{".svg": "<?xml", ".png": "\x89PNG"} {
			p := filepath.Join(dir, "plot"+ext)
			if _, stderr, err := runMnconv(t, exe, nil, "inspect", model, "--plot", p); exitStatus(t, err) != 0 {
				t.Fatalf("inspect --plot %s: %s", p, stderr)
			}
			b, _ := os.ReadFile(p)
			if !strings.HasPrefix(string(b), magic) {
				t.Errorf("%s starts with %q, want %q", p, b[:min(len(b), 8)], magic)
			}
		}
	})

	t.Run("every verb has examples", func(t *testing.T) {
		for _, verb := range []string{"run", "eval", "quantize", "convert", "inspect", "bench", "build", "demo"} {
			stdout, _, err := runMnconv(t, exe, nil, verb, "--help")
			if exitStatus(t, err) != 0 || !strings.Contains(stdout, "Examples:\n  mnconv "+verb) {
				t.Errorf("mnconv %s --help has no Examples section", verb)
			}
		}
	})

	t.Run("interrupt exits 130 and leaves nothing", func(t *testing.T) {
		big := writeFloatModel(t, t.TempDir(), killV2)
		out := t.TempDir()
		many := writeCalibImages(t, 40)
		cmd := exec.Command(exe, "quantize", big, filepath.Join(out, "q.tflite"), "--calib", many, "--no-progress")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGINT)
		err := cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		if code != 130 && code != 0 {
			t.Errorf("exit %d after SIGINT, want 130 (or 0 when it had finished)", code)
		}
		if left := folderNames(t, out); code == 130 && len(left) != 0 {
			t.Errorf("left behind after SIGINT: %v", left)
		}
	})

	t.Run("warnings de-duplicated", func(t *testing.T) {
		tflm := testutil.Shared(t, "models/tflite/tflm_person_detect.tflite")
		_, stderr, err := runMnconv(t, exe, nil, "inspect", tflm)
		if exitStatus(t, err) != 0 {
			t.Fatal(stderr)
		}
		if n := strings.Count(stderr, "quantized_dimension"); n != 1 || !strings.Contains(stderr, "(14 warnings like this one, 13 more not shown)") {
			t.Errorf("%d quantized_dimension lines:\n%s", n, stderr)
		}
	})
}

// TestAutoPresetOnnxZoo: the ONNX model zoo's MobileNetV2 names no
// preprocessing, but its graph name says torch.onnx.export wrote it: auto
// picks torchvision and says why.
func TestAutoPresetOnnxZoo(t *testing.T) {
	model := testutil.Shared(t, "models/onnx/onnxzoo_mobilenetv2-12-int8.onnx")
	g, err := loadModel(model, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var p prepFlags
	p.preprocess = "auto"
	var note strings.Builder
	if err := p.parse(&note); err != nil {
		t.Fatal(err)
	}
	geom, mode, _ := p.resolve(g, model, &note)
	if geom.String() != "torch" || mode.String() != "torch" || !strings.Contains(note.String(), `torchvision for`) {
		t.Errorf("auto picked %v / %v: %s", geom, mode, note.String())
	}
}
