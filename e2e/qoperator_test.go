package e2e

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mnconv/mnconv/exporters"
	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/quantize"
	"github.com/mnconv/mnconv/refrt"
)

// int8Models are the integer TFLite classifiers that convert to quantized
// ONNX: the four coral models (uint8), VWW int8 and the TF2 PTQ model.
var int8Models = []floatModel{
	{"coral_v1_0.25", "tflite/coral_mobilenet_v1_0.25_128_quant.tflite", false, 128, preprocess.Auto},
	{"vww_int8", "tflite/mlcommons_tiny_vww_96_int8.tflite", false, 96, preprocess.Auto},
	{"coral_v1_0.75", "tflite/coral_mobilenet_v1_0.75_192_quant.tflite", false, 192, preprocess.Auto},
	{"coral_v2_1.0", "tflite/coral_mobilenet_v2_1.0_224_quant.tflite", false, 224, preprocess.Auto},
	{"coral_v1_1.0_embedding", "tflite/coral_mobilenet_v1_1.0_224_quant_embedding_extractor.tflite", false, 224, preprocess.Auto},
	{"tf2_v2_ptq", "tflite/coral_tf2_mobilenet_v2_1.0_224_ptq.tflite", false, 224, preprocess.Auto},
}

// opCounts counts a file's node types ("com.microsoft.QGemm" for contrib ops).
func opCounts(t *testing.T, path string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m pb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, n := range m.GetGraph().GetNode() {
		op := n.GetOpType()
		if d := n.GetDomain(); d != "" {
			op = d + "." + op
		}
		ops[op]++
	}
	return ops
}

func opSummary(ops map[string]int) string {
	var parts []string
	for op, c := range ops {
		parts = append(parts, op+"="+strconv.Itoa(c))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// dequantizedRef maps ONNX Runtime's raw integer outputs to real values with
// the quantization of g's first output (float outputs stay).
func dequantizedRef(g *ir.Graph, raw [][]float32) [][]float32 {
	q := g.Outputs[0].Quant
	if q == nil || !g.Outputs[0].DType.IsQuantized() {
		return raw
	}
	out := make([][]float32, len(raw))
	for i, r := range raw {
		out[i] = make([]float32, len(r))
		for j, v := range r {
			out[i][j] = (v - float32(q.ZP(0))) * q.Scale[0]
		}
	}
	return out
}

// TestQuantizedONNXInONNXRuntime converts integer TFLite models to .onnx
// in both quantized forms, as `mnconv convert m.tflite m.onnx
// --onnx-format qdq|qoperator` does, and runs each file in ONNX Runtime
// against TFLite's run of the source file (16 reference images): top-1
// equal (a tie within 2 quanta allowed) and >= 99 % of the outputs within 2
// quanta. Agreement with our runtime on the .tflite graph is logged: it is
// the yardstick the issue names, but our runtime is itself off TFLite on
// two of the six (coral v1 0.75: top-1 on 15/16; VWW: int8 Softmax up to 4
// quanta), where ONNX Runtime agrees with TFLite. The QOperator file must hold QLinearConv and QGemm and read back
// into our runtime with the same agreement. Two models by default;
// MNCONV_QOP_ALL=1 runs all six (scripts/benchmarks/qoperator.sh).
func TestQuantizedONNXInONNXRuntime(t *testing.T) {
	refrt.Need(t, refrt.ONNX)
	refrt.Need(t, refrt.TFLite)
	models := int8Models[:2]
	if os.Getenv("MNCONV_QOP_ALL") != "" {
		models = int8Models
	}
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			g := m.load(t)
			if _, err := passes.Run(g, passes.Default, nil); err != nil {
				t.Fatal(err)
			}
			inputs := m.inputs(t, g, 16)
			ours := outputs(t, g, inputs)
			q := float64(g.Outputs[0].Quant.Scale[0])
			tflite := dequantizedRef(g, reference(t, refrt.TFLite, testutil.Shared(t, "models/"+m.file), inputs))
			dir := t.TempDir()
			for _, form := range []string{"qdq", "qoperator"} {
				path := write(t, g, dir, form+".onnx", exporters.Options{QOperator: form == "qoperator", Warn: func(msg string) { t.Log("warning:", msg) }})
				ops := opCounts(t, path)
				theirs := dequantizedRef(g, reference(t, refrt.ONNX, path, inputs))
				a, r := compare(ours, theirs, q), compare(tflite, theirs, q)
				t.Logf("%s %s in ONNX Runtime: vs TFLite on the .tflite: top-1 equal on %d/%d (+%d ties), %d/%d outputs identical, %d within 2 quanta; vs ours: top-1 %d/%d (+%d ties), %d identical, %d within 2 quanta; ops %s",
					m.name, form, r.top1, len(ours), r.ties, r.exact, r.total, r.within2, a.top1, len(ours), a.ties, a.exact, a.within2, opSummary(ops))
				if r.top1+r.ties != len(ours) || float64(r.within2) < 0.99*float64(r.total) {
					t.Errorf("%s: ONNX Runtime disagrees with our runtime", form)
				}
				if form != "qoperator" {
					continue
				}
				if ops["QLinearConv"] == 0 || ops["Conv"] != 0 {
					t.Errorf("qoperator file has %d QLinearConv and %d Conv", ops["QLinearConv"], ops["Conv"])
				}
				back, err := importers.Load(path, importers.Options{})
				if err != nil {
					t.Fatal(err)
				}
				rt := outputs(t, back, inputs)
				b, r := compare(ours, rt, q), compare(tflite, rt, q)
				t.Logf("%s qoperator read back into our runtime: vs TFLite: top-1 equal on %d/%d (+%d ties), %d within 2 quanta; vs ours on the .tflite: top-1 %d/%d, %d/%d identical, %d within 2 quanta",
					m.name, r.top1, len(ours), r.ties, r.within2, b.top1, len(ours), b.exact, b.total, b.within2)
				if r.top1+r.ties != len(ours) || float64(r.within2) < 0.99*float64(r.total) {
					t.Errorf("the QOperator file read back disagrees with the .tflite")
				}
			}
		})
	}
}

