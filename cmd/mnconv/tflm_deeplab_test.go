package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// tflmDeepLabRecord holds what TFLite Micro's reference kernels
// (../shared/tools/tflm-oracle) computed for the float DeepLab quantized to
// int8 by tflmDeepLabQuantizeArgs: the model's sha256, then one line per
// pre-made COCO input, "img<i> <sha256 of the int8 [1,257,257,21] output>".
// scripts/benchmarks/tflm-deeplab.sh writes it (and compares every node
// output with TFLM on the way).
const tflmDeepLabRecord = "testdata/tflm_deeplab257_int8.txt"

// tflmDeepLabQuantizeArgs are quantize's arguments after IN and OUT: 4
// ImageNet calibration images (never the masked COCO ones), int8 I/O.
var tflmDeepLabQuantizeArgs = []string{"--calib", "images/imagenet/calib", "--calib-count", "4", "--preprocess", "keras", "--io", "int8", "--no-progress", "--report-images", "0"}

// TestDeepLabInt8MatchesTFLM quantizes the float DeepLab as the record
// says and runs it on the 8 pre-made COCO inputs (int8 input = pixel -
// 128, as tflm_run --mode raw feeds it): every output byte must be TFLite
// Micro's. It skips while no record exists, and when quantize's output
// bytes have changed (the record then needs the script again).
func TestDeepLabInt8MatchesTFLM(t *testing.T) {
	want := readTFLMRecord(t)
	float := testutil.Shared(t, "apps/models/deeplabv3_257_mv_gpu_float.tflite")
	pixels := testutil.Shared(t, "apps/inputs/coco_seg100_first8_stretch257_u8_nhwc.bin")
	out := filepath.Join(t.TempDir(), "deeplab_int8.tflite")
	args := []string{"quantize", float, out}
	for i, a := range tflmDeepLabQuantizeArgs {
		if i > 0 && tflmDeepLabQuantizeArgs[i-1] == "--calib" {
			a = testutil.Shared(t, a)
		}
		args = append(args, a)
	}
	if msg, err := execCLI(t, []*cobra.Command{quantizeCmd}, args...); err != nil {
		t.Fatalf("quantize: %v\n%s", err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != want["model"] {
		t.Skipf("skipping: quantize now writes a model with sha256 %x, the record is for %s; rerun scripts/benchmarks/tflm-deeplab.sh", sum, want["model"])
	}
	g, err := importers.Load(out, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := g.Inputs[0]
	if in.DType != ir.Int8 || g.Outputs[0].DType != ir.Int8 {
		t.Fatalf("input %v, output %v; want int8 I/O", in.DType, g.Outputs[0].DType)
	}
	px, err := os.ReadFile(pixels)
	if err != nil {
		t.Fatal(err)
	}
	it, err := runtime.New(g)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	per := in.Len()
	for i := 0; (i+1)*per <= len(px); i++ {
		key := "img" + strconv.Itoa(i)
		if want[key] == "" {
			continue
		}
		x := runtime.NewTensor(ir.Int8, in.Shape)
		for j, p := range px[i*per : (i+1)*per] {
			x.I8[j] = int8(int(p) - 128)
		}
		if err := it.SetInput(0, x); err != nil {
			t.Fatal(err)
		}
		if err := it.Run(); err != nil {
			t.Fatal(err)
		}
		y := it.Output(0).I8
		raw := make([]byte, len(y))
		for j, v := range y {
			raw[j] = byte(v)
		}
		sum := sha256.Sum256(raw)
		if got := hex.EncodeToString(sum[:]); got != want[key] {
			t.Errorf("image %d: output sha256 %s, TFLite Micro's %s", i, got, want[key])
		}
	}
}

// readTFLMRecord reads tflmDeepLabRecord into key -> sha256 ("model",
// "img0", ...), skipping the test when there is none.
func readTFLMRecord(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(tflmDeepLabRecord)
	if os.IsNotExist(err) {
		t.Skipf("skipping: no %s yet (scripts/benchmarks/tflm-deeplab.sh with a TFLite Micro oracle build writes it)", tflmDeepLabRecord)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("%s: bad line %q", tflmDeepLabRecord, line)
		}
		out[k] = strings.TrimSpace(v)
	}
	if out["model"] == "" {
		t.Fatalf("%s: no model line", tflmDeepLabRecord)
	}
	return out
}
