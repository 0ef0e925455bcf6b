// Package bench times mnconv's runtime against the reference runtimes, side
// by side: ONNX Runtime (interleaved run by run: ours, ORT, ours, ORT, ...)
// and TFLite (interleaved by rounds), at several thread counts, and
// profiles our runtime layer by layer.
//
// Phase: measurement. It reads model files and graphs and never changes
// them; it writes only temporary files. The reference runtimes are the npm
// packages that scripts/install-refrt.sh installs for package refrt; ORT is
// driven by ort_bench.js (embedded), which loads the model once and times
// each run inside Node, so process start and model loading are not counted.
//
// Times are wall-clock per inference, batch 1, reported as medians; on a
// shared machine the ratio of interleaved medians is the figure to trust,
// since both runtimes see the same background load.
package bench

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mnconv/mnconv/eval"
	"github.com/mnconv/mnconv/inspect"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/refrt"
	"github.com/mnconv/mnconv/runtime"
)

// Options tune a benchmark.
type Options struct {
	// Threads lists the thread counts to measure (default 1 and 2).
	Threads []int
	// Runs is the number of timed runs per runtime and thread count
	// (default 30); Warmup runs come first and are not counted (default 3).
	Runs, Warmup int
	// ONNX and TFLite name the model files the reference runtimes run (empty:
	// that runtime is skipped). They should be the same network as the
	// graph; the report compares the first outputs.
	ONNX, TFLite string
	// Profile adds a per-layer profile of our runtime at the first thread
	// count.
	Profile bool
	// Gap is a pause between switching runtimes, so that one runtime's
	// spinning worker threads have gone idle before the other starts
	// (default 10ms; negative for none).
	Gap time.Duration
	// Reference times our reference kernels instead of the fast ones.
	Reference bool
	// Progress, when set, receives a line per finished measurement.
	Progress func(msg string)
	// Input is the tensor every run takes (nil: a deterministic pattern).
	Input *runtime.Tensor
}

// Timing summarizes the runs of one runtime at one thread count.
type Timing struct {
	Runs     int     `json:"runs"`
	MedianMS float64 `json:"median_ms"`
	MinMS    float64 `json:"min_ms"`
	P90MS    float64 `json:"p90_ms"`
	GFLOPS   float64 `json:"gflops"` // 2 x MACs / median time
}

// Row is one thread count.
type Row struct {
	Threads int     `json:"threads"`
	Ours    Timing  `json:"ours"`
	ORT     *Timing `json:"ort,omitempty"`
	TFLite  *Timing `json:"tflite,omitempty"`
	// OursVsORT is our median over ORT's (below 1: we are faster).
	OursVsORT    float64 `json:"ours_vs_ort,omitempty"`
	OursVsTFLite float64 `json:"ours_vs_tflite,omitempty"`
}

// Layer is one node of the profile.
type Layer struct {
	Name     string  `json:"name"`
	Op       string  `json:"op"` // inspect's label: Conv, DepthwiseConv, FullyConnected, ...
	Kernel   string  `json:"kernel"`
	Shape    []int   `json:"output_shape"`
	MACs     int64   `json:"macs"`
	MedianMS float64 `json:"median_ms"`
	Share    float64 `json:"share"` // of the summed layer medians
	GFLOPS   float64 `json:"gflops,omitempty"`
}

// Report is a benchmark's result.
type Report struct {
	Model       string   `json:"model"`
	DType       string   `json:"input_dtype"`
	MACs        int64    `json:"macs"`
	Nodes       int      `json:"nodes"`
	FastNodes   int      `json:"fast_nodes"`    // nodes run by a fast kernel
	Kernels     string   `json:"kernel_family"` // runtime.KernelFamily(): go, avx2, avx512, avx512-vnni; "reference" with Reference
	ArenaBytes  int64    `json:"arena_bytes"`
	ORTRuntime  string   `json:"ort_runtime,omitempty"`
	TFLiteNote  string   `json:"tflite_runtime,omitempty"`
	Agreement   []string `json:"agreement,omitempty"` // how the first outputs compare
	Notes       []string `json:"notes,omitempty"`     // references that could not run, and why
	Rows        []Row    `json:"rows"`
	Profile     []Layer  `json:"profile,omitempty"`
	ProfileNote string   `json:"profile_note,omitempty"`
}

