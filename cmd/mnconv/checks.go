package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/exporters"
)

// usageErrorf is an argument error: exit status 2, and main prints the
// verb's usage after the message.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...), usage: true}
}

// argErrorf is a bad argument value (a path, a count): exit status 2,
// without the usage, which would bury the one line that matters.
func argErrorf(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// withUsage marks cobra's argument-count errors as usage errors, so that
// a bare verb prints its usage and not only "accepts 2 arg(s)".
func withUsage(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &exitError{code: 2, err: err, usage: true}
		}
		return nil
	}
}

// checkOutput checks, before any work, that path can be written: it is not
// a folder, its folder exists and is writable, and its extension is one of
// exts (when any are given). flag names the argument in the error.
func checkOutput(flag, path string, exts ...string) error {
	if path == "" {
		return argErrorf("%s: empty path", flag)
	}
	if len(exts) > 0 {
		ext := strings.ToLower(filepath.Ext(path))
		if !slices.Contains(exts, ext) {
			return argErrorf("%s %s: want a %s file", flag, path, strings.Join(exts, " or "))
		}
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return argErrorf("%s %s is a folder, want a file", flag, path)
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return argErrorf("%s %s: folder %s does not exist", flag, path, dir)
	}
	if !st.IsDir() {
		return argErrorf("%s %s: %s is not a folder", flag, path, dir)
	}
	// The only sure test of writability is writing: a probe file, removed at
	// once (the real output is written atomically through a temporary file
	// in the same folder). It is named as internal/atomicfile names its
	// temporaries, so one left by a kill is removed by the next write.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return argErrorf("%s %s: folder %s is not writable (%v)", flag, path, dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// modelExts lists the extensions of the registered model formats.
func modelExts() []string {
	var exts []string
	for _, f := range exporters.Formats() {
		exts = append(exts, f.Exts...)
	}
	return exts
}

// checkModelOutput checks a model output path and picks its format: from
// to when set (the extension must then not name another format), else from
// the extension.
func checkModelOutput(flag, path, to string) (*exporters.Format, error) {
	var exp *exporters.Format
	var err error
	if to != "" {
		if exp, err = exporters.ByName(to); err != nil {
			return nil, argErrorf("--to: %v", err)
		}
		if byExt, err := exporters.ForPath(path); err == nil && byExt.Name != exp.Name {
			return nil, argErrorf("%s %s is named as a %s file, but --to is %s; use %s or drop --to",
				flag, path, byExt.Name, exp.Name, strings.Join(exp.Exts, " or "))
		}
		return exp, checkOutput(flag, path)
	}
	if err := checkOutput(flag, path, modelExts()...); err != nil {
		return nil, err
	}
	if exp, err = exporters.ForPath(path); err != nil {
		return nil, argErrorf("%s: %v", flag, err)
	}
	return exp, nil
}

// checkCounts refuses negative values of count flags (0 keeps its
// documented meaning, such as "all") and, for those in positive, zero too.
func checkCounts(cmd *cobra.Command, nonNegative []string, positive []string) error {
	fl := cmd.Flags()
	for _, name := range nonNegative {
		if v, err := fl.GetInt(name); err == nil && v < 0 {
			return argErrorf("--%s %d must not be negative", name, v)
		}
	}
	for _, name := range positive {
		if v, err := fl.GetInt(name); err == nil && v < 1 {
			return argErrorf("--%s %d must be at least 1", name, v)
		}
	}
	return nil
}

// version is the module version and VCS revision the binary was built
// from ("(devel)" for a build from a checkout).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += ", commit " + rev
		if dirty {
			v += " (modified)"
		}
		if when != "" {
			v += " of " + when
		}
	}
	return v + ", " + bi.GoVersion
}
