package quantize

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"github.com/mnconv/mnconv/internal/atomicfile"
	"github.com/mnconv/mnconv/internal/shard"
)

// Sharded calibration: each shard calibrates on its slice of the images and
// writes its Stats (WriteStats); MergeStats adds the histograms back up.
// Histograms are order-independent with power-of-two ranges and exact bin
// merging (see Histogram), and min/max are exact, so the merged Stats equal
// those of one run over all the images, and Quantize writes the same bytes.

// StatsFormat names the JSON layout of a calibration statistics file.
const StatsFormat = "mnconv-calib-stats/1"

// StatsFingerprint is what the shards of one calibration share.
type StatsFingerprint struct {
	Version string `json:"mnconv_version"`
	// Model is the sha256 of the float model file calibrated.
	Model string `json:"model_sha256"`
	// Images is the sha256 of the whole (unsharded) list of calibration
	// image names, after --calib-count sampling; ImageCount its length.
	Images     string `json:"images_sha256"`
	ImageCount int    `json:"image_count"`
	Preprocess string `json:"preprocess"`
	InputMode  string `json:"input_mode"`
}

// StatsFile is one shard's calibration statistics.
type StatsFile struct {
	Format      string           `json:"format"`
	Fingerprint StatsFingerprint `json:"fingerprint"`
	Shard       shard.Spec       `json:"shard"`
	Images      int              `json:"images"`
	Skipped     []string         `json:"skipped,omitempty"`
	// Hist holds the histograms by tensor name.
	Hist map[string]histRecord `json:"hist"`
}

// histRecord is a Histogram on disk: extremes as exact decimal strings
// (JSON has no infinities), bins sparse as [index, count] pairs.
type histRecord struct {
	Min   string     `json:"min"`
	Max   string     `json:"max"`
	Count int64      `json:"count"`
	LogR  int        `json:"log_r"`
	Bins  [][2]int64 `json:"bins"`
}

func toRecord(h *Histogram) histRecord {
	r := histRecord{Min: strconv.FormatFloat(h.Min, 'g', -1, 64), Max: strconv.FormatFloat(h.Max, 'g', -1, 64),
		Count: h.Count, LogR: h.LogR, Bins: [][2]int64{}}
	for i, c := range h.Bins {
		if c != 0 {
			r.Bins = append(r.Bins, [2]int64{int64(i), c})
		}
	}
	return r
}

func fromRecord(name string, r histRecord) (*Histogram, error) {
	h := NewHistogram()
	var err1, err2 error
	h.Min, err1 = strconv.ParseFloat(r.Min, 64)
	h.Max, err2 = strconv.ParseFloat(r.Max, 64)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("tensor %q: bad min/max %q, %q", name, r.Min, r.Max)
	}
	if r.LogR < -64 || r.LogR > 1100 {
		return nil, fmt.Errorf("tensor %q: range exponent %d out of bounds", name, r.LogR)
	}
	h.Count, h.LogR = r.Count, r.LogR
	var sum int64
	for _, b := range r.Bins {
		if b[0] < 0 || b[0] >= histBins || b[1] < 0 {
			return nil, fmt.Errorf("tensor %q: bad bin [%d, %d]", name, b[0], b[1])
		}
		h.Bins[b[0]] += b[1]
		sum += b[1]
	}
	if sum != h.Count {
		return nil, fmt.Errorf("tensor %q: bins hold %d values, count says %d", name, sum, h.Count)
	}
	if h.Count > 0 && (math.IsInf(h.Min, 0) || math.IsInf(h.Max, 0) || h.Min > h.Max) {
		return nil, fmt.Errorf("tensor %q: bad extremes [%g, %g]", name, h.Min, h.Max)
	}
	return h, nil
}

// ListDigest is the sha256 of a calibration list's file names (base
// names, one per line): the fingerprint of the images shards split.
func ListDigest(files []string) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\n", filepath.Base(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ShardFiles is shard s's slice of a calibration list: the files whose
// base name hashes to it (see package shard), in list order.
func ShardFiles(files []string, s shard.Spec) []string {
	var mine []string
	for _, f := range files {
		if s.Holds(filepath.Base(f)) {
			mine = append(mine, f)
		}
	}
	return mine
}

