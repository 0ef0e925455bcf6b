package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/atomicfile"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
)

var convFlags struct {
	to          string
	passes      string
	noPasses    bool
	dequantize  bool
	inputLayout string
	verbose     bool
	qdqMode     string
	padMode     string
	symbolic    bool
	onnxFormat  string
}

var convertCmd = &cobra.Command{
	Use:   "convert IN OUT",
	Short: "Convert between ONNX and TFLite, optimizing on the way",
	Long: `convert reads IN (.onnx or .tflite), runs the optimization passes and writes
OUT in the format its extension names (or --to).

Passes (default: ` + defaultPassNames() + `):
--passes LIST runs only those (comma-separated), --no-passes none; --verbose
prints what each pass changed.

--dequantize turns a quantized model into a float one (weights dequantized,
QUANTIZE / DEQUANTIZE and Q/DQ nodes removed) so that it can be re-quantized.
--input-layout nchw|nhwc sets an ONNX output's image input layout (default:
what the source had). The output is written atomically and never over IN.
OUT's folder, its extension and --to are checked before IN is read.

QDQ ONNX input (QuantizeLinear / DequantizeLinear around float ops, as
ONNX Runtime's quantizer and mnconv quantize write): --qdq-mode fuse (the
default) turns each DequantizeLinear -> Conv/Gemm/MatMul/Add/Mul/pool/... ->
QuantizeLinear region into the integer op with ONNX Runtime's requantization
(so a QDQ file converts to a fully integer .tflite); regions no integer kernel
covers stay as Q/DQ around float ops. --qdq-mode simulate keeps every region
as written: float ops between Q/DQ pairs (the float simulation).

Pads that TFLite's SAME cannot express (Keras' ZeroPadding2D before a
stride-2 convolution pads top and left): --pad-mode pad (the default) writes
PAD then a VALID convolution, as TFLite's converter does; --pad-mode grow
writes a SAME convolution whose kernel has zero taps added (3x3 -> 4x4): no
PAD op, but 16/9 of those layers' multiply-adds and no 3x3 fast paths.

Quantized ONNX OUT: --onnx-format qdq (the default) writes ONNX Runtime's
QDQ form (float ops between QuantizeLinear / DequantizeLinear, which it
fuses); --onnx-format qoperator writes its integer ops for runtimes that
want them: QLinearConv (per-channel weight scales kept), com.microsoft
QGemm for fully connected layers (the int32 bias added before the one
requantization), QLinearAdd, QLinearMul, QLinearGlobalAveragePool,
QLinearSigmoid and QLinearSoftmax, MaxPool / Reshape / Concat on the
integers; a fused ReLU / ReLU6 is folded into the output's range where
saturation implies it. Other ops (HardSwish, HardSigmoid, Pad, pools that
are not global, activations the range does not imply) stay as
DequantizeLinear -> float op -> QuantizeLinear.

Symbolic batch: an ONNX input's dim_param batch is always kept (OUT's
inputs and outputs get it back: dim_param in ONNX, shape_signature -1 in
TFLite); so is a .tflite input's shape_signature -1 batch (TensorFlow's
converter writes it for a Keras model whose batch was None).
--symbolic-batch=false fixes the batch at 1 instead. Where a dimension
cannot be kept, a warning says so. The runtime runs at batch 1 unless
asked (run --batch N).`,
	Example: `  mnconv convert model.onnx model.tflite
  mnconv convert model.tflite model.onnx --input-layout nchw
  mnconv convert int8.tflite float.tflite --dequantize
  mnconv convert model.onnx out.bin --to tflite --passes fold-batchnorm --verbose
  mnconv convert int8_qdq.onnx int8.tflite --qdq-mode fuse`,
	Args: withUsage(cobra.ExactArgs(2)),
	RunE: runConvert,
}

// convertCut holds convert's --inputs and --outputs.
var convertCut cutFlags