// Run benchmarks g (prepared by the caller: passes applied) under name.
func Run(g *ir.Graph, name string, opts Options) (*Report, error) {
	if len(g.Inputs) != 1 || len(g.Outputs) < 1 {
		return nil, fmt.Errorf("bench: %s has %d inputs and %d outputs, want one input", name, len(g.Inputs), len(g.Outputs))
	}
	if len(opts.Threads) == 0 {
		opts.Threads = []int{1, 2}
	}
	for _, t := range opts.Threads {
		if t < 1 || t > 1024 {
			return nil, fmt.Errorf("bench: thread count %d out of range [1, 1024]", t)
		}
	}
	if opts.Runs <= 0 {
		opts.Runs = 30
	}
	if opts.Warmup <= 0 {
		opts.Warmup = 3
	}
	if opts.Gap == 0 {
		opts.Gap = 10 * time.Millisecond
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	cost := inspect.Analyze(g)
	rep := &Report{Model: name, DType: g.Inputs[0].DType.String(), MACs: cost.TotalMACs, Nodes: len(g.Nodes), Kernels: runtime.KernelFamily()}
	if opts.Reference {
		rep.Kernels = "reference"
	}
	input := opts.Input
	if input == nil {
		var err error
		if input, err = makeInput(g.Inputs[0]); err != nil {
			return nil, err
		}
	}
	for _, threads := range opts.Threads {
		it, err := runtime.NewWithOptions(g, runtime.Options{Threads: threads, Reference: opts.Reference})
		if err != nil {
			return nil, err
		}
		if err := it.SetInput(0, input); err != nil {
			it.Close()
			return nil, err
		}
		rep.ArenaBytes = it.ArenaBytes()
		rep.FastNodes = countFast(it, len(g.Nodes))
		row, err := measureRow(it, g, input, threads, rep, opts, progress)
		it.Close()
		if err != nil {
			return nil, err
		}
		rep.Rows = append(rep.Rows, row)
	}
	if opts.Profile {
		if err := profile(g, input, opts, rep); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// measureRow times ours and the references at one thread count.
func measureRow(it *runtime.Interpreter, g *ir.Graph, input *runtime.Tensor, threads int, rep *Report, opts Options, progress func(string)) (Row, error) {
	row := Row{Threads: threads}
	runOurs := func(n int) ([]float64, error) {
		ms := make([]float64, 0, n)
		for range n {
			start := time.Now()
			if err := it.Run(); err != nil {
				return nil, err
			}
			ms = append(ms, float64(time.Since(start).Nanoseconds())/1e6)
		}
		return ms, nil
	}
	if _, err := runOurs(opts.Warmup); err != nil {
		return row, err
	}
	var ours, ortMS []float64
	var ort *ortProcess
	if opts.ONNX != "" {
		p, err := startORT(opts.ONNX, g, input, threads)
		if err != nil {
			rep.note(fmt.Sprintf("ONNX Runtime at %d threads: %v", threads, err))
		} else {
			ort = p
			defer ort.close()
			rep.ORTRuntime = p.runtime
			rep.agree("ONNX Runtime", threads, it.Output(0), p.firstOutput)
			if _, err := ort.run(opts.Warmup); err != nil {
				return row, err
			}
		}
	}
	pause := func() {
		if opts.Gap > 0 {
			time.Sleep(opts.Gap)
		}
	}
	// Rounds of a few runs each: a single run right after the other
	// runtime's pause starts with parked worker threads on both sides, which
	// is not the steady state a batch of images sees.
	const perRound = 4
	for done := 0; done < max(opts.Runs, 1); done += perRound {
		k := min(perRound, max(opts.Runs, 1)-done)
		ms, err := runOurs(k)
		if err != nil {
			return row, err
		}
		ours = append(ours, ms...)
		if ort != nil {
			pause()
			ms, err := ort.run(k)
			if err != nil {
				return row, err
			}
			ortMS = append(ortMS, ms...)
			pause()
		}
	}
	row.Ours = summarize(ours, rep.MACs)
	if ort != nil {
		t := summarize(ortMS, rep.MACs)
		row.ORT = &t
		row.OursVsORT = row.Ours.MedianMS / t.MedianMS
	}
	progress(fmt.Sprintf("%d thread(s): ours %.2f ms%s", threads, row.Ours.MedianMS, orEmpty(row.ORT, " ONNX Runtime %.2f ms")))
	// TFLite's WebAssembly build is single-threaded: measured at 1 thread,
	// in rounds (one Node process each) interleaved with ours.
	if opts.TFLite != "" && threads == 1 {
		t, oursAgain, err := measureTFLite(opts, input, it.Output(0), runOurs, rep)
		if err != nil {
			rep.note(fmt.Sprintf("TFLite: %v", err))
		} else {
			row.TFLite = &t
			// Compare with our runs from the same rounds.
			row.OursVsTFLite = median(oursAgain) / t.MedianMS
			progress(fmt.Sprintf("1 thread: TFLite %.2f ms (ours in the same rounds %.2f ms)", t.MedianMS, median(oursAgain)))
		}
	}
	return row, nil
}

func orEmpty(t *Timing, format string) string {
	if t == nil {
		return ""
	}
	return fmt.Sprintf(format, t.MedianMS)
}

// measureTFLite runs TFLite in rounds, each one Node process timing a block
// of runs (refrt reports their mean), alternating with as many of ours.
func measureTFLite(opts Options, input, oursFirst *runtime.Tensor, runOurs func(int) ([]float64, error), rep *Report) (Timing, []float64, error) {
	in, err := refInput(input, false)
	if err != nil {
		return Timing{}, nil, err
	}
	rounds := min(5, opts.Runs)
	per := max(1, opts.Runs/rounds)
	var means, ours []float64
	for round := range rounds {
		// TFLite's WASM build returns garbage from the first run of a model
		// whose output shapes are computed at run time: the first round
		// runs the input twice and compares the second result.
		samples := [][]refrt.Input{{in}}
		if round == 0 {
			samples = append(samples, []refrt.Input{in})
		}
		res, err := refrt.Run(refrt.TFLite, opts.TFLite, samples, refrt.Options{Threads: 1, Repeat: per})
		if err != nil {
			return Timing{}, nil, err
		}
		rep.TFLiteNote = res.Runtime
		last := len(res.Values) - 1
		if round == 0 && last >= 0 && len(res.Values[last]) > 0 {
			rep.Agreement = append(rep.Agreement, compareOutputs("TFLite", oursFirst.Floats(), res.Values[last][0]))
		}
		means = append(means, res.Millis[len(res.Millis)-1])
		ms, err := runOurs(per)
		if err != nil {
			return Timing{}, nil, err
		}
		ours = append(ours, ms...)
	}
	t := summarize(means, rep.MACs)
	t.Runs = rounds * per
	return t, ours, nil
}

func (r *Report) note(s string) { r.Notes = append(r.Notes, s) }

// agree records how a reference's first output compares with ours.
func (r *Report) agree(ref string, threads int, ours *runtime.Tensor, theirs []float32) {
	if threads != 1 && len(r.Agreement) > 0 {
		return
	}
	r.Agreement = append(r.Agreement, compareOutputs(ref, ours.Floats(), theirs))
}

// compareOutputs says whether two output vectors agree: top-1 and the
// largest difference.
func compareOutputs(ref string, ours []float64, theirs []float32) string {
	if len(ours) != len(theirs) || len(ours) == 0 {
		return fmt.Sprintf("%s: output has %d values, ours %d: not compared", ref, len(theirs), len(ours))
	}
	maxDiff, scale := 0.0, 0.0
	for i, v := range ours {
		maxDiff = max(maxDiff, math.Abs(v-float64(theirs[i])))
		scale = max(scale, math.Abs(float64(theirs[i])))
	}
	return fmt.Sprintf("%s: top-1 %d vs ours %d, max |diff| %.3g (largest |value| %.3g)", ref, eval.Argmax(theirs), eval.Argmax(ours), maxDiff, scale)
}

// profile times every node over the runs at the first thread count.
func profile(g *ir.Graph, input *runtime.Tensor, opts Options, rep *Report) error {
	threads := opts.Threads[0]
	it, err := runtime.NewWithOptions(g, runtime.Options{Threads: threads, Reference: opts.Reference})
	if err != nil {
		return err
	}
	defer it.Close()
	if err := it.SetInput(0, input); err != nil {
		return err
	}
	index := make(map[*ir.Node]int, len(g.Nodes))
	for i, n := range g.Nodes {
		index[n] = i
	}
	samples := make([][]float64, len(g.Nodes))
	var last time.Time
	record := false
	it.Observe = func(n *ir.Node, _ []*runtime.Tensor) {
		now := time.Now()
		if record {
			i := index[n]
			samples[i] = append(samples[i], float64(now.Sub(last).Nanoseconds())/1e6)
		}
		last = now
	}
	for i := range opts.Warmup + opts.Runs {
		record = i >= opts.Warmup
		last = time.Now()
		if err := it.Run(); err != nil {
			return err
		}
	}
	cost := inspect.Analyze(g)
	total := 0.0
	for i, n := range g.Nodes {
		l := Layer{Name: n.Name, Op: cost.Layers[i].Op, Kernel: kernelName(it.Kernel(i)), Shape: cost.Layers[i].OutputShape,
			MACs: cost.Layers[i].MACs, MedianMS: median(samples[i])}
		if l.MedianMS > 0 && l.MACs > 0 {
			l.GFLOPS = 2 * float64(l.MACs) / l.MedianMS / 1e6
		}
		total += l.MedianMS
		rep.Profile = append(rep.Profile, l)
	}
	for i := range rep.Profile {
		if total > 0 {
			rep.Profile[i].Share = rep.Profile[i].MedianMS / total
		}
	}
	slices.SortStableFunc(rep.Profile, func(a, b Layer) int { return cmp.Compare(b.MedianMS, a.MedianMS) })
	rep.ProfileNote = fmt.Sprintf("%d thread(s), median of %d runs per node; layer medians sum to %.2f ms", threads, opts.Runs, total)
	return nil
}

func kernelName(k runtime.Kernel) string {
	s := fmt.Sprintf("%T", k)
	s = strings.TrimPrefix(s, "*runtime.")
	if i := strings.IndexByte(s, '['); i >= 0 {
		s = s[:i]
	}
	return s
}

// countFast counts the nodes whose kernel is a fast one (its type name
// starts with "fast").
func countFast(it *runtime.Interpreter, nodes int) int {
	n := 0
	for i := range nodes {
		if strings.HasPrefix(kernelName(it.Kernel(i)), "fast") {
			n++
		}
	}
	return n
}

func summarize(ms []float64, macs int64) Timing {
	t := Timing{Runs: len(ms)}
	if len(ms) == 0 {
		return t
	}
	s := slices.Sorted(slices.Values(ms))
	t.MedianMS = median(s)
	t.MinMS = s[0]
	t.P90MS = s[min(len(s)-1, int(math.Ceil(0.9*float64(len(s))))-1)]
	if t.MedianMS > 0 {
		t.GFLOPS = 2 * float64(macs) / t.MedianMS / 1e6
	}
	return t
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// makeInput fills a deterministic input: a smooth pattern in [-1, 1] for
// float inputs, the full byte range for 8-bit ones.
func makeInput(t *ir.Tensor) (*runtime.Tensor, error) {
	if ir.NumElements(t.Shape) > 1<<28 {
		return nil, fmt.Errorf("bench: input %q shape %v is too large", t.Name, t.Shape)
	}
	x := runtime.NewTensor(t.DType, t.Shape)
	for i := range x.Len() {
		v := math.Sin(float64(i) * 0.013)
		switch t.DType {
		case ir.Float32:
			x.F32[i] = float32(v)
		case ir.Uint8:
			x.U8[i] = uint8(127.5 + 127*v)
		case ir.Int8:
			x.I8[i] = int8(127 * v)
		default:
			return nil, fmt.Errorf("bench: input %q is %v; want float32, uint8 or int8", t.Name, t.DType)
		}
	}
	return x, nil
}

// refInput converts our NHWC input to a reference runtime's: NCHW when
// nchw (an ONNX image input the importer translated).
func refInput(x *runtime.Tensor, nchw bool) (refrt.Input, error) {
	shape := slices.Clone(x.Shape)
	perm := func(i int) int { return i }
	if nchw {
		if len(shape) != 4 {
			return refrt.Input{}, errors.New("bench: an NCHW input must be rank 4")
		}
		n, h, w, c := shape[0], shape[1], shape[2], shape[3]
		shape = []int{n, c, h, w}
		perm = func(i int) int { // NCHW index i -> NHWC index
			ww := i % w
			hh := (i / w) % h
			cc := (i / (w * h)) % c
			nn := i / (w * h * c)
			return ((nn*h+hh)*w+ww)*c + cc
		}
	}
	count := x.Len()
	switch x.DType {
	case ir.Float32:
		b := make([]byte, 4*count)
		for i := range count {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x.F32[perm(i)]))
		}
		return refrt.Input{DType: ir.Float32, Shape: shape, Data: b}, nil
	case ir.Uint8:
		b := make([]byte, count)
		for i := range count {
			b[i] = x.U8[perm(i)]
		}
		return refrt.Input{DType: ir.Uint8, Shape: shape, Data: b}, nil
	case ir.Int8:
		b := make([]byte, count)
		for i := range count {
			b[i] = byte(x.I8[perm(i)])
		}
		return refrt.Input{DType: ir.Int8, Shape: shape, Data: b}, nil
	}
	return refrt.Input{}, fmt.Errorf("bench: input dtype %v", x.DType)
}
