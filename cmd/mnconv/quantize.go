package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/eval"
	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/internal/atomicfile"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/quantize"
)

var quantFlags struct {
	onnxFormat  string
	calib       string
	count       int
	prep        prepFlags
	method      string
	percentile  float64
	perTensor   bool
	reduceRange bool
	activations string
	io          string
	report      string
	reportN     int
	seed        uint64
	noProgress  bool
	workers     int
	exclude     []string
	minSQNR     float64
	minAgree    float64
	force       bool
	equalize    bool
	biasCorr    bool
	eqReLU6     bool
	eqBounded   bool
	scaleSearch bool
	roundW      bool
	evalDir     string
	maxDrop     float64
	junit       string
}

var quantizeCmd = &cobra.Command{
	Use:   "quantize IN OUT --calib DIR",
	Short: "Post-training int8 quantization calibrated on a folder of images",
	Long: `quantize runs the float model IN over the calibration images in DIR with an
observer on every activation, picks each activation's range, and writes an
integer model to OUT (.tflite: full-integer TFLite; .onnx: QDQ, opset 13, or
with --onnx-format qoperator ONNX Runtime's QLinear ops, as convert writes).

Scheme (TFLite's int8 specification by default): weights symmetric int8 per
output channel (--per-tensor: one scale per tensor), activations asymmetric
int8, int32 biases with scale = input scale x weight scale, ReLU / ReLU6
folded into the output range, softmax and logistic outputs at scale 1/256.
The model is optimized first (batch norm folded, activations fused).
Detectors and segmenters (SSD or DeepLab outputs) are calibrated on whole
images stretched to the input, as eval and run feed them, unless
--preprocess names a preset or --resize a geometry.

Ranges (--method): minmax (observed extremes), percentile (--percentile P,
default 99.99), entropy (KL-divergence threshold), mse (least expected
squared error). Calibration streams: memory does not grow with the number of
images, and the output bytes do not depend on the number of workers.

A per-tensor error report (SQNR and cosine against the float model on a few
calibration images, worst first) is printed; --report FILE.json|FILE.md
writes all of it.

Calibration images are prepared as eval prepares them.
` + prepHelp + `

OUT, --report and the flags are checked before calibration starts; Ctrl-C
stops it (exit 130) and leaves no file behind.

--exclude keeps chosen nodes (by name or op type) in float: in TFLite a
DEQUANTIZE before and a QUANTIZE after each float run, in ONNX no
QuantizeLinear / DequantizeLinear pair on their outputs; the report lists them.

Guard: before writing, the int8 model is compared with the float one on the
report images (--report-images, calibration images): output SQNR and top-1
agreement. Below --min-sqnr or --min-agreement it names the worst layers (by
isolated error: each layer quantized alone, the rest float), suggests fixes
and exits 1 without writing, unless --force. --report-images 0 turns it off.

Accuracy-aware fallback: --eval DIR2 --max-drop P measures the float model
and the int8 one on DIR2 (a labelled folder with labels.csv, disjoint from
--calib), ranks the layers by isolated error (worst first), and keeps the k
worst in float (as --exclude does) for k = 1, 2, 4, ... until the top-1 drop
is within P, then bisects for the smallest such k (assuming more float layers
never lose accuracy). Each step is printed, then the layers kept and the
final drop. The best model found is always written (replacing the guard);
exit 1 when the budget was not met. --junit FILE.xml writes the check.

--equalize rescales consecutive conv -> (ReLU) -> conv pairs so both weights'
per-channel ranges meet (Nagel et al., "Data-Free Quantization", ICCV 2019),
one report line per pair. ReLU6 is not scale-equivariant: pairs after a ReLU6
are refused (and counted) unless --equalize-relu6 turns that ReLU6 into a ReLU
as the paper does, which changes the float model (on the dequantized coral v2,
float top-1 88.25 -> 77.50 on eval/). Off by default: it did not help
per-tensor MobileNetV2. --bias-correction subtracts from each layer's int32
bias the mean error its quantized weights add on the calibration images; on
by default with --per-tensor (dequantized coral v2 per-tensor: 13.25 -> 79.75
top-1 on eval/), --bias-correction=false turns it off. --equalize-bounded
equalizes the pairs after a ReLU6 channel by channel instead, only as far as
the calibration images show the ReLU6 stays a ReLU (the float model is kept;
it did not help per-tensor MobileNetV2 either).

--scale-search picks each depthwise conv's per-tensor weight scale (clipping
the widest channels) to minimise the layer's output error on the calibration
images; --round-weights then chooses each depthwise weight's rounding (up or
down) the same way. Both are on by default with --per-tensor (one report line
per layer; --scale-search=false, --round-weights=false turn them off). With
bias correction they bring per-tensor MobileNetV2 within a point of float
(eval/ top-1, 100 calibration images: tf2 PTQ deq. 90.25 -> 90.00, coral v2
deq. 88.25 -> 89.00).`,
	Example: `  mnconv quantize float.tflite int8.tflite --calib imagenet/calib
  mnconv quantize float.onnx int8.onnx --calib imagenet/calib --calib-count 100 --method percentile
  mnconv quantize mobilenet_v2.onnx int8.tflite --calib imagenet/calib --preprocess torchvision --io int8
  mnconv quantize float.tflite int8.tflite --calib imagenet/calib --report report.md
  mnconv quantize float.tflite int8.tflite --calib imagenet/calib --exclude Add,conv_last`,
	Args: withUsage(cobra.RangeArgs(1, 2)), // IN alone with --stats-out (shard_quantize.go)
	RunE: runQuantize,
}

