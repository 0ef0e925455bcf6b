package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/eval"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/inspect"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/runtime"
)

var runFlags struct {
	pixels     string
	images     []string
	preprocess string
	resize     string
	size       int
	json       bool
	count      bool
}

var runCmd = &cobra.Command{
	Use:   "run MODEL (--pixels FILE | --image IMG...)",
	Short: "Run a model on images with the pure-Go runtime and print the top-5",
	Long: `run executes a model on one or more images and prints the top-5 classes of
each (ImageNet names for 1000- and 1001-class outputs, where 1001 means
background first).

Inputs:
  --pixels FILE  uint8 RGB images of the model's input size, NHWC, back to
                 back (1 byte per pixel for grayscale models); the file size
                 must be a whole number of images.
  --image IMG    an image file (JPEG, PNG, BMP), resized by --resize; repeat
                 the flag for several images.

--preprocess maps pixels x to the model's input:
  tf     (x - 127.5) / 127.5        unit   x / 255
  torch  ImageNet mean / std         raw    x as is
For int8/uint8 inputs with quantization, tf, unit and torch quantize that
value with the input's scale and zero point (round half away from zero,
clamp); raw stores the pixel itself (uint8) or x - 128 (int8). Without the
flag: raw for quantized inputs, torch after --resize torch, tf otherwise.

--json prints one line per image: {"index","output","top5"}, where output is
every value of the first output as the model gives it (floats, or the raw
integers of a quantized output).

--count prints, after the images, the multiply-accumulates each layer
executed per image (counted by the runtime's kernels as they run, padded taps
included) beside inspect's static count, and the totals; with --json, one
more line {"count": {...}}.`,
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		return runModel(cmd.OutOrStdout(), args[0])
	},
}

// runCut holds run's --inputs and --outputs.
var runCut cutFlags

func init() {
	f := runCmd.Flags()
	f.StringVar(&runFlags.pixels, "pixels", "", "file of uint8 RGB NHWC images at the model's input size, back to back")
	f.StringArrayVar(&runFlags.images, "image", nil, "image file to classify (repeatable)")
	f.StringVar(&runFlags.preprocess, "preprocess", "", "pixel mapping: tf, unit, torch or raw (default: raw for quantized inputs, else tf; torch with --resize torch)")
	f.StringVar(&runFlags.resize, "resize", "slim", "geometry for --image: slim (central 87.5% crop), torch (resize 256, crop 224) or full")
	f.IntVar(&runFlags.size, "size", 0, "side of the images in --pixels; must match the model's input (checked when set)")
	f.BoolVar(&runFlags.json, "json", false, "print one JSON object per image")
	f.BoolVar(&runFlags.count, "count", false, "print the MACs each layer executed per image beside inspect's static count")
	runCut.register(runCmd)
	rootCmd.AddCommand(runCmd)
}

// runImage is one image to classify: its pixels (RGB, 3 bytes per pixel)
// and a label for the printout.
type runImage struct {
	label string
	pix   []uint8
}

