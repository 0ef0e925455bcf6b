package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mnconv/mnconv/eval"
	"github.com/mnconv/mnconv/inspect"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/preprocess"
)

var evalFlags struct {
	images     string
	labels     string
	prep       prepFlags
	json       bool
	limit      int
	workers    int
	minImages  int
	maxUnread  float64
	noProgress bool
	baseline   []string
	maxDrop    float64
	minTop1    float64
	junit      string
	count      bool
	maxMACs    float64
	maxSize    float64
	task       string
	masks      string
	classes    int
}

var evalCmd = &cobra.Command{
	Use:   "eval MODEL [MODEL2 ...] --images DIR",
	Short: "Measure top-1 / top-5 accuracy on a labelled image folder, or gate a model against a baseline",
	Long: `eval classifies every image listed in DIR/labels.csv (columns file,
class_index[,wnid,class_name]) and prints the top-1 and top-5 accuracy.
Several MODELs run as a chain: the first output of each feeds the input of
the next (as is when the types and quantization match, else converted through
real values), e.g. an embedding extractor followed by its classifier head.

Preprocessing is the same code calibration uses; the first model decides
the preset under auto, and a baseline takes the same one.
` + prepHelp + `

Ranking: descending score, ties to the lower output index. A 1001-way output
has background first (index i is class i-1).

Cost: eval prints the multiply-accumulates the runtime executed per image
(counted by its kernels as they run) beside inspect's static count, and the
bytes of the weights and biases. --count adds a per-layer table of executed
against static MACs for every model.

Gate mode: with --baseline (repeat it, or separate with commas, for a chain)
both are evaluated on the same images; eval prints both accuracies, the top-1
drop, the top-1 agreement and both costs (MACs per image and weight bytes,
with their ratios: an int8 model's weights are about 4x smaller than its float
twin's at equal MACs), and exits 1 when the drop exceeds --max-drop, the
model's top-1 is below --min-top1, its MACs per image exceed --max-macs-ratio
times the baseline's or its weight bytes --max-size-ratio times the
baseline's. --junit writes the checks as JUnit XML.

Unreadable images: more than --max-unreadable percent of the listed images
(default 0: any) is an error that names them; within the allowance they are
named in a warning and skipped. Fewer readable images than --min-images
(default 50: at one image per class-sized step a 50-image result moves in
2-point steps, coarser than any useful --max-drop) is an error too; small
test folders pass --min-images explicitly. Exit status: 0 success (gate
passed), 1 gate failed, 2 usage or input error, 130 interrupted.

` + detHelp,
	Example: `  mnconv eval model.tflite --images imagenet/eval
  mnconv eval onnxzoo_mobilenetv2-12-int8.onnx --images imagenet/eval --preprocess torchvision
  mnconv eval int8.tflite --images imagenet/eval --baseline float.tflite --max-drop 1 --junit gate.xml
  mnconv eval extractor.tflite head.tflite --images imagenet/eval --limit 100 --json
  mnconv eval st_ssd.tflite --task detection --images coco/images --annotations coco/detection_labels.csv \
    --labels coco/coco80_names.txt --box-coding corners --det-outputs 0,1,2`,
	Args: withUsage(cobra.MinimumNArgs(1)),
	RunE: func(cmd *cobra.Command, args []string) error {
		err := evalMain(cmd, args)
		var ee *exitError
		if err != nil && !errors.As(err, &ee) {
			err = &exitError{code: 2, err: err}
		}
		return err
	},
}

