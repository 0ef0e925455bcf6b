package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
