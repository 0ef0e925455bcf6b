// Package refrt runs models on the reference runtimes, ONNX Runtime and
// TFLite (WebAssembly), so that tests and benchmarks can compare mnconv's
// runtime, importers and exporters with what the real runtimes compute.
//
// Phase: test harness. It reads model files and writes only temporary files;
// it imports ir for dtypes and nothing else of mnconv.
//
// The runtimes are npm packages run under Node: scripts/install-refrt.sh puts
// them in a cache folder ($MNCONV_REFRT, else .cache/refrt in the
// repository). Each call starts one node process on the JavaScript in js/
// (embedded in the binary), hands it the inputs as binary files and reads the
// outputs back as binary float32, so values cross the boundary exactly.
// Tests call Need first: it skips when the runtimes are absent, unless
// MNCONV_REQUIRE_REFRT=1 makes their absence a failure.
package refrt

import (
	"context"
	"embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"time"

	"github.com/mnconv/mnconv/ir"
)

//go:embed js/*.js
var scripts embed.FS

// Runtime names a reference runtime.
type Runtime string

// The reference runtimes.
const (
	ONNX   Runtime = "onnxruntime"
	TFLite Runtime = "tflite"
)

func (r Runtime) script() (string, error) {
	switch r {
	case ONNX:
		return "ort_run.js", nil
	case TFLite:
		return "tflite_run.js", nil
	}
	return "", fmt.Errorf("refrt: unknown runtime %q", string(r))
}

// packages are the npm packages (and the versions the shared reference
// outputs were made with) that each runtime needs in the cache.
var packages = map[Runtime]map[string]string{
	ONNX: {"onnxruntime-node": "1.30.0"},
	TFLite: {
		"@tensorflow/tfjs-tflite":      "0.0.1-alpha.10",
		"@tensorflow/tfjs-core":        "4.9.0",
		"@tensorflow/tfjs-backend-cpu": "4.9.0",
	},
}

// Input is one model input: its element type, shape and little-endian
// element bytes. Name may be empty: inputs then go to the model's inputs in
// order.
type Input struct {
	Name  string
	DType ir.DType
	Shape []int
	Data  []byte
}

// F32 makes a float32 input.
func F32(shape []int, v []float32) Input {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Input{DType: ir.Float32, Shape: shape, Data: b}
}

// U8 makes a uint8 input.
func U8(shape []int, v []uint8) Input {
	return Input{DType: ir.Uint8, Shape: shape, Data: append([]byte(nil), v...)}
}

// I8 makes an int8 input.
func I8(shape []int, v []int8) Input {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return Input{DType: ir.Int8, Shape: shape, Data: b}
}

// Options tune a run.
type Options struct {
	// Threads is ONNX Runtime's intra-op thread count; 0 keeps ORT's default
	// (one per core). The TFLite build is single-threaded whatever it says.
	Threads int
	// Repeat, when positive, runs each sample that many more times after the
	// first and reports the mean time per run.
	Repeat int
	// Timeout bounds the node process (0 means 10 minutes).
	Timeout time.Duration
}

// Output describes one model output as the runtime reported it.
type Output struct {
	Name  string
	DType string // the runtime's name for it: "float32", "uint8", "int8", ...
	Shape []int
}

// Result holds what a run produced.
type Result struct {
	Runtime string   // the runtime and its version, as it reports itself
	Outputs []Output // in the model's output order
	// Values[s][k] is output k of sample s. Integer outputs hold their raw
	// (quantized) values.
	Values [][][]float32
	// Millis[s] is the mean time of one run of sample s over Options.Repeat
	// runs (0 without Repeat).
	Millis []float64
}

// RunONNX runs one set of inputs through ONNX Runtime with one intra-op
// thread and returns the model's outputs.
func RunONNX(modelPath string, inputs []Input) ([][]float32, error) {
	return runOne(ONNX, modelPath, inputs)
}

// RunTFLite runs one set of inputs through TFLite and returns the model's
// outputs.
func RunTFLite(modelPath string, inputs []Input) ([][]float32, error) {
	return runOne(TFLite, modelPath, inputs)
}

func runOne(rt Runtime, modelPath string, inputs []Input) ([][]float32, error) {
	r, err := Run(rt, modelPath, [][]Input{inputs}, Options{Threads: 1})
	if err != nil {
		return nil, err
	}
	return r.Values[0], nil
}

// maxOutputBytes bounds one output file read back from the runtime.
const maxOutputBytes = 1 << 30

// Run runs several samples (each one set of inputs) in one node process.
func Run(rt Runtime, modelPath string, samples [][]Input, opts Options) (*Result, error) {
	script, err := rt.script()
	if err != nil {
		return nil, err
	}
	if err := available(rt); err != nil {
		return nil, err
	}
	model, err := filepath.Abs(modelPath)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(model); err != nil {
		return nil, fmt.Errorf("refrt: %w", err)
	}
	if len(samples) == 0 {
		return nil, errors.New("refrt: no samples to run")
	}
	dir, err := os.MkdirTemp("", "mnconv-refrt-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := writeScripts(dir); err != nil {
		return nil, err
	}
	spec := specFile{Model: model, Threads: opts.Threads, Repeat: opts.Repeat, OutDir: dir}
	for s, inputs := range samples {
		var row []specInput
		for i, in := range inputs {
			si, err := writeInput(dir, s, i, in)
			if err != nil {
				return nil, err
			}
			row = append(row, si)
		}
		spec.Samples = append(spec.Samples, row)
	}
	specPath := filepath.Join(dir, "spec.json")
	if err := writeJSON(specPath, spec); err != nil {
		return nil, err
	}

	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, script), specPath)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(CacheDir(), "node_modules"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			return nil, fmt.Errorf("refrt: %s on %s: timed out after %v", rt, filepath.Base(model), timeout)
		}
		return nil, fmt.Errorf("refrt: %s on %s: %v: %s", rt, filepath.Base(model), err, lastLines(msg, 20))
	}
	return readResult(dir, len(samples))
}