func init() {
	f := convertCmd.Flags()
	f.StringVar(&convFlags.to, "to", "", "output format: onnx or tflite (default: from OUT's extension)")
	f.StringVar(&convFlags.passes, "passes", "", "comma-separated passes to run instead of the default list")
	f.BoolVar(&convFlags.noPasses, "no-passes", false, "run no optimization passes")
	f.BoolVar(&convFlags.dequantize, "dequantize", false, "turn a quantized model into a float one")
	f.StringVar(&convFlags.inputLayout, "input-layout", "", "ONNX image input layout: nchw or nhwc")
	f.BoolVar(&convFlags.verbose, "verbose", false, "print what each pass changed")
	convertCut.register(convertCmd)
	f.StringVar(&convFlags.qdqMode, "qdq-mode", "fuse", "QDQ ONNX input: fuse (integer ops) or simulate (float between Q/DQ)")
	f.StringVar(&convFlags.padMode, "pad-mode", "pad", "TFLite pads SAME cannot express: pad (PAD + VALID) or grow (zero-grown kernel)")
	f.StringVar(&convFlags.onnxFormat, "onnx-format", "qdq", "quantized ONNX OUT: qdq (float ops between Q/DQ) or qoperator (QLinearConv, com.microsoft QGemm/QLinearAdd/...)")
	f.BoolVar(&convFlags.symbolic, "symbolic-batch", true, "a .tflite IN's shape_signature -1 batch stays symbolic (ONNX dim_param N, TFLite -1); false fixes it at 1")
	rootCmd.AddCommand(convertCmd)
}

func runConvert(cmd *cobra.Command, args []string) error {
	in, out := args[0], args[1]
	stderr := cmd.ErrOrStderr()
	warn, flushWarnings := warnTo(stderr)
	defer flushWarnings()
	exp, err := checkModelOutput("OUT", out, convFlags.to)
	if err != nil {
		return err
	}
	layout, err := ir.ParseLayout(convFlags.inputLayout)
	if err != nil {
		return usageErrorf("--input-layout %q: want nchw or nhwc", convFlags.inputLayout)
	}
	list := passes.Default
	switch {
	case convFlags.noPasses && convFlags.passes != "":
		return usageErrorf("--passes and --no-passes exclude each other")
	case convFlags.noPasses:
		list = nil
	case convFlags.passes != "":
		if list, err = passes.ByName(convFlags.passes); err != nil {
			return usageErrorf("--passes: %v", err)
		}
	}
	if convFlags.dequantize {
		list = append([]passes.Pass{passes.Dequantize}, list...)
	}
	padMode, err := exporters.ParsePadMode(convFlags.padMode)
	if err != nil {
		return usageErrorf("--pad-mode %q: want pad or grow", convFlags.padMode)
	}
	qop, err := parseONNXFormat(convFlags.onnxFormat)
	if err != nil {
		return err
	}
	var simulate bool
	switch convFlags.qdqMode {
	case "fuse", "":
	case "simulate":
		simulate = true
	default:
		return usageErrorf("--qdq-mode %q: want fuse or simulate", convFlags.qdqMode)
	}
	g, err := loadModelWith(in, stderr, importers.Options{QDQSimulate: simulate, ShapeSignature: convFlags.symbolic})
	if err != nil {
		return err
	}
	if g, err = convertCut.apply(in, g); err != nil {
		return err
	}
	if len(list) > 0 {
		rep, err := passes.Run(g, list, nil)
		if err != nil {
			return err
		}
		if convFlags.verbose {
			fmt.Fprint(stderr, rep.String())
		}
	}
	data, err := exp.Export(g, exporters.Options{InputLayout: layout, Warn: warn, PadMode: padMode, QOperator: qop})
	if err != nil {
		return fmt.Errorf("%s: %v", out, err)
	}
	if err := atomicfile.WriteFile(out, data, in); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s, %d bytes, %d nodes)\n", out, exp.Name, len(data), len(g.Nodes))
	return nil
}

// parseONNXFormat reads --onnx-format: qdq (false) or qoperator (true).
func parseONNXFormat(s string) (qoperator bool, err error) {
	switch strings.ToLower(s) {
	case "qdq", "":
		return false, nil
	case "qoperator":
		return true, nil
	}
	return false, usageErrorf("--onnx-format %q: want qdq or qoperator", s)
}

func defaultPassNames() string {
	var names []string
	for _, p := range passes.Default {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}
