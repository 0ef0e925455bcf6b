package main

import (
	"fmt"
	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/internal/atomicfile"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/inspect"
	"github.com/mnconv/mnconv/ir"
)

var (
	buildAlpha       float64
	buildResolution  int
	buildClasses     int
	buildSeed        uint64
	buildOut         string
	buildSweep       bool
	buildAlphas      []float64
	buildResolutions []int
)

// saveModel writes a built graph in the format path's extension names.
func saveModel(path string, g *ir.Graph) error {
	f, err := exporters.ForPath(path)
	if err != nil {
		return err
	}
	data, err := f.Export(g, exporters.Options{})
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return atomicfile.WriteFile(path, data)
}

var buildCmd = &cobra.Command{
	Use:   "build ARCH -o FILE.onnx|FILE.tflite",
	Short: "Build a MobileNet (v1, v2, v3-large, v3-small) with random weights",
	Long: `build constructs a MobileNet from its paper's layer table, with width
multiplier --alpha, input --resolution, --classes outputs and deterministic
random weights from --seed, and writes it as a float32 ONNX or TFLite model.
The model is a training export: every Conv is followed by an unfolded
BatchNorm and a separate activation (ReLU6, ReLU, HardSwish, HardSigmoid).
Input float32 [1,R,R,3] (NHWC), output softmax [1,classes].

ARCH is one of: ` + archList() + `.
Resolution must be a multiple of 32 for v1 and v2.

With --sweep, build prints the cost (MACs of conv, depthwise and fully
connected layers; their weights and biases, BatchNorm counted as the bias it
folds into) over --alphas x --resolutions instead, with each point's MACs as a
fraction of the largest model's next to the papers' alpha^2 x rho^2 rule, then
each multiplier alone against alpha^2 and rho^2 and, for the default
reference (alpha 1 at 224 px), the papers' quoted savings (alpha 0.75: about
40 %; 224 -> 192 px: about 30 %) next to the measured ones.`,
	Example: `  mnconv build mobilenet-v2 -o v2.onnx
  mnconv build mobilenet-v3-small --alpha 0.75 --resolution 160 --classes 10 -o v3s.tflite
  mnconv build mobilenet-v1 --sweep`,
	Args:      withUsage(cobra.ExactArgs(1)),
	ValidArgs: strings.Split(archList(), ", "),
	RunE: func(cmd *cobra.Command, args []string) error {
		arch, err := builder.ParseArch(args[0])
		if err != nil {
			return err
		}
		if buildSweep {
			if buildOut != "" {
				return fmt.Errorf("--sweep prints a table and writes no model; drop -o")
			}
			t, err := builder.Sweep(arch, buildAlphas, buildResolutions)
			if err != nil {
				return err
			}
			if err := t.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return t.WriteRatios(cmd.OutOrStdout())
		}
		if buildAlpha <= 0 || buildResolution <= 0 || buildClasses <= 0 {
			return usageErrorf("--alpha, --resolution and --classes must be positive")
		}
		if buildOut == "" {
			return usageErrorf("build needs -o FILE.onnx or -o FILE.tflite (or --sweep)")
		}
		if _, err := checkModelOutput("-o", buildOut, ""); err != nil {
			return err
		}
		g, err := builder.Build(builder.Config{Arch: arch, Alpha: buildAlpha, Resolution: buildResolution, Classes: buildClasses, Seed: buildSeed})
		if err != nil {
			return err
		}
		if err := saveModel(buildOut, g); err != nil {
			return err
		}
		c := builder.Measure(g)
		fmt.Fprintf(cmd.OutOrStdout(), "%s: %s MACs, %s params, %d nodes -> %s\n",
			g.Name, inspect.Thousands(c.MACs), inspect.Thousands(c.Params), len(g.Nodes), buildOut)
		return nil
	},
}

func archList() string {
	var names []string
	for _, a := range builder.Archs() {
		names = append(names, string(a))
	}
	return strings.Join(names, ", ")
}

func init() {
	f := buildCmd.Flags()
	f.Float64Var(&buildAlpha, "alpha", 1, "width multiplier")
	f.IntVar(&buildResolution, "resolution", 224, "input height and width in pixels")
	f.IntVar(&buildClasses, "classes", 1001, "classifier outputs (1001: TF's ImageNet head with background)")
	f.Uint64Var(&buildSeed, "seed", 0, "seed of the random weights")
	f.StringVarP(&buildOut, "output", "o", "", "model file to write (.onnx or .tflite)")
	f.BoolVar(&buildSweep, "sweep", false, "print the cost table over --alphas x --resolutions instead of building")
	f.Float64SliceVar(&buildAlphas, "alphas", append([]float64(nil), builder.DefaultAlphas...), "alphas for --sweep")
	f.IntSliceVar(&buildResolutions, "resolutions", append([]int(nil), builder.DefaultResolutions...), "resolutions for --sweep")
	rootCmd.AddCommand(buildCmd)
}
