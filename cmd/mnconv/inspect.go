package main

import (
	"fmt"
	"github.com/mnconv/mnconv/internal/atomicfile"
	"io"
	"path/filepath"
	"strings"

	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/inspect"
	"github.com/mnconv/mnconv/ir"
)

var (
	inspectJSON      bool
	inspectPlot      string
	inspectSeparable bool
	inspectCut       cutFlags
)

var inspectCmd = &cobra.Command{
	Use:   "inspect MODEL",
	Short: "Per-layer parameters, multiply-accumulates and output shapes of a model",
	Long: `inspect loads an ONNX or TFLite model and prints, per layer, its op, output
shape, parameters and multiply-accumulates (MACs), then the totals, the weight
bytes by element type, and the model's inputs and outputs.

Counting convention:
  MACs    Conv (depthwise and grouped too: output elements x KH x KW x
          input channels per group), Gemm / MatMul / fully connected
          (M x K x N). Other ops (add, activations, pooling, softmax) count 0.
  params  the weights and biases of those layers; quantized weights count
          elements, not bytes.
  other   every other constant (BatchNorm scale/bias/mean/var, constant
          operands of Add/Mul...), listed apart.
Shapes are shown as the IR holds them: rank-4 activations in NHWC, also for
models whose source layout is NCHW. Op "DepthwiseConv" is a Conv with one group
per input channel; "FullyConnected" a Gemm with a constant transposed weight.

--separable prints, instead of the layer table, every depthwise-separable
pair (a DK x DK depthwise conv followed by a 1x1 conv, directly or through
BatchNorm and activations) with what a standard DK x DK conv from the same M
inputs to the same N outputs would cost on the same DF x DF output,
DK·DK·M·N·DF·DF, what the pair costs, DK·DK·M·DF·DF + M·N·DF·DF, their ratio
next to the paper's 1/N + 1/DK², and the totals (MobileNet v1 paper, 3.1).

--plot FILE.png|FILE.svg draws per-layer MACs and parameters; the format
follows the extension.

Models with ops mnconv cannot translate still load: such a node is kept
opaque (its source op name, inputs and outputs with the shapes the file
declares), shown with '?' for what cannot be counted, and listed under
"unsupported" with counts; the totals cover the rest. Other verbs refuse
such models, naming every unsupported op.

--inputs and --outputs cut the graph at named tensors first (as for convert,
run and quantize). --json adds every quantized tensor's parameters and the
activation memory the runtime's arena planner needs (peak bytes).`,
	Example: `  mnconv inspect model.tflite
  mnconv inspect model.onnx --json
  mnconv inspect model.tflite --plot layers.svg
  mnconv inspect model.tflite --separable
  mnconv inspect model.onnx --outputs logits`,
	Args: withUsage(cobra.ExactArgs(1)),
	RunE: func(cmd *cobra.Command, args []string) error {
		if inspectPlot != "" {
			if err := checkOutput("--plot", inspectPlot, ".png", ".svg"); err != nil {
				return err
			}
		}
		// inspect shows every model it can read: ops it cannot translate
		// stay in the graph as opaque nodes, listed apart.
		g, err := loadModelWith(args[0], cmd.ErrOrStderr(), importers.Options{Lenient: true, ShapeSignature: true})
		if err != nil {
			return err
		}
		if g, err = inspectCut.apply(args[0], g); err != nil {
			return err
		}
		r := inspect.Analyze(g)
		if r.Model == "" {
			r.Model = args[0]
		}
		if inspectPlot != "" {
			format := strings.TrimPrefix(strings.ToLower(filepath.Ext(inspectPlot)), ".")
			img, err := inspect.PlotAs(r, format)
			if err != nil {
				return err
			}
			if err := atomicfile.WriteFile(inspectPlot, img, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "plot written to %s\n", inspectPlot)
		}
		if inspectSeparable {
			s := inspect.AnalyzeSeparable(g)
			if s.Model == "" {
				s.Model = args[0]
			}
			if inspectJSON {
				return printJSON(cmd.OutOrStdout(), s)
			}
			return inspPrintSeparable(cmd.OutOrStdout(), args[0], s)
		}
		if inspectJSON {
			return printJSON(cmd.OutOrStdout(), r)
		}
		return inspPrint(cmd.OutOrStdout(), args[0], r)
	},
}

