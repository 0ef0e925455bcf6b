package main

import (
	"math"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/internal/testutil"
)

// TestRunBatch: `run --batch 4` and `--batch 3` (the last run one image
// short) of the stm32 model on the 16 reference images print what 16
// batch-1 runs print; a bad --batch is a usage error.
func TestRunBatch(t *testing.T) {
	model := testutil.Shared(t, "models/onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx")
	pixels := testutil.Shared(t, "reference/imagenet16_u8_nhwc_128.bin")
	var runs [][]runLine
	for _, batch := range []string{"1", "4", "3"} {
		out, err := inspRunCLI(t, "run", model, "--pixels", pixels, "--input-mode", "tf", "--json", "--batch", batch)
		skipIfKernelMissing(t, err)
		runs = append(runs, parseRunLines(t, out))
	}
	for k, run := range runs[1:] {
		if len(run) != 16 || len(runs[0]) != 16 {
			t.Fatalf("%d and %d lines, want 16", len(runs[0]), len(run))
		}
		for i, l := range run {
			want := runs[0][i]
			if l.Index != i || len(l.Output) != len(want.Output) {
				t.Fatalf("line %d: index %d, %d values; want %d, %d", i, l.Index, len(l.Output), i, len(want.Output))
			}
			for j, v := range l.Output {
				if math.Abs(v-want.Output[j]) > 1e-5 {
					t.Fatalf("image %d output %d: %g at batch %d, %g at batch 1", i, j, v, []int{4, 3}[k], want.Output[j])
				}
			}
		}
	}
	_, err := inspRunCLI(t, "run", model, "--pixels", pixels, "--batch", "0")
	if err == nil || !strings.Contains(err.Error(), "--batch 0") {
		t.Errorf("--batch 0: error %v", err)
	}
}
