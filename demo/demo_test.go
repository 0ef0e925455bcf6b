package demo

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/builder"
	_ "github.com/mnconv/mnconv/exporters/onnx"
	_ "github.com/mnconv/mnconv/exporters/tflite"
	_ "github.com/mnconv/mnconv/importers/onnx"
	_ "github.com/mnconv/mnconv/importers/tflite"
)

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	files, err := Run(context.Background(), Options{Dir: dir, Arch: builder.V2, Alpha: 0.35, Resolution: 96, Classes: 10, CalibN: 8, TestN: 8, Out: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(files) != 4 {
		t.Fatalf("want 4 files, got %d", len(files))
	}
	for _, f := range files[:2] {
		// float files read back must compute what the in-memory model does
		if f.MaxDiff > 1e-5 {
			t.Errorf("%s: max diff %g against the in-memory model", f.Path, f.MaxDiff)
		}
	}
	for _, f := range files {
		st, err := os.Stat(f.Path)
		if err != nil || st.Size() != int64(f.Bytes) {
			t.Errorf("%s: %v (size %v, want %d)", f.Path, err, st, f.Bytes)
		}
	}
	if files[2].Bytes*2 > files[1].Bytes {
		t.Errorf("int8 .tflite (%d bytes) is not much smaller than the float one (%d)", files[2].Bytes, files[1].Bytes)
	}
	for _, want := range []string{"BatchNorm 52 -> 0", "int8 vs float: top-1 agrees", "SQNR"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
