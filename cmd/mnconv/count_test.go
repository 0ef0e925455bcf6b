package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/quantize"
	rt "github.com/mnconv/mnconv/runtime"
)

// Executed MACs, separable pairs and the cost gate through the CLI.

func TestRunCount(t *testing.T) {
	model := testutil.Shared(t, "models/tflite/coral_mobilenet_v1_0.25_128_quant.tflite")
	pixels := testutil.Shared(t, "reference/imagenet16_u8_nhwc_128.bin")
	out, err := inspRunCLI(t, "run", model, "--pixels", pixels, "--count")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"over 16 image(s)",
		"DepthwiseConv │             294,912 │     294,912 │ =",
		"13,570,304 MACs per image executed, 13,570,304 static: executed equals inspect's static count",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = inspRunCLI(t, "run", model, "--pixels", pixels, "--count", "--json")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last struct {
		Count struct {
			Images       int   `json:"images"`
			MACsPerImage int64 `json:"macs_per_image"`
			StaticMACs   int64 `json:"static_macs"`
			Layers       []struct {
				MACsPerImage int64 `json:"macs_per_image"`
			} `json:"layers"`
		} `json:"count"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 17 || last.Count.Images != 16 || last.Count.MACsPerImage != 13_570_304 || last.Count.StaticMACs != 13_570_304 || len(last.Count.Layers) != 28 {
		t.Errorf("%d lines; count %+v", len(lines), last.Count)
	}
}

func TestInspectSeparable(t *testing.T) {
	model := testutil.Shared(t, "models/tflite/coral_mobilenet_v1_0.25_128_quant.tflite")
	out, err := inspRunCLI(t, "inspect", "--separable", model)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"1/N+1/DK²", "13 pairs", "99,090,432", "12,429,312", "7.97x",
		"whole model: 13,570,304 MACs; 100,231,424 with every pair a standard convolution (7.39x)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = inspRunCLI(t, "inspect", "--separable", "--json", model)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Pairs []struct {
			M, N    int
			Ratio   float64 `json:"ratio"`
			Formula float64 `json:"formula"`
		} `json:"pairs"`
		StandardMACs int64 `json:"standard_macs"`
		ActualMACs   int64 `json:"actual_macs"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Pairs) != 13 || r.StandardMACs != 99_090_432 || r.ActualMACs != 12_429_312 || r.Pairs[0].M != 8 || r.Pairs[0].N != 16 {
		t.Errorf("json %+v", r)
	}
}

// synthCalib is a few random images in [-1, 1] for calibration.
type synthCalib struct{ shape []int }

func (s synthCalib) Len() int          { return 4 }
func (s synthCalib) Name(i int) string { return fmt.Sprint("synthetic ", i) }
func (s synthCalib) Load(i int) (*rt.Tensor, error) {
	x := rt.NewTensor(ir.Float32, s.shape)
	r := rand.New(rand.NewPCG(9, uint64(i)))
	for j := range x.F32 {
		x.F32[j] = float32(2*r.Float64() - 1)
	}
	return x, nil
}

// costTwins writes a built float MobileNet (3 classes, for evalDataset's
// labels) and its int8 twin, quantized on synthetic inputs, as .tflite.
func costTwins(t *testing.T, dir string) (floatPath, int8Path string) {
	t.Helper()
	g, err := builder.Build(builder.Config{Arch: builder.V1, Alpha: 0.25, Resolution: 32, Classes: 3, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	st, err := quantize.Calibrate(context.Background(), g, synthCalib{g.Inputs[0].Shape}, quantize.CalibrateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := quantize.Quantize(g, st, quantize.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		path *string
		name string
		g    *ir.Graph
	}{{&floatPath, "float.tflite", g}, {&int8Path, "int8.tflite", q.Graph}} {
		*m.path = filepath.Join(dir, m.name)
		f, err := exporters.ForPath(*m.path)
		if err != nil {
			t.Fatal(err)
		}
		data, err := f.Export(m.g, exporters.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*m.path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return floatPath, int8Path
}

// TestEvalGateCost gates an int8 model against its float twin: equal MACs
// (ratio 1, so --max-macs-ratio 0.5 fails and 1.0 passes) and about a
// quarter of the weight bytes.
func TestEvalGateCost(t *testing.T) {
	dir := evalDataset(t)
	floatPath, int8Path := costTwins(t, dir)
	base := []string{"eval", int8Path, "--images", dir, "--preprocess", "full", "--baseline", floatPath, "--max-drop", "100"}
	junit := filepath.Join(dir, "cost.xml")
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"macs over 0.5", []string{"--max-macs-ratio", "0.5", "--junit", junit}, 1,
			[]string{"x (allowed 0.500x)", "gate:      FAIL: executes", "more than the allowed 0.500x"}},
		{"macs within 1.0", []string{"--max-macs-ratio", "1.0"}, 0, []string{"1.000x (allowed 1.000x)", "gate:      PASS"}},
		{"size within 0.3", []string{"--max-macs-ratio", "1", "--max-size-ratio", "0.3"}, 0, []string{"x smaller (allowed 0.300x)", "gate:      PASS"}},
		{"size over 0.2", []string{"--max-size-ratio", "0.2"}, 1, []string{"weight bytes"}},
		{"count", []string{"--count"}, 0, []string{"executed equals inspect's static count", "DepthwiseConv"}},
		{"zero ratio", []string{"--max-macs-ratio", "0"}, 2, nil},
		{"ratio without baseline", nil, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string(nil), base...), tc.args...)
			if tc.name == "ratio without baseline" {
				args = []string{"eval", int8Path, "--images", dir, "--max-macs-ratio", "1"}
			}
			out, err := evalCLI(t, args...)
			if got := exitCode(err); got != tc.code {
				t.Fatalf("exit %d (%v), want %d\n%s", got, err, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	data, err := os.ReadFile(junit)
	if err != nil || !strings.Contains(string(data), `name="macs_ratio &lt;= 0.500"`) || !strings.Contains(string(data), `failures="1"`) {
		t.Errorf("junit (%v):\n%s", err, data)
	}

	out, err := evalCLI(t, append(base, "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		MACs     int64 `json:"macs_per_image"`
		Baseline struct {
			MACs        int64 `json:"macs_per_image"`
			StaticMACs  int64 `json:"static_macs"`
			WeightBytes int64 `json:"weight_bytes"`
		} `json:"baseline"`
		Gate struct {
			MACsRatio   float64 `json:"macs_ratio"`
			SizeRatio   float64 `json:"size_ratio"`
			WeightBytes int64   `json:"weight_bytes"`
		} `json:"gate"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	t.Logf("int8 vs float: %d vs %d MACs per image (static %d), weight bytes %d vs %d: %.3fx (%.2fx smaller)",
		r.MACs, r.Baseline.MACs, r.Baseline.StaticMACs, r.Gate.WeightBytes, r.Baseline.WeightBytes, r.Gate.SizeRatio, 1/r.Gate.SizeRatio)
	if r.MACs == 0 || r.MACs != r.Baseline.MACs || r.Baseline.MACs != r.Baseline.StaticMACs || r.Gate.MACsRatio != 1 ||
		r.Gate.SizeRatio < 0.25 || r.Gate.SizeRatio > 0.3 {
		t.Errorf("gate json %+v", r)
	}
}