type specInput struct {
	Name  string `json:"name,omitempty"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	File  string `json:"file"`
}

type specFile struct {
	Model   string        `json:"model"`
	Threads int           `json:"threads"`
	Repeat  int           `json:"repeat"`
	OutDir  string        `json:"out_dir"`
	Samples [][]specInput `json:"samples"`
}

type resultFile struct {
	Runtime string `json:"runtime"`
	Outputs []struct {
		Name  string `json:"name"`
		DType string `json:"dtype"`
		Shape []int  `json:"shape"`
	} `json:"outputs"`
	Samples []struct {
		MS float64 `json:"ms"`
	} `json:"samples"`
}

func writeScripts(dir string) error {
	entries, err := scripts.ReadDir("js")
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := scripts.ReadFile("js/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeInput(dir string, s, i int, in Input) (specInput, error) {
	switch in.DType {
	case ir.Float32, ir.Int8, ir.Uint8, ir.Int32, ir.Int64:
	default:
		return specInput{}, fmt.Errorf("refrt: input %d: unsupported dtype %v", i, in.DType)
	}
	for _, d := range in.Shape {
		if d < 0 {
			return specInput{}, fmt.Errorf("refrt: input %d: negative dimension in shape %v", i, in.Shape)
		}
	}
	if want := int64(ir.NumElements(in.Shape)) * int64(in.DType.Size()); int64(len(in.Data)) != want {
		return specInput{}, fmt.Errorf("refrt: input %d: %d bytes, shape %v of %v needs %d", i, len(in.Data), in.Shape, in.DType, want)
	}
	p := filepath.Join(dir, fmt.Sprintf("in_%d_%d.bin", s, i))
	if err := os.WriteFile(p, in.Data, 0o644); err != nil {
		return specInput{}, err
	}
	shape := in.Shape
	if shape == nil {
		shape = []int{}
	}
	return specInput{Name: in.Name, DType: in.DType.String(), Shape: shape, File: p}, nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func readResult(dir string, samples int) (*Result, error) {
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		return nil, fmt.Errorf("refrt: the runtime wrote no result: %w", err)
	}
	var rf resultFile
	if err := json.Unmarshal(b, &rf); err != nil {
		return nil, fmt.Errorf("refrt: reading result.json: %w", err)
	}
	if len(rf.Samples) != samples {
		return nil, fmt.Errorf("refrt: result has %d samples, want %d", len(rf.Samples), samples)
	}
	r := &Result{Runtime: rf.Runtime}
	for _, o := range rf.Outputs {
		r.Outputs = append(r.Outputs, Output{Name: o.Name, DType: o.DType, Shape: o.Shape})
	}
	for s := range samples {
		vals := make([][]float32, len(r.Outputs))
		for k, o := range r.Outputs {
			v, err := readFloats(filepath.Join(dir, fmt.Sprintf("out_%d_%d.bin", s, k)), ir.NumElements(o.Shape))
			if err != nil {
				return nil, fmt.Errorf("refrt: output %q of sample %d: %w", o.Name, s, err)
			}
			vals[k] = v
		}
		r.Values = append(r.Values, vals)
		r.Millis = append(r.Millis, rf.Samples[s].MS)
	}
	return r, nil
}

func readFloats(path string, want int) ([]float32, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxOutputBytes || st.Size() != int64(want)*4 {
		return nil, fmt.Errorf("file has %d bytes, the output's shape needs %d", st.Size(), int64(want)*4)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// CacheDir is where install-refrt.sh puts the runtimes: $MNCONV_REFRT, else
// the first .cache/refrt found walking up from the working directory, else
// .cache/refrt beside this package's source.
func CacheDir() string {
	if d := os.Getenv("MNCONV_REFRT"); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			c := filepath.Join(d, ".cache", "refrt")
			if st, err := os.Stat(filepath.Join(c, "node_modules")); err == nil && st.IsDir() {
				return c
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", ".cache", "refrt")
}

// Available reports, as an error saying what is missing, whether node and
// both runtimes are installed.
func Available() error {
	if err := available(ONNX); err != nil {
		return err
	}
	return available(TFLite)
}

func available(rt Runtime) error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("refrt: node is not on PATH")
	}
	dir := CacheDir()
	for _, pkg := range slices.Sorted(maps.Keys(packages[rt])) {
		version := packages[rt][pkg]
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", pkg, "package.json"))
		if err != nil {
			return fmt.Errorf("refrt: %s is not installed in %s (run scripts/install-refrt.sh)", pkg, dir)
		}
		var pj struct {
			Version string `json:"version"`
		}
		if err := json.Unmarshal(b, &pj); err != nil || pj.Version != version {
			return fmt.Errorf("refrt: %s in %s is version %q, want %s (run scripts/install-refrt.sh)", pkg, dir, pj.Version, version)
		}
	}
	return nil
}

// TB is the part of testing.TB that Need uses (kept as an interface so that
// this package does not import testing).
type TB interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Need skips the test when rt is not installed, or fails it when
// MNCONV_REQUIRE_REFRT=1 asks for the reference runtimes to be present.
func Need(t TB, rt Runtime) {
	t.Helper()
	if err := available(rt); err != nil {
		if os.Getenv("MNCONV_REQUIRE_REFRT") == "1" {
			t.Fatalf("MNCONV_REQUIRE_REFRT=1 but %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
}
