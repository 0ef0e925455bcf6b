package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mnconv/mnconv/eval"
	"github.com/mnconv/mnconv/inspect"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/runtime"
)

var runFlags struct {
	pixels string
	images []string
	prep   prepFlags
	labels string
	size   int
	json   bool
	count  bool
	batch  int

	task     string
	minScore float64
	draw     string
}

var runCmd = &cobra.Command{
	Use:   "run MODEL (--pixels FILE | --image IMG...)",
	Short: "Run a model on images with the pure-Go runtime and print the top-5, the classes of a class map, or the detections",
	Long: `run executes a model on one or more images and prints the top-5 classes of
each (ImageNet names for 1000- and 1001-class outputs, where 1001 means
background first).

Inputs:
  --pixels FILE  uint8 RGB images of the model's input size, NHWC, back to
                 back (1 byte per pixel for grayscale models); the file size
                 must be a whole number of images.
  --image IMG    an image file (JPEG, PNG, BMP), cropped and resized by the
                 preset's geometry; repeat the flag for several images.
Models whose input is NCHW ([1,3,H,W], as TFLite files converted from
PyTorch keep it) take the same pixels, transposed at the edge.

` + prepHelp + `
For int8/uint8 inputs with quantization, tf, unit and torch quantize that
value with the input's scale and zero point (round half away from zero,
clamp); raw stores the pixel itself (uint8) or x - 128 (int8). --pixels
files are already cropped and resized: only the pixel mapping applies.

Class names: ImageNet's for 1000- and 1001-class outputs; --labels FILE
names the classes of other models: a text file with one name per line (line
i names output i) or a labels CSV with class_index and class_name columns
(the one of an image folder; a 1001-way output puts background first).

--json prints one line per image: {"index","output","top5"} (classification;
segmentation and detection below), where output is
every value of the first output as the model gives it (floats, or the raw
integers of a quantized output).

--batch N runs the graph at batch N: N images per run (the last run's free
slots repeat its last image and are not printed). The model's batch must be
symbolic (ONNX dim_param, TFLite shape_signature -1) or 1 with ops that keep
samples apart; otherwise the error names the node that cannot take a batch.

--count prints, after the images, the multiply-accumulates each layer
executed per image (counted by the runtime's kernels as they run, padded taps
included) beside inspect's static count, and the totals; with --json, one
more line {"count": {...}}.

` + runTaskHelp,
	Example: `  mnconv run model.tflite --image cat.jpg
  mnconv run onnxzoo_mobilenetv2-12-int8.onnx --image cat.jpg --preprocess torchvision
  mnconv run vww_96_int8.tflite --image person.bmp --labels vww.txt
  mnconv run model.tflite --pixels imagenet16_u8_nhwc_224.bin --input-mode raw --json
  mnconv run deeplabv3_mnv2_pascal_quant.tflite --image people.jpg --labels voc_labels.txt --draw seg.png
  mnconv run ssd_mobilenet_v1_0.75_depth_pets_quant_detect.tflite --image cat.jpg --labels pets_labels_derived.txt --draw boxes.png`,
	Args: withUsage(cobra.ExactArgs(1)),
	RunE: func(cmd *cobra.Command, args []string) error {
		return runModel(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], cmd.Flags())
	},
}

// runCut holds run's --inputs and --outputs.
var runCut cutFlags

func init() {
	f := runCmd.Flags()
	f.StringVar(&runFlags.pixels, "pixels", "", "file of uint8 RGB NHWC images at the model's input size, back to back")
	f.StringArrayVar(&runFlags.images, "image", nil, "image file to run the model on (repeatable)")
	addPrepFlags(runCmd, &runFlags.prep)
	f.StringVar(&runFlags.labels, "labels", "", "class names: a text file (one per line) or a labels CSV (class_index, class_name)")
	f.IntVar(&runFlags.size, "size", 0, "side of the images in --pixels; must match the model's input (checked when set)")
	f.BoolVar(&runFlags.json, "json", false, "print one JSON object per image")
	f.BoolVar(&runFlags.count, "count", false, "print the MACs each layer executed per image beside inspect's static count")
	f.IntVar(&runFlags.batch, "batch", 1, "run N images at once (a symbolic batch, or batch 1 with ops that allow it)")
	f.StringVar(&runFlags.task, "task", "auto", "what the outputs mean: auto (from the outputs), classification, segmentation or detection")
	f.Float64Var(&runFlags.minScore, "min-score", 0.5, "detection: print and draw detections with at least this score")
	f.StringVar(&runFlags.draw, "draw", "", "segmentation/detection: write the image with the class map or the boxes drawn on it to this .png (one image)")
	f.BoolVar(&tableWide, "wide", false, "print every table column at full width, whatever the terminal's width")
	addDetFlags(runCmd)
	runCut.register(runCmd)
	addArithFlag(runCmd)
	rootCmd.AddCommand(runCmd)
}

// runImage is one image to classify: its pixels (RGB, 3 bytes per pixel)
// and a label for the printout; for segmentation and detection, the
// decoded image before preprocessing (nil for --pixels).
type runImage struct {
	label string
	pix   []uint8
	orig  *preprocess.Image
}

