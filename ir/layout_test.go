package ir

import "testing"

func TestParseLayout(t *testing.T) {
	for s, want := range map[string]Layout{"": LayoutUnspecified, "nchw": NCHW, "NHWC": NHWC, "Nchw": NCHW} {
		if got, err := ParseLayout(s); err != nil || got != want {
			t.Errorf("ParseLayout(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for l, want := range map[Layout]string{LayoutUnspecified: "", NHWC: "NHWC", NCHW: "NCHW", Layout(9): "layout(9)"} {
		if got := l.String(); got != want {
			t.Errorf("Layout(%d).String() = %q, want %q", uint8(l), got, want)
		}
	}
	for _, s := range []string{"NHCW", "chw", " nchw"} {
		if _, err := ParseLayout(s); err == nil {
			t.Errorf("ParseLayout(%q) succeeded", s)
		}
	}
}