func runModel(w io.Writer, modelPath string) error {
	hasPixels, hasImages := runFlags.pixels != "", len(runFlags.images) > 0
	if hasPixels == hasImages {
		return errors.New("run: give either --pixels FILE or --image IMG (not both)")
	}
	mode, err := preprocess.ParseMode(runFlags.preprocess)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	preset, err := preprocess.ParsePreset(runFlags.resize)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	g, err := importers.Load(modelPath, importers.Options{Warn: inspWarn})
	if err != nil {
		return err
	}
	if g, err = runCut.apply(modelPath, g); err != nil {
		return err
	}
	if len(g.Inputs) != 1 || len(g.Outputs) < 1 {
		return fmt.Errorf("run: %s has %d inputs and %d outputs, want one image input", modelPath, len(g.Inputs), len(g.Outputs))
	}
	target, err := preprocess.TargetFor(g, 0, preset, mode)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if target.Layout != preprocess.NHWC {
		// The IR keeps images NHWC whatever the source said.
		return fmt.Errorf("run: input %q has shape %v, want NHWC", g.Inputs[0].Name, g.Inputs[0].Shape)
	}
	if target.N != 1 {
		return fmt.Errorf("run: input %q has batch %d, want 1", g.Inputs[0].Name, target.N)
	}
	var imgs []runImage
	if hasPixels {
		imgs, err = runReadPixels(runFlags.pixels, target)
	} else {
		imgs, err = runLoadImages(runFlags.images, preset, target)
	}
	if err != nil {
		return err
	}

	it, err := runtime.New(g)
	if err != nil {
		return err
	}
	outT := g.Outputs[0]
	for i, img := range imgs {
		if err := target.Fill(it.Input(0), 0, img.pix); err != nil {
			return fmt.Errorf("run: %s: %w", img.label, err)
		}
		if err := it.Run(); err != nil {
			return fmt.Errorf("run: %s: %w", img.label, err)
		}
		out := it.Output(0)
		top := eval.TopK(out.Floats(), 5)
		if runFlags.json {
			if err := runPrintJSON(w, i, img, out, top); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(w, "%s\n", img.label)
		real := out.Dequantized(outT.Quant)
		for rank, k := range top {
			v := fmt.Sprintf("%.6g", out.Float(k))
			if out.DType != ir.Float32 && outT.Quant != nil {
				v = fmt.Sprintf("%d (%.4g)", int64(out.Float(k)), real[k])
			}
			line := fmt.Sprintf("  %d. %-5d %-18s %s", rank+1, k, v, runClassName(out.Len(), k))
			fmt.Fprintln(w, strings.TrimRight(line, " "))
		}
	}
	if !runFlags.count {
		return nil
	}
	mc, err := eval.CountRuns(len(imgs), true, it)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if mc.Model == "unnamed" {
		mc.Model = modelPath
	}
	if runFlags.json {
		b, err := json.Marshal(struct {
			Count *eval.ModelCost `json:"count"`
		}{mc})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	countPrint(w, mc)
	return nil
}

// countPrint prints a model's executed MACs per image layer by layer beside
// inspect's static count, and the totals.
func countPrint(w io.Writer, mc *eval.ModelCost) {
	right, left := tw.AlignRight, tw.AlignLeft
	align := tw.CellAlignment{PerColumn: []tw.Align{right, left, left, right, right, left}}
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignmentConfig(align),
		tablewriter.WithFooterAlignmentConfig(align),
	)
	t.Header("#", "Name", "Op", "Executed MACs/image", "Static MACs", "")
	same := func(a, b int64) string {
		if a == b {
			return "="
		}
		return "DIFFERS"
	}
	for i, l := range mc.Layers {
		_ = t.Append(fmt.Sprint(i), inspShortName(l.Name), l.Op, inspect.Thousands(l.MACsPerImage), inspect.Thousands(l.StaticMACs), same(l.MACsPerImage, l.StaticMACs))
	}
	t.Footer("", "total", fmt.Sprintf("%d MAC layers", len(mc.Layers)), inspect.Thousands(mc.MACsPerImage), inspect.Thousands(mc.StaticMACs), same(mc.MACsPerImage, mc.StaticMACs))
	fmt.Fprintf(w, "executed MACs of %s over %d image(s)\n", mc.Model, mc.Images)
	_ = t.Render()
	verdict := "executed equals inspect's static count"
	if !mc.Matches() {
		verdict = "executed DIFFERS from inspect's static count"
	}
	fmt.Fprintf(w, "%s MACs per image executed, %s static: %s\n", inspect.Thousands(mc.MACsPerImage), inspect.Thousands(mc.StaticMACs), verdict)
	if len(mc.Uncounted) > 0 {
		fmt.Fprintf(w, "not counted by their kernels: %s\n", strings.Join(mc.Uncounted, ", "))
	}
}

// runReadPixels splits a --pixels file into images of the target's size.
func runReadPixels(path string, t preprocess.Target) ([]runImage, error) {
	if runFlags.size != 0 && (runFlags.size != t.H || runFlags.size != t.W) {
		return nil, fmt.Errorf("run: --size %d, but the model takes %dx%d images", runFlags.size, t.W, t.H)
	}
	per := int64(t.H) * int64(t.W) * int64(t.Channels)
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() == 0 || st.Size()%per != 0 {
		return nil, fmt.Errorf("run: %s has %d bytes, not a whole number of %dx%dx%d images (%d bytes each)", path, st.Size(), t.H, t.W, t.Channels, per)
	}
	if st.Size() > preprocess.MaxReferenceBytes {
		return nil, fmt.Errorf("run: %s has %d bytes, more than the %d-byte limit", path, st.Size(), preprocess.MaxReferenceBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var imgs []runImage
	for i := 0; int64(i+1)*per <= int64(len(data)); i++ {
		pix := data[int64(i)*per : int64(i+1)*per]
		if t.Channels == 1 {
			// Fill takes RGB; equal channels convert back to the same gray
			// value exactly (the luma weights sum to one).
			rgb := make([]uint8, 3*len(pix))
			for j, p := range pix {
				rgb[3*j], rgb[3*j+1], rgb[3*j+2] = p, p, p
			}
			pix = rgb
		}
		imgs = append(imgs, runImage{label: fmt.Sprintf("image %d", i), pix: pix})
	}
	return imgs, nil
}

func runLoadImages(paths []string, preset preprocess.Preset, t preprocess.Target) ([]runImage, error) {
	var imgs []runImage
	for _, p := range paths {
		m, err := preprocess.Load(p, preset, t.W, t.H)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, runImage{label: p, pix: m.Pix})
	}
	return imgs, nil
}

type runJSONLine struct {
	Index  int    `json:"index"`
	Image  string `json:"image,omitempty"`
	Output any    `json:"output"`
	Top5   []int  `json:"top5"`
}

func runPrintJSON(w io.Writer, i int, img runImage, out *runtime.Tensor, top []int) error {
	line := runJSONLine{Index: i, Top5: top}
	if len(runFlags.images) > 0 {
		line.Image = img.label
	}
	if out.DType == ir.Float32 {
		line.Output = out.F32
	} else {
		vals := make([]int64, out.Len())
		for j := range vals {
			vals[j] = int64(out.Float(j))
		}
		line.Output = vals
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// runClassName names output index k of an n-way output: ImageNet names for
// 1000 and 1001 outputs (1001: index 0 is background), else "".
func runClassName(n, k int) string {
	return eval.ClassName(n, eval.ClassOf(n, k))
}