func init() {
	inspectCmd.Flags().BoolVar(&inspectJSON, "json", false, "print the report as JSON")
	inspectCmd.Flags().StringVar(&inspectPlot, "plot", "", "also draw per-layer MACs and params to FILE.png or FILE.svg")
	inspectCmd.Flags().BoolVar(&inspectSeparable, "separable", false, "price each depthwise-separable pair against a standard convolution")
	inspectCmd.Flags().BoolVar(&tableWide, "wide", false, "print every table column at full width, whatever the terminal's width")
	inspectCut.register(inspectCmd)
	rootCmd.AddCommand(inspectCmd)
}

func inspPrint(w io.Writer, path string, r *inspect.Report) error {
	right, left := tw.AlignRight, tw.AlignLeft
	// Narrow terminals lose "Other params" first, then the dtype, then the
	// op; names shorten from the left (their end is the layer's own name).
	cols := []tableCol{{"#", right, 0, false}, {"Name", left, 0, true}, {"Op", left, 1, false},
		{"DType", left, 2, false}, {"Output (NHWC)", left, 0, false}, {"Params", right, 0, false},
		{"MACs", right, 0, false}, {"Other params", right, 3, false}}
	var rows [][]string
	opaque := 0
	for i, l := range r.Layers {
		params, macs, shape := inspect.Thousands(l.Params), inspect.Thousands(l.MACs), inspShape(l.OutputShape)
		if l.Opaque {
			opaque++
			params, macs = "?", "?"
			if len(l.OutputShape) == 0 {
				shape = "?"
			}
		}
		rows = append(rows, []string{fmt.Sprint(i), inspShortName(l.Name), l.Op, l.DType, shape,
			params, macs, inspect.Thousands(l.OtherParams)})
	}
	unknown := ""
	if opaque > 0 {
		unknown = " + ?"
	}
	footer := []string{"", "total", fmt.Sprintf("%d layers", len(r.Layers)), "", "",
		inspect.Thousands(r.TotalParams) + unknown, inspect.Thousands(r.TotalMACs) + unknown, inspect.Thousands(r.OtherParams)}
	fmt.Fprintf(w, "%s\n", path)
	if err := renderTable(w, cols, rows, footer, outputWidth(w, tableWide)); err != nil {
		return err
	}
	fmt.Fprintf(w, "params %s, MACs %s, other params %s",
		inspect.Thousands(r.TotalParams), inspect.Thousands(r.TotalMACs), inspect.Thousands(r.OtherParams))
	if opaque > 0 {
		fmt.Fprintf(w, " (without the %d opaque %s)", opaque, map[bool]string{true: "layer", false: "layers"}[opaque == 1])
	}
	fmt.Fprintln(w)
	inspPrintOpaque(w, r.Unsupported)
	fmt.Fprintf(w, "weight bytes %s (%s)", inspect.Thousands(r.TotalWeightBytes), inspBytes(r.WeightBytes))
	if len(r.OtherBytes) > 0 {
		fmt.Fprintf(w, "; other constants %s", inspBytes(r.OtherBytes))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "inputs:  %s\n", inspTensors(r.Inputs))
	fmt.Fprintf(w, "outputs: %s\n", inspTensors(r.Outputs))
	return nil
}

// inspPrintOpaque lists the ops kept opaque: those whose type has no
// translation as "unsupported: 3 x RESIZE_BILINEAR (first operator 64 ...)",
// the others with the reason the first one was refused.
func inspPrintOpaque(w io.Writer, groups []ir.OpaqueGroup) {
	var unsupported, refused []string
	for _, o := range groups {
		if o.Unsupported {
			unsupported = append(unsupported, o.String())
		} else {
			refused = append(refused, fmt.Sprintf("%s: %s", o, o.Reason))
		}
	}
	if len(unsupported) > 0 {
		fmt.Fprintf(w, "unsupported: %s\n", strings.Join(unsupported, ", "))
	}
	if len(refused) > 0 {
		fmt.Fprintf(w, "not translated: %s\n", strings.Join(refused, "; "))
	}
}

// inspNameWidth bounds the name column; --json keeps whole names.
const inspNameWidth = 56

// inspShortName fits a layer name into the table. TFLite names join every
// tensor name the converter merged with ';': the last part is the op's own.
func inspShortName(name string) string { return inspShorten(name, inspNameWidth) }

