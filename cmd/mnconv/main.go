// Command mnconv converts, quantizes, inspects, runs and evaluates
// MobileNet-family models. Flags and output only: every verb calls into the
// packages.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	_ "github.com/mnconv/mnconv/exporters/onnx"   // registers .onnx output
	_ "github.com/mnconv/mnconv/exporters/tflite" // registers .tflite output
	_ "github.com/mnconv/mnconv/importers/onnx"   // registers .onnx
	_ "github.com/mnconv/mnconv/importers/tflite" // registers .tflite
)

var rootCmd = &cobra.Command{
	Use:           "mnconv",
	Short:         "Convert, quantize, inspect, run and evaluate MobileNet-family CNNs (ONNX, TFLite)",
	SilenceUsage:  true,
	SilenceErrors: true,
}

// exitError carries a specific exit status (the eval gate exits 1 on a failed
// gate and 2 on usage or input errors).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "mnconv:", err)
		if e, ok := err.(*exitError); ok {
			os.Exit(e.code)
		}
		os.Exit(2)
	}
}
