package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/eval"
	"github.com/mnconv/mnconv/internal/shard"
	"github.com/mnconv/mnconv/quantize"
)

// Sharded calibration: quantize IN --calib DIR --shard i/n --stats-out S
// writes one shard's statistics; quantize IN OUT --stats S1,S2,... merges
// them and writes the model an unsharded run writes.

var quantStats struct {
	out string
	in  []string
}

func init() {
	f := quantizeCmd.Flags()
	f.StringVar(&quantStats.out, "stats-out", "", "calibrate (a shard of) --calib and write the statistics to this file instead of a model: quantize IN --calib DIR --shard I/N --stats-out S.stats")
	f.StringSliceVar(&quantStats.in, "stats", nil, "merge these calibration statistics (every shard once, comma-separated or repeated; a folder stands for its .stats files) instead of calibrating, and write the model")
}

// quantShard is quantize's shard mode.
type quantShard struct {
	spec     shard.Spec
	statsOut string          // write statistics, not a model
	merged   *quantize.Stats // from --stats
	parts    int
	fp       quantize.StatsFingerprint
}

// quantShardSetup checks the arguments against the shard flags: one
// argument with --stats-out, two (IN OUT) otherwise; --calib unless --stats.
func quantShardSetup(cmd *cobra.Command, args []string) (*quantShard, error) {
	fl := cmd.Flags()
	s, sharded, err := resolveShard(quantShardFlags, fl)
	if err != nil {
		return nil, err
	}
	q := &quantShard{spec: shard.All, statsOut: quantStats.out}
	if sharded {
		q.spec = s
	}
	stats, err := expandParts(splitList(quantStats.in), ".stats")
	if err != nil {
		return nil, fmt.Errorf("--stats: %v", err)
	}
	switch {
	case q.statsOut != "" && len(stats) > 0:
		return nil, fmt.Errorf("--stats-out (write a shard's statistics) and --stats (merge them into a model) exclude each other")
	case q.statsOut != "" && len(args) != 1:
		return nil, fmt.Errorf("with --stats-out, quantize takes the model only (quantize IN --calib DIR --shard I/N --stats-out S.stats); the model is written by quantize IN OUT --stats S1,S2,...")
	case q.statsOut == "" && len(args) != 2:
		return nil, fmt.Errorf("quantize IN OUT: want 2 arguments, got %d", len(args))
	case q.statsOut == "" && sharded:
		return nil, fmt.Errorf("shard %s: a shard's calibration is partial: write it with --stats-out S.stats and merge the shards with quantize IN OUT --stats S1,S2,...", s)
	case len(stats) == 0 && quantFlags.calib == "":
		return nil, fmt.Errorf("--calib DIR is required (or --stats S1,S2,... to merge calibration statistics)")
	}
	if q.statsOut != "" {
		if q.statsOut, err = shardPath(q.statsOut, "calib", ".stats", q.spec); err != nil {
			return nil, fmt.Errorf("--stats-out: %v", err)
		}
	}
	d, err := eval.DigestFile(args[0])
	if err != nil {
		return nil, err
	}
	q.fp = quantize.StatsFingerprint{Version: shard.BuildVersion(), Model: d.SHA256, Preprocess: quantFlags.prep.fingerprint(), InputMode: quantFlags.prep.inputModeName()}
	if len(stats) > 0 {
		files := make([]*quantize.StatsFile, len(stats))
		for i, p := range stats {
			if files[i], err = quantize.ReadStats(p); err != nil {
				return nil, err
			}
		}
		// the parts against this run first (model, build, preprocessing),
		// then against each other
		for i, f := range files {
			if err := quantize.CheckStatsFingerprint(q.fp, f.Fingerprint, "this run", stats[i]); err != nil {
				return nil, fmt.Errorf("--stats: %v", err)
			}
		}
		if q.merged, err = quantize.MergeStats(files, stats); err != nil {
			return nil, fmt.Errorf("--stats: %v", err)
		}
		q.parts = len(files)
	}
	return q, nil
}

// files keeps the shard's slice of the calibration list and records the
// whole list in the fingerprint.
func (q *quantShard) files(all []string) []string {
	q.fp.Images, q.fp.ImageCount = quantize.ListDigest(all), len(all)
	return quantize.ShardFiles(all, q.spec)
}

// writeStats writes the shard's statistics and says so.
func (q *quantShard) writeStats(w io.Writer, st *quantize.Stats, secs float64) error {
	if err := quantize.WriteStats(q.statsOut, q.fp, q.spec, st); err != nil {
		return fmt.Errorf("writing %s: %w", q.statsOut, err)
	}
	fmt.Fprintf(w, "shard %s: calibrated on %d of %d images (%d skipped) in %.1fs; wrote %s\n",
		q.spec, st.Images, q.fp.ImageCount, len(st.Skipped), secs, q.statsOut)
	return nil
}

// describe is the first line of a quantize run's output.
func (q *quantShard) describe(st *quantize.Stats, secs float64) string {
	if q.merged != nil {
		return fmt.Sprintf("merged the statistics of %d shards: %d images (%d skipped)", q.parts, st.Images, len(st.Skipped))
	}
	return fmt.Sprintf("calibrated on %d images (%d skipped) in %.1fs", st.Images, len(st.Skipped), secs)
}
