package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
)

// writeNCHWModel writes a float TFLite model whose input is NCHW
// ([1,3,R,R]) followed by a Transpose to NHWC: what TFLite files converted
// from PyTorch look like; and its NHWC twin (the same weights).
func writeNCHWModel(t *testing.T, dir string) (nchwPath, nhwcPath string) {
	t.Helper()
	g, err := builder.Build(builder.Config{Arch: builder.V1, Alpha: 0.25, Resolution: 32, Classes: 4, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	write := func(name string) string {
		path := filepath.Join(dir, name)
		exp, err := exporters.ForPath(path)
		if err != nil {
			t.Fatal(err)
		}
		data, err := exp.Export(g, exporters.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	nhwcPath = write("nhwc_float.tflite")
	nhwc := g.Inputs[0]
	r := nhwc.Shape[1]
	x := &ir.Tensor{Name: "input_nchw", DType: ir.Float32, Shape: []int{1, 3, r, r}}
	tr := &ir.Node{Name: "to_nhwc", Op: ir.OpTranspose, Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{nhwc},
		Attrs: &ir.TransposeAttrs{Perm: []int{0, 2, 3, 1}}}
	g.Nodes = append([]*ir.Node{tr}, g.Nodes...)
	g.Inputs[0] = x
	g.InputLayouts = nil
	return write("nchw_float.tflite"), nhwcPath
}

// TestNCHWInputModel: a TFLite model with a PyTorch-style [1,3,H,W] input
// quantizes from images, and its int8 version runs on --image and --pixels
// and evaluates: the pixels are transposed at the edge.
func TestNCHWInputModel(t *testing.T) {
	images := writeCalibImages(t, 6)
	var rows strings.Builder
	rows.WriteString("file,class_index\n")
	for i := 0; i < 6; i++ {
		fmt.Fprintf(&rows, "img%02d.png,%d\n", i, i%4)
	}
	if err := os.WriteFile(filepath.Join(images, "labels.csv"), []byte(rows.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	float, twin := writeNCHWModel(t, dir)
	cmds := []*cobra.Command{quantizeCmd, runCmd, evalCmd}

	// the NCHW model sees the image as its NHWC twin does
	img := filepath.Join(images, "img01.png")
	a, errA := execCLI(t, cmds, "run", float, "--image", img, "--json")
	b, errB := execCLI(t, cmds, "run", twin, "--image", img, "--json")
	if errA != nil || errB != nil || a != b {
		t.Fatalf("NCHW and NHWC twins differ (%v, %v):\n%s\n%s", errA, errB, a, b)
	}

	int8 := filepath.Join(dir, "nchw_int8.tflite")
	out, err := execCLI(t, cmds, "quantize", float, int8, "--calib", images, "--io", "int8", "--no-progress", "--report-images", "0")
	if err != nil {
		t.Fatalf("quantize: %v\n%s", err, out)
	}
	g, err := importers.Load(int8, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if in := g.Inputs[0]; in.DType != ir.Int8 || fmt.Sprint(in.Shape) != "[1 3 32 32]" {
		t.Fatalf("quantized input is %v %v, want int8 [1 3 32 32]", in.DType, in.Shape)
	}

	out, err = execCLI(t, cmds, "run", int8, "--image", img)
	if err != nil || !strings.Contains(out, "  1. ") {
		t.Fatalf("run --image: %v\n%s", err, out)
	}
	pixels := filepath.Join(dir, "two.bin")
	if err := os.WriteFile(pixels, make([]byte, 2*32*32*3), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = execCLI(t, cmds, "run", int8, "--pixels", pixels, "--json")
	if err != nil || strings.Count(out, "\n") != 2 {
		t.Fatalf("run --pixels: %v\n%s", err, out)
	}
	out, err = execCLI(t, cmds, "eval", int8, "--images", images, "--min-images", "6", "--baseline", float, "--max-drop", "100")
	if err != nil || !strings.Contains(out, "images:  6") || !strings.Contains(out, "gate:      PASS") {
		t.Fatalf("eval: %v\n%s", err, out)
	}
}
