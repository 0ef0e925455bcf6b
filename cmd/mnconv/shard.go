package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mnconv/mnconv/eval"
	"github.com/mnconv/mnconv/internal/shard"
	"github.com/mnconv/mnconv/ir"
)

// Shard flags of eval and quantize: --shard i/n (0-based), or a count
// (--shard-count, MNCONV_SHARD_COUNT) with the index from
// MNCONV_SHARD_INDEX or, in a Kubernetes Indexed Job, JOB_COMPLETION_INDEX.

type shardFlagValues struct {
	spec  string
	count int
}

var (
	evalShardFlags  shardFlagValues
	evalPartialOut  string
	quantShardFlags shardFlagValues
)

func addShardFlags(f *pflag.FlagSet, v *shardFlagValues, what string) {
	f.StringVar(&v.spec, "shard", "", "run shard INDEX/COUNT of the "+what+" (0-based index, e.g. 0/4 .. 3/4); an image's shard is a hash of its file name")
	f.IntVar(&v.count, "shard-count", 0, "shard count; the index comes from "+shard.EnvIndex+" or "+shard.EnvJobIndex+" (also: "+shard.EnvCount+")")
}

func init() {
	addShardFlags(evalCmd.Flags(), &evalShardFlags, "labelled images")
	evalCmd.Flags().StringVar(&evalPartialOut, "partial-out", "", "write this shard's per-image results as JSON for mnconv merge (gate flags then go to merge); a folder gets FOLDER/eval-I-of-N.json")
	addShardFlags(quantizeCmd.Flags(), &quantShardFlags, "calibration images")
}

// resolveShard returns the shard the flags and environment ask for; ok is
// false when nothing asks to shard.
func resolveShard(v shardFlagValues, fl *pflag.FlagSet) (s shard.Spec, ok bool, err error) {
	if fl.Changed("shard") {
		if fl.Changed("shard-count") {
			return s, false, fmt.Errorf("--shard and --shard-count exclude each other")
		}
		s, err = shard.Parse(v.spec)
		return s, err == nil, err
	}
	if fl.Changed("shard-count") && v.count < 1 {
		return s, false, fmt.Errorf("--shard-count %d must be at least 1", v.count)
	}
	return shard.FromEnv(v.count, os.Getenv)
}

// evalPartial is eval's shard mode: evaluate a slice, write a partial.
type evalPartial struct {
	spec shard.Spec
	out  string
}

// evalPartialSetup reads the shard and --partial-out flags; nil means an
// ordinary run.
func evalPartialSetup(cmd *cobra.Command) (*evalPartial, error) {
	fl := cmd.Flags()
	s, sharded, err := resolveShard(evalShardFlags, fl)
	if err != nil {
		return nil, evalUsage("%v", err)
	}
	if evalPartialOut == "" {
		if sharded {
			return nil, evalUsage("shard %s: a shard's result is partial: name a file with --partial-out and join the parts with mnconv merge", s)
		}
		return nil, nil
	}
	if !sharded {
		s = shard.All
	}
	for _, name := range []string{"max-drop", "min-top1", "junit", "max-macs-ratio", "max-size-ratio", "json", "min-images"} {
		if fl.Changed(name) {
			return nil, evalUsage("--%s applies to the whole evaluation: give it to mnconv merge, not to a shard with --partial-out", name)
		}
	}
	out, err := shardPath(evalPartialOut, "eval", ".json", s)
	if err != nil {
		return nil, evalUsage("--partial-out: %v", err)
	}
	return &evalPartial{spec: s, out: out}, nil
}

// run evaluates the shard's slice of items with the models (and the
// baseline, when given) and writes the partial result.
func (p *evalPartial) run(ctx context.Context, cmd *cobra.Command, args []string, models, baseline []*ir.Graph, items []eval.Item, cfg eval.Config) error {
	fp := eval.Fingerprint{Version: shard.BuildVersion(), Images: eval.ListDigest(items), ImageCount: len(items),
		Preprocess: cfg.Preset.String(), InputMode: cfg.Mode.String()}
	var err error
	if fp.Models, err = digestFiles(splitList(args)); err != nil {
		return err
	}
	if len(baseline) > 0 {
		if fp.Baseline, err = digestFiles(splitList(evalFlags.baseline)); err != nil {
			return err
		}
	}
	mine := eval.ShardItems(items, p.spec)
	part := &eval.Partial{Fingerprint: fp, Shard: p.spec, Models: args, BaselineModels: evalFlags.baseline}
	if part.Model, err = eval.Run(ctx, models, mine, cfg); err != nil {
		return err
	}
	if len(baseline) > 0 {
		cfg.Description, cfg.Warn = "baseline", nil
		if part.Baseline, err = eval.Run(ctx, baseline, mine, cfg); err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
	}
	if err := eval.WritePartial(p.out, part); err != nil {
		return fmt.Errorf("eval: writing %s: %w", p.out, err)
	}
	read := 0
	for _, im := range part.Model.Images {
		if im.Error == "" {
			read++
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "shard %s: evaluated %d of %d images (%d unreadable) in %.1fs; wrote %s\n",
		p.spec, len(mine), len(items), len(mine)-read, part.Model.WallSeconds, p.out)
	return nil
}

func digestFiles(paths []string) ([]eval.FileDigest, error) {
	var ds []eval.FileDigest
	for _, p := range paths {
		d, err := eval.DigestFile(p)
		if err != nil {
			return nil, evalUsage("%v", err)
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// splitList splits comma-separated list entries, dropping blanks, as
// evalLoadChain reads --baseline.
func splitList(list []string) []string {
	var out []string
	for _, b := range list {
		for _, p := range strings.Split(b, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// shardPath is where a shard writes: path itself, or when path is a folder
// (an existing one, or a name ending in /) a file in it named for the
// shard, e.g. DIR/eval-2-of-4.json, so that every pod of an Indexed Job
// can be given the same flags.
func shardPath(path, prefix, ext string, s shard.Spec) (string, error) {
	st, err := os.Stat(path)
	isDir := err == nil && st.IsDir()
	if !isDir && !strings.HasSuffix(path, "/") && !strings.HasSuffix(path, string(filepath.Separator)) {
		return path, nil
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return "", err
	}
	return filepath.Join(path, fmt.Sprintf("%s-%d-of-%d%s", prefix, s.Index, s.Count, ext)), nil
}

// expandParts replaces each folder among paths by its files ending in ext,
// sorted (merges take the parts in any order).
func expandParts(paths []string, ext string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || !st.IsDir() {
			out = append(out, p)
			continue
		}
		files, err := filepath.Glob(filepath.Join(p, "*"+ext))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no %s files", p, ext)
		}
		out = append(out, files...) // Glob sorts
	}
	return out, nil
}