// TestQOperatorQuantizedInONNXRuntime quantizes float models as `mnconv
// quantize m m.onnx --onnx-format qoperator` does (8 calibration images) and
// runs the QOperator file in ONNX Runtime and, read back, in our runtime,
// against our runtime on the QDQ file (which fuses into integer kernels
// with ONNX Runtime's requantization): top-1 equal (ties within 2 quanta
// allowed) and >= 99 % of the outputs within 2 quanta. One model by
// default; MNCONV_QOP_ALL=1 runs the six of TestQDQToTFLite.
func TestQOperatorQuantizedInONNXRuntime(t *testing.T) {
	refrt.Need(t, refrt.ONNX)
	if testing.Short() {
		t.Skip("skipping in -short mode: quantizes a model")
	}
	cases := qdqCases()
	if os.Getenv("MNCONV_QOP_ALL") == "" {
		cases = cases[1:2]
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path, qg := qdqFile(t, c.load(t), c.mode, quantize.Config{}, dir)
			g, err := importers.Load(path, importers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			inputs := c.inputs(t, g)
			ours, q := outputs(t, g, inputs), outputQuantum(t, g)
			qop := write(t, qg, dir, "qoperator.onnx", exporters.Options{InputLayout: ir.NHWC, QOperator: true, Warn: func(msg string) { t.Log("warning:", msg) }})
			back, err := importers.Load(qop, importers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []struct {
				what string
				got  [][]float32
			}{
				{"QDQ file in ONNX Runtime", reference(t, refrt.ONNX, path, inputs)},
				{"QOperator file in ONNX Runtime", reference(t, refrt.ONNX, qop, inputs)},
				{"QOperator file read back", outputs(t, back, inputs)},
			} {
				a := compare(ours, r.got, q)
				t.Logf("%s: %s vs ours on the QDQ file: top-1 equal on %d/%d (+%d ties), %d/%d identical, %d within 2 quanta",
					c.name, r.what, a.top1, len(ours), a.ties, a.exact, a.total, a.within2)
				if a.top1+a.ties != len(ours) || float64(a.within2) < 0.99*float64(a.total) {
					t.Errorf("%s disagrees with our runtime", r.what)
				}
			}
			t.Logf("%s: QOperator ops %s", c.name, opSummary(opCounts(t, qop)))
		})
	}
}