func runModel(w, stderr io.Writer, modelPath string, fl *pflag.FlagSet) error {
	hasPixels, hasImages := runFlags.pixels != "", len(runFlags.images) > 0
	if hasPixels == hasImages {
		return usageErrorf("run: give either --pixels FILE or --image IMG (not both)")
	}
	runFlags.task = strings.ToLower(strings.TrimSpace(runFlags.task))
	if !slices.Contains([]string{"auto", taskClassification, taskSegmentation, taskDetection}, runFlags.task) {
		return usageErrorf("run: --task %q: want auto, classification, segmentation or detection", runFlags.task)
	}
	if math.IsNaN(runFlags.minScore) {
		return usageErrorf("run: --min-score must be a number")
	}
	if runFlags.size < 0 {
		return usageErrorf("run: --size %d must not be negative", runFlags.size)
	}
	if runFlags.batch < 1 || runFlags.batch > 1 && runFlags.count {
		return usageErrorf("run: --batch %d: want 1 or more, and --count runs at batch 1", runFlags.batch)
	}
	if err := runFlags.prep.parse(stderr); err != nil {
		return err
	}
	if runFlags.draw != "" {
		if err := checkOutput("--draw", runFlags.draw, ".png"); err != nil {
			return err
		}
	}
	var names []string
	if runFlags.labels != "" {
		var err error
		if names, err = readClassNames(runFlags.labels); err != nil {
			return usageErrorf("run: --labels: %v", err)
		}
	}
	spec, err := detSpec(func(format string, args ...any) error { return argErrorf("run: "+format, args...) })
	if err != nil {
		return err
	}
	spec.Classes = len(names)
	g, err := loadModel(modelPath, stderr)
	if err != nil {
		return err
	}
	if err := applyArith(g); err != nil {
		return err
	}
	if g, err = runCut.apply(modelPath, g); err != nil {
		return err
	}
	if len(g.Inputs) != 1 || len(g.Outputs) < 1 {
		return fmt.Errorf("run: %s has %d inputs and %d outputs, want one image input", modelPath, len(g.Inputs), len(g.Outputs))
	}
	task, err := runPickTask(g, runFlags.task, len(runCut.outputs) > 0, spec)
	if err != nil {
		return err
	}
	if task.name != taskDetection {
		for _, name := range detDecodeFlags {
			if fl.Changed(name) {
				return usageErrorf("run: --%s decodes detections; this model's task is %s (--task)", name, task.name)
			}
		}
	}
	if task.reason != "" {
		fmt.Fprintf(stderr, "note: run: --task auto: %s for %s: %s\n", task.name, modelPath, task.reason)
	}
	preset, mode, _ := runFlags.prep.resolve(g, modelPath, stderr)
	if hasImages {
		if preset, err = runGeometry(task, preset, stderr); err != nil {
			return err
		}
	}
	target, err := preprocess.TargetFor(g, 0, preset, mode)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	// An NCHW input (a TFLite file converted from PyTorch keeps [1,3,H,W])
	// takes the same RGB pixels: Target.Fill transposes them.
	if target.N != 1 {
		return fmt.Errorf("run: input %q has batch %d, want 1", g.Inputs[0].Name, target.N)
	}
	var imgs []runImage
	if hasPixels {
		imgs, err = runReadPixels(runFlags.pixels, target)
	} else {
		imgs, err = runLoadImages(runFlags.images, preset, target, task.name != taskClassification)
	}
	if err != nil {
		return err
	}
	if err := runCheckDraw(task, len(imgs)); err != nil {
		return err
	}

	batch := runFlags.batch
	if batch > 1 && task.name != taskClassification {
		return usageErrorf("run: --batch %d: batches apply to classification; %s runs one image at a time", batch, task.name)
	}
	if g, err = runtime.Batched(g, batch); err != nil {
		return fmt.Errorf("run: --batch %d: %w", batch, err)
	}
	it, err := runtime.New(g)
	if err != nil {
		return err
	}
	outT := g.Outputs[0]
	for i, img := range imgs {
		slot := i % batch
		if slot == 0 {
			if err := runBatch(it, target, imgs[i:min(i+batch, len(imgs))], batch); err != nil {
				return err
			}
		}
		switch task.name {
		case taskSegmentation:
			if err := runSegmentation(w, task, g, it, i, img, target, names); err != nil {
				return err
			}
			continue
		case taskDetection:
			if err := runDetection(w, task, g, it, i, img, target, names); err != nil {
				return err
			}
			continue
		}
		out := it.Output(0).Sample(slot)
		top := eval.TopK(out.Floats(), 5)
		if runFlags.json {
			var outs []runOutputJSON
			if len(g.Outputs) > 1 {
				outs = runOutputsJSON(g, it)
			}
			if err := runPrintJSON(w, i, img, out, top, outs); err != nil {
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
			line := fmt.Sprintf("  %d. %-5d %-18s %s", rank+1, k, v, runClassName(names, out.Len(), k))
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

// runBatch fills the input's batch slots with imgs (the last repeated
// into the free ones) and runs the graph once.
func runBatch(it *runtime.Interpreter, target preprocess.Target, imgs []runImage, batch int) error {
	for slot := range batch {
		img := imgs[min(slot, len(imgs)-1)]
		if err := target.Fill(it.Input(0), slot, img.pix); err != nil {
			return fmt.Errorf("run: %s: %w", img.label, err)
		}
	}
	if err := it.Run(); err != nil {
		return fmt.Errorf("run: %s: %w", imgs[0].label, err)
	}
	return nil
}

// countPrint prints a model's executed MACs per image layer by layer beside
// inspect's static count, and the totals.
func countPrint(w io.Writer, mc *eval.ModelCost) {
	right, left := tw.AlignRight, tw.AlignLeft
	cols := []tableCol{{"#", right, 0, false}, {"Name", left, 0, true}, {"Op", left, 1, false},
		{"Executed MACs/image", right, 0, false}, {"Static MACs", right, 0, false}, {"", left, 0, false}}
	same := func(a, b int64) string {
		if a == b {
			return "="
		}
		return "DIFFERS"
	}
	var rows [][]string
	for i, l := range mc.Layers {
		rows = append(rows, []string{fmt.Sprint(i), inspShortName(l.Name), l.Op, inspect.Thousands(l.MACsPerImage), inspect.Thousands(l.StaticMACs), same(l.MACsPerImage, l.StaticMACs)})
	}
	footer := []string{"", "total", fmt.Sprintf("%d MAC layers", len(mc.Layers)), inspect.Thousands(mc.MACsPerImage), inspect.Thousands(mc.StaticMACs), same(mc.MACsPerImage, mc.StaticMACs)}
	fmt.Fprintf(w, "executed MACs of %s over %d image(s)\n", mc.Model, mc.Images)
	_ = renderTable(w, cols, rows, footer, outputWidth(w, tableWide))
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

// runLoadImages decodes and preprocesses the --image files; keep holds on
// to each decoded original, onto which a result is mapped back.
func runLoadImages(paths []string, preset preprocess.Preset, t preprocess.Target, keep bool) ([]runImage, error) {
	var imgs []runImage
	for _, p := range paths {
		orig, err := preprocess.DecodeFile(p)
		if err != nil {
			return nil, err
		}
		m, err := preset.Apply(orig, t.W, t.H)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		img := runImage{label: p, pix: m.Pix}
		if keep {
			img.orig = orig
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

type runJSONLine struct {
	Index   int             `json:"index"`
	Image   string          `json:"image,omitempty"`
	Output  any             `json:"output"`
	Top5    []int           `json:"top5"`
	Outputs []runOutputJSON `json:"outputs,omitempty"` // every output, when there are several
}

func runPrintJSON(w io.Writer, i int, img runImage, out *runtime.Tensor, top []int, outs []runOutputJSON) error {
	line := runJSONLine{Index: i, Top5: top, Outputs: outs}
	if len(runFlags.images) > 0 {
		line.Image = img.label
	}
	line.Output = runValues(out)
	return runWriteJSON(w, line)
}

// runClassName names output index k of an n-way output: from names (the
// --labels file) when it has one for k, else ImageNet names for 1000 and
// 1001 outputs (1001: index 0 is background), else "".
func runClassName(names []string, n, k int) string {
	if len(names) > 0 {
		i := k
		if len(names) != n {
			i = eval.ClassOf(n, k) // a CSV of class indices beside a 1001-way output
		}
		if i >= 0 && i < len(names) {
			return names[i]
		}
		return ""
	}
	return eval.ClassName(n, eval.ClassOf(n, k))
}

// readClassNames reads a --labels file: a labels CSV (a header with
// class_index and class_name; names indexed by class) or plain text, one
// name per line.
func readClassNames(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) > eval.MaxLabelsBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d-byte limit", path, len(data), eval.MaxLabelsBytes)
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	first, _, _ := strings.Cut(text, "\n")
	if strings.Contains(first, "class_index") && strings.Contains(first, ",") {
		rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		ci, cn := -1, -1
		for i, h := range rows[0] {
			switch strings.TrimSpace(h) {
			case "class_index":
				ci = i
			case "class_name":
				cn = i
			}
		}
		if ci < 0 || cn < 0 {
			return nil, fmt.Errorf("%s: a labels CSV needs class_index and class_name columns", path)
		}
		var names []string
		for line, r := range rows[1:] {
			var k int
			if _, err := fmt.Sscan(r[ci], &k); err != nil || k < 0 || k > 1<<20 {
				return nil, fmt.Errorf("%s:%d: class_index %q", path, line+2, r[ci])
			}
			for len(names) <= k {
				names = append(names, "")
			}
			names[k] = r[cn]
		}
		return names, nil
	}
	names := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(names) == 0 || names[0] == "" && len(names) == 1 {
		return nil, fmt.Errorf("%s: no names", path)
	}
	return names, nil
}
