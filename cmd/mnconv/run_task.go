package main

import (
	"encoding/json"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"strings"

	"github.com/mnconv/mnconv/eval"
	"github.com/mnconv/mnconv/internal/atomicfile"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/render"
	"github.com/mnconv/mnconv/runtime"
)

// run's tasks: what the outputs mean, picked from the graph's outputs
// (--task overrides): a class map (ArgMax, or [1,H,W,C] scores with H,W > 1)
// is segmentation, a detector's outputs (the four of a
// DetectionPostProcess, or raw SSD class scores, box encodings and anchors
// that eval's decoder tells apart) detection, anything else
// classification (the top-5).
const (
	taskClassification = "classification"
	taskSegmentation   = "segmentation"
	taskDetection      = "detection"
)

// runTask is the task run prints, with what it reads.
type runTask struct {
	name   string
	reason string // why it was picked, for the note on stderr
	// seg: the class map's output
	seg int
	// det: the detection decoder (eval's, with the decoding flags)
	det *eval.Decoder
}

// runPickTask picks the task from g's outputs, or checks the one asked;
// spec is the detection decoding the flags ask for. A graph cut at
// --outputs may end in any feature map: auto then reads a [1,H,W,C]
// output as scores of a class map only when asked (--task).
func runPickTask(g *ir.Graph, asked string, cut bool, spec eval.DetSpec) (runTask, error) {
	seg, segReason := runSegOutput(g)
	switch asked {
	case "auto":
		switch {
		case spec.Detects(g):
			dec, err := spec.NewDecoder(g)
			if err != nil {
				return runTask{}, argErrorf("run: --task auto: the outputs are a detector's: %v", err)
			}
			reason := "its outputs are a DetectionPostProcess's boxes, classes, scores and count"
			if !dec.PostProcessed() {
				reason = "its outputs are raw SSD class scores, box encodings and anchors, decoded as eval --task detection does: " + dec.Describe()
			}
			return runTask{name: taskDetection, det: dec, reason: reason}, nil
		case seg >= 0 && (!cut || g.Outputs[seg].Rank() == 3):
			return runTask{name: taskSegmentation, seg: seg, reason: segReason}, nil
		}
		return runTask{name: taskClassification}, nil
	case taskClassification:
		return runTask{name: taskClassification}, nil
	case taskSegmentation:
		if seg < 0 {
			o := g.Outputs[0]
			return runTask{}, argErrorf("run: --task segmentation: output %q is %v %v, want an integer [1,H,W] class map or [1,H,W,C] scores", o.Name, o.DType, o.Shape)
		}
		return runTask{name: taskSegmentation, seg: seg}, nil
	case taskDetection:
		dec, err := spec.NewDecoder(g)
		if err != nil {
			return runTask{}, argErrorf("run: --task detection reads the four outputs of a DetectionPostProcess (boxes, classes, scores, count) or raw SSD outputs (class scores, box encodings, anchors): %v", err)
		}
		return runTask{name: taskDetection, det: dec}, nil
	}
	return runTask{}, usageErrorf("run: --task %q: want auto, classification, segmentation or detection", asked)
}

// runSegOutput returns the index of the first output that is a class map
// (an integer [1,H,W], as ArgMax gives) or a score map [1,H,W,C] with H and
// W above 1 and C above 1, and why; -1 when none is.
func runSegOutput(g *ir.Graph) (int, string) {
	for i, o := range g.Outputs {
		s := o.Shape
		switch {
		case len(s) == 3 && s[0] == 1 && s[1] > 1 && s[2] > 1 && (o.DType == ir.Int32 || o.DType == ir.Int64):
			return i, fmt.Sprintf("output %q is a %dx%d class map", o.Name, s[2], s[1])
		case len(s) == 4 && s[0] == 1 && s[1] > 1 && s[2] > 1 && s[3] > 1:
			return i, fmt.Sprintf("output %q holds %d class scores per pixel of %dx%d", o.Name, s[3], s[2], s[1])
		}
	}
	return -1, ""
}

