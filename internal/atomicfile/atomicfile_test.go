package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.tflite")
	if err := WriteFile(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "two" {
		t.Fatalf("got %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestRefusesInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.onnx")
	os.WriteFile(in, []byte("model"), 0o644)
	link := filepath.Join(dir, "link.onnx")
	if err := os.Symlink(in, link); err != nil {
		t.Skip(err)
	}
	err := WriteFile(link, []byte("x"), in)
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("want a refusal, got %v", err)
	}
	b, _ := os.ReadFile(in)
	if string(b) != "model" {
		t.Fatal("input was changed")
	}
}

func TestMissingFolderLeavesNothing(t *testing.T) {
	err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir", "x.onnx"), []byte("x"))
	if err == nil {
		t.Fatal("want an error")
	}
}

func TestRemovesStaleTemporaries(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.onnx")
	stale := filepath.Join(dir, ".m.onnx.tmp-123")
	other := filepath.Join(dir, ".x.onnx.tmp-456")
	for _, f := range []string{stale, other} {
		if err := os.WriteFile(f, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Hour)
		os.Chtimes(f, old, old)
	}
	if err := WriteFile(p, []byte("whole")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary of the same output left: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another output's temporary was removed: %v", err)
	}
}
