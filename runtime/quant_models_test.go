package runtime

import (
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/onnx"
	_ "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
)

// Real models against the shared TFLite reference outputs
// (reference/<model>.tfjs_tflite.json). That reference is TFLite compiled
// to WebAssembly with the XNNPACK delegate, not TFLite's reference kernels,
// and it rounds differently in four places (found by swapping rules here
// until every output matched):
//
//   - CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED: XNNPACK requantizes in
//     float32 ("fp32" requantization: scale s_in*s_w/s_out, the int32
//     accumulator times the scale, round half to even), where TFLite's
//     reference uses the double-rounding fixed-point multiplier.
//   - MEAN (global average pooling): float32 scale s_in/(s_out*count), round
//     half to even.
//   - ADD: XNNPACK's fixed-point add: multipliers round((s_a/s_out) *
//     2^shift) with shift = 20 - exponent(max(s_a, s_b)/s_out), summed with
//     the zero-point bias and shifted right rounding half up, instead of
//     TFLite's left shift of 20 and three double-rounding multipliers.
//   - SOFTMAX, AVERAGE_POOL_2D, RESHAPE and the 8-bit QUANTIZE at the model
//     edges agreed with the reference kernels bit for bit on these inputs.
//
// Each model runs twice. As imported, with TFLite's reference arithmetic:
// top-1 must agree on all 16 images except where the reference's own output
// ties (our class scores within one quantum of its top score there); the
// share of identical values and the largest difference in quanta are logged.
// Then with XNNPACK's rules emulated (Conv, Gemm and Mean switched to the
// float32 requantization of ArithONNX, which is XNNPACK's rule too, and Add
// swapped for the XNNPACK formula above): outputs must then be identical
// (at most one value in 10,000 off by one quantum) and top-1 must agree.
// That second run covers three models by default (4 images of the TF2
// MobileNetV2) and all models and images with MNCONV_QUANT_FULL=1 (it
// doubles the run time).

// loadModel imports a shared .tflite model; it skips when the TFLite
// importer is not registered (the runtime can be built before it).
func loadModel(t *testing.T, model string) *ir.Graph {
	t.Helper()
	path := testutil.Shared(t, "models/tflite/"+model+".tflite")
	registered := false
	for _, f := range importers.Formats() {
		if f.Name == "tflite" {
			registered = true
		}
	}
	if !registered {
		t.Skip("skipping: no TFLite importer is registered yet")
	}
	g, err := importers.Load(path, importers.Options{})
	if err != nil {
		t.Fatalf("import %s: %v", model, err)
	}
	return g
}

// imageInputs reads the 16 preprocessed images of a reference file and
// converts them as the reference did: u8 raw, s8 as uint8-128 in int8, f01
// as x/255 in float32.
func imageInputs(t *testing.T, g *ir.Graph, file, mode string) []*Tensor {
	t.Helper()
	in := g.Inputs[0]
	var out []*Tensor
	for _, img := range testutil.ReferenceBytes(t, file, in.Len()) {
		x := NewTensor(in.DType, in.Shape)
		switch {
		case mode == "u8" && in.DType == ir.Uint8:
			copy(x.U8, img)
		case mode == "s8" && in.DType == ir.Int8:
			for i, v := range img {
				x.I8[i] = int8(int(v) - 128)
			}
		case mode == "f01" && in.DType == ir.Float32:
			for i, v := range img {
				x.F32[i] = float32(float64(v) / 255)
			}
		default:
			t.Fatalf("input mode %q does not fit graph input %v %v", mode, in.DType, in.Shape)
		}
		out = append(out, x)
	}
	return out
}

