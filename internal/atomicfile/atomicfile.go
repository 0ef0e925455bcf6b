// Package atomicfile writes every output file of mnconv: a temporary file in
// the target's folder, fsync, then rename over the target. A run that fails
// or is killed leaves either the old file or the new one, never half of one.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// WriteFile writes data to path atomically. It refuses to write over any of
// the inputs (compared by file identity, so links and ../ spellings are
// caught).
func WriteFile(path string, data []byte, inputs ...string) error {
	if err := refuseInputs(path, inputs); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	start := time.Now()
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	ok = true
	removeStale(dir, filepath.Base(path), start)
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable; best effort on filesystems without directory fsync
		d.Close()
	}
	return nil
}

// removeStale deletes temporary files of earlier writes of the same output
// that a killed run left behind (a SIGKILL between write and rename cannot
// be caught). Only files older than this write's start are touched, so a
// concurrent writer's temporary file is left alone.
func removeStale(dir, base string, start time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + base + ".tmp-"
	for _, e := range entries {
		if e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(start) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func refuseInputs(path string, inputs []string) error {
	out, err := os.Stat(path)
	if err != nil {
		return nil // a new file cannot be an input
	}
	for _, in := range inputs {
		if st, err := os.Stat(in); err == nil && os.SameFile(st, out) {
			return fmt.Errorf("%s: refusing to overwrite the input model %s", path, in)
		}
	}
	return nil
}
