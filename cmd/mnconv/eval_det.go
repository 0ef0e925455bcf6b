package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/eval"
)

// detFlags are eval --task detection's decoding flags.
var detFlags struct {
	annotations string
	coding      string
	outputs     []string
	anchors     string
	background  string
	scales      string
	nms         string
	iou         float64
	scoreThr    float64
	maxDet      int
	perClass    int
}

const detHelp = `Detection (--task detection --annotations F.csv): every image listed in
F.csv (columns file,class_id[,class_name],xmin,ymin,xmax,ymax in pixels,
one box per row; the format of datasets/coco-val128) is run from --images,
its detections decoded and scored: AP per class and mAP over the classes in
the annotations at IoU 0.5 (VOC all-point and COCO 101-point) and COCO's
mAP@[.5:.95]; --labels names the classes (one per line, class 0 first).
Images go in whole, stretched to the model's size (--resize full) unless
--preprocess or --resize says otherwise. A model that ends in
DetectionPostProcess (TFLite_Detection_PostProcess) is read as is; one that
ends before post-processing (raw class scores [1,N,C], box encodings
[1,N,4], anchors [N,4]) is decoded here:
  --box-coding corners    ST SSDs: offsets of the anchor's corners x1,y1,x2,y2
               center     TF SSD center-size (ycenter,xcenter,h,w anchors),
                          decoded by the runtime's DetectionPostProcess kernel
                          with --box-scales (default 10,10,5,5)
  --det-outputs S,B[,A]   the scores, boxes (and anchors) outputs, by name or
                          index (default: the one [1,N,C], the one [1,N,4]
                          computed from the image, a constant one as anchors)
  --anchors FILE          anchors from a file, 4 numbers a line
  --det-background        first (column 0 of the scores is background) or
                          none (default: first when the scores have one
                          column more than --labels has names)
  --nms fast|class        fast: the best class per anchor, one class-agnostic
                          NMS (TFLite's default); class: an NMS per class
  --nms-iou 0.6 --score-threshold 1e-8 --max-detections 100
The gate (--baseline, --max-drop in points of mAP@0.5 VOC, --junit) works as
for classification; sharding is not supported for detection.
Example (ST SSD MobileNetV2-FPNLite, outputs scores, boxes, anchors):
  mnconv eval st_ssd_mobilenet_v2_fpnlite_100_256_coco80_int8.tflite --task detection \
    --images coco-val128/images --annotations coco-val128/detection_labels.csv \
    --labels coco-val128/coco80_names.txt --box-coding corners --det-outputs 0,1,2`

func init() {
	evalCmd.Flags().StringVar(&detFlags.annotations, "annotations", "", "detection: CSV of boxes (file,class_id[,class_name],xmin,ymin,xmax,ymax, pixels)")
	addDetFlags(evalCmd)
}

// addDetFlags registers the decoding flags of detection on cmd (eval and
// run share them, and detFlags).
func addDetFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&detFlags.coding, "box-coding", "auto", "detection: auto (DetectionPostProcess outputs), corners (ST) or center (TF SSD)")
	f.StringSliceVar(&detFlags.outputs, "det-outputs", nil, "detection: raw outputs scores,boxes[,anchors] by name or index (default: from their shapes)")
	f.StringVar(&detFlags.anchors, "anchors", "", "detection: anchors file, 4 numbers a line in the box coding's order")
	f.StringVar(&detFlags.background, "det-background", "auto", "detection: auto, first (score column 0 is background) or none")
	f.StringVar(&detFlags.scales, "box-scales", "10,10,5,5", "detection: center coding's y,x,h,w scales")
	f.StringVar(&detFlags.nms, "nms", "fast", "detection: fast (class-agnostic, best class per anchor) or class (per-class NMS)")
	f.Float64Var(&detFlags.iou, "nms-iou", 0.6, "detection: NMS drops a box whose IoU with a kept one exceeds this")
	f.Float64Var(&detFlags.scoreThr, "score-threshold", 1e-8, "detection: lowest score a detection keeps")
	f.IntVar(&detFlags.maxDet, "max-detections", 100, "detection: most detections per image")
	f.IntVar(&detFlags.perClass, "detections-per-class", 100, "detection: most detections per class (--nms class)")
}

// detDecodeFlags are addDetFlags' flags; detOnlyFlags may be given only
// with eval --task detection.
var (
	detDecodeFlags = []string{"box-coding", "det-outputs", "anchors", "det-background", "box-scales", "nms", "nms-iou", "score-threshold", "max-detections", "detections-per-class"}
	detOnlyFlags   = append([]string{"annotations"}, detDecodeFlags...)
)

// checkTaskFlags refuses another task's flags.
func checkTaskFlags(cmd *cobra.Command) error {
	fl := cmd.Flags()
	if evalFlags.task != "detection" {
		for _, name := range detOnlyFlags {
			if fl.Changed(name) {
				return evalUsage("--%s needs --task detection", name)
			}
		}
	}
	if evalFlags.task != "segmentation" && fl.Changed("masks") {
		return evalUsage("--masks needs --task segmentation")
	}
	return nil
}

