package onnx

import (
	"fmt"
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// outOfScope lists, by a substring of the test name, the official tests that
// need what mnconv does not have. Longer substrings come first (uint16
// before int16). Every other test is in scope and must pass.
var outOfScope = []struct{ substr, reason string }{
	{"uint16", "element type uint16 is not in mnconv"},
	{"int16", "element type int16 is not in mnconv"},
	{"uint32", "element type uint32 is not in mnconv"},
	{"uint64", "element type uint64 is not in mnconv"},
	{"e4m3fn", "element type float8 e4m3 is not in mnconv"},
	{"e5m2", "element type float8 e5m2 is not in mnconv"},
	{"float4e2m1", "element type float4 is not in mnconv"},
	{"float16", "element type float16 is not in mnconv"},
	{"uint4", "element type uint4 is not in mnconv"},
	{"int4", "element type int4 is not in mnconv"},
	{"uint2", "element type uint2 is not in mnconv"},
	{"int2", "element type int2 is not in mnconv"},
	{"blocked", "blocked quantization is not supported"},
	{"training_mode", "training-mode BatchNormalization is not supported"},
	{"depthtospace", "op DepthToSpace is not in mnconv's op list"},
	{"convinteger", "op ConvInteger is not supported (QLinearConv and QDQ are)"},
	{"matmulinteger", "op MatMulInteger is not supported (QLinearMatMul and QDQ are)"},
	{"dynamicquantizelinear", "op DynamicQuantizeLinear is not supported (static quantization only)"},
}

// frozen lists, per op, the inputs that are model parameters (weights,
// shapes, pads, bounds, quantization parameters). The official tests feed
// them as graph inputs; mnconv's ir is static, so the harness turns them
// into initializers with the test's values, as a real model stores them.
var frozen = map[string][]int{
	"Conv":               {1, 2},
	"BatchNormalization": {1, 2, 3, 4},
	"Gemm":               {1, 2},
	"Reshape":            {1},
	"Squeeze":            {1},
	"Unsqueeze":          {1},
	"Pad":                {1, 2, 3},
	"Clip":               {1, 2},
	"QuantizeLinear":     {1, 2},
	"DequantizeLinear":   {1, 2},
	"QLinearConv":        {1, 2, 3, 4, 5, 6, 7, 8},
	"QLinearMatMul":      {1, 2, 3, 4, 5, 6, 7},
}

// looseTol widens the absolute tolerance of tests whose expected values are
// written with fewer digits than float32 gives.
var looseTol = map[string]float64{
	// The expected output is typed in with 4 decimals (0.2841 for
	// 0.284044...); ONNX's own runner compares with rtol 1e-3.
	"test_averagepool_2d_ceil_last_window_starts_on_pad": 1e-4,
}

func scopeReason(name string) string {
	for _, o := range outOfScope {
		if strings.Contains(strings.ToLower(name), o.substr) {
			return o.reason
		}
	}
	return ""
}

// TestONNXOperatorTests runs the official ONNX backend node tests and the
// PyTorch-converted ones: import, feed the test inputs (NCHW transposed to
// the ir's NHWC where the import says so), run, compare.
func TestONNXOperatorTests(t *testing.T) {
	root := testutil.Shared(t, "onnx-tests")
	var dirs []string
	for _, sub := range []string{"node", "pytorch-converted"} {
		ents, err := os.ReadDir(filepath.Join(root, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(root, sub, e.Name()))
			}
		}
	}
	passed, failed := 0, 0
	var skipped []string
	for _, dir := range dirs {
		name := filepath.Base(dir)
		if why := scopeReason(name); why != "" {
			// Out of scope, but still must not crash the importer.
			if _, err := importOpTest(dir); err != nil && strings.Contains(err.Error(), "internal error") {
				t.Errorf("%s: %v", name, err)
			}
			skipped = append(skipped, fmt.Sprintf("%s: %s", name, why))
			continue
		}
		ok := t.Run(name, func(t *testing.T) {
			if err := runOpTest(dir); err != nil {
				t.Error(err)
			}
		})
		if ok {
			passed++
		} else {
			failed++
		}
	}
	t.Logf("onnx op tests: %d passed, %d skipped", passed, len(skipped))
	if failed > 0 {
		t.Logf("onnx op tests: %d in-scope tests failed", failed)
	}
	for _, s := range skipped {
		t.Logf("  skipped %s", s)
	}
}

// opTest is an official test loaded and prepared for mnconv.
type opTest struct {
	g       *ir.Graph
	inputs  map[string]*ir.Tensor // graph input name -> its data (ONNX layout)
	outputs []*ir.Tensor          // expected, in graph output order
}

func readTensorFile(path string) (*ir.Tensor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tp := &pb.TensorProto{}
	if err := proto.Unmarshal(data, tp); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return tensorFromProto(tp)
}

func readTensorProto(path string) (*pb.TensorProto, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tp := &pb.TensorProto{}
	return tp, proto.Unmarshal(data, tp)
}

