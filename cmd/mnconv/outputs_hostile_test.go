package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/passes"
)

// Tests of mnconv's outputs under hostile conditions, run on the binary
// that TestHostileOutputs builds: a quantize killed with SIGKILL at many
// moments leaves no partial output, the same inputs give the same bytes
// whatever GOMAXPROCS, unreadable calibration images are named, skipped,
// and fatal only when none is left, the input is never overwritten, and a
// failed run leaves nothing behind.

// buildMnconv compiles the command into a fresh temporary folder.
func buildMnconv(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "mnconv")
	cmd := exec.Command("go", "build", "-o", exe, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// writeFloatModel builds a float MobileNet in code (folded, as a converter
// would write it) and saves it as a .tflite file in dir.
func writeFloatModel(t *testing.T, dir string, cfg builder.Config) string {
	t.Helper()
	g, err := builder.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s_%d.tflite", cfg.Arch, cfg.Resolution))
	exp, err := exporters.ForPath(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := exp.Export(g, exporters.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeCalibImages writes n synthetic 64x64 PNGs (smooth colour fields that
// differ per image) and the named unreadable files into a new folder.
func writeCalibImages(t *testing.T, n int, bad ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		m := image.NewRGBA(image.Rect(0, 0, 64, 64))
		for y := 0; y < 64; y++ {
			for x := 0; x < 64; x++ {
				m.Set(x, y, color.RGBA{uint8(x*4 + 17*i), uint8(y*4 + 31*i), uint8((x + y + 40*i) % 256), 255})
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, m); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("img%02d.png", i)), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range bad {
		// A PNG signature followed by garbage, and a truncated PNG.
		data := []byte("\x89PNG\r\n\x1a\nnot really an image")
		if i%2 == 1 {
			data = data[:5]
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// smallV2 is the model most hostile tests quantize: a tenth of a second of
// work. killV2 is big enough that quantizing it takes about a second, so
// that kills land in every phase.
var (
	smallV2 = builder.Config{Arch: builder.V2, Alpha: 0.35, Resolution: 96, Classes: 10, Seed: 3}
	killV2  = builder.Config{Arch: builder.V2, Alpha: 1, Resolution: 224, Classes: 100, Seed: 4}
)

// hostileEnv is what the subtests of TestHostileOutputs share: the built
// binary and a small float model.
type hostileEnv struct {
	exe   string
	model string
}

// TestHostileOutputs builds mnconv once and runs the output tests on it.
func TestHostileOutputs(t *testing.T) {
	env := &hostileEnv{exe: buildMnconv(t), model: writeFloatModel(t, t.TempDir(), smallV2)}
	t.Run("SIGKILL", func(t *testing.T) { testQuantizeSIGKILL(t, env) })
	t.Run("Deterministic", func(t *testing.T) { testDeterministicOutputs(t, env) })
	t.Run("CalibrationBadImages", func(t *testing.T) { testCalibrationBadImages(t, env) })
	t.Run("RefuseOverwriteInput", func(t *testing.T) { testRefuseOverwriteInput(t, env) })
	t.Run("FailedWritesLeaveNothing", func(t *testing.T) { testFailedWritesLeaveNothing(t, env) })
}

// runMnconv runs the binary with extra environment and returns its output.
func runMnconv(t *testing.T, exe string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// folderNames lists the names in dir, sorted.
func folderNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// testQuantizeSIGKILL kills `mnconv quantize` with SIGKILL at moments from
// 50 ms to just before the end of a run. SIGKILL cannot be caught, so the
// guarantee is atomicfile's: the output's final name either does not exist
// or holds the complete file (the same bytes as an uninterrupted run). A
// kill between writing the temporary file and renaming it leaves that
// temporary file, named `.OUT.tmp-*` beside the output; nothing else may be
// left.
func testQuantizeSIGKILL(t *testing.T, env *hostileEnv) {
	exe := env.exe
	modelDir := t.TempDir()
	model := writeFloatModel(t, modelDir, killV2)
	calib := writeCalibImages(t, 8)

	outDir := t.TempDir()
	out := filepath.Join(outDir, "q.tflite")
	args := []string{"quantize", model, out, "--calib", calib, "--no-progress", "--report-images", "0"}
	start := time.Now()
	if _, stderr, err := runMnconv(t, exe, nil, args...); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, stderr)
	}
	full := time.Since(start)
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	t.Logf("an uninterrupted run takes %v and writes %d bytes", full.Round(time.Millisecond), len(want))

	// Kills at fixed moments, at fractions of a full run, and (at < 0) the
	// moment the temporary output appears: the window a kill is most likely
	// to leave something half-done in.
	const atTemp = -1
	delays := []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, time.Second}
	for _, f := range []float64{0.25, 0.5, 0.75, 0.9} {
		delays = append(delays, time.Duration(f*float64(full)))
	}
	delays = append(delays, atTemp, atTemp, atTemp)
	var complete, absent, staleTemps, duringWrite int
	for _, d := range delays {
		dir := t.TempDir()
		out := filepath.Join(dir, "q.tflite")
		args := []string{"quantize", model, out, "--calib", calib, "--no-progress", "--report-images", "0"}
		cmd := exec.Command(exe, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("killed after %v", d)
		if d == atTemp {
			what = "killed when the temporary file appeared"
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
		poll:
			for {
				select {
				case <-done:
					t.Logf("the run ended before its temporary file was seen")
					break poll
				default:
				}
				if names, _ := os.ReadDir(dir); len(names) > 0 {
					duringWrite++
					break
				}
				time.Sleep(200 * time.Microsecond)
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
		} else {
			time.Sleep(d)
			_ = cmd.Process.Signal(syscall.SIGKILL) // fails only when it already exited
			_ = cmd.Wait()
		}
		for _, name := range folderNames(t, dir) {
			switch {
			case name == "q.tflite":
				got, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: %s holds %d bytes that differ from a complete run's %d", what, name, len(got), len(want))
				}
				complete++
			case strings.HasPrefix(name, ".q.tflite.tmp-"):
				staleTemps++
				t.Logf("%s: temporary file %s left behind", what, name)
			default:
				t.Errorf("%s: unexpected file %s left behind", what, name)
			}
		}
		if _, err := os.Stat(out); os.IsNotExist(err) {
			absent++
		}
	}
	t.Logf("%d kills (%d during the write): %d left no output, %d left the complete output, %d left a temporary file; none left a partial output",
		len(delays), duringWrite, absent, complete, staleTemps)
}

// testDeterministicOutputs runs convert and quantize twice, under
// GOMAXPROCS=1 and GOMAXPROCS=2, and compares the output bytes.
func testDeterministicOutputs(t *testing.T, env *hostileEnv) {
	exe, model := env.exe, env.model
	calib := writeCalibImages(t, 5)
	jobs := []struct {
		name string
		args func(out string) []string
		ext  string
	}{
		{"convert to onnx", func(out string) []string { return []string{"convert", model, out} }, ".onnx"},
		{"convert to tflite", func(out string) []string { return []string{"convert", model, out} }, ".tflite"},
		{"quantize to tflite", func(out string) []string {
			return []string{"quantize", model, out, "--calib", calib, "--no-progress", "--report-images", "0"}
		}, ".tflite"},
		{"quantize to onnx", func(out string) []string {
			return []string{"quantize", model, out, "--calib", calib, "--no-progress", "--report-images", "0", "--method", "percentile"}
		}, ".onnx"},
	}
	for _, job := range jobs {
		t.Run(job.name, func(t *testing.T) {
			var first []byte
			for run, procs := range []string{"1", "2", "1", "2"} {
				out := filepath.Join(t.TempDir(), "out"+job.ext)
				if _, stderr, err := runMnconv(t, exe, []string{"GOMAXPROCS=" + procs}, job.args(out)...); err != nil {
					t.Fatalf("GOMAXPROCS=%s: %v\n%s", procs, err, stderr)
				}
				got, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if run == 0 {
					first = got
					continue
				}
				if !bytes.Equal(got, first) {
					t.Fatalf("run %d (GOMAXPROCS=%s) wrote %d bytes that differ from run 0's %d", run, procs, len(got), len(first))
				}
			}
			t.Logf("4 runs (GOMAXPROCS 1, 2, 1, 2): %d identical bytes", len(first))
		})
	}
}

// testCalibrationBadImages: unreadable calibration images are counted,
// named in a warning and skipped; with none readable, quantize fails
// clearly and writes nothing.
func testCalibrationBadImages(t *testing.T, env *hostileEnv) {
	exe, model := env.exe, env.model

	calib := writeCalibImages(t, 3, "broken.png", "short.png")
	out := filepath.Join(t.TempDir(), "q.tflite")
	stdout, stderr, err := runMnconv(t, exe, nil, "quantize", model, out, "--calib", calib, "--no-progress", "--report-images", "0")
	if err != nil {
		t.Fatalf("quantize with 3 good and 2 bad images: %v\n%s", err, stderr)
	}
	for _, name := range []string{"broken.png", "short.png"} {
		if !strings.Contains(stderr, "warning:") || !strings.Contains(stderr, name) {
			t.Errorf("stderr does not warn about %s:\n%s", name, stderr)
		}
	}
	if !strings.Contains(stdout, "calibrated on 3 images (2 skipped)") {
		t.Errorf("stdout does not count the skipped images:\n%s", stdout)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("no output: %v", err)
	}

	calib = writeCalibImages(t, 0, "broken.png", "short.png")
	outDir := t.TempDir()
	out = filepath.Join(outDir, "q.tflite")
	_, stderr, err = runMnconv(t, exe, nil, "quantize", model, out, "--calib", calib, "--no-progress", "--report-images", "0")
	if err == nil {
		t.Fatal("quantize with only unreadable images succeeded")
	}
	if !strings.Contains(stderr, "none of the 2 items could be used") {
		t.Errorf("unclear error:\n%s", stderr)
	}
	if names := folderNames(t, outDir); len(names) != 0 {
		t.Errorf("a failed run left %v behind", names)
	}
}

// testRefuseOverwriteInput: convert and quantize refuse to write over their
// input, and leave it intact.
func testRefuseOverwriteInput(t *testing.T, env *hostileEnv) {
	exe := env.exe
	dir := t.TempDir()
	model := filepath.Join(dir, filepath.Base(env.model))
	data, err := os.ReadFile(env.model)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(model, data, 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	calib := writeCalibImages(t, 2)
	// The same file under another spelling, and through a symbolic link.
	link := filepath.Join(dir, "link.tflite")
	if err := os.Symlink(model, link); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "..", filepath.Base(dir), filepath.Base(model))
	for _, args := range [][]string{
		{"convert", model, model},
		{"convert", model, link},
		{"quantize", model, other, "--calib", calib, "--no-progress", "--report-images", "0"},
	} {
		_, stderr, err := runMnconv(t, exe, nil, args...)
		if err == nil || !strings.Contains(stderr, "refusing to overwrite the input model") {
			t.Errorf("%v: err %v, stderr:\n%s", args, err, stderr)
		}
	}
	after, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the input model changed")
	}
	if names := folderNames(t, dir); !slices.Equal(names, []string{"link.tflite", filepath.Base(model)}) {
		t.Errorf("folder holds %v", names)
	}
}

// testFailedWritesLeaveNothing: a run that fails after the model was read
// (the exporter refuses, the output name is taken by a folder) leaves no
// output and no temporary file.
func testFailedWritesLeaveNothing(t *testing.T, env *hostileEnv) {
	exe, model := env.exe, env.model
	cases := []struct {
		name  string
		args  func(out string) []string
		setup func(dir string)
		want  string
	}{
		{"exporter refuses", func(out string) []string {
			return []string{"convert", model, out, "--input-layout", "nchw"}
		}, nil, "NCHW"},
		{"output is a folder", func(out string) []string {
			return []string{"convert", model, out}
		}, func(dir string) {
			if err := os.Mkdir(filepath.Join(dir, "out.tflite"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, "out.tflite"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.setup != nil {
				c.setup(dir)
			}
			before := folderNames(t, dir)
			_, stderr, err := runMnconv(t, exe, nil, c.args(filepath.Join(dir, "out.tflite"))...)
			if err == nil {
				t.Fatal("the run succeeded")
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr does not mention %q:\n%s", c.want, stderr)
			}
			if after := folderNames(t, dir); !slices.Equal(before, after) {
				t.Errorf("folder held %v before the run and %v after", before, after)
			}
		})
	}
}
