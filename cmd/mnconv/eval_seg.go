package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/eval"
)

// evalSegMain is eval --task segmentation: every PNG mask in --masks scored
// against the model's class map of the image of the same name in --images
// (per-class IoU, mIoU, pixel accuracy); with --baseline, the gate on the
// mIoU drop in points (--max-drop).
func evalSegMain(cmd *cobra.Command, args []string) error {
	if evalFlags.masks == "" {
		return evalUsage("--task segmentation needs --masks DIR")
	}
	if len(args) != 1 {
		return evalUsage("--task segmentation takes one model (no chains)")
	}
	fl := cmd.Flags()
	for _, name := range []string{"min-top1", "max-macs-ratio", "max-size-ratio", "count"} {
		if fl.Changed(name) {
			return evalUsage("--%s is not supported with --task segmentation", name)
		}
	}
	gate := len(evalFlags.baseline) > 0
	if gate != fl.Changed("max-drop") {
		return evalUsage("--baseline and --max-drop go together")
	}
	if evalFlags.junit != "" {
		if !gate {
			return evalUsage("--junit needs --baseline")
		}
		if err := checkOutput("--junit", evalFlags.junit, ".xml"); err != nil {
			return err
		}
	}
	stderr := cmd.ErrOrStderr()
	if err := evalFlags.prep.parse(stderr); err != nil {
		return err
	}
	items, err := eval.SegItems(evalFlags.images, evalFlags.masks)
	if err != nil {
		return evalUsage("%v", err)
	}
	if evalFlags.limit > 0 && evalFlags.limit < len(items) {
		items = items[:evalFlags.limit]
	}
	var names []string
	if evalFlags.labels != "" {
		if names, err = readNames(evalFlags.labels); err != nil {
			return evalUsage("%v", err)
		}
	}
	warn, flushWarnings := warnTo(stderr)
	defer flushWarnings()
	run := func(path string) (*eval.SegResult, error) {
		gs, err := evalLoadChain([]string{path}, stderr)
		if err != nil {
			return nil, err
		}
		preset, mode, _ := evalFlags.prep.resolve(gs[0], path, stderr)
		cfg := eval.Config{Preset: preset, Mode: mode, Workers: evalFlags.workers, MinImages: evalFlags.minImages, Warn: warn,
			LimitUnreadable: true, MaxUnreadable: evalFlags.maxUnread / 100}
		return eval.EvaluateSegmentation(cmd.Context(), gs[0], items, evalFlags.classes, cfg)
	}
	res, err := run(args[0])
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if !gate {
		if evalFlags.json {
			return printJSON(out, res)
		}
		evalSegPrint(out, "model", args[0], res, names)
		return nil
	}
	baseline := strings.Join(evalFlags.baseline, ",")
	base, err := run(baseline)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	c := eval.MetricGate{Metric: "mIoU", MaxDrop: evalFlags.maxDrop}.Compare(res.MIoU, base.MIoU)
	if evalFlags.junit != "" {
		summary := fmt.Sprintf("model: n=%d miou=%.4f pixel_accuracy=%.4f\nbaseline: n=%d miou=%.4f pixel_accuracy=%.4f\ndrop=%.2f points\n",
			res.N, res.MIoU, res.PixelAccuracy, base.N, base.MIoU, base.PixelAccuracy, c.Drop)
		if err := c.WriteJUnit(evalFlags.junit, "mnconv eval gate", summary, res.WallSeconds+base.WallSeconds); err != nil {
			return fmt.Errorf("eval: writing the JUnit report: %w", err)
		}
	}
	if evalFlags.json {
		if err := printJSON(out, evalSegReport{SegResult: res, BaselineModel: baseline, Baseline: base, Gate: &c}); err != nil {
			return err
		}
	} else {
		evalSegPrint(out, "model", args[0], res, names)
		evalSegPrint(out, "baseline", baseline, base, names)
		fmt.Fprintf(out, "drop:      %.2f mIoU points (allowed %.2f)\n", c.Drop, evalFlags.maxDrop)
		if c.Pass {
			fmt.Fprintln(out, "gate:      PASS")
		} else {
			fmt.Fprintln(out, "gate:      FAIL")
		}
	}
	if !c.Pass {
		return &exitError{code: 1, err: fmt.Errorf("eval: mIoU gate failed: drop %.2f points > %.2f", c.Drop, evalFlags.maxDrop)}
	}
	return nil
}

// evalSegReport is the --json document of a segmentation evaluation with
// the gate (without it, the result alone).
type evalSegReport struct {
	*eval.SegResult
	BaselineModel string                 `json:"baseline_model"`
	Baseline      *eval.SegResult        `json:"baseline"`
	Gate          *eval.MetricComparison `json:"gate"`
}

func evalSegPrint(w io.Writer, role, model string, r *eval.SegResult, names []string) {
	fmt.Fprintf(w, "%s:     %s\n", role, model)
	fmt.Fprintf(w, "images:    %d (%d unreadable), %.2f images/s with %d workers\n", r.N, len(r.Skipped), r.ImagesPerSecond, r.Workers)
	fmt.Fprintf(w, "mIoU:      %.4f over the %d classes in the masks; pixel accuracy %.4f of %d pixels\n", r.MIoU, r.ClassesScored, r.PixelAccuracy, r.Pixels)
	for _, c := range r.PerClass {
		if c.Truth == 0 && c.Predicted == 0 {
			continue
		}
		name := fmt.Sprint(c.Class)
		if c.Class < len(names) {
			name = names[c.Class]
		}
		fmt.Fprintf(w, "  %-14s IoU %.3f  truth %d px, predicted %d px\n", name, c.IoU, c.Truth, c.Predicted)
	}
}

// readNames reads one class name per line.
func readNames(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		names = append(names, strings.TrimSpace(sc.Text()))
	}
	return names, sc.Err()
}