// detSpec builds the decoding from the flags (Classes left unknown);
// usage makes the verb's error for a bad value.
func detSpec(usage func(format string, args ...any) error) (eval.DetSpec, error) {
	s := eval.DefaultDetSpec()
	switch c := strings.ToLower(detFlags.coding); c {
	case "auto":
	case "postprocess", "corners", "center":
		s.Coding = eval.BoxCoding(c)
	default:
		return s, usage("--box-coding %q: auto, postprocess, corners or center", detFlags.coding)
	}
	switch b := strings.ToLower(detFlags.background); b {
	case "auto":
	case "first", "none":
		s.Background = eval.Background(b)
	default:
		return s, usage("--det-background %q: auto, first or none", detFlags.background)
	}
	switch n := strings.ToLower(detFlags.nms); n {
	case "fast", "class":
		s.NMS = eval.NMSKind(n)
	default:
		return s, usage("--nms %q: fast or class", detFlags.nms)
	}
	scales := strings.Split(detFlags.scales, ",")
	if len(scales) != 4 {
		return s, usage("--box-scales %q: want 4 numbers y,x,h,w", detFlags.scales)
	}
	for i, x := range scales {
		v, err := strconv.ParseFloat(strings.TrimSpace(x), 32)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return s, usage("--box-scales %q: %q is not a positive number", detFlags.scales, x)
		}
		s.Scales[i] = float32(v)
	}
	if !(detFlags.iou > 0 && detFlags.iou <= 1) {
		return s, usage("--nms-iou %g must be in (0, 1]", detFlags.iou)
	}
	if detFlags.maxDet < 1 || detFlags.perClass < 1 {
		return s, usage("--max-detections and --detections-per-class must be at least 1")
	}
	s.IoU, s.ScoreThreshold = float32(detFlags.iou), float32(detFlags.scoreThr)
	s.MaxDetections, s.PerClass = detFlags.maxDet, detFlags.perClass
	s.Outputs = detFlags.outputs
	if detFlags.anchors != "" {
		a, err := eval.ReadAnchors(detFlags.anchors)
		if err != nil {
			return s, usage("--anchors: %v", err)
		}
		s.Anchors = a
	}
	return s, nil
}

// evalDetMain is eval --task detection.
func evalDetMain(cmd *cobra.Command, args []string) error {
	if detFlags.annotations == "" {
		return evalUsage("--task detection needs --annotations F.csv")
	}
	fl := cmd.Flags()
	for _, name := range []string{"min-top1", "max-macs-ratio", "max-size-ratio", "count", "shard", "partial-out"} {
		if fl.Lookup(name) != nil && fl.Changed(name) {
			return evalUsage("--%s is not supported with --task detection", name)
		}
	}
	gate := len(evalFlags.baseline) > 0
	if err := checkGateFlags(fl, gate, gate, evalUsage, "--baseline", "--baseline needs --max-drop POINTS"); err != nil {
		return err
	}
	if err := checkCounts(cmd, []string{"limit", "workers", "min-images"}, nil); err != nil {
		return err
	}
	if evalFlags.junit != "" {
		if err := checkOutput("--junit", evalFlags.junit, ".xml"); err != nil {
			return err
		}
	}
	stderr := cmd.ErrOrStderr()
	if err := evalFlags.prep.parse(stderr); err != nil {
		return err
	}
	spec, err := detSpec(evalUsage)
	if err != nil {
		return err
	}
	ann, err := eval.ReadAnnotations(detFlags.annotations)
	if err != nil {
		return evalUsage("%v", err)
	}
	names := ann.Names // the classes the CSV has: no count of the model's
	if evalFlags.labels != "" {
		if names, err = readNames(evalFlags.labels); err != nil {
			return evalUsage("%v", err)
		}
		spec.Classes = len(names)
	}
	items := eval.DetItems(evalFlags.images, ann)
	if evalFlags.limit > 0 && evalFlags.limit < len(items) {
		items = items[:evalFlags.limit]
	}
	warn, flushWarnings := warnTo(stderr)
	defer flushWarnings()
	run := func(paths []string, role string, w func(string)) (*eval.DetResult, error) {
		gs, err := evalLoadChain(paths, stderr)
		if err != nil {
			return nil, err
		}
		preset, mode, _ := evalFlags.prep.resolve(gs[0], paths[0], stderr)
		preset = evalFlags.prep.wholeImage(preset, "--task detection: whole image stretched for "+paths[0], stderr)
		cfg := eval.Config{Preset: preset, Mode: mode, Workers: evalFlags.workers, MinImages: evalFlags.minImages, Warn: w,
			LimitUnreadable: true, MaxUnreadable: evalFlags.maxUnread / 100, Description: role}
		if !evalFlags.noProgress && evalIsTerminal(stderr) {
			cfg.Progress = stderr
		}
		return eval.EvaluateDetection(cmd.Context(), gs, items, spec, names, cfg)
	}
	res, err := run(args, "model", warn)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if !gate {
		if evalFlags.json {
			return printJSON(out, evalDetReport{Models: args, DetResult: res})
		}
		evalDetPrint(out, "model", args, res)
		return nil
	}
	var bpaths []string
	for _, b := range evalFlags.baseline {
		bpaths = append(bpaths, strings.Split(b, ",")...)
	}
	base, err := run(bpaths, "baseline", nil)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	c := eval.MetricGate{Metric: "mAP@0.5", MaxDrop: evalFlags.maxDrop}.Compare(res.MAP50, base.MAP50)
	if evalFlags.junit != "" {
		summary := fmt.Sprintf("model: n=%d map50=%.4f map50_coco101=%.4f map_50_95=%.4f\nbaseline: n=%d map50=%.4f map50_coco101=%.4f map_50_95=%.4f\ndrop=%.2f points\n",
			res.N, res.MAP50, res.MAP50COCO, res.MAP, base.N, base.MAP50, base.MAP50COCO, base.MAP, c.Drop)
		if err := c.WriteJUnit(evalFlags.junit, "mnconv eval gate", summary, res.WallSeconds+base.WallSeconds); err != nil {
			return fmt.Errorf("eval: writing the JUnit report: %w", err)
		}
	}
	if evalFlags.json {
		if err := printJSON(out, evalDetReport{Models: args, DetResult: res, BaselineModels: evalFlags.baseline, Baseline: base, Gate: &c}); err != nil {
			return err
		}
	} else {
		evalDetPrint(out, "model", args, res)
		evalDetPrint(out, "baseline", evalFlags.baseline, base)
		fmt.Fprintf(out, "drop:      %.2f points of mAP@0.5 (allowed %.2f)\n", c.Drop, c.MaxDrop)
		if c.Pass {
			fmt.Fprintln(out, "gate:      PASS")
		} else {
			fmt.Fprintf(out, "gate:      FAIL: %s\n", c.Failure)
		}
	}
	if !c.Pass {
		return &exitError{code: 1, err: fmt.Errorf("eval: mAP gate failed: %s", c.Failure)}
	}
	return nil
}

