// Command chaingen writes a Conv -> BatchNormalization -> Relu chain of -n
// nodes (hostile.ConvBNReluChain) as the model file -o (.onnx or .tflite),
// for timing `mnconv convert` on long graphs. TFLite has no batch norm op:
// its exporter writes each as MUL and ADD.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mnconv/mnconv/exporters"
	_ "github.com/mnconv/mnconv/exporters/onnx"
	_ "github.com/mnconv/mnconv/exporters/tflite"
	"github.com/mnconv/mnconv/hostile"
)

func main() {
	n := flag.Int("n", 10000, "number of nodes")
	out := flag.String("o", "chain.onnx", "output model (.onnx or .tflite)")
	flag.Parse()
	if err := write(*n, *out); err != nil {
		fmt.Fprintln(os.Stderr, "chaingen:", err)
		os.Exit(1)
	}
}

func write(n int, path string) error {
	exp, err := exporters.ForPath(path)
	if err != nil {
		return err
	}
	data, err := exp.Export(hostile.ConvBNReluChain(n), exporters.Options{})
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