// runGeometry is the geometry a segmentation or detection run uses: their
// results map back onto the whole image, so an image is stretched to the
// model's size (as the apps' references feed them) unless a preset or
// --resize was named; a crop is refused.
func runGeometry(task runTask, geom preprocess.Preset, stderr io.Writer) (preprocess.Preset, error) {
	if task.name == taskClassification || geom == preprocess.Full {
		return geom, nil
	}
	if runFlags.prep.recipe != nil || runFlags.prep.geometry != nil {
		return 0, usageErrorf("run: --task %s maps its result back onto the whole image; the %s geometry crops it: use --resize full", task.name, geom)
	}
	fmt.Fprintf(stderr, "note: run: %s: the whole image is stretched to the model's input (--resize full)\n", task.name)
	return preprocess.Full, nil
}

// runPicture is the image a result is mapped onto: the original image for
// --image, the model-size pixels for --pixels.
func (img runImage) picture(t preprocess.Target) (pix []uint8, w, h int) {
	if img.orig != nil {
		return img.orig.Pix, img.orig.W, img.orig.H
	}
	return img.pix, t.W, t.H
}

// runLabel names class c from --labels (line c), or "class c".
func runLabel(names []string, c int) string {
	if c >= 0 && c < len(names) && names[c] != "" {
		return names[c]
	}
	return fmt.Sprintf("class %d", c)
}

// runOutputJSON is one model output in run --json: its values as the model
// gives them (floats, or the raw integers of a quantized output, with the
// scale and zero point to read them).
type runOutputJSON struct {
	Name      string  `json:"name"`
	Shape     []int   `json:"shape"`
	DType     string  `json:"dtype"`
	Scale     float32 `json:"scale,omitempty"`
	ZeroPoint *int64  `json:"zero_point,omitempty"`
	Values    any     `json:"values"`
}

func runOutputsJSON(g *ir.Graph, it *runtime.Interpreter) []runOutputJSON {
	var outs []runOutputJSON
	for i, o := range g.Outputs {
		t := it.Output(i)
		j := runOutputJSON{Name: o.Name, Shape: t.Shape, DType: t.DType.String(), Values: runValues(t)}
		if q := o.Quant; q != nil && t.DType != ir.Float32 && !q.PerAxis() {
			zp := q.ZP(0)
			j.Scale, j.ZeroPoint = q.S(0), &zp
		}
		outs = append(outs, j)
	}
	return outs
}

// runValues is a tensor's values for JSON: float32 as they are, integers as
// integers.
func runValues(t *runtime.Tensor) any {
	if t.DType == ir.Float32 {
		return t.F32
	}
	vals := make([]int64, t.Len())
	for j := range vals {
		vals[j] = int64(t.Float(j))
	}
	return vals
}

type runClassJSON struct {
	Class  int     `json:"class"`
	Label  string  `json:"label,omitempty"`
	Pixels int     `json:"pixels"`
	Share  float64 `json:"share"`
}

type runDetectionJSON struct {
	Class int        `json:"class"`
	Label string     `json:"label,omitempty"`
	Score float64    `json:"score"`
	Box   [4]float64 `json:"box"` // x0, y0, x1, y1 in pixels of the image
}

// runTaskJSONLine is run --json's line for a segmentation or detection
// image: the summary, then every output.
type runTaskJSONLine struct {
	Index      int             `json:"index"`
	Image      string          `json:"image,omitempty"`
	Task       string          `json:"task"`
	Width      int             `json:"width"`
	Height     int             `json:"height"`
	Classes    any             `json:"classes,omitempty"`    // []runClassJSON
	Detections any             `json:"detections,omitempty"` // []runDetectionJSON, [] when none
	Outputs    []runOutputJSON `json:"outputs"`
}

// runSegmentation prints (or draws) one image's class map: brought to the
// image's size by nearest neighbour, as eval scores it, then counted.
func runSegmentation(w io.Writer, task runTask, g *ir.Graph, it *runtime.Interpreter, i int, img runImage, t preprocess.Target, names []string) error {
	pred, ph, pw, err := eval.ClassMap(it.Output(task.seg))
	if err != nil {
		return fmt.Errorf("run: %s: %w", img.label, err)
	}
	pix, iw, ih := img.picture(t)
	full := eval.ResizeClassMap(pred, ph, pw, ih, iw)
	present := eval.CountClasses(full)
	if runFlags.draw != "" {
		if err := runDrawSegmentation(pix, iw, ih, full, present, names); err != nil {
			return err
		}
	}
	if runFlags.json {
		classes := []runClassJSON{}
		for _, c := range present {
			classes = append(classes, runClassJSON{Class: c.Class, Label: runNameOrEmpty(names, c.Class), Pixels: c.Pixels, Share: c.Share})
		}
		return runWriteTaskJSON(w, runTaskJSONLine{Index: i, Task: task.name, Width: iw, Height: ih, Classes: classes}, img, g, it)
	}
	fmt.Fprintf(w, "%s: %d classes on %dx%d pixels (class map %dx%d)\n", img.label, len(present), iw, ih, pw, ph)
	fmt.Fprintf(w, "  %-5s %10s %7s  %s\n", "class", "pixels", "share", "label")
	for _, c := range present {
		fmt.Fprintf(w, "  %-5d %10d %6.2f%%  %s\n", c.Class, c.Pixels, 100*c.Share, runLabel(names, c.Class))
	}
	return nil
}