func init() {
	f := evalCmd.Flags()
	f.StringVar(&evalFlags.images, "images", "", "folder of images with labels.csv (required)")
	f.StringVar(&evalFlags.labels, "labels", "", "labels CSV (default: DIR/labels.csv); file names are relative to --images")
	addPrepFlags(evalCmd, &evalFlags.prep)
	addArithFlag(evalCmd)
	f.BoolVar(&evalFlags.json, "json", false, "print the result as JSON (per-image top-5 included)")
	f.IntVar(&evalFlags.limit, "limit", 0, "evaluate only the first N listed images (0: all)")
	f.IntVar(&evalFlags.workers, "workers", 0, "images evaluated in parallel (0: one per CPU)")
	f.IntVar(&evalFlags.minImages, "min-images", evalDefaultMinImages, "fewest readable images that make a result")
	f.Float64Var(&evalFlags.maxUnread, "max-unreadable", 0, "largest share of unreadable images, in percent of those listed (0: none); within it they are skipped")
	f.BoolVar(&evalFlags.noProgress, "no-progress", false, "no progress bar (it is shown only when stderr is a terminal)")
	f.StringSliceVar(&evalFlags.baseline, "baseline", nil, "baseline model for the gate (repeat or comma-separate for a chain)")
	f.Float64Var(&evalFlags.maxDrop, "max-drop", 0, "gate: largest allowed top-1 drop below the baseline, in points")
	f.Float64Var(&evalFlags.minTop1, "min-top1", -1, "gate: smallest allowed top-1 of the model, in percent (negative: unchecked)")
	f.StringVar(&evalFlags.junit, "junit", "", "gate: write the checks as JUnit XML to this file")
	f.BoolVar(&evalFlags.count, "count", false, "print each model's executed MACs per layer beside inspect's static count")
	f.BoolVar(&tableWide, "wide", false, "print every table column at full width, whatever the terminal's width")
	f.Float64Var(&evalFlags.maxMACs, "max-macs-ratio", 0, "gate: largest allowed ratio of the model's executed MACs per image to the baseline's (0: unchecked)")
	f.Float64Var(&evalFlags.maxSize, "max-size-ratio", 0, "gate: largest allowed ratio of the model's weight bytes to the baseline's (0: unchecked)")
	f.StringVar(&evalFlags.task, "task", "classification", "classification, segmentation (--masks: per-class IoU, mIoU, pixel accuracy) or detection (--annotations: per-class AP, mAP)")
	f.StringVar(&evalFlags.masks, "masks", "", "segmentation: folder of PNG class masks (255 = ignore), named as the images")
	f.IntVar(&evalFlags.classes, "classes", 21, "segmentation: number of classes (PASCAL VOC: 21)")
	rootCmd.AddCommand(evalCmd)
}

// evalDefaultMinImages is --min-images' default: a result on fewer images
// moves in steps of more than 2 points of top-1, too coarse for a gate.
const evalDefaultMinImages = 50

// evalUsage marks a usage or input error (exit status 2).
// checkGateFlags checks the gate flags that eval and merge share. Without a
// baseline (gate false) none may be given: the error says the flag needs
// what; with one, --max-drop must be given when needDrop (missingDrop is
// that error). --max-drop must not be negative and the cost ratios, when
// given, must be positive. usage makes each error (exit 2, verb prefix).
func checkGateFlags(fl *pflag.FlagSet, gate, needDrop bool, usage func(string, ...any) error, needs, missingDrop string) error {
	if !gate {
		for _, name := range []string{"max-drop", "min-top1", "junit", "max-macs-ratio", "max-size-ratio"} {
			if fl.Changed(name) {
				return usage("--%s needs %s", name, needs)
			}
		}
	} else if needDrop && !fl.Changed("max-drop") {
		return usage("%s", missingDrop)
	}
	if v, _ := fl.GetFloat64("max-drop"); v < 0 {
		return usage("--max-drop %g must not be negative", v)
	}
	for _, name := range []string{"max-macs-ratio", "max-size-ratio"} {
		if v, _ := fl.GetFloat64(name); fl.Changed(name) && !(v > 0) {
			return usage("--%s %g must be positive", name, v)
		}
	}
	return nil
}

func evalUsage(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf("eval: "+format, args...)}
}