func importOpTest(dir string) (*opTest, error) {
	data, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return nil, err
	}
	m := &pb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, err
	}
	gp := m.Graph
	set := filepath.Join(dir, "test_data_set_0")
	inits := map[string]bool{}
	for _, t := range gp.Initializer {
		inits[t.GetName()] = true
	}
	inputIndex := map[string]int{}
	for i, v := range gp.Input {
		inputIndex[v.GetName()] = i
	}
	for _, n := range gp.Node {
		for _, i := range frozen[n.GetOpType()] {
			if i >= len(n.Input) || n.Input[i] == "" || inits[n.Input[i]] {
				continue
			}
			k, ok := inputIndex[n.Input[i]]
			if !ok {
				continue
			}
			tp, err := readTensorProto(filepath.Join(set, fmt.Sprintf("input_%d.pb", k)))
			if err != nil {
				return nil, err
			}
			tp.Name = proto.String(n.Input[i])
			gp.Initializer = append(gp.Initializer, tp)
			inits[n.Input[i]] = true
		}
	}
	data, err = proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	g, err := Import(filepath.Join(dir, "model.onnx"), data, importers.Options{})
	if err != nil {
		return nil, fmt.Errorf("import: %v", err)
	}
	ot := &opTest{g: g, inputs: map[string]*ir.Tensor{}}
	for k, v := range gp.Input {
		if inits[v.GetName()] {
			continue
		}
		in, err := readTensorFile(filepath.Join(set, fmt.Sprintf("input_%d.pb", k)))
		if err != nil {
			return nil, err
		}
		ot.inputs[v.GetName()] = in
	}
	for k := range gp.Output {
		out, err := readTensorFile(filepath.Join(set, fmt.Sprintf("output_%d.pb", k)))
		if err != nil {
			return nil, err
		}
		ot.outputs = append(ot.outputs, out)
	}
	return ot, nil
}

// toRuntime copies an ir constant into a runtime tensor, transposed from
// NCHW to NHWC when layout says the graph stores it so.
func toRuntime(c *ir.Tensor, layout ir.Layout) *runtime.Tensor {
	shape, d := c.Shape, c.Data
	if layout == ir.NCHW {
		d = onnxfmt.TransposeData(d, c.DType, shape, onnxfmt.ToNHWC)
		shape = onnxfmt.Permute(shape, onnxfmt.ToNHWC)
	}
	return &runtime.Tensor{DType: c.DType, Shape: slices.Clone(shape), F32: d.F32, I8: d.I8, U8: d.U8, I32: d.I32, I64: d.I64}
}

// fromRuntime returns a runtime output in ONNX layout.
func fromRuntime(r *runtime.Tensor, layout ir.Layout) *ir.Tensor {
	shape := r.Shape
	d := &ir.Data{F32: r.F32, I8: r.I8, U8: r.U8, I32: r.I32, I64: r.I64}
	if layout == ir.NCHW {
		d = onnxfmt.TransposeData(d, r.DType, shape, onnxfmt.ToNCHW)
		shape = onnxfmt.Permute(shape, onnxfmt.ToNCHW)
	}
	return &ir.Tensor{DType: r.DType, Shape: shape, Data: d}
}

func runOpTest(dir string) (err error) {
	// A kernel that panics fails its test, not the whole run.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("runtime panic: %v", r)
		}
	}()
	ot, err := importOpTest(dir)
	if err != nil {
		return err
	}
	g := ot.g
	it, err := runtime.New(g)
	if err != nil {
		return fmt.Errorf("prepare: %v", err)
	}
	for i, in := range g.Inputs {
		want, ok := ot.inputs[in.Name]
		if !ok {
			return fmt.Errorf("no test data for graph input %q", in.Name)
		}
		if err := it.SetInput(i, toRuntime(want, g.InputLayouts[i])); err != nil {
			return fmt.Errorf("input %d: %v", i, err)
		}
	}
	if err := it.Run(); err != nil {
		return fmt.Errorf("run: %v", err)
	}
	for k, want := range ot.outputs {
		got := fromRuntime(it.Output(k), g.OutputLayouts[k])
		atol := 1e-5
		if a, ok := looseTol[filepath.Base(dir)]; ok {
			atol = a
		}
		if err := compareTensors(got, want, 1e-4, atol); err != nil {
			return fmt.Errorf("output %d (%q): %v", k, g.Outputs[k].Name, err)
		}
	}
	return nil
}

// compareTensors checks shape and dtype, floats within atol + rtol*|want|,
// integers exactly.
func compareTensors(got, want *ir.Tensor, rtol, atol float64) error {
	if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) {
		return fmt.Errorf("got %v%v, want %v%v", got.DType, got.Shape, want.DType, want.Shape)
	}
	bad, worst, at := 0, 0.0, -1
	for i := 0; i < want.Len(); i++ {
		g, w := constFloat(got, i), constFloat(want, i)
		d := math.Abs(g - w)
		tol := 0.0
		if want.DType == ir.Float32 {
			tol = atol + rtol*math.Abs(w)
		}
		if d > tol || math.IsNaN(d) != (math.IsNaN(g) && math.IsNaN(w)) {
			if math.IsNaN(g) && math.IsNaN(w) {
				continue
			}
			bad++
			if d > worst || at < 0 {
				worst, at = d, i
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d elements differ; worst at %d: got %v, want %v", bad, want.Len(), at, constFloat(got, at), constFloat(want, at))
	}
	return nil
}
