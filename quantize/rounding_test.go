package quantize_test

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/quantize"
	rt "github.com/mnconv/mnconv/runtime"
)

// perTensorV2 is the small built MobileNetV2 quantized per tensor, with its
// prepared float graph and statistics.
func perTensorV2(t *testing.T, src quantize.Source) (*ir.Graph, *quantize.Result) {
	t.Helper()
	g := preparedV2(t)
	st, err := quantize.Calibrate(context.Background(), g, src, quantize.CalibrateOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := quantize.Quantize(g, st, quantize.Config{PerTensor: true})
	if err != nil {
		t.Fatal(err)
	}
	return g, res
}

// TestRoundWeightsNeverWorse: scale search and rounding start from nearest
// rounding at max|w|/127 and keep the best choice, so no depthwise layer's
// measured output error grows, some shrink, the bias follows the new
// weight scale and the graph still validates and runs.
func TestRoundWeightsNeverWorse(t *testing.T) {
	src := randomSource{shape: []int{1, 64, 64, 3}, n: 3, seed: 11}
	for _, mode := range []struct {
		name          string
		round, search bool
	}{{"search", false, true}, {"round", true, false}, {"both", true, true}} {
		t.Run(mode.name, func(t *testing.T) {
			g, res := perTensorV2(t, src)
			n, err := quantize.RoundWeights(context.Background(), g, res, src, 0, mode.round, mode.search)
			if err != nil {
				t.Fatal(err)
			}
			dw := 0
			for _, nd := range res.Graph.Nodes {
				if nd.IsDepthwise() {
					dw++
				}
			}
			if n == 0 || n != dw || len(res.Searched) != n {
				t.Fatalf("%d layers rewritten, %d reported, %d depthwise convs", n, len(res.Searched), dw)
			}
			better := 0
			for _, l := range res.Searched {
				if l.After < l.Before-1e-9 {
					t.Errorf("%s", l)
				}
				if l.After > l.Before+0.01 {
					better++
				}
				if !mode.search && l.Alpha != 1 {
					t.Errorf("%s: scale changed without search", l)
				}
			}
			if better == 0 {
				t.Errorf("no layer improved: %v", res.Searched)
			}
			for _, nd := range res.Graph.Nodes {
				if nd.IsDepthwise() {
					w, b := nd.In(1).Quant, nd.In(2).Quant
					in := nd.Inputs[0].Quant.Scale[0]
					if got, want := b.Scale[0], in*w.Scale[0]; math.Abs(float64(got-want)) > 1e-6*float64(want) {
						t.Errorf("%s: bias scale %g, want input x weight scale %g", nd.Name, got, want)
					}
				}
			}
			if err := res.Graph.Validate(); err != nil {
				t.Fatal(err)
			}
			x, _ := src.Load(0)
			runOnce(t, res.Graph, x)
		})
	}
}

// TestEqualizeBoundedKeepsTheFunction: with the pre-activation maxima of
// the images it is then run on, equalizing pairs after a ReLU6 (kept a
// ReLU6) changes no output beyond float rounding; channels that reach 6
// are held, and no pair is refused.
func TestEqualizeBoundedKeepsTheFunction(t *testing.T) {
	g := preparedV2(t)
	src := randomSource{shape: g.Inputs[0].Shape, n: 2, seed: 5}
	var before [][]float32
	for i := 0; i < src.n; i++ {
		x, _ := src.Load(i)
		before = append(before, runOnce(t, g, x))
	}
	kept := g.Clone()
	keptW := map[string][]float32{}
	for _, n := range kept.Nodes {
		if n.Op == ir.OpConv {
			keptW[n.Name] = append([]float32(nil), n.In(1).Data.F32...)
		}
	}
	m, err := quantize.PreActivationMax(context.Background(), g, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep := quantize.Equalize(g, quantize.EqualizeOptions{PreActMax: m})
	relu6 := 0
	for _, p := range rep.Pairs {
		if p.Act == ir.ActRelu6 {
			relu6++
		}
	}
	if relu6 == 0 || rep.Refused != 0 {
		t.Fatalf("%d ReLU6 pairs equalized, %d refused", relu6, rep.Refused)
	}
	for _, n := range g.Nodes {
		if n.Op == ir.OpConv && n.FusedAct() == ir.ActRelu {
			t.Fatalf("%s: ReLU6 replaced", n.Name)
		}
	}
	for i := 0; i < src.n; i++ {
		x, _ := src.Load(i)
		after := runOnce(t, g, x)
		for j := range after {
			if d := math.Abs(float64(after[j] - before[i][j])); d > 1e-3*(1+math.Abs(float64(before[i][j]))) {
				t.Fatalf("image %d output %d: %g after equalizing, %g before", i, j, after[j], before[i][j])
			}
		}
	}
	// A clone taken before shares no weights with the equalized graph.
	for _, n := range kept.Nodes {
		if w, ok := keptW[n.Name]; ok {
			for i, v := range n.In(1).Data.F32 {
				if v != w[i] {
					t.Fatalf("%s: equalizing g changed a clone's weights", n.Name)
				}
			}
		}
	}
}

// TestPerTensorRealV2: the default per-tensor refinements (depthwise scale
// search, then bias correction) on the dequantized TF2 MobileNetV2 bring
// its logits far closer to the float model's than plain per-tensor
// quantization, on images it was not calibrated on (a few images: seconds).
func TestPerTensorRealV2(t *testing.T) {
	const model = "../../shared/models/tflite/coral_tf2_mobilenet_v2_1.0_224_ptq.tflite"
	const dir = "../../shared/images/imagenet/calib"
	if _, err := os.Stat(model); err != nil {
		t.Skipf("no %s (../shared is absent): %v", model, err)
	}
	g, src, held := realV2(t, model, dir, 4, 4)
	var inputs []*rt.Tensor
	for i := 0; i < held.Len(); i++ {
		x, err := held.Load(i)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, x)
	}
	st, err := quantize.Calibrate(context.Background(), g, src, quantize.CalibrateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sqnr := map[string]float64{}
	for name, cfg := range map[string]quantize.Config{
		"naive":   {PerTensor: true},
		"refined": {PerTensor: true, ScaleSearch: true, BiasCorrection: true},
	} {
		res, err := quantize.Quantize(g, st, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := quantize.Refine(context.Background(), g, res, src, cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.ScaleSearch && (res.Rounded != 17 || res.BiasCorrected == 0) {
			t.Errorf("%d depthwise layers searched (want 17), %d corrected", res.Rounded, res.BiasCorrected)
		}
		var ff, ee float64
		for _, x := range inputs {
			f, q := runOnce(t, g, x), runOnce(t, res.Graph, x)
			for i := range f {
				ff += float64(f[i]) * float64(f[i])
				ee += float64(f[i]-q[i]) * float64(f[i]-q[i])
			}
		}
		sqnr[name] = 10 * math.Log10(ff/ee)
	}
	t.Logf("output SQNR against float on %d held-out images: naive %.2f dB, refined %.2f dB", len(inputs), sqnr["naive"], sqnr["refined"])
	if sqnr["refined"] < sqnr["naive"]+6 {
		t.Errorf("refined per-tensor SQNR %.2f dB, naive %.2f dB: want 6 dB better", sqnr["refined"], sqnr["naive"])
	}
}
