package inspect

import (
	"bytes"
	"testing"

	"github.com/mnconv/mnconv/builder"
)

func TestPlot(t *testing.T) {
	g, err := builder.Build(builder.Config{Arch: builder.V1, Alpha: 0.25, Resolution: 128})
	if err != nil {
		t.Fatal(err)
	}
	png, err := Plot(Analyze(g))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10000 {
		t.Fatalf("not a plausible PNG: %d bytes", len(png))
	}
	if _, err := Plot(&Report{}); err == nil {
		t.Fatal("an empty report plotted")
	}
}