// evalDetReport is the --json document of a detection evaluation.
type evalDetReport struct {
	Models []string `json:"models"`
	*eval.DetResult
	BaselineModels []string               `json:"baseline_models,omitempty"`
	Baseline       *eval.DetResult        `json:"baseline,omitempty"`
	Gate           *eval.MetricComparison `json:"gate,omitempty"`
}

// evalDetPrint prints a detection result: the totals, then a table of the
// per-class APs that fits the terminal.
func evalDetPrint(w io.Writer, role string, models []string, r *eval.DetResult) {
	fmt.Fprintf(w, "%-10s %s\n", role+":", strings.Join(models, " -> "))
	fmt.Fprintf(w, "  images:  %d", r.N)
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, " (%d unreadable, skipped)", len(r.Skipped))
	}
	fmt.Fprintf(w, ", %d boxes of %d classes, %d detections\n", r.Truth, len(r.PerClass), r.Detections)
	fmt.Fprintf(w, "  decoding: %s\n", r.Decoding)
	fmt.Fprintf(w, "  mAP@0.5: %.4f (VOC all-point), %.4f (COCO 101-point); COCO mAP@[.5:.95] %.4f\n", r.MAP50, r.MAP50COCO, r.MAP)
	fmt.Fprintf(w, "  speed:   %.2f images/s on %d workers (summed over workers: decode %.2f s, inference %.2f s)\n",
		r.ImagesPerSecond, r.Workers, r.DecodeSeconds, r.InferenceSeconds)
	cols := []tableCol{
		{header: "class", shrink: true},
		{header: "AP50", align: tw.AlignRight},
		{header: "AP50 COCO", align: tw.AlignRight, drop: 2},
		{header: "AP .5:.95", align: tw.AlignRight, drop: 1},
		{header: "boxes", align: tw.AlignRight},
		{header: "dets", align: tw.AlignRight, drop: 3},
		{header: "TP", align: tw.AlignRight},
	}
	var rows [][]string
	for _, c := range r.PerClass {
		name := c.Name
		if name == "" {
			name = strconv.Itoa(c.Class)
		}
		rows = append(rows, []string{name, fmt.Sprintf("%.3f", c.AP50), fmt.Sprintf("%.3f", c.AP50COCO), fmt.Sprintf("%.3f", c.AP),
			strconv.Itoa(c.Truth), strconv.Itoa(c.Detections), strconv.Itoa(c.TP)})
	}
	footer := []string{"mean", fmt.Sprintf("%.3f", r.MAP50), fmt.Sprintf("%.3f", r.MAP50COCO), fmt.Sprintf("%.3f", r.MAP),
		strconv.Itoa(r.Truth), "", ""}
	if err := renderTable(w, cols, rows, footer, outputWidth(w, tableWide)); err != nil {
		fmt.Fprintf(w, "  (table: %v)\n", err)
	}
}