func evalMain(cmd *cobra.Command, args []string) error {
	fl := cmd.Flags()
	gate := len(evalFlags.baseline) > 0
	if evalFlags.images == "" {
		return evalUsage("--images DIR is required")
	}
	if err := checkTaskFlags(cmd); err != nil {
		return err
	}
	switch evalFlags.task {
	case "segmentation":
		return evalSegMain(cmd, args)
	case "detection":
		return evalDetMain(cmd, args)
	case "classification":
	default:
		return evalUsage("--task %q: classification, segmentation or detection", evalFlags.task)
	}
	part, err := evalPartialSetup(cmd) // shard.go: eval --shard / --partial-out
	if err != nil {
		return err
	}
	// A shard's gate flags go to merge (shard.go refuses them there).
	if err := checkGateFlags(fl, gate, gate && part == nil, evalUsage, "--baseline", "--baseline needs --max-drop POINTS"); err != nil {
		return err
	}
	if err := checkCounts(cmd, []string{"limit", "workers", "min-images"}, nil); err != nil {
		return err
	}
	if v := evalFlags.maxUnread; !(v >= 0 && v <= 100) {
		return usageErrorf("eval: --max-unreadable %g must be a percentage, 0 to 100", v)
	}
	stderr := cmd.ErrOrStderr()
	if err := evalFlags.prep.parse(stderr); err != nil {
		return err
	}
	if evalFlags.junit != "" {
		if err := checkOutput("--junit", evalFlags.junit, ".xml"); err != nil {
			return err
		}
	}
	if st, err := os.Stat(evalFlags.images); err != nil || !st.IsDir() {
		return evalUsage("--images %s is not a folder", evalFlags.images)
	}
	labels := evalFlags.labels
	if labels == "" {
		labels = filepath.Join(evalFlags.images, "labels.csv")
	}
	items, err := eval.LoadLabels(labels, evalFlags.images)
	if err != nil {
		return evalUsage("%v", err)
	}
	if evalFlags.limit > 0 && evalFlags.limit < len(items) {
		items = items[:evalFlags.limit]
	}

	warn, flushWarnings := warnTo(stderr)
	defer flushWarnings()
	models, err := evalLoadChain(args, stderr)
	if err != nil {
		return err
	}
	var baseline []*ir.Graph
	if gate {
		var paths []string
		for _, b := range evalFlags.baseline {
			paths = append(paths, strings.Split(b, ",")...)
		}
		if baseline, err = evalLoadChain(paths, stderr); err != nil {
			return err
		}
	}

	ctx := cmd.Context()
	preset, mode, floatMode := evalFlags.prep.resolve(models[0], args[0], stderr)
	cfg := eval.Config{Preset: preset, Mode: mode, Workers: evalFlags.workers, MinImages: evalFlags.minImages, Warn: warn, CountLayers: evalFlags.count,
		LimitUnreadable: true, MaxUnreadable: evalFlags.maxUnread / 100}
	if !evalFlags.noProgress && evalIsTerminal(stderr) {
		cfg.Progress = stderr
	}
	cfg.Description = "model"
	if part != nil {
		return part.run(ctx, cmd, args, models, baseline, items, cfg)
	}
	res, err := eval.Evaluate(ctx, models, items, cfg)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if !gate {
		return evalOutput(out, evalOut{json: evalFlags.json, models: args, res: res})
	}

	cfg.Description = "baseline"
	cfg.Warn = nil // the same images were named once already
	if !evalFlags.prep.explicitMode() {
		// the baseline resolves its own input (raw for quantized, the
		// preset's mapping for float) under the model's preset
		cfg.Mode, cfg.FloatMode = preprocess.Auto, floatMode
	}
	base, err := eval.Evaluate(ctx, baseline, items, cfg)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	g := eval.Gate{MaxDrop: evalFlags.maxDrop, MinTop1: evalFlags.minTop1, MaxMACsRatio: evalFlags.maxMACs, MaxSizeRatio: evalFlags.maxSize}
	return evalOutput(out, evalOut{json: evalFlags.json, junit: evalFlags.junit, models: args, res: res,
		baselineModels: evalFlags.baseline, base: base, gate: &g})
}

// evalOut is what eval (and merge, from the parts of a sharded eval)
// reports: the model's result, and in gate mode the baseline's and the gate.
type evalOut struct {
	json           bool
	junit          string
	models         []string
	res            *eval.Result
	baselineModels []string
	base           *eval.Result
	gate           *eval.Gate // nil: no gate
}

// evalOutput prints the report (text or JSON), writes the JUnit file and
// returns the gate's verdict as the exit status.
func evalOutput(out io.Writer, o evalOut) error {
	args, res, base := o.models, o.res, o.base
	if o.gate == nil {
		if o.json {
			return printJSON(out, evalReport{Models: args, Result: res})
		}
		evalPrint(out, "model", args, res)
		return nil
	}
	g := *o.gate
	c := g.Compare(res, base)
	if o.junit != "" {
		if err := g.WriteJUnit(o.junit, "mnconv eval gate", c); err != nil {
			return fmt.Errorf("eval: writing the JUnit report: %w", err)
		}
	}
	if o.json {
		if err := printJSON(out, evalReport{Models: args, Result: res, Baseline: base, BaselineModels: o.baselineModels, Gate: &c}); err != nil {
			return err
		}
	} else {
		evalPrint(out, "model", args, res)
		evalPrint(out, "baseline", o.baselineModels, base)
		fmt.Fprintf(out, "drop:      %.2f points (allowed %.2f), top-1 agreement %.2f%% of %d images\n", c.Drop, g.MaxDrop, c.Agreement, c.Common)
		evalPrintCost(out, g, c)
		if c.Pass {
			fmt.Fprintln(out, "gate:      PASS")
		} else {
			fmt.Fprintf(out, "gate:      FAIL: %s\n", strings.Join(c.Failures, "; "))
		}
	}
	if !c.Pass {
		return &exitError{code: 1, err: fmt.Errorf("eval: accuracy gate failed: %s", strings.Join(c.Failures, "; "))}
	}
	return nil
}

