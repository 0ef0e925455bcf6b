package bench

import (
	"bufio"
	_ "embed" // ort_bench.js
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/refrt"
	"github.com/mnconv/mnconv/runtime"
)

//go:embed ort_bench.js
var ortScript []byte

// ortProcess is one Node process holding an ONNX Runtime session.
type ortProcess struct {
	cmd         *exec.Cmd
	stdin       io.WriteCloser
	out         *bufio.Scanner
	stderr      *strings.Builder
	dir         string
	runtime     string
	firstOutput []float32
}

// startORT starts ort_bench.js on model with threads intra-op threads and
// our input (converted to the model's layout), and waits until the session
// is ready.
func startORT(model string, g *ir.Graph, input *runtime.Tensor, threads int) (*ortProcess, error) {
	abs, err := filepath.Abs(model)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, fmt.Errorf("node is not on PATH")
	}
	modules := filepath.Join(refrt.CacheDir(), "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "onnxruntime-node", "package.json")); err != nil {
		return nil, fmt.Errorf("onnxruntime-node is not installed in %s (run scripts/install-refrt.sh)", refrt.CacheDir())
	}
	nchw := len(g.InputLayouts) > 0 && g.InputLayouts[0] == ir.NCHW
	in, err := refInput(input, nchw)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "mnconv-bench-")
	if err != nil {
		return nil, err
	}
	p := &ortProcess{dir: dir, stderr: &strings.Builder{}}
	fail := func(err error) (*ortProcess, error) {
		p.close()
		return nil, err
	}
	script := filepath.Join(dir, "ort_bench.js")
	inFile := filepath.Join(dir, "input.bin")
	outFile := filepath.Join(dir, "output.bin")
	spec := map[string]any{
		"model":    abs,
		"threads":  threads,
		"out_file": outFile,
		"input":    map[string]any{"dtype": in.DType.String(), "shape": in.Shape, "file": inFile},
	}
	specJSON, _ := json.Marshal(spec)
	specFile := filepath.Join(dir, "spec.json")
	for _, f := range []struct {
		path string
		data []byte
	}{{script, ortScript}, {inFile, in.Data}, {specFile, specJSON}} {
		if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
			return fail(err)
		}
	}
	p.cmd = exec.Command("node", script, specFile)
	p.cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	p.cmd.Stderr = p.stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return fail(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	p.out = bufio.NewScanner(stdout)
	p.out.Buffer(make([]byte, 1<<16), 1<<24)
	if err := p.cmd.Start(); err != nil {
		return fail(err)
	}
	var ready struct {
		Runtime string `json:"runtime"`
	}
	if err := p.readLine(&ready); err != nil {
		return fail(err)
	}
	p.runtime = ready.Runtime
	b, err := os.ReadFile(outFile)
	if err != nil {
		return fail(err)
	}
	for i := 0; i+4 <= len(b); i += 4 {
		p.firstOutput = append(p.firstOutput, math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
	}
	return p, nil
}

func (p *ortProcess) readLine(v any) error {
	if !p.out.Scan() {
		msg := strings.TrimSpace(p.stderr.String())
		if err := p.out.Err(); err != nil {
			return fmt.Errorf("reading from node: %v %s", err, msg)
		}
		if i := strings.LastIndex(msg, "\n"); i >= 0 && len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return fmt.Errorf("ONNX Runtime exited: %s", msg)
	}
	return json.Unmarshal(p.out.Bytes(), v)
}

// run times n runs and returns their milliseconds.
func (p *ortProcess) run(n int) ([]float64, error) {
	if _, err := fmt.Fprintf(p.stdin, "run %d\n", n); err != nil {
		return nil, fmt.Errorf("ONNX Runtime: %v", err)
	}
	var res struct {
		MS []float64 `json:"ms"`
	}
	if err := p.readLine(&res); err != nil {
		return nil, err
	}
	if len(res.MS) != n {
		return nil, fmt.Errorf("ONNX Runtime reported %d runs, want %d", len(res.MS), n)
	}
	return res.MS, nil
}

func (p *ortProcess) close() {
	if p.stdin != nil {
		fmt.Fprintln(p.stdin, "quit")
		p.stdin.Close()
	}
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Wait()
	}
	os.RemoveAll(p.dir)
}