// runImages runs g on every input, spreading images over two
// single-threaded interpreters. reference selects the reference kernels
// only (no fast kernels).
func runImages(t *testing.T, g *ir.Graph, inputs []*Tensor, reference bool) [][]float64 {
	t.Helper()
	outs := make([][]float64, len(inputs))
	errs := make([]error, len(inputs))
	const workers = 2
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			it, err := NewWithOptions(g, Options{Threads: 1, Reference: reference})
			if err != nil {
				errs[w] = err
				return
			}
			defer it.Close()
			for i := w; i < len(inputs); i += workers {
				if err := it.SetInput(0, inputs[i]); err != nil {
					errs[i] = err
					return
				}
				if err := it.Run(); err != nil {
					errs[i] = err
					return
				}
				outs[i] = it.Output(0).Floats()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return outs
}

// compareStats is what the model tests report per model.
type compareStats struct {
	identical, total int
	maxDiff          float64
	top1             int
}

func compareOutputs(t *testing.T, model string, got [][]float64, ref *testutil.Reference, classify, strict bool) compareStats {
	t.Helper()
	var s compareStats
	for i, r := range ref.Results {
		if i >= len(got) {
			break
		}
		if len(got[i]) != len(r.Output) {
			t.Fatalf("%s image %d: %d outputs, reference has %d", model, i, len(got[i]), len(r.Output))
		}
		for j, v := range got[i] {
			d := math.Abs(v - r.Output[j])
			if d == 0 {
				s.identical++
			}
			s.maxDiff = max(s.maxDiff, d)
			s.total++
		}
		ours := testutil.Argmax(got[i])
		if ours == r.Argmax {
			s.top1++
			continue
		}
		if !classify {
			continue
		}
		msg := fmt.Sprintf("%s image %d: top-1 %d (ours %g, reference %g there), reference top-1 %d (ours %g, reference %g)", model, r.Image,
			ours, got[i][ours], r.Output[ours], r.Argmax, got[i][r.Argmax], r.Output[r.Argmax])
		if !strict && r.Output[ours] >= r.Output[r.Argmax]-1 {
			// The reference's own scores tie (within a quantum) at the top: a
			// one-quantum difference upstream picks either class.
			t.Logf("%s: accepted, the reference's top scores tie", msg)
			continue
		}
		t.Error(msg)
	}
	return s
}

func TestTFLiteModelsAgainstReference(t *testing.T) {
	full := os.Getenv("MNCONV_QUANT_FULL") != ""
	models := []struct {
		name     string
		classify bool // top-1 is checked (not for the embedding extractor)
		emulate  int  // images the ir.ArithXNNPACK run takes by default (all 16 with MNCONV_QUANT_FULL)
	}{
		{"coral_mobilenet_v1_0.25_128_quant", true, 16},
		{"coral_mobilenet_v1_0.75_192_quant", true, 0},
		{"coral_mobilenet_v1_1.0_224_quant_embedding_extractor", false, 0},
		{"coral_mobilenet_v2_1.0_224_quant", true, 0},
		{"coral_tf2_mobilenet_v2_1.0_224_ptq", true, 4},
		{"mlcommons_tiny_vww_96_int8", true, 16},
		{"mlcommons_tiny_vww_96_float", true, 0},
	}
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			ref := testutil.ReadReference(t, m.name+".tfjs_tflite.json")
			g := loadModel(t, m.name)
			inputs := imageInputs(t, g, ref.Input.File, ref.Input.Mode)
			got := runImages(t, g, inputs, false)
			s := compareOutputs(t, m.name, got, ref, m.classify, false)
			unit := "quanta"
			if g.Outputs[0].DType == ir.Float32 {
				unit = "(float)"
			}
			t.Logf("%s, TFLite reference arithmetic: identical %d/%d (%.2f%%), max diff %g %s, top-1 %d/%d", m.name, s.identical, s.total,
				100*float64(s.identical)/float64(s.total), s.maxDiff, unit, s.top1, len(ref.Results))
			if strings.Contains(m.name, "embedding_extractor") {
				checkCoralV1Head(t, got, ref)
			}
			images := m.emulate
			if full {
				images = len(inputs)
			}
			if g.Outputs[0].DType == ir.Float32 || images == 0 {
				return
			}
			g = loadModel(t, m.name)
			g.SetArith(ir.ArithXNNPACK)
			got = runImages(t, g, inputs[:images], true)
			ref.Results = ref.Results[:images]
			s = compareOutputs(t, m.name, got, ref, m.classify, true)
			t.Logf("%s, ir.ArithXNNPACK: identical %d/%d (%.3f%%), max diff %g %s, top-1 %d/%d", m.name, s.identical, s.total,
				100*float64(s.identical)/float64(s.total), s.maxDiff, unit, s.top1, images)
			if off := s.total - s.identical; off != 0 {
				t.Errorf("%s with ir.ArithXNNPACK: %d values differ from TFLite's (max %g quanta); want all identical", m.name, off, s.maxDiff)
			}
		})
	}
}

// emulateXNNPACK switches g's Conv, Gemm and Mean nodes to ArithONNX (float32
// scale, round half to even: XNNPACK's rule as well as ONNX Runtime's) and,
// for the rest of the test, replaces the reference quantized Add kernel with
// XNNPACK's (xnnpackAdd): the arithmetic the recorded per-architecture
// hashes were made with (ir.ArithXNNPACK now covers it and more).
func emulateXNNPACK(t *testing.T, g *ir.Graph) {
	for _, n := range g.Nodes {
		switch n.Op {
		case ir.OpConv, ir.OpGemm, ir.OpMean:
			n.Arith = ir.ArithONNX
		}
	}
	old := tables[Quantized][ir.OpAdd]
	tables[Quantized][ir.OpAdd] = func(n *ir.Node) (Kernel, error) {
		saved := n.Arith
		n.Arith = ir.ArithXNNPACK
		defer func() { n.Arith = saved }()
		return prepareQBinary(n)
	}
	t.Cleanup(func() { tables[Quantized][ir.OpAdd] = old })
}

