package main

import (
	"math"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/internal/testutil"
)

// TestRunBatch: `run --batch 3` of the stm32 model (input batch dim_param
// "N") on the 16 reference images, the last run one image short, prints
// what 16 batch-1 runs print; a bad --batch is a usage error.
func TestRunBatch(t *testing.T) {
	model := testutil.Shared(t, "models/onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx")
	pixels := testutil.Shared(t, "reference/imagenet16_u8_nhwc_128.bin")
	var runs [][]runLine
	for _, batch := range []string{"1", "3"} {
		out, err := inspRunCLI(t, "run", model, "--pixels", pixels, "--input-mode", "tf", "--json", "--batch", batch)
		skipIfKernelMissing(t, err)
		runs = append(runs, parseRunLines(t, out))
	}
	if len(runs[0]) != 16 || len(runs[1]) != 16 {
		t.Fatalf("%d and %d lines, want 16", len(runs[0]), len(runs[1]))
	}
	for i, l := range runs[1] {
		want := runs[0][i]
		if l.Index != i || len(l.Output) != len(want.Output) {
			t.Fatalf("line %d: index %d, %d values; want %d, %d", i, l.Index, len(l.Output), i, len(want.Output))
		}
		for j, v := range l.Output {
			if math.Abs(v-want.Output[j]) > 1e-5 {
				t.Fatalf("image %d output %d: %g at batch 3, %g at batch 1", i, j, v, want.Output[j])
			}
		}
	}
	_, err := inspRunCLI(t, "run", model, "--pixels", pixels, "--batch", "0")
	if err == nil || !strings.Contains(err.Error(), "--batch 0") {
		t.Errorf("--batch 0: error %v", err)
	}
}
