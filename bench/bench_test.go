package bench

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/onnx"
	_ "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/refrt"
	"github.com/mnconv/mnconv/runtime"
)

func TestSummarize(t *testing.T) {
	s := summarize([]float64{5, 1, 4, 2, 3, 10}, 1_000_000)
	if s.Runs != 6 || s.MedianMS != 3.5 || s.MinMS != 1 || s.P90MS != 10 {
		t.Errorf("summarize = %+v, want 6 runs, median 3.5, min 1, p90 10", s)
	}
	// 2 x 1e6 MACs in 3.5 ms is 0.571 GFLOP/s.
	if math.Abs(s.GFLOPS-2e6/3.5e6) > 1e-9 {
		t.Errorf("GFLOPS = %v", s.GFLOPS)
	}
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v, want 2", m)
	}
}

// TestRefInputNCHW checks the NHWC -> NCHW conversion handed to ONNX
// Runtime for an input the importer translated.
func TestRefInputNCHW(t *testing.T) {
	x := runtime.NewTensor(ir.Float32, []int{1, 2, 3, 4})
	for i := range x.F32 {
		x.F32[i] = float32(i)
	}
	in, err := refInput(x, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 4, 2, 3}; !slices.Equal(in.Shape, want) {
		t.Fatalf("shape %v, want %v", in.Shape, want)
	}
	at := func(c, h, w int) float32 {
		return math.Float32frombits(binary.LittleEndian.Uint32(in.Data[4*((c*2+h)*3+w):]))
	}
	for c := range 4 {
		for h := range 2 {
			for w := range 3 {
				if got, want := at(c, h, w), x.F32[(h*3+w)*4+c]; got != want {
					t.Fatalf("NCHW[%d,%d,%d] = %v, want %v", c, h, w, got, want)
				}
			}
		}
	}
	u := runtime.NewTensor(ir.Uint8, []int{1, 1, 2, 2})
	copy(u.U8, []uint8{1, 2, 3, 4})
	in, err = refInput(u, false)
	if err != nil || string(in.Data) != "\x01\x02\x03\x04" || !slices.Equal(in.Shape, []int{1, 1, 2, 2}) {
		t.Fatalf("uint8 NHWC input: %+v, %v", in, err)
	}
}

func TestCompareOutputs(t *testing.T) {
	got := compareOutputs("ORT", []float64{0.1, 0.7, 0.2}, []float32{0.1, 0.6, 0.3})
	if !strings.Contains(got, "top-1 1 vs ours 1") || !strings.Contains(got, "max |diff| 0.1") {
		t.Errorf("compareOutputs = %q", got)
	}
	if got := compareOutputs("ORT", []float64{1}, []float32{1, 2}); !strings.Contains(got, "not compared") {
		t.Errorf("length mismatch: %q", got)
	}
}

// TestRunOursOnly benchmarks a small built model without references: the
// report has a row per thread count, a profile covering every node, and
// text output naming both.
func TestRunOursOnly(t *testing.T) {
	g, err := builder.Build(builder.Config{Arch: builder.V2, Alpha: 0.35, Resolution: 96, Classes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(g, "v2_0.35_96", Options{Threads: []int{1, 2}, Runs: 3, Warmup: 1, Profile: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2 || rep.Rows[0].Threads != 1 || rep.Rows[1].Threads != 2 || rep.Rows[0].Ours.Runs != 3 {
		t.Fatalf("rows %+v", rep.Rows)
	}
	if rep.Rows[0].Ours.MedianMS <= 0 || rep.Rows[0].ORT != nil {
		t.Errorf("row 0: %+v", rep.Rows[0])
	}
	if len(rep.Profile) != len(g.Nodes) || rep.FastNodes == 0 || rep.MACs == 0 {
		t.Errorf("profile has %d layers for %d nodes; %d fast nodes, %d MACs", len(rep.Profile), len(g.Nodes), rep.FastNodes, rep.MACs)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"v2_0.35_96", "threads", "profile", "by op:", "fastConvGemm"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := Run(g, "x", Options{Threads: []int{0}}); err == nil {
		t.Error("thread count 0: want an error")
	}
}

// TestRunAgainstORT runs the interleaved comparison on the small float ONNX
// model when ONNX Runtime is installed: both runtimes time every run and
// agree on the output.
func TestRunAgainstORT(t *testing.T) {
	path := testutil.Shared(t, "models/onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx")
	refrt.Need(t, refrt.ONNX)
	g, err := importers.Load(path, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(g, "stm32", Options{Threads: []int{1}, Runs: 3, Warmup: 1, ONNX: path})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Notes) > 0 {
		t.Fatalf("notes: %v", rep.Notes)
	}
	row := rep.Rows[0]
	if row.ORT == nil || row.ORT.Runs != 3 || row.ORT.MedianMS <= 0 || row.OursVsORT <= 0 {
		t.Fatalf("ORT timing missing: %+v", row)
	}
	if len(rep.Agreement) == 0 || !strings.Contains(rep.Agreement[0], "top-1") {
		t.Fatalf("agreement %v", rep.Agreement)
	}
	t.Logf("ours %.2f ms, ORT %.2f ms; %s", row.Ours.MedianMS, row.ORT.MedianMS, rep.Agreement[0])
}

// Go benchmarks of the runtime on the models of the issue, one inference
// per op (BenchmarkMobileNetV2Float/threads=1 is MobileNetV2 1.0/224 at one
// thread). They need no reference runtime; the shared ONNX int8 model is
// skipped when the shared data is absent.

func benchGraph(b *testing.B, g *ir.Graph) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			it, err := runtime.NewWithOptions(g, runtime.Options{Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			defer it.Close()
			x, err := makeInput(g.Inputs[0])
			if err != nil {
				b.Fatal(err)
			}
			if err := it.SetInput(0, x); err != nil {
				b.Fatal(err)
			}
			it.ResetMACs()
			b.ReportAllocs()
			for b.Loop() {
				if err := it.Run(); err != nil {
					b.Fatal(err)
				}
			}
			// Executed MACs (the kernels count them) over the loop's time.
			b.ReportMetric(2*float64(it.TotalMACs())/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkMobileNetV2Float(b *testing.B) {
	g, err := builder.Build(builder.Config{Arch: builder.V2})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		b.Fatal(err)
	}
	benchGraph(b, g)
}

func BenchmarkMobileNetV2Int8ONNX(b *testing.B) {
	path := testutil.Shared(b, "models/onnx/onnxzoo_mobilenetv2-12-int8.onnx")
	g, err := importers.Load(path, importers.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		b.Fatal(err)
	}
	benchGraph(b, g)
}

func BenchmarkMobileNetV2Int8TFLite(b *testing.B) {
	path := testutil.Shared(b, "models/tflite/coral_tf2_mobilenet_v2_1.0_224_ptq.tflite")
	g, err := importers.Load(path, importers.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		b.Fatal(err)
	}
	benchGraph(b, g)
}