// runDetection prints (or draws) one image's detections at or above
// --min-score, boxes in pixels of the image.
func runDetection(w io.Writer, task runTask, g *ir.Graph, it *runtime.Interpreter, i int, img runImage, t preprocess.Target, names []string) error {
	pix, iw, ih := img.picture(t)
	all, err := task.det.Decode(it.Output, iw, ih)
	if err != nil {
		return fmt.Errorf("run: %s: %w", img.label, err)
	}
	var dets []eval.Detection
	for _, d := range all {
		if d.Score >= runFlags.minScore {
			dets = append(dets, d)
		}
	}
	if runFlags.draw != "" {
		if err := runDrawDetections(pix, iw, ih, dets, names); err != nil {
			return err
		}
	}
	if runFlags.json {
		found := []runDetectionJSON{}
		for _, det := range dets {
			x0, y0, x1, y1 := det.Box.XMin, det.Box.YMin, det.Box.XMax, det.Box.YMax
			found = append(found, runDetectionJSON{Class: det.Class, Label: runNameOrEmpty(names, det.Class), Score: det.Score, Box: [4]float64{round2(x0), round2(y0), round2(x1), round2(y1)}})
		}
		return runWriteTaskJSON(w, runTaskJSONLine{Index: i, Task: task.name, Width: iw, Height: ih, Detections: found}, img, g, it)
	}
	noun := "detections"
	if len(dets) == 1 {
		noun = "detection"
	}
	fmt.Fprintf(w, "%s: %d %s with score >= %g on %dx%d pixels\n", img.label, len(dets), noun, runFlags.minScore, iw, ih)
	if len(dets) == 0 {
		return nil
	}
	fmt.Fprintf(w, "  %-5s %-6s %-25s %s\n", "class", "score", "box x0,y0,x1,y1 (px)", "label")
	for _, det := range dets {
		x0, y0, x1, y1 := det.Box.XMin, det.Box.YMin, det.Box.XMax, det.Box.YMax
		box := fmt.Sprintf("%.0f,%.0f,%.0f,%.0f", x0, y0, x1, y1)
		fmt.Fprintf(w, "  %-5d %.3f  %-25s %s\n", det.Class, det.Score, box, runLabel(names, det.Class))
	}
	return nil
}

// round2 keeps a pixel coordinate to 1/100 pixel for --json.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

func runNameOrEmpty(names []string, c int) string {
	if c >= 0 && c < len(names) {
		return names[c]
	}
	return ""
}

// runWriteTaskJSON completes a task's line with the image's name and every
// output, and prints it.
func runWriteTaskJSON(w io.Writer, line runTaskJSONLine, img runImage, g *ir.Graph, it *runtime.Interpreter) error {
	if len(runFlags.images) > 0 {
		line.Image = img.label
	}
	line.Outputs = runOutputsJSON(g, it)
	return runWriteJSON(w, line)
}

func runWriteJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// runSegAlpha is the overlay's opacity: the image stays readable under it.
const runSegAlpha = 0.55

// runDrawSegmentation writes --draw: the image with every class but 0
// (background in PASCAL VOC) painted in its VOC colour, and a legend of
// those classes with their shares.
func runDrawSegmentation(pix []uint8, w, h int, classes []int, present []eval.ClassPixels, names []string) error {
	m, err := render.FromRGB(pix, w, h)
	if err != nil {
		return err
	}
	if err := render.Overlay(m, classes, render.VOCColor, runSegAlpha, 0); err != nil {
		return err
	}
	if err := render.Outline(m, classes, render.VOCColor, 0, 2*render.TextScale(w, h)); err != nil {
		return err
	}
	var legend []render.LegendItem
	for _, c := range present {
		if c.Class == 0 {
			continue
		}
		legend = append(legend, render.LegendItem{Color: render.VOCColor(c.Class), Text: runLabel(names, c.Class) + " " + runPercent(c.Share)})
	}
	render.Legend(m, legend)
	return runWritePNG(m)
}

