package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/eval"
)

var mergeFlags struct {
	json      bool
	junit     string
	minImages int
	maxUnread float64
	maxDrop   float64
	minTop1   float64
	maxMACs   float64
	maxSize   float64
}

var mergeCmd = &cobra.Command{
	Use:   "merge PART.json|FOLDER...",
	Short: "Join the partial results of a sharded eval into its report and gate decision",
	Long: `merge reads the partial results that eval --shard I/N --partial-out F.json
wrote, one per shard (a FOLDER stands for its .json files), and prints the report an unsharded eval of the same
models and images gives (text, or --json), applies the same gate (--max-drop
and the other gate flags, when the shards ran with --baseline) and writes
the same --junit file. Only the timings differ: the merged report sums the
workers and the seconds summed over workers, and takes the longest shard's
wall time.

merge refuses parts made by different mnconv builds, of different model or
baseline bytes (sha256), different image lists or labels, different
preprocessing, and a set of shards with one missing or given twice; each
refusal names the parts.

Exit status: 0 success (gate passed), 1 gate failed, 2 usage or input error.`,
	Args: withUsage(cobra.MinimumNArgs(1)),
	RunE: func(cmd *cobra.Command, args []string) error {
		err := mergeMain(cmd, args)
		var ee *exitError
		if err != nil && !errors.As(err, &ee) {
			err = &exitError{code: 2, err: err}
		}
		return err
	},
}

func init() {
	f := mergeCmd.Flags()
	f.BoolVar(&mergeFlags.json, "json", false, "print the result as JSON (per-image top-5 included), as eval --json does")
	f.StringVar(&mergeFlags.junit, "junit", "", "gate: write the checks as JUnit XML to this file")
	f.IntVar(&mergeFlags.minImages, "min-images", evalDefaultMinImages, "fewest readable images that make a result")
	f.Float64Var(&mergeFlags.maxUnread, "max-unreadable", 0, "largest share of unreadable images, in percent of those listed (0: none); within it they are skipped")
	f.Float64Var(&mergeFlags.maxDrop, "max-drop", 0, "gate: largest allowed top-1 drop below the baseline, in points")
	f.Float64Var(&mergeFlags.minTop1, "min-top1", -1, "gate: smallest allowed top-1 of the model, in percent (negative: unchecked)")
	f.Float64Var(&mergeFlags.maxMACs, "max-macs-ratio", 0, "gate: largest allowed ratio of the model's executed MACs per image to the baseline's (0: unchecked)")
	f.Float64Var(&mergeFlags.maxSize, "max-size-ratio", 0, "gate: largest allowed ratio of the model's weight bytes to the baseline's (0: unchecked)")
	rootCmd.AddCommand(mergeCmd)
}

func mergeUsage(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf("merge: "+format, args...)}
}

func mergeMain(cmd *cobra.Command, args []string) error {
	fl := cmd.Flags()
	if mergeFlags.junit != "" {
		if err := checkOutput("--junit", mergeFlags.junit, ".xml"); err != nil {
			return err
		}
	}
	args, err := expandParts(args, ".json")
	if err != nil {
		return mergeUsage("%v", err)
	}
	parts := make([]*eval.Partial, len(args))
	for i, a := range args {
		p, err := eval.ReadPartial(a)
		if err != nil {
			return mergeUsage("%v", err)
		}
		parts[i] = p
	}
	gate := parts[0].Baseline != nil
	if err := checkGateFlags(fl, gate, gate, mergeUsage, "parts evaluated with --baseline", "the parts carry a baseline: the gate needs --max-drop POINTS"); err != nil {
		return err
	}
	model, baseline, err := eval.MergePartials(parts, args)
	if err != nil {
		return err
	}
	if mergeFlags.minImages < 1 || mergeFlags.maxUnread < 0 || mergeFlags.maxUnread > 100 {
		return mergeUsage("--min-images must be at least 1 and --max-unreadable within 0..100")
	}
	policy := eval.Config{MinImages: mergeFlags.minImages, LimitUnreadable: true, MaxUnreadable: mergeFlags.maxUnread / 100}
	res, err := eval.Summarize(model, policy)
	if err != nil {
		return err
	}
	o := evalOut{json: mergeFlags.json, models: parts[0].Models, res: res}
	if baseline != nil {
		if o.base, err = eval.Summarize(baseline, policy); err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		o.junit, o.baselineModels = mergeFlags.junit, parts[0].BaselineModels
		o.gate = &eval.Gate{MaxDrop: mergeFlags.maxDrop, MinTop1: mergeFlags.minTop1, MaxMACsRatio: mergeFlags.maxMACs, MaxSizeRatio: mergeFlags.maxSize}
	}
	return evalOutput(cmd.OutOrStdout(), o)
}
