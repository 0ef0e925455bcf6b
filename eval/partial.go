package eval

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/mnconv/mnconv/internal/atomicfile"
	"github.com/mnconv/mnconv/internal/shard"
)

// A partial result is one shard's evaluation, written by eval --shard and
// joined by MergePartials: the tallies (per-image predictions and costs)
// and a fingerprint of everything that must agree for the parts to make the
// report one unsharded run gives.

// PartialFormat names the JSON layout of a partial result.
const PartialFormat = "mnconv-eval-partial/1"

// FileDigest is a model file's name as given and the sha256 of its bytes.
type FileDigest struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Fingerprint is what parts must share to merge.
type Fingerprint struct {
	Version  string       `json:"mnconv_version"`
	Models   []FileDigest `json:"models"`
	Baseline []FileDigest `json:"baseline,omitempty"`
	// Images is the sha256 of the whole (unsharded) labelled list, file
	// and class per line, after --limit; ImageCount its length.
	Images     string `json:"images_sha256"`
	ImageCount int    `json:"image_count"`
	Preprocess string `json:"preprocess"`
	InputMode  string `json:"input_mode"`
}

// Partial is one shard's result.
type Partial struct {
	Format      string      `json:"format"`
	Fingerprint Fingerprint `json:"fingerprint"`
	Shard       shard.Spec  `json:"shard"`
	// Models and BaselineModels are the command's names for the chains,
	// as its report shows them.
	Models         []string `json:"models"`
	BaselineModels []string `json:"baseline_models,omitempty"`
	Model          *Tally   `json:"model"`
	Baseline       *Tally   `json:"baseline,omitempty"`
}

// DigestFile hashes a model file.
func DigestFile(path string) (FileDigest, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileDigest{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return FileDigest{}, fmt.Errorf("%s: %w", path, err)
	}
	return FileDigest{Name: path, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// ListDigest hashes a labelled list: one "file\tclass\n" line per item.
func ListDigest(items []Item) string {
	h := sha256.New()
	for _, it := range items {
		fmt.Fprintf(h, "%s\t%d\n", it.File, it.Label)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ShardItems is the slice of items that shard s evaluates: those whose file
// name (as listed) hashes to it; see package shard.
func ShardItems(items []Item, s shard.Spec) []Item {
	var out []Item
	for _, it := range items {
		if s.Holds(it.File) {
			out = append(out, it)
		}
	}
	return out
}

// WritePartial writes p as indented JSON, atomically.
func WritePartial(path string, p *Partial) error {
	p.Format = PartialFormat
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	if err := enc.Encode(p); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}

// MaxPartialBytes bounds a partial result file (ImageNet-50k unsharded,
// model and baseline, is about 16 MB: 400 images make 125 KB).
const MaxPartialBytes = 1 << 30

// ReadPartial reads a partial result.
func ReadPartial(path string) (*Partial, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxPartialBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d-byte limit for a partial result", path, st.Size(), MaxPartialBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Partial
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s: not an mnconv eval partial result: %v", path, err)
	}
	if p.Format != PartialFormat {
		return nil, fmt.Errorf("%s: format %q, want %q (a file written by mnconv eval --partial-out)", path, p.Format, PartialFormat)
	}
	if p.Model == nil {
		return nil, fmt.Errorf("%s: no model tally", path)
	}
	return &p, nil
}

func digestsString(ds []FileDigest) string {
	var s []string
	for _, d := range ds {
		s = append(s, fmt.Sprintf("%s (sha256 %.12s)", d.Name, d.SHA256))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, " -> ")
}

func sameDigests(a, b []FileDigest) bool {
	return slices.EqualFunc(a, b, func(x, y FileDigest) bool { return x.SHA256 == y.SHA256 })
}

// CheckFingerprints refuses parts that cannot merge: other builds of
// mnconv, other model bytes, other image lists or preprocessing. names
// label the parts in the messages.
func CheckFingerprints(fps []Fingerprint, names []string) error {
	a := fps[0]
	for i, b := range fps[1:] {
		n0, n1 := names[0], names[i+1]
		switch {
		case a.Version != b.Version:
			return fmt.Errorf("%s was made by mnconv %q, %s by mnconv %q: parts of different mnconv builds do not merge", n0, a.Version, n1, b.Version)
		case !sameDigests(a.Models, b.Models):
			return fmt.Errorf("%s evaluated %s, %s evaluated %s: parts of different models do not merge", n0, digestsString(a.Models), n1, digestsString(b.Models))
		case !sameDigests(a.Baseline, b.Baseline):
			return fmt.Errorf("%s has baseline %s, %s has baseline %s: parts of different baselines do not merge", n0, digestsString(a.Baseline), n1, digestsString(b.Baseline))
		case a.Images != b.Images || a.ImageCount != b.ImageCount:
			return fmt.Errorf("%s lists %d images (sha256 %.12s), %s lists %d (sha256 %.12s): parts of different image folders or labels do not merge", n0, a.ImageCount, a.Images, n1, b.ImageCount, b.Images)
		case a.Preprocess != b.Preprocess || a.InputMode != b.InputMode:
			return fmt.Errorf("%s used --preprocess %s --input-mode %s, %s used --preprocess %s --input-mode %s: parts of different preprocessing do not merge", n0, a.Preprocess, a.InputMode, n1, b.Preprocess, b.InputMode)
		}
	}
	return nil
}

// MergePartials checks that parts are the shards 0..n-1 of one evaluation
// (same fingerprint, each shard once) and joins their tallies; baseline is
// nil when the parts carry none.
func MergePartials(parts []*Partial, names []string) (model, baseline *Tally, err error) {
	if len(parts) == 0 {
		return nil, nil, fmt.Errorf("merge: no parts")
	}
	fps := make([]Fingerprint, len(parts))
	specs := make([]shard.Spec, len(parts))
	for i, p := range parts {
		fps[i], specs[i] = p.Fingerprint, p.Shard
	}
	if err := CheckFingerprints(fps, names); err != nil {
		return nil, nil, fmt.Errorf("merge: %w", err)
	}
	if err := shard.Check(specs, names); err != nil {
		return nil, nil, fmt.Errorf("merge: %w", err)
	}
	var models, bases []*Tally
	for i, p := range parts {
		// A part holds exactly its shard's images.
		for _, t := range []*Tally{p.Model, p.Baseline} {
			if t == nil {
				continue
			}
			for _, im := range t.Images {
				if !p.Shard.Holds(im.File) {
					return nil, nil, fmt.Errorf("merge: %s holds image %s, which belongs to shard %d/%d, not %s", names[i], im.File, shard.Of(im.File, p.Shard.Count), p.Shard.Count, p.Shard)
				}
			}
		}
		if (p.Baseline == nil) != (len(p.Fingerprint.Baseline) == 0) {
			return nil, nil, fmt.Errorf("merge: %s: baseline tally and fingerprint disagree", names[i])
		}
		models = append(models, p.Model)
		if p.Baseline != nil {
			bases = append(bases, p.Baseline)
		}
	}
	merge := func(ts []*Tally) (*Tally, error) {
		t, err := MergeTallies(ts...)
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		if len(t.Images) != fps[0].ImageCount {
			return nil, fmt.Errorf("merge: the parts hold %d of the %d listed images", len(t.Images), fps[0].ImageCount)
		}
		return t, nil
	}
	if model, err = merge(models); err != nil {
		return nil, nil, err
	}
	if len(bases) > 0 {
		if baseline, err = merge(bases); err != nil {
			return nil, nil, err
		}
	}
	return model, baseline, nil
}
