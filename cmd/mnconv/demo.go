package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/demo"
	"github.com/mnconv/mnconv/inspect"
	"github.com/mnconv/mnconv/ir"
)

var demoFlags struct {
	out        string
	arch       string
	alpha      float64
	resolution int
}

var demoCmd = &cobra.Command{
	Use:   "demo",
	Short: "A tour on a built-in model: build, optimize, quantize, export, read back, check",
	Long: `demo builds a small MobileNetV2 in memory (no downloads, no data files),
prints its per-layer cost, folds batch norm and fuses activations, quantizes it
to int8 on synthetic calibration images with a per-layer error report, writes
float and int8 models as ONNX and TFLite, reads every file back and checks it
against the in-memory model with mnconv's runtime.`,
	Example: `  mnconv demo
  mnconv demo --out /tmp/tour --arch mobilenet-v3-small --resolution 128`,
	Args: withUsage(cobra.NoArgs),
	RunE: func(cmd *cobra.Command, args []string) error {
		arch, err := builder.ParseArch(demoFlags.arch)
		if err != nil {
			return usageErrorf("--arch: %v", err)
		}
		if demoFlags.alpha <= 0 || demoFlags.resolution <= 0 {
			return usageErrorf("--alpha and --resolution must be positive")
		}
		dir := demoFlags.out
		if dir != "" {
			if err := checkOutput("--out", filepath.Join(dir, "float.onnx")); err != nil {
				return err
			}
		}
		if dir == "" {
			if dir, err = os.MkdirTemp("", "mnconv-demo-"); err != nil {
				return err
			}
		}
		_, err = demo.Run(cmd.Context(), demo.Options{
			Dir: dir, Arch: arch, Alpha: demoFlags.alpha, Resolution: demoFlags.resolution, Classes: 10,
			CalibN: 32, TestN: 16, Out: cmd.OutOrStdout(),
			Inspect: func(w io.Writer, name string, g *ir.Graph) error {
				return inspPrint(w, name, inspect.Analyze(g))
			},
		})
		if err == nil {
			fmt.Fprintf(cmd.OutOrStdout(), "Next: mnconv inspect %s, mnconv run %s --help\n",
				filepath.Join(dir, "int8.tflite"), filepath.Join(dir, "float.onnx"))
		}
		return err
	},
}

func init() {
	f := demoCmd.Flags()
	f.StringVar(&demoFlags.out, "out", "", "folder for the files (default: a new temporary folder)")
	f.StringVar(&demoFlags.arch, "arch", "mobilenet-v2", "architecture to build")
	f.Float64Var(&demoFlags.alpha, "alpha", 0.35, "width multiplier")
	f.IntVar(&demoFlags.resolution, "resolution", 96, "input resolution")
	rootCmd.AddCommand(demoCmd)
}