// runPercent prints a share of the image for the legend.
func runPercent(share float64) string {
	if share < 0.001 {
		return "<0.1%"
	}
	return fmt.Sprintf("%.1f%%", 100*share)
}

// runDrawDetections writes --draw: the image with a box per detection in
// its class's colour, labelled with the class name and score.
func runDrawDetections(pix []uint8, w, h int, dets []eval.Detection, names []string) error {
	m, err := render.FromRGB(pix, w, h)
	if err != nil {
		return err
	}
	boxes := make([]render.LabelledBox, 0, len(dets))
	for _, d := range dets {
		x0, y0, x1, y1 := d.Box.XMin, d.Box.YMin, d.Box.XMax, d.Box.YMax
		boxes = append(boxes, render.LabelledBox{X0: x0, Y0: y0, X1: x1, Y1: y1, Color: render.DistinctColor(d.Class),
			Label: fmt.Sprintf("%s %.2f", runLabel(names, d.Class), d.Score)})
	}
	render.Boxes(m, boxes)
	return runWritePNG(m)
}

func runWritePNG(m image.Image) error {
	data, err := render.EncodePNG(m)
	if err != nil {
		return err
	}
	inputs := append([]string{runFlags.pixels}, runFlags.images...)
	if err := atomicfile.WriteFile(runFlags.draw, data, inputs...); err != nil {
		return fmt.Errorf("run: --draw: %w", err)
	}
	return nil
}

// runCheckDraw checks --draw before any work: a .png path in a writable
// folder, one image, and a task that has something to draw.
func runCheckDraw(task runTask, images int) error {
	if runFlags.draw == "" {
		return nil
	}
	if task.name == taskClassification {
		return usageErrorf("run: --draw draws segmentation and detection results; this model's task is classification (--task)")
	}
	if images != 1 {
		return usageErrorf("run: --draw writes one image; %d were given", images)
	}
	if out, err := os.Stat(runFlags.draw); err == nil {
		for _, in := range runFlags.images {
			if st, err := os.Stat(in); err == nil && os.SameFile(st, out) {
				return argErrorf("run: --draw %s is the input image %s", runFlags.draw, in)
			}
		}
	}
	return nil
}

// runTaskHelp is run's --help on the tasks.
var runTaskHelp = strings.TrimSpace(`
Tasks (--task auto, the default, picks from the outputs):
  classification  the top-5 of the first output (as above)
  segmentation    an ArgMax class map or [1,H,W,C] scores: the class map is
                  brought to the image's size by nearest neighbour (as eval
                  --task segmentation scores it) and the classes present
                  printed with their pixels and share of the image
  detection       the four outputs of TFLite_Detection_PostProcess (boxes,
                  classes, scores, count), or raw SSD outputs (class scores
                  [1,N,C], box encodings [1,N,4], anchors [N,4]) decoded as
                  eval --task detection decodes them, with the same flags
                  (--box-coding, --det-outputs, --anchors, --det-background,
                  --box-scales, --nms, --nms-iou, --score-threshold,
                  --max-detections, --detections-per-class; eval --help
                  explains them): label, score and box in pixels of the
                  image (x0,y0,x1,y1) of each detection with score >=
                  --min-score
Segmentation and detection stretch the whole image to the model's input
(--resize full; a cropping preset is refused). --labels names class i by
line i (background first for PASCAL VOC segmentation, none for the pets
SSD). --draw OUT.png (one image) writes the image with the class map as a
semi-transparent PASCAL VOC palette overlay (class 0, background, left
clear) and a legend, or with labelled boxes; with --pixels the picture is
the model-size input. --json prints per image {"index","image","task",
"width","height","classes"|"detections","outputs"}, where outputs lists
every output with name, shape, dtype, values (and scale, zero_point for a
quantized one); classification lines also list "outputs" when the model has
more than one output.`)