// checkCoralV1Head runs the classifier head of the 224 extractor twice, on
// our extractor outputs and on the reference's (the uint8 seam passed as
// is, as the shared predictions were made), and checks that both give the
// same top-1. The 16 images' labels are logged for information.
func checkCoralV1Head(t *testing.T, emb [][]float64, ref *testutil.Reference) {
	head := loadModel(t, "coral_mobilenet_quant_v1_224_head_layers")
	toInputs := func(embs [][]float64) []*Tensor {
		var ins []*Tensor
		for _, e := range embs {
			x := NewTensor(head.Inputs[0].DType, head.Inputs[0].Shape)
			if x.DType != ir.Uint8 || len(x.U8) != len(e) {
				t.Fatalf("head input %v %v does not take the extractor's %d values", x.DType, x.Shape, len(e))
			}
			for i, v := range e {
				x.U8[i] = uint8(v)
			}
			ins = append(ins, x)
		}
		return ins
	}
	var refEmb [][]float64
	for _, r := range ref.Results {
		refEmb = append(refEmb, r.Output)
	}
	ours := runImages(t, head, toInputs(emb), false)
	theirs := runImages(t, head, toInputs(refEmb), false)
	labels, _ := testutil.ReferenceImageList(t)
	same, correct := 0, 0
	for i := range ours {
		a, b := testutil.Argmax(ours[i]), testutil.Argmax(theirs[i])
		if a == b {
			same++
		} else if theirs[i][a] < theirs[i][b]-1 {
			t.Errorf("image %d: head top-1 %d on our embedding, %d on the reference's", i, a, b)
		} else {
			t.Logf("image %d: head top-1 %d on our embedding, %d on the reference's, whose scores there tie (%g, %g): accepted", i, a, b, theirs[i][a], theirs[i][b])
		}
		if i < len(labels) && a-1 == labels[i].Class {
			correct++
		}
	}
	t.Logf("extractor + head layers: top-1 on our embedding equals top-1 on the reference's for %d/%d images; %d/%d match the labels", same, len(ours), correct, len(ours))
}

// TestONNXQuantizedModelAgainstORT runs the ONNX model zoo's MobileNetV2
// int8 (QuantizeLinear, QLinearConv, com.microsoft QLinearAdd and
// QLinearGlobalAveragePool, QLinearMatMul, DequantizeLinear: every
// quantized node ArithONNX) on the 16 torch-preprocessed images and
// compares its float logits with ONNX Runtime 1.30's
// (reference/onnxzoo_mobilenetv2-12-int8.ort.json). With MLAS's rules
// (float32 scales, round half to even; QLinearAdd as the AVX2 kernel) every
// logit is bit-identical; rounding requantization half away from zero
// instead leaves about half of them different.
func TestONNXQuantizedModelAgainstORT(t *testing.T) {
	const model = "onnxzoo_mobilenetv2-12-int8"
	path := testutil.Shared(t, "models/onnx/"+model+".onnx")
	ref := testutil.ReadReference(t, model+".ort.json")
	images := testutil.TorchNormImages(t)
	g, err := importers.Load(path, importers.Options{})
	if err != nil {
		t.Fatalf("import %s: %v", model, err)
	}
	in := g.Inputs[0]
	if in.DType != ir.Float32 || len(in.Shape) != 4 || len(g.InputLayouts) == 0 || g.InputLayouts[0] != ir.NCHW {
		t.Fatalf("graph input %v %v layout %v; want float32 NHWC imported from NCHW", in.DType, in.Shape, g.InputLayouts)
	}
	h, w, c := in.Shape[1], in.Shape[2], in.Shape[3]
	if len(images) != len(ref.Results) || len(images[0]) != h*w*c {
		t.Fatalf("input file holds %d images of %d values, want %d of %d", len(images), len(images[0]), len(ref.Results), h*w*c)
	}
	var inputs []*Tensor
	for _, img := range images {
		x := NewTensor(ir.Float32, in.Shape)
		for ch := range c {
			for y := range h {
				for xx := range w {
					x.F32[(y*w+xx)*c+ch] = img[(ch*h+y)*w+xx]
				}
			}
		}
		inputs = append(inputs, x)
	}
	got := runImages(t, g, inputs, false)
	identical, total, top1 := 0, 0, 0
	maxDiff := 0.0
	for i, r := range ref.Results {
		for j, v := range got[i] {
			d := math.Abs(v - r.Output[j])
			if d == 0 {
				identical++
			}
			maxDiff = max(maxDiff, d)
			total++
		}
		if testutil.Argmax(got[i]) == r.Argmax {
			top1++
		} else {
			t.Errorf("image %d: top-1 %d, ONNX Runtime %d", i, testutil.Argmax(got[i]), r.Argmax)
		}
	}
	t.Logf("%s: identical %d/%d logits, max diff %g, top-1 %d/%d", model, identical, total, maxDiff, top1, len(ref.Results))
	if identical != total {
		t.Errorf("%d of %d logits differ from ONNX Runtime's (max %g)", total-identical, total, maxDiff)
	}
}
