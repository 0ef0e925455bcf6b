// Package shard splits a list of named work items (images) into n
// deterministic slices for CI matrices and Kubernetes Indexed Jobs, and
// names the mnconv build that made a partial result.
//
// An item belongs to shard FNV-1a-64(name) mod n. The choice depends on the
// name alone, not on its position in the sorted list, so adding or removing
// images never moves another image to a different shard (contiguous ranges
// of the sorted list would shift every boundary after the insertion point):
// partial results of a grown folder stay comparable shard by shard, and a
// rerun of one shard after a flake evaluates exactly the same images.
// Slices are balanced statistically (the 400 shared eval images over 7
// shards: 50 to 62).
package shard

import (
	"fmt"
	"hash/fnv"
	"runtime/debug"
	"strconv"
	"strings"
)

// Spec is shard Index of Count, 0-based: 0/4, 1/4, 2/4, 3/4 cover the
// items exactly once. The zero Spec (Count 0) means unsharded, as does 0/1.
type Spec struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// All is the unsharded spec: one shard holding everything.
var All = Spec{Index: 0, Count: 1}

func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Valid reports whether 0 <= Index < Count.
func (s Spec) Valid() error {
	if s.Count < 1 {
		return fmt.Errorf("shard count %d must be at least 1", s.Count)
	}
	if s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard index %d is outside 0..%d (shards are numbered from 0)", s.Index, s.Count-1)
	}
	return nil
}

// Parse reads "i/n" (0-based i).
func Parse(text string) (Spec, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(text), "/")
	if !ok {
		return Spec{}, fmt.Errorf("shard %q: want INDEX/COUNT, e.g. 0/4 (0-based index)", text)
	}
	var s Spec
	var err1, err2 error
	s.Index, err1 = strconv.Atoi(strings.TrimSpace(i))
	s.Count, err2 = strconv.Atoi(strings.TrimSpace(n))
	if err1 != nil || err2 != nil {
		return Spec{}, fmt.Errorf("shard %q: want INDEX/COUNT, e.g. 0/4 (0-based index)", text)
	}
	if err := s.Valid(); err != nil {
		return Spec{}, fmt.Errorf("shard %q: %v", text, err)
	}
	return s, nil
}

// Environment variables read by FromEnv.
const (
	EnvCount = "MNCONV_SHARD_COUNT"
	EnvIndex = "MNCONV_SHARD_INDEX"
	// EnvJobIndex is set by Kubernetes on each pod of an Indexed Job.
	EnvJobIndex = "JOB_COMPLETION_INDEX"
)

// FromEnv resolves a shard from a count (count > 0: given on the command
// line; else MNCONV_SHARD_COUNT) and an index from MNCONV_SHARD_INDEX, or
// else JOB_COMPLETION_INDEX. ok is false when no count is given and no
// MNCONV_SHARD_INDEX is set: JOB_COMPLETION_INDEX alone does not shard, as
// it may be set for other reasons.
func FromEnv(count int, getenv func(string) string) (s Spec, ok bool, err error) {
	countFrom := "--shard-count"
	if count <= 0 {
		if v := strings.TrimSpace(getenv(EnvCount)); v != "" {
			if count, err = strconv.Atoi(v); err != nil || count < 1 {
				return Spec{}, false, fmt.Errorf("%s=%q is not a positive number", EnvCount, v)
			}
			countFrom = EnvCount
		}
	}
	idxName := EnvIndex
	idx := strings.TrimSpace(getenv(EnvIndex))
	if idx == "" {
		idxName, idx = EnvJobIndex, strings.TrimSpace(getenv(EnvJobIndex))
	}
	if count <= 0 {
		if idxName == EnvIndex && idx != "" {
			return Spec{}, false, fmt.Errorf("%s is set but no shard count: set %s or --shard-count", EnvIndex, EnvCount)
		}
		return Spec{}, false, nil
	}
	if idx == "" {
		return Spec{}, false, fmt.Errorf("%s %d given but no shard index: set %s (0-based) or run as a Kubernetes Indexed Job (%s)", countFrom, count, EnvIndex, EnvJobIndex)
	}
	i, err := strconv.Atoi(idx)
	if err != nil {
		return Spec{}, false, fmt.Errorf("%s=%q is not a number", idxName, idx)
	}
	s = Spec{Index: i, Count: count}
	if err := s.Valid(); err != nil {
		return Spec{}, false, fmt.Errorf("%s=%d with %s %d: %v", idxName, i, countFrom, count, err)
	}
	return s, true, nil
}

// Of is the shard of name among n.
func Of(name string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	return int(h.Sum64() % uint64(n))
}

// Holds reports whether name belongs to shard s (everything does when s
// is unsharded).
func (s Spec) Holds(name string) bool {
	return s.Count <= 1 || Of(name, s.Count) == s.Index
}

// Check verifies that specs cover 0..n-1 of one count n exactly once;
// names[i] labels specs[i] in the messages.
func Check(specs []Spec, names []string) error {
	if len(specs) == 0 {
		return fmt.Errorf("no parts to merge")
	}
	n := specs[0].Count
	seen := make(map[int]string, n)
	for i, s := range specs {
		if s.Count != n {
			return fmt.Errorf("%s is shard %s but %s is shard %s: parts of different shard counts", names[i], s, names[0], specs[0])
		}
		if err := s.Valid(); err != nil {
			return fmt.Errorf("%s: %v", names[i], err)
		}
		if prev, dup := seen[s.Index]; dup {
			return fmt.Errorf("shard %s is given twice: %s and %s", s, prev, names[i])
		}
		seen[s.Index] = names[i]
	}
	var missing []string
	for i := range n {
		if _, ok := seen[i]; !ok {
			missing = append(missing, Spec{i, n}.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing shard %s of %d (%d given)", strings.Join(missing, ", "), n, len(specs))
	}
	return nil
}

// Version names this mnconv build for partial results: Version when set
// at link time (-ldflags "-X github.com/mnconv/mnconv/internal/shard.Version=v1.2.3"),
// else the module version and VCS revision that Go stamped into the
// binary, else "devel". Parts made by different builds do not merge.
var Version = ""

// BuildVersion returns Version or what the build info says.
func BuildVersion() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	if v == "" {
		v = "devel"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " " + rev + modified
	}
	return v
}