// inspShorten keeps the end of a name longer than width runes.
func inspShorten(name string, width int) string {
	r := []rune(name)
	if len(r) <= width {
		return name
	}
	if i := strings.LastIndex(name, ";"); i >= 0 && len([]rune(name[i:])) < width {
		return "…" + name[i:]
	}
	return "…" + string(r[len(r)-width+1:])
}

func inspShape(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func inspBytes(m map[string]int64) string {
	var parts []string
	for _, k := range inspect.DTypes(m) {
		parts = append(parts, k+" "+inspect.Thousands(m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// inspTensors describes graph inputs or outputs: name, dtype, shape and, when
// present, the source layout and quantization.
func inspTensors(ts []inspect.TensorInfo) string {
	var parts []string
	for _, t := range ts {
		s := fmt.Sprintf("%s %s %s", t.Name, t.DType, inspShape(t.Shape))
		if t.Layout != "" {
			s += fmt.Sprintf(" (NHWC here; %s in the source)", t.Layout)
		}
		if len(t.Scale) == 1 {
			zp := int64(0)
			if len(t.Zero) > 0 {
				zp = t.Zero[0]
			}
			s += fmt.Sprintf(" scale=%g zero_point=%d", t.Scale[0], zp)
		} else if len(t.Scale) > 1 {
			s += fmt.Sprintf(" per-channel quant (%d scales)", len(t.Scale))
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// inspPrintSeparable prints the separable pairs, their costs against
// standard convolutions and the totals.
func inspPrintSeparable(w io.Writer, path string, r *inspect.SeparableReport) error {
	fmt.Fprintf(w, "%s\n", path)
	if len(r.Pairs) == 0 {
		fmt.Fprintln(w, "no depthwise-separable pairs (depthwise conv followed by a 1x1 conv)")
		return nil
	}
	right, left := tw.AlignRight, tw.AlignLeft
	cols := []tableCol{{"#", right, 0, false}, {"Depthwise", left, 1, true}, {"Pointwise", left, 0, true},
		{"DK", right, 0, false}, {"M", right, 0, false}, {"N", right, 0, false}, {"DF", right, 0, false},
		{"Standard MACs", right, 0, false}, {"Separable MACs", right, 0, false}, {"Ratio", right, 0, false},
		{"1/N+1/DK²", right, 2, false}, {"Saving", right, 3, false}}
	var rows [][]string
	for i, p := range r.Pairs {
		dk, df := fmt.Sprint(p.KH), fmt.Sprint(p.DFH)
		if p.KW != p.KH {
			dk = fmt.Sprintf("%dx%d", p.KH, p.KW)
		}
		if p.DFW != p.DFH {
			df = fmt.Sprintf("%dx%d", p.DFH, p.DFW)
		}
		rows = append(rows, []string{fmt.Sprint(i), inspShorten(p.Depthwise, 32), inspShorten(p.Pointwise, 32), dk,
			fmt.Sprint(p.M), fmt.Sprint(p.N), df, inspect.Thousands(p.StandardMACs), inspect.Thousands(p.ActualMACs),
			fmt.Sprintf("%.4f", p.Ratio), fmt.Sprintf("%.4f", p.Formula), fmt.Sprintf("%.2fx", 1/p.Ratio)})
	}
	footer := []string{"", "total", fmt.Sprintf("%d pairs", len(r.Pairs)), "", "", "", "",
		inspect.Thousands(r.StandardMACs), inspect.Thousands(r.ActualMACs), fmt.Sprintf("%.4f", r.Ratio), "", fmt.Sprintf("%.2fx", r.Reduction)}
	if err := renderTable(w, cols, rows, footer, outputWidth(w, tableWide)); err != nil {
		return err
	}
	fmt.Fprintf(w, "separable pairs: %s MACs where standard convolutions would need %s: %.2fx less (ratio %.4f)\n",
		inspect.Thousands(r.ActualMACs), inspect.Thousands(r.StandardMACs), r.Reduction, r.Ratio)
	fmt.Fprintf(w, "whole model: %s MACs; %s with every pair a standard convolution (%.2fx)\n",
		inspect.Thousands(r.ModelMACs), inspect.Thousands(r.ModelMACsStandard), r.ModelReduction)
	return nil
}
