// Package testutil finds the shared test data (../shared beside the
// checkout) and skips, with a message saying so, when it is absent.
package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot is the module root (the folder holding go.mod).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir returns the shared data folder: $MNCONV_SHARED, else ../shared
// beside the checkout. The second result is false when it does not exist.
func SharedDir() (string, bool) {
	dir := os.Getenv("MNCONV_SHARED")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "..", "shared")
	}
	if st, err := os.Stat(filepath.Join(dir, "README.md")); err != nil || st.IsDir() {
		return dir, false
	}
	return dir, true
}

// Shared returns the path of rel inside the shared folder, skipping the test
// with a message when the shared folder or the file is missing.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	dir, ok := SharedDir()
	if !ok {
		t.Skipf("skipping: shared test data not found at %s (set MNCONV_SHARED or put shared/ beside the checkout)", dir)
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("skipping: %s is missing from the shared data", rel)
	}
	return p
}
