package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/bench"
	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/runtime"
)

var benchFlags struct {
	threads    []int
	runs       int
	warmup     int
	onnx       string
	tflite     string
	profile    bool
	json       bool
	noPasses   bool
	reference  bool
	gapMS      int
	alpha      float64
	resolution int
	classes    int
	image      string
	prep       prepFlags
}

var benchCmd = &cobra.Command{
	Use:   "bench MODEL|ARCH [--threads 1,2] [--runs N] [--profile]",
	Short: "Time the runtime against ONNX Runtime and TFLite, side by side",
	Long: `bench times one inference (batch 1) of a model with mnconv's runtime and,
where they can run the model, with ONNX Runtime and TFLite, and prints the
median milliseconds, GFLOP/s (2 x MACs / time, MACs as inspect counts them)
and the ratio ours / reference at each --threads count.

MODEL is a model file (.onnx runs on ONNX Runtime too, .tflite on TFLite
too), or an architecture name (` + archList() + `) built in memory with
--alpha, --resolution and --classes; --onnx and --tflite name the reference
files explicitly (the same network in the other format).

ONNX Runtime is timed inside one Node process that loads the model once;
its runs are interleaved with ours one by one (ours, ORT, ours, ORT, ...),
so that both see the same background load. TFLite (single-threaded
WebAssembly) is timed at 1 thread in rounds of one process each, interleaved
with as many of ours. The reference runtimes are the ones
scripts/install-refrt.sh installs; without them only ours is timed.

The default optimization passes run first, as mnconv convert does (fold
batch norms and pads, fuse activations); --no-passes times the graph as
imported. --profile adds our time per layer, sorted, with op, kernel and MACs.
The TFLite columns are TFLite's WebAssembly build with the XNNPACK delegate
(TFLite-WASM), not a native TFLite.

The input is a deterministic pattern, or --image IMG prepared as run and eval
prepare it:
` + prepHelp,
	Example: `  mnconv bench model.tflite
  mnconv bench model.onnx --tflite model.tflite --threads 1,2,4 --runs 50
  mnconv bench mobilenet-v2 --alpha 0.5 --resolution 160 --profile
  mnconv bench model.onnx --image cat.jpg --preprocess torchvision`,
	Args: withUsage(cobra.ExactArgs(1)),
	RunE: runBench,
}

func init() {
	f := benchCmd.Flags()
	f.IntSliceVar(&benchFlags.threads, "threads", []int{1, 2}, "thread counts to measure")
	f.IntVar(&benchFlags.runs, "runs", 30, "timed runs per runtime and thread count")
	f.IntVar(&benchFlags.warmup, "warmup", 3, "untimed runs first")
	f.StringVar(&benchFlags.onnx, "onnx", "", "ONNX file for ONNX Runtime (default: MODEL when it is .onnx)")
	f.StringVar(&benchFlags.tflite, "tflite", "", "TFLite file for TFLite (default: MODEL when it is .tflite)")
	f.BoolVar(&benchFlags.profile, "profile", false, "print our time per layer")
	f.BoolVar(&benchFlags.json, "json", false, "print the report as JSON")
	f.BoolVar(&benchFlags.noPasses, "no-passes", false, "time the graph as imported, without the default passes")
	f.BoolVar(&benchFlags.reference, "reference", false, "time our reference kernels instead of the fast ones")
	f.IntVar(&benchFlags.gapMS, "gap", 100, "milliseconds of pause when switching runtimes (lets spinning threads settle)")
	f.Float64Var(&benchFlags.alpha, "alpha", 1, "width multiplier of a built ARCH")
	f.IntVar(&benchFlags.resolution, "resolution", 224, "input size of a built ARCH")
	f.IntVar(&benchFlags.classes, "classes", 1001, "classes of a built ARCH")
	f.StringVar(&benchFlags.image, "image", "", "time on this image (default: a deterministic pattern)")
	addPrepFlags(benchCmd, &benchFlags.prep)
	rootCmd.AddCommand(benchCmd)
}

func runBench(cmd *cobra.Command, args []string) error {
	model := args[0]
	if benchFlags.runs < 1 || benchFlags.runs > 100000 || benchFlags.warmup < 0 {
		return usageErrorf("bench: --runs must be in [1, 100000] and --warmup >= 0")
	}
	for _, t := range benchFlags.threads {
		if t < 1 {
			return usageErrorf("bench: --threads: thread count %d must be at least 1", t)
		}
	}
	if benchFlags.alpha <= 0 || benchFlags.resolution < 1 || benchFlags.classes < 1 {
		return usageErrorf("bench: --alpha, --resolution and --classes must be positive")
	}
	stderr := cmd.ErrOrStderr()
	if err := benchFlags.prep.parse(stderr); err != nil {
		return err
	}
	fl := cmd.Flags()
	if benchFlags.image == "" && (fl.Changed("preprocess") || fl.Changed("resize") || fl.Changed("input-mode")) {
		return usageErrorf("bench: --preprocess, --resize and --input-mode prepare --image IMG; give one")
	}
	var g *ir.Graph
	name := model
	onnxFile, tfliteFile := benchFlags.onnx, benchFlags.tflite
	if _, err := os.Stat(model); err == nil {
		if g, err = loadModel(model, stderr); err != nil {
			return err
		}
		name = filepath.Base(model)
		switch strings.ToLower(filepath.Ext(model)) {
		case ".onnx":
			if onnxFile == "" {
				onnxFile = model
			}
		case ".tflite":
			if tfliteFile == "" {
				tfliteFile = model
			}
		}
	} else {
		arch, archErr := builder.ParseArch(model)
		if archErr != nil {
			return fmt.Errorf("bench: %s is neither a model file (%v) nor an architecture (%v)", model, err, archErr)
		}
		cfg := builder.Config{Arch: arch, Alpha: benchFlags.alpha, Resolution: benchFlags.resolution, Classes: benchFlags.classes}
		if g, err = builder.Build(cfg); err != nil {
			return err
		}
		name = cfg.Name() + " (built, random weights)"
	}
	var input *runtime.Tensor
	if benchFlags.image != "" {
		if len(g.Inputs) != 1 {
			return fmt.Errorf("bench: %s has %d inputs, want one image input", name, len(g.Inputs))
		}
		preset, mode, _ := benchFlags.prep.resolve(g, model, stderr)
		t, err := preprocess.TargetFor(g, 0, preset, mode)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if input, err = preprocess.LoadBatch([]string{benchFlags.image}, preset, t); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	if !benchFlags.noPasses {
		if _, err := passes.Run(g, passes.Default, nil); err != nil {
			return err
		}
	}
	opts := bench.Options{
		Threads: benchFlags.threads, Runs: benchFlags.runs, Warmup: benchFlags.warmup,
		ONNX: onnxFile, TFLite: tfliteFile, Profile: benchFlags.profile, Reference: benchFlags.reference,
		Gap: msDuration(benchFlags.gapMS), Input: input,
	}
	if !benchFlags.json {
		opts.Progress = func(msg string) { fmt.Fprintln(stderr, "bench:", msg) }
	}
	rep, err := bench.Run(g, name, opts)
	if err != nil {
		return err
	}
	if benchFlags.json {
		return printJSON(cmd.OutOrStdout(), rep)
	}
	return rep.WriteText(cmd.OutOrStdout())
}

// msDuration converts --gap; 0 or less means no pause.
func msDuration(ms int) time.Duration {
	if ms <= 0 {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}