// quantizeCut holds quantize's --inputs and --outputs.
var quantizeCut cutFlags

func init() {
	f := quantizeCmd.Flags()
	f.StringVar(&quantFlags.calib, "calib", "", "folder of calibration images (required)")
	f.IntVar(&quantFlags.count, "calib-count", 0, "use N images (a deterministic sample chosen by --seed); 0 = all")
	addPrepFlags(quantizeCmd, &quantFlags.prep)
	f.StringVar(&quantFlags.method, "method", "minmax", "range method: minmax, percentile, entropy or mse")
	f.Float64Var(&quantFlags.percentile, "percentile", 99.99, "percentile for --method percentile")
	f.BoolVar(&quantFlags.perTensor, "per-tensor", false, "one weight scale per tensor instead of per output channel")
	f.BoolVar(&quantFlags.reduceRange, "reduce-range", false, "7-bit weights, for ONNX Runtime on x86 CPUs without VNNI (its u8 x s8 kernels saturate)")
	f.StringVar(&quantFlags.activations, "activations", "int8", "activation type: int8 or uint8")
	f.StringVar(&quantFlags.io, "io", "float", "model input/output type: float, int8 or uint8")
	f.StringVar(&quantFlags.report, "report", "", "write the whole error report to FILE.json or FILE.md")
	f.IntVar(&quantFlags.reportN, "report-images", 4, "calibration images the error report compares on")
	f.Uint64Var(&quantFlags.seed, "seed", 1, "seed for --calib-count sampling")
	f.BoolVar(&quantFlags.noProgress, "no-progress", false, "no progress bar")
	f.IntVar(&quantFlags.workers, "workers", 0, "calibration workers (0 = all cores); the output does not depend on it")
	quantizeCut.register(quantizeCmd)
	f.StringSliceVar(&quantFlags.exclude, "exclude", nil, "keep these nodes in float: node names (or a ';'-separated part of one), output names or op types (Conv, DepthwiseConv, Add, ...), comma-separated")
	f.Float64Var(&quantFlags.minSQNR, "min-sqnr", quantize.DefaultMinSQNR, "guard: least output SQNR (dB) against the float model on the report images")
	f.Float64Var(&quantFlags.minAgree, "min-agreement", 100*quantize.DefaultMinAgreement, "guard: least top-1 agreement (%) with the float model on the report images")
	f.BoolVar(&quantFlags.force, "force", false, "write the model even when the guard fails")
	f.BoolVar(&quantFlags.equalize, "equalize", false, "cross-layer equalization of conv -> (ReLU) -> conv pairs before calibration (off by default: it did not help per-tensor MobileNetV2)")
	f.BoolVar(&quantFlags.eqReLU6, "equalize-relu6", false, "--equalize also pairs whose first conv has ReLU6, which becomes ReLU as in the paper (changes the float model: measure it); without it they are refused")
	f.StringVar(&quantFlags.evalDir, "eval", "", "accuracy-aware fallback: labelled folder (labels.csv) disjoint from --calib to measure float and int8 top-1 on; with --max-drop")
	f.Float64Var(&quantFlags.maxDrop, "max-drop", 0, "fallback: largest top-1 drop (points) on --eval; the worst layers by isolated error go to float until it holds")
	f.StringVar(&quantFlags.junit, "junit", "", "fallback: write the budget check as JUnit XML to FILE.xml")
	f.StringVar(&quantFlags.onnxFormat, "onnx-format", "qdq", "ONNX OUT: qdq or qoperator (see convert --help)")
	f.BoolVar(&quantFlags.biasCorr, "bias-correction", false, "empirical bias correction on the calibration images (default: on with --per-tensor)")
	f.BoolVar(&quantFlags.eqBounded, "equalize-bounded", false, "--equalize also pairs after a ReLU6, channel by channel within what keeps the ReLU6 a ReLU on the calibration images")
	f.BoolVar(&quantFlags.scaleSearch, "scale-search", false, "per-tensor depthwise weight scale chosen for the least output error on the calibration images (default: on with --per-tensor)")
	f.BoolVar(&quantFlags.roundW, "round-weights", false, "choose each depthwise weight's rounding for the least output error on the calibration images (default: on with --per-tensor)")
	rootCmd.AddCommand(quantizeCmd)
}

