package tflite

import (
	"github.com/mnconv/mnconv/format/tflite/tflitetest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	tfl "github.com/mnconv/mnconv/format/tflite"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
)

type ioFact struct {
	dtype ir.DType
	Shape []int
	Scale float32 // 0: no quantization
	ZP    int64
}

func checkIO(t *testing.T, what string, got *ir.Tensor, want ioFact) {
	t.Helper()
	if got.DType != want.dtype || !slices.Equal(got.Shape, want.Shape) {
		t.Errorf("%s %q: %v%v, want %v%v", what, got.Name, got.DType, got.Shape, want.dtype, want.Shape)
	}
	switch q := got.Quant; {
	case want.Scale == 0 && q != nil:
		t.Errorf("%s %q: quantized %v, want float", what, got.Name, q)
	case want.Scale == 0:
	case q == nil || len(q.Scale) != 1:
		t.Errorf("%s %q: quantization %v, want per-tensor s=%g zp=%d", what, got.Name, q, want.Scale, want.ZP)
	case abs32(q.Scale[0]-want.Scale) > 1e-4*want.Scale || q.ZP(0) != want.ZP:
		t.Errorf("%s %q: s=%g zp=%d, want s=%g zp=%d", what, got.Name, q.Scale[0], q.ZP(0), want.Scale, want.ZP)
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// opCounts counts nodes per op, depthwise convolutions as "Depthwise".
func opCounts(g *ir.Graph) map[string]int {
	m := map[string]int{}
	for _, n := range g.Nodes {
		k := n.Op.String()
		if n.IsDepthwise() {
			k = "Depthwise"
		}
		m[k]++
	}
	return m
}

// TestSharedModels imports every shared TFLite model and checks what the
// README says of it, plus the op counts the files hold.
func TestSharedModels(t *testing.T) {
	u8 := func(shape []int, s float32, zp int64) ioFact { return ioFact{ir.Uint8, shape, s, zp} }
	i8 := func(shape []int, s float32, zp int64) ioFact { return ioFact{ir.Int8, shape, s, zp} }
	img := func(px, ch int) []int { return []int{1, px, px, ch} }
	v1 := func(conv, dw int) map[string]int {
		return map[string]int{"Conv": conv, "Depthwise": dw, "AvgPool": 1, "Reshape": 1, "Softmax": 1}
	}
	cases := []struct {
		file     string
		ops      map[string]int
		in, out  ioFact
		warnings int
	}{
		{"coral_mobilenet_v1_0.25_128_quant.tflite", v1(15, 13),
			u8(img(128, 3), 1.0/128, 128), u8([]int{1, 1001}, 1.0/256, 0), 0},
		{"coral_mobilenet_v1_0.75_192_quant.tflite", v1(15, 13),
			u8(img(192, 3), 1.0/128, 128), u8([]int{1, 1001}, 1.0/256, 0), 0},
		{"coral_mobilenet_v1_1.0_224_quant_embedding_extractor.tflite", map[string]int{"Conv": 14, "Depthwise": 13, "AvgPool": 1},
			u8(img(224, 3), 1.0/128, 128), u8([]int{1, 1, 1, 1024}, 0.0235285, 0), 0},
		{"coral_mobilenet_quant_v1_224_head_layers.tflite", map[string]int{"Conv": 1, "Reshape": 1, "Softmax": 1},
			u8([]int{1, 1, 1, 1024}, 0.0235285, 0), u8([]int{1, 1001}, 1.0/256, 0), 0},
		{"coral_mobilenet_v2_1.0_224_quant.tflite", map[string]int{"Conv": 36, "Depthwise": 17, "Add": 10, "AvgPool": 1, "Reshape": 1, "Softmax": 1},
			u8(img(224, 3), 1.0/128, 128), u8([]int{1, 1001}, 1.0/256, 0), 0},
		{"coral_tf2_mobilenet_v2_1.0_224_ptq.tflite", map[string]int{"Quantize": 2, "Conv": 36, "Depthwise": 17, "Add": 10, "Mean": 1, "Reshape": 1, "Softmax": 1},
			u8(img(224, 3), 0.0078431, 127), u8([]int{1, 1001}, 1.0/256, 0), 0},
		{"mlcommons_tiny_vww_96_float.tflite", map[string]int{"Conv": 14, "Depthwise": 13, "AvgPool": 1, "Reshape": 1, "Gemm": 1, "Softmax": 1},
			ioFact{ir.Float32, img(96, 3), 0, 0}, ioFact{ir.Float32, []int{1, 2}, 0, 0}, 0},
		{"mlcommons_tiny_vww_96_int8.tflite", map[string]int{"Conv": 14, "Depthwise": 13, "AvgPool": 1, "Reshape": 1, "Gemm": 1, "Softmax": 1},
			i8(img(96, 3), 1.0/255, -128), i8([]int{1, 2}, 1.0/256, -128), 0},
		{"tflm_person_detect.tflite", v1(15, 13),
			i8(img(96, 1), 0.007843, -1), i8([]int{1, 2}, 1.0/256, -128), 14},
	}
	for _, tc := range cases {
		t.Run(strings.TrimSuffix(tc.file, ".tflite"), func(t *testing.T) {
			path := testutil.Shared(t, "models/tflite/"+tc.file)
			var warnings []string
			g, err := importers.Load(path, importers.Options{Warn: func(s string) { warnings = append(warnings, s) }})
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := opCounts(g); !mapsEqual(got, tc.ops) {
				t.Errorf("ops %v, want %v", got, tc.ops)
			}
			if len(g.Inputs) != 1 || len(g.Outputs) != 1 {
				t.Fatalf("%d inputs and %d outputs, want 1 and 1", len(g.Inputs), len(g.Outputs))
			}
			checkIO(t, "input", g.Inputs[0], tc.in)
			checkIO(t, "output", g.Outputs[0], tc.out)
			if len(warnings) != tc.warnings {
				t.Errorf("%d warnings, want %d: %q", len(warnings), tc.warnings, warnings)
			}
			for _, w := range warnings {
				if !strings.Contains(w, "quantized_dimension 3") {
					t.Errorf("unexpected warning %q", w)
				}
			}
			// Per-channel weights keep one scale per output channel on axis
			// 0 (depthwise ones translated from axis 3).
			for _, n := range g.Nodes {
				if n.Op != ir.OpConv {
					continue
				}
				w := n.Inputs[1]
				if w.Quant.PerAxis() && (w.Quant.Axis != 0 || len(w.Quant.Scale) != w.Shape[0]) {
					t.Errorf("node %q: weight quantized along axis %d with %d scales for shape %v", n.Name, w.Quant.Axis, len(w.Quant.Scale), w.Shape)
				}
			}
			if g.Dump() != g.Dump() {
				t.Error("dump is not stable")
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestAppModels: the two application models use ops mnconv does not
// import (RESIZE_BILINEAR, the detection post-processing custom op); they
// must fail cleanly, naming the operator.
func TestAppModels(t *testing.T) {
	for _, file := range []string{"deeplabv3_mnv2_pascal_quant.tflite", "ssd_mobilenet_v1_0.75_depth_pets_quant_detect.tflite"} {
		t.Run(file, func(t *testing.T) {
			path := testutil.Shared(t, "apps/models/"+file)
			g, err := importers.Load(path, importers.Options{})
			if err == nil {
				if err := g.Validate(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !strings.Contains(err.Error(), "unsupported op") || !strings.Contains(err.Error(), file) {
				t.Fatalf("error %q does not say unsupported op and name the file", err)
			}
			t.Logf("%v", err)
		})
	}
}

func TestTinyModel(t *testing.T) {
	data := tinyModel().Build()
	g, err := Import("tiny.tflite", data, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "tiny" || g.Meta["description"] != "tiny test model" || g.Meta["tflite_version"] != "3" {
		t.Errorf("name %q meta %v", g.Name, g.Meta)
	}
	byName := map[string]*ir.Node{}
	var ops []string
	for _, n := range g.Nodes {
		byName[n.Name] = n
		ops = append(ops, n.Op.String())
	}
	wantOps := []string{"Conv", "Conv", "Relu", "Add", "HardSwish", "AvgPool", "Mean", "Reshape", "Gemm", "Reshape", "Reshape", "Softmax", "Reshape", "Pad", "Transpose"}
	if !slices.Equal(ops, wantOps) {
		t.Fatalf("ops %v, want %v", ops, wantOps)
	}

	conv := byName["conv"].Attrs.(*ir.ConvAttrs)
	// SAME, in 5, k 3, stride 2: out 3, total (3-1)*2+3-5 = 2 -> 1 and 1.
	if want := (ir.ConvAttrs{Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Group: 1, Act: ir.ActRelu6}); *conv != want {
		t.Errorf("conv attrs %+v, want %+v", *conv, want)
	}
	dw := byName["dw"]
	if a := dw.Attrs.(*ir.ConvAttrs); a.Group != 4 || a.Pads != [4]int{1, 1, 1, 1} || !dw.IsDepthwise() {
		t.Errorf("depthwise attrs %+v", *a)
	}
	if len(dw.Inputs) != 2 {
		t.Errorf("depthwise has %d inputs; the absent bias should be dropped", len(dw.Inputs))
	}
	// TFLite [1,KH,KW,C*M] -> IR [C*M,KH,KW,1]: element (0,y,x,o) moves to
	// (o,y,x,0).
	w := dw.Inputs[1]
	if w.Name != "dw_w" || !slices.Equal(w.Shape, []int{8, 3, 3, 1}) {
		t.Fatalf("depthwise weight %q %v", w.Name, w.Shape)
	}
	src := tinyModel().Tensors[4].Data
	for o := 0; o < 8; o++ {
		for s := 0; s < 9; s++ {
			want := f32at(src, s*8+o)
			if got := w.Data.F32[o*9+s]; got != want {
				t.Fatalf("weight[%d,%d] = %g, want %g", o, s, got, want)
			}
		}
	}
	if names := []string{g.Nodes[2].Outputs[0].Name, g.Nodes[1].Outputs[0].Name}; !slices.Equal(names, []string{"dw_2", "dw"}) {
		t.Errorf("repeated name resolved to %v, want [dw_2 dw]", names)
	}
	if a := byName["sum"].Attrs.(*ir.BinaryAttrs); a.Act != ir.ActRelu {
		t.Errorf("add act %v", a.Act)
	}
	// SAME, in 3, k 2, stride 2: out 2, total 1 -> 0 before, 1 after.
	if a := byName["pool"].Attrs.(*ir.PoolAttrs); a.Pads != [4]int{0, 0, 1, 1} || a.Kernel != [2]int{2, 2} || a.CountIncludePad {
		t.Errorf("pool attrs %+v", *a)
	}
	if a := byName["mean"].Attrs.(*ir.ReduceAttrs); !slices.Equal(a.Axes, []int{1, 2}) || !a.KeepDims {
		t.Errorf("mean attrs %+v", *a)
	}
	gemm := byName["fc/1"]
	if a := gemm.Attrs.(*ir.GemmAttrs); !a.TransB || a.Alpha != 1 || a.Beta != 1 {
		t.Errorf("gemm attrs %+v", *a)
	}
	if x, y := gemm.Inputs[0], gemm.Outputs[0]; !slices.Equal(x.Shape, []int{1, 8}) || !slices.Equal(y.Shape, []int{1, 3}) {
		t.Errorf("gemm reads %v and writes %v, want [1 8] and [1 3]", x.Shape, y.Shape)
	}
	if y := byName["fc/2"].Outputs[0]; y.Name != "fc" || !slices.Equal(y.Shape, []int{1, 1, 1, 3}) {
		t.Errorf("keep_num_dims output %q %v", y.Name, y.Shape)
	}
	if a := byName["prob"].Attrs.(*ir.SoftmaxAttrs); a.Beta != 0.5 || a.Axis != 1 {
		t.Errorf("softmax attrs %+v", *a)
	}
	if y := byName["col"].Outputs[0]; !slices.Equal(y.Shape, []int{3, 1}) {
		t.Errorf("reshape to %v", y.Shape)
	}
	if a := byName["padded"].Attrs.(*ir.PadAttrs); !slices.Equal(a.Pads, []int{0, 1, 1, 0}) || a.Value != -2 {
		t.Errorf("pad attrs %+v, want pads [0 1 1 0] (begins, ends) and value -2", *a)
	}
	if a := byName["out"].Attrs.(*ir.TransposeAttrs); !slices.Equal(a.Perm, []int{1, 0}) {
		t.Errorf("transpose attrs %+v", *a)
	}
}

func f32at(b []byte, i int) float32 { return decode(ir.Float32, b[4*i:4*i+4], 1).F32[0] }

// TestImportErrors: each malformed model fails with an error naming the
// file and, where one is at fault, the operator or tensor.
func TestImportErrors(t *testing.T) {
	cases := []struct {
		name   string
		modify func(m *tflitetest.Model)
		want   string
	}{
		{"unsupported builtin", func(m *tflitetest.Model) {
			m.Ops[2].Code = fb.BuiltinOperatorTANH
		}, `operator 2 "dw_2" (TANH): unsupported op TANH`},
		{"custom op", func(m *tflitetest.Model) {
			m.Ops[2].Code, m.Ops[2].Custom = fb.BuiltinOperatorCUSTOM, "MyOp"
		}, `operator 2 "dw_2" (MyOp): unsupported op MyOp`},
		{"unsupported dtype", func(m *tflitetest.Model) {
			m.Tensors[0].Type = fb.TensorTypeFLOAT16
		}, `tensor 0 "x": type FLOAT16 is not supported`},
		{"short buffer", func(m *tflitetest.Model) {
			m.Tensors[2].Data = m.Tensors[2].Data[:12]
		}, `tensor 2 "conv_b": buffer 2 holds 12 bytes; float32[4] needs 16`},
		{"declared shape wrong", func(m *tflitetest.Model) {
			m.Tensors[3].Shape = []int32{1, 2, 2, 4}
		}, `operator 0 "conv" (CONV_2D): output "conv" is declared [1 2 2 4], inference gives [1 3 3 4]`},
		{"tensor index out of range", func(m *tflitetest.Model) {
			m.Ops[2].Inputs = []int32{99}
		}, `operator 2 "dw_2" (RELU): input 0 refers to tensor 99; the subgraph has 23`},
		{"wrong options type", func(m *tflitetest.Model) {
			m.Ops[0].OptType = fb.BuiltinOptionsPool2DOptions
			m.Ops[0].Opts = tflitetest.Pool2D(fb.PaddingSAME, 2, 2)
		}, `operator 0 "conv" (CONV_2D): builtin options are Pool2DOptions, want Conv2DOptions`},
		{"zero stride", func(m *tflitetest.Model) {
			m.Ops[0].Opts = tflitetest.Conv2D(fb.PaddingVALID, 0, 1, fb.ActivationFunctionTypeNONE)
		}, `strides [0 0] and dilations [1 1] must be >= 1`},
		{"tanh activation", func(m *tflitetest.Model) {
			m.Ops[0].Opts = tflitetest.Conv2D(fb.PaddingVALID, 1, 1, fb.ActivationFunctionTypeTANH)
		}, `fused activation TANH is not supported`},
		{"reshape mismatch", func(m *tflitetest.Model) {
			m.Tensors[16].Data = tflitetest.I32(-1, 2)
		}, `cannot infer the -1 for 3 elements`},
		{"axis outside rank", func(m *tflitetest.Model) {
			m.Tensors[1].Type = fb.TensorTypeINT8
			m.Tensors[1].Data = make([]byte, 72)
			m.Tensors[1].Scale, m.Tensors[1].ZP, m.Tensors[1].QDim = []float32{1, 1, 1, 1}, []int64{0, 0, 0, 0}, 5
		}, `tensor 1 "conv_w": quantized_dimension 5 is outside rank 4`},
		{"wrong shape of paddings", func(m *tflitetest.Model) {
			m.Tensors[18].Shape = []int32{4}
		}, `paddings "pads" have shape [4], want [2 2]`},
		{"batch asked for", nil, `batch 4 was asked for`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyModel()
			opts := importers.Options{}
			if tc.modify != nil {
				tc.modify(m)
			} else {
				opts.Batch = 4
			}
			_, err := Import("bad.tflite", m.Build(), opts)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "tflite: bad.tflite: ") {
				t.Fatalf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// TestPerAxisQuirk: a rank-1 tensor whose quantized_dimension is outside
// its rank imports with a warning when its scale count matches its length.
func TestPerAxisQuirk(t *testing.T) {
	m := tinyModel()
	b := &m.Tensors[2]
	b.Scale, b.ZP, b.QDim = []float32{0.5, 0.25, 0.125, 1}, []int64{0, 0, 0, 0}, 3
	var warns []string
	g, err := Import("q.tflite", m.Build(), importers.Options{Warn: func(s string) { warns = append(warns, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], `"conv_b": quantized_dimension 3`) {
		t.Errorf("warnings %q", warns)
	}
	if q := g.Nodes[0].Inputs[2].Quant; q.Axis != 0 || len(q.Scale) != 4 {
		t.Errorf("bias quant %+v", q)
	}
}

// TestDepthwiseQuantAxis: per-channel depthwise weights move their axis
// from 3 to 0 along with the data.
func TestDepthwiseQuantAxis(t *testing.T) {
	m := tinyModel()
	w := &m.Tensors[4]
	w.Type = fb.TensorTypeINT8
	w.Data = make([]byte, 72)
	for i := range w.Data {
		w.Data[i] = byte(i)
	}
	w.Scale, w.ZP, w.QDim = make([]float32, 8), make([]int64, 8), 3
	for i := range w.Scale {
		w.Scale[i] = float32(i + 1)
	}
	// Quantized weights on a float activation are unusual but legal for
	// the importer: it only translates.
	g, err := Import("dwq.tflite", m.Build(), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wt := g.Nodes[1].Inputs[1]
	if q := wt.Quant; q.Axis != 0 || q.Scale[5] != 6 {
		t.Errorf("quant %+v", q)
	}
	// element (0,y,x,o) = (y*3+x)*8+o moves to (o,y,x,0).
	if got, want := wt.Data.I8[5*9+4], int8(4*8+5); got != want {
		t.Errorf("weight[5,1,1,0] = %d, want %d", got, want)
	}
}

// TestOpcodeRule: the effective code is the larger of the two fields, so
// files with only deprecated_builtin_code, files with both, and codes above
// 126 (127 in the byte, the code in builtin_code) all read right.
func TestOpcodeRule(t *testing.T) {
	m := tinyModel()
	for i := range m.Ops {
		m.Ops[i].DeprecatedOnly = i%2 == 0
	}
	if _, err := Import("old.tflite", m.Build(), importers.Options{}); err != nil {
		t.Fatal(err)
	}
	m.Ops[4].Code = fb.BuiltinOperatorCUMSUM
	m.Ops[4].DeprecatedOnly = false
	_, err := Import("new.tflite", m.Build(), importers.Options{})
	if err == nil || !strings.Contains(err.Error(), "(CUMSUM): unsupported op CUMSUM") {
		t.Fatalf("error %v", err)
	}
	m.Ops[4].DeprecatedOnly = true
	_, err = Import("new.tflite", m.Build(), importers.Options{})
	if err == nil || !strings.Contains(err.Error(), "unsupported op PLACEHOLDER_FOR_GREATER_OP_CODES") {
		t.Fatalf("error %v", err)
	}
}

func TestRegistered(t *testing.T) {
	data := tinyModel().Build()
	f, err := importers.Detect("model.bin", data)
	if err != nil || f.Name != "tflite" {
		t.Fatalf("Detect: %v %v", f, err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "m.tflite")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := importers.Load(path, importers.Options{}); err != nil {
		t.Fatal(err)
	}
	if Magic([]byte("1234TFL")) || !Magic(data) {
		t.Error("Magic")
	}
}

// TestOptionsDefaults: an operator without options reads the schema's
// defaults from tfl.DefaultOptions (dilations 1, no activation).
func TestOptionsDefaults(t *testing.T) {
	var d fb.DepthwiseConv2DOptions
	d.Init(tfl.DefaultOptions, flatbuffers.GetUOffsetT(tfl.DefaultOptions))
	if d.DilationHFactor() != 1 || d.DilationWFactor() != 1 || d.FusedActivationFunction() != fb.ActivationFunctionTypeNONE || d.StrideH() != 0 {
		t.Error("defaults")
	}
	var f fb.FullyConnectedOptions
	f.Init(tfl.DefaultOptions, flatbuffers.GetUOffsetT(tfl.DefaultOptions))
	if f.KeepNumDims() || f.WeightsFormat() != fb.FullyConnectedOptionsWeightsFormatDEFAULT {
		t.Error("defaults")
	}
}

func BenchmarkImportTiny(b *testing.B) {
	data := tinyModel().Build()
	for b.Loop() {
		if _, err := Import("tiny.tflite", data, importers.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
