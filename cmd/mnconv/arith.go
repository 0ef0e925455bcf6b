package main

import (
	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/ir"
)

// arithFlag is run's and eval's --arith: whose integer arithmetic the
// quantized nodes of a TFLite-arithmetic model follow. tflite (default):
// TFLite's reference kernels, what TFLite Micro computes; xnnpack: TFLite's
// default CPU path (XNNPACK delegate and optimized builtins), what TFLite
// gives on phones (runtime/xnnpack.go lists the ops that differ); builtin:
// TFLite's optimized builtin kernels with no delegate (ruy's GEMM), what
// TFLite runs when it cannot apply XNNPACK (runtime/builtin.go). Nodes of
// an ONNX file's quantized ops keep ONNX Runtime's arithmetic either way.
var arithFlag string

const arithUsage = "integer arithmetic of quantized nodes: tflite (TFLite's reference kernels, as TFLite Micro), xnnpack (TFLite's default CPU path, XNNPACK) or builtin (TFLite's optimized kernels without a delegate, ruy); ONNX quantized ops keep ONNX Runtime's"

func addArithFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&arithFlag, "arith", "tflite", arithUsage)
}

// applyArith gives g's TFLite-arithmetic nodes the --arith arithmetic.
func applyArith(g *ir.Graph) error {
	a, ok := ir.ArithByName(arithFlag)
	if !ok || a == ir.ArithONNX {
		return usageErrorf("--arith %q: want tflite, xnnpack or builtin", arithFlag)
	}
	if a != ir.ArithTFLite {
		g.SetArith(a)
	}
	return nil
}