func evalLoadChain(paths []string, stderr io.Writer) ([]*ir.Graph, error) {
	var gs []*ir.Graph
	for _, p := range paths {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		g, err := loadModel(p, stderr)
		if err != nil {
			return nil, err
		}
		if err := applyArith(g); err != nil {
			return nil, err
		}
		if g.Name == "" {
			g.Name = filepath.Base(p)
		}
		gs = append(gs, g)
	}
	if len(gs) == 0 {
		return nil, evalUsage("no model given")
	}
	return gs, nil
}

// evalIsTerminal reports whether w is a character device (a terminal).
func evalIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func evalPrint(w io.Writer, role string, models []string, r *eval.Result) {
	fmt.Fprintf(w, "%-10s %s\n", role+":", strings.Join(models, " -> "))
	fmt.Fprintf(w, "  images:  %d", r.N)
	if r.Unreadable > 0 {
		fmt.Fprintf(w, " (%d unreadable, skipped)", r.Unreadable)
	}
	fmt.Fprintf(w, ", %d classes\n", r.Classes)
	fmt.Fprintf(w, "  top-1:   %.2f%%\n  top-5:   %.2f%%\n", r.Top1, r.Top5)
	fmt.Fprintf(w, "  speed:   %.1f images/s on %d workers (summed over workers: decode %.2f s, inference %.2f s)\n",
		r.ImagesPerSecond, r.Workers, r.DecodeSeconds, r.InferenceSeconds)
	fmt.Fprintf(w, "  MACs:    %s per image executed (inspect: %s)\n", inspect.Thousands(r.MACsPerImage), inspect.Thousands(r.StaticMACs))
	fmt.Fprintf(w, "  weights: %s bytes\n", inspect.Thousands(r.WeightBytes))
	for _, mc := range r.Cost {
		if len(mc.Layers) > 0 || len(mc.Uncounted) > 0 {
			countPrint(w, mc)
		}
	}
}

// evalPrintCost prints the gate's cost comparison: MACs per image and
// weight bytes of model and baseline, their ratios and the allowed ones.
func evalPrintCost(w io.Writer, g eval.Gate, c eval.Comparison) {
	allowed := func(limit float64) string {
		if limit > 0 {
			return fmt.Sprintf(" (allowed %.3fx)", limit)
		}
		return ""
	}
	fmt.Fprintf(w, "MACs:      %s per image vs %s: %.3fx%s\n",
		inspect.Thousands(c.MACs), inspect.Thousands(c.BaselineMACs), c.MACsRatio, allowed(g.MaxMACsRatio))
	size := ""
	if c.SizeRatio > 0 && c.SizeRatio < 1 {
		size = fmt.Sprintf(", %.2fx smaller", 1/c.SizeRatio)
	} else if c.SizeRatio > 1 {
		size = fmt.Sprintf(", %.2fx larger", c.SizeRatio)
	}
	fmt.Fprintf(w, "weights:   %s bytes vs %s: %.3fx%s%s\n",
		inspect.Thousands(c.WeightBytes), inspect.Thousands(c.BaselineWeightBytes), c.SizeRatio, size, allowed(g.MaxSizeRatio))
}

// evalReport is the --json document: the model's result at the top level
// (n, top1, top5, per_image, ...), and in gate mode the baseline's result
// and the gate's verdict beside it.
type evalReport struct {
	Models []string `json:"models"`
	*eval.Result
	BaselineModels []string         `json:"baseline_models,omitempty"`
	Baseline       *eval.Result     `json:"baseline,omitempty"`
	Gate           *eval.Comparison `json:"gate,omitempty"`
}

// printJSON writes v as indented JSON, the --json output of every verb.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