func parseDType(s string, allowFloat bool) (ir.DType, error) {
	switch strings.ToLower(s) {
	case "int8":
		return ir.Int8, nil
	case "uint8":
		return ir.Uint8, nil
	case "float", "float32":
		if allowFloat {
			return ir.Float32, nil
		}
	}
	return ir.Invalid, fmt.Errorf("unknown type %q", s)
}

func runQuantize(cmd *cobra.Command, args []string) error {
	if err := checkCounts(cmd, []string{"calib-count", "workers", "report-images"}, nil); err != nil {
		return err
	}
	sh, err := quantShardSetup(cmd, args) // --shard, --stats-out, --stats
	if err != nil {
		return err
	}
	in, out := args[0], ""
	stderr := cmd.ErrOrStderr()
	warn, flushWarnings := warnTo(stderr)
	defer flushWarnings()
	var exp *exporters.Format
	if sh.statsOut == "" {
		out = args[1]
		if exp, err = checkModelOutput("OUT", out, ""); err != nil {
			return err
		}
	}
	if r := quantFlags.report; r != "" {
		if err := checkOutput("--report", r, ".json", ".md", ".markdown"); err != nil {
			return err
		}
	}
	if st, err := os.Stat(quantFlags.calib); quantFlags.calib != "" && (err != nil || !st.IsDir()) {
		return usageErrorf("--calib %s is not a folder", quantFlags.calib)
	}
	if !(quantFlags.percentile > 0 && quantFlags.percentile <= 100) {
		return usageErrorf("--percentile %g must be in (0, 100]", quantFlags.percentile)
	}
	method, err := quantize.ParseMethod(quantFlags.method)
	if err != nil {
		return err
	}
	act, err := parseDType(quantFlags.activations, false)
	if err != nil {
		return fmt.Errorf("--activations: %v", err)
	}
	iot, err := parseDType(quantFlags.io, true)
	if err != nil {
		return fmt.Errorf("--io: %v", err)
	}
	qop, err := parseONNXFormat(quantFlags.onnxFormat)
	if err != nil {
		return err
	}
	if err := quantFlags.prep.parse(stderr); err != nil {
		return err
	}
	g, err := loadModel(in, stderr)
	if err != nil {
		return err
	}
	if g, err = quantizeCut.apply(in, g); err != nil {
		return err
	}
	for _, t := range g.Tensors() {
		if t.Quant != nil || t.DType.IsQuantized() {
			return fmt.Errorf("%s is already quantized (tensor %q is %v); make it float first: mnconv convert --dequantize %s FLOAT%s", in, t.Name, t.DType, in, filepath.Ext(in))
		}
	}
	preset, mode, _ := quantFlags.prep.resolve(g, in, stderr)
	// Detectors and segmenters see the whole image (eval and run stretch
	// it for them): calibrate on what they will see.
	if (eval.DetSpec{}).Detects(g) {
		preset = quantFlags.prep.wholeImage(preset, "quantize: detection outputs: calibrating on whole images stretched", stderr)
	} else if seg, _ := runSegOutput(g); seg >= 0 {
		preset = quantFlags.prep.wholeImage(preset, "quantize: segmentation outputs: calibrating on whole images stretched", stderr)
	}
	var orig *ir.Graph
	if quantFlags.evalDir != "" {
		if st, err := os.Stat(quantFlags.evalDir); err != nil || !st.IsDir() {
			return usageErrorf("--eval %s is not a folder", quantFlags.evalDir)
		}
		if quantFlags.calib == "" || sh.statsOut != "" {
			return usageErrorf("--eval needs --calib and no --stats-out")
		}
		if j := quantFlags.junit; j != "" {
			if err := checkOutput("--junit", j, ".xml"); err != nil {
				return err
			}
		}
		orig = g.Clone()
	}
	equalize, biasCorr := quantFlags.equalize || quantFlags.eqReLU6 || quantFlags.eqBounded, quantFlags.biasCorr
	if !cmd.Flags().Changed("bias-correction") {
		biasCorr = quantFlags.perTensor && quantFlags.calib != ""
	}
	if biasCorr && quantFlags.calib == "" {
		return usageErrorf("--bias-correction needs --calib (the calibration images)")
	}
	scaleSearch := quantFlags.scaleSearch
	if !cmd.Flags().Changed("scale-search") {
		scaleSearch = quantFlags.perTensor && quantFlags.calib != ""
	}
	roundW := quantFlags.roundW
	if !cmd.Flags().Changed("round-weights") {
		roundW = quantFlags.perTensor && quantFlags.calib != ""
	}
	if (scaleSearch || roundW || quantFlags.eqBounded) && quantFlags.calib == "" {
		return usageErrorf("--scale-search, --round-weights and --equalize-bounded need --calib (the calibration images)")
	}
	if quantFlags.eqBounded && quantFlags.eqReLU6 {
		return usageErrorf("--equalize-bounded and --equalize-relu6 are two ways to handle a ReLU6: choose one")
	}
	p := quantize.Pipeline{
		Calibration: func(g *ir.Graph) (quantize.Source, error) {
			files, err := quantize.ListImages(quantFlags.calib, quantFlags.count, quantFlags.seed)
			if err != nil {
				return nil, err
			}
			if sh.statsOut != "" {
				files = sh.files(files)
			}
			src, err := quantize.NewImageSource(g, files, preset, mode)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", in, err)
			}
			return src, nil
		},
		Calibrate: quantize.CalibrateOptions{Workers: quantFlags.workers, Warn: warn, AllowEmpty: sh.statsOut != ""},
		Stats:     sh.merged,
		StatsOnly: sh.statsOut != "",
		Configs: []quantize.Config{{Method: method, Percentile: quantFlags.percentile,
			PerTensor: quantFlags.perTensor, ReduceRange: quantFlags.reduceRange, Activations: act, IO: iot, Exclude: quantFlags.exclude, BiasCorrection: biasCorr && sh.statsOut == "",
			ScaleSearch: scaleSearch && sh.statsOut == "", Rounding: roundW && sh.statsOut == "", Warn: warn}},
	}
	if equalize {
		p.Equalize = &quantize.EqualizeOptions{ReplaceReLU6: quantFlags.eqReLU6, Bounded: quantFlags.eqBounded}
	}
	if !quantFlags.noProgress && evalIsTerminal(stderr) {
		p.Progress = func(total int) (func(), func()) {
			bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetDescription("calibrating"), progressbar.OptionShowCount(),
				progressbar.OptionShowIts(), progressbar.OptionSetItsString("img"),
				progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish())
			return func() { bar.Add(1) }, func() { bar.Finish() }
		}
	}
	if quantFlags.calib == "" {
		p.Calibration = nil // merged --stats, no images for the error report
	}
	o, err := p.Run(cmd.Context(), g)
	if err != nil {
		return err
	}
	if sh.statsOut != "" {
		return sh.writeStats(cmd.OutOrStdout(), o.Stats, o.CalibTime.Seconds())
	}
	st, res := o.Stats, o.Results[0]
	stdout := cmd.OutOrStdout()
	if e := o.Equalized; e != nil {
		for _, pr := range e.Pairs {
			fmt.Fprintln(stdout, pr)
		}
		fmt.Fprintf(stdout, "equalization: %d pairs in %d sweeps, %d refused\n", len(e.Pairs), e.Sweeps, e.Refused)
	}
	if c := p.Configs[0]; c.ScaleSearch || c.Rounding {
		for _, l := range res.Searched {
			fmt.Fprintln(stdout, l)
		}
		fmt.Fprintf(stdout, "depthwise weights: %d layers searched on %d calibration images\n", res.Rounded, o.Source.Len())
	}
	if p.Configs[0].BiasCorrection {
		fmt.Fprintf(stdout, "bias correction: %d layers on %d calibration images\n", res.BiasCorrected, o.Source.Len())
	}
	var rep *quantize.Report
	met := true
	if orig != nil {
		if res, met, err = fallbackRun(cmd.Context(), stdout, orig, o, p.Configs[0], fallbackPrep(preset, mode), exp, warn); err != nil {
			return err
		}
	} else if quantFlags.reportN > 0 && o.Source != nil {
		if rep, err = o.Compare(0, quantFlags.reportN); err != nil {
			return fmt.Errorf("error report: %v", err)
		}
		rep.WriteTable(stdout, 15)
		if quantFlags.report != "" {
			if err := writeReport(rep, quantFlags.report, in); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "report written to %s\n", quantFlags.report)
		}
		if v := rep.Guard(quantFlags.minSQNR, quantFlags.minAgree/100, p.Configs[0]); !v.Pass {
			writeVerdict(stderr, v)
			if !quantFlags.force {
				return &exitError{code: 1, err: fmt.Errorf("guard failed (%s): %s not written (--force writes it anyway)", strings.Join(v.Reasons, ", "), out)}
			}
			warn("guard failed; writing anyway (--force)")
		}
	}
	data, err := exp.Export(res.Graph, exporters.Options{Warn: warn, QOperator: qop})
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(out, data, in); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s; %s ranges; wrote %s (%d bytes)\n",
		sh.describe(st, o.CalibTime.Seconds()), method, out, len(data))
	if !met {
		return &exitError{code: 1, err: fmt.Errorf("fallback: top-1 drop above --max-drop %.2f with every layer tried in float; wrote the best model found", quantFlags.maxDrop)}
	}
	return nil
}

// writeVerdict explains a failed guard: the thresholds missed, the worst
// layers by isolated error, the suggested fixes.
func writeVerdict(w io.Writer, v *quantize.Verdict) {
	fmt.Fprintf(w, "guard: %s\n", strings.Join(v.Reasons, "; "))
	fmt.Fprintf(w, "guard: worst layers by isolated error (each quantized alone, the rest float):\n")
	for _, t := range v.Worst {
		fmt.Fprintf(w, "  %-60s %-14s isolated %6.2f dB, accumulated %6.2f dB\n", t.Name, t.Op, t.Isolated, t.SQNR)
	}
	for _, s := range v.Suggestions {
		fmt.Fprintf(w, "guard: suggestion: %s\n", s)
	}
}

// reportEncoder picks the report format from the file's extension.
func reportEncoder(path string) (func(*quantize.Report, io.Writer) error, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return (*quantize.Report).WriteJSON, nil
	case ".md", ".markdown":
		return (*quantize.Report).WriteMarkdown, nil
	}
	return nil, fmt.Errorf("--report %s: want a .json or .md file", path)
}

func writeReport(rep *quantize.Report, path, input string) error {
	encode, err := reportEncoder(path)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := encode(rep, &buf); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes(), input)
}