// WriteStats writes one shard's statistics as JSON, atomically.
func WriteStats(path string, fp StatsFingerprint, s shard.Spec, st *Stats) error {
	f := StatsFile{Format: StatsFormat, Fingerprint: fp, Shard: s, Images: st.Images,
		Skipped: st.Skipped, Hist: make(map[string]histRecord, len(st.Hist))}
	for name, h := range st.Hist {
		f.Hist[name] = toRecord(h)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	if err := enc.Encode(f); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}

// MaxStatsBytes bounds a statistics file.
const MaxStatsBytes = 256 << 20

// ReadStats reads a statistics file written by WriteStats.
func ReadStats(path string) (*StatsFile, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Size() > MaxStatsBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d-byte limit for calibration statistics", path, info.Size(), MaxStatsBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f StatsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: not mnconv calibration statistics: %v", path, err)
	}
	if f.Format != StatsFormat {
		return nil, fmt.Errorf("%s: format %q, want %q (a file written by mnconv quantize --stats-out)", path, f.Format, StatsFormat)
	}
	return &f, nil
}

// CheckStatsFingerprint refuses statistics of another mnconv build, model,
// image list or preprocessing than want; name labels the file.
func CheckStatsFingerprint(want, got StatsFingerprint, wantName, name string) error {
	switch {
	case got.Version != want.Version:
		return fmt.Errorf("%s was made by mnconv %q, %s by mnconv %q: statistics of different mnconv builds do not merge", name, got.Version, wantName, want.Version)
	case got.Model != want.Model:
		return fmt.Errorf("%s calibrated a model with sha256 %.12s, %s one with sha256 %.12s: statistics of different models do not merge", name, got.Model, wantName, want.Model)
	case want.Images != "" && (got.Images != want.Images || got.ImageCount != want.ImageCount):
		return fmt.Errorf("%s lists %d calibration images (sha256 %.12s), %s lists %d (sha256 %.12s): statistics of different image folders do not merge", name, got.ImageCount, got.Images, wantName, want.ImageCount, want.Images)
	case got.Preprocess != want.Preprocess || got.InputMode != want.InputMode:
		return fmt.Errorf("%s used --preprocess %s --input-mode %s, %s used --preprocess %s --input-mode %s: statistics of different preprocessing do not merge", name, got.Preprocess, got.InputMode, wantName, want.Preprocess, want.InputMode)
	}
	return nil
}

// MergeStats checks that files are the shards 0..n-1 of one calibration
// (same fingerprint, each shard once) and adds their statistics up.
func MergeStats(files []*StatsFile, names []string) (*Stats, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("no statistics to merge")
	}
	specs := make([]shard.Spec, len(files))
	for i, f := range files {
		if err := CheckStatsFingerprint(files[0].Fingerprint, f.Fingerprint, names[0], names[i]); err != nil {
			return nil, err
		}
		specs[i] = f.Shard
	}
	if err := shard.Check(specs, names); err != nil {
		return nil, err
	}
	st := &Stats{Hist: map[string]*Histogram{}}
	for i, f := range files {
		st.Images += f.Images
		st.Skipped = append(st.Skipped, f.Skipped...)
		// map order does not matter: merging is exact and commutative
		for name, r := range f.Hist {
			h, err := fromRecord(name, r)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", names[i], err)
			}
			if st.Hist[name] == nil {
				st.Hist[name] = NewHistogram()
			}
			st.Hist[name].Merge(h)
		}
	}
	// Skipped messages start with the image path; the list is sorted by
	// name, so sorting restores the unsharded order.
	sort.Strings(st.Skipped)
	st.Skipped = slices.Compact(st.Skipped)
	if st.Images == 0 {
		return nil, fmt.Errorf("calibration: none of the %d images of the merged shards could be used", files[0].Fingerprint.ImageCount)
	}
	return st, nil
}
