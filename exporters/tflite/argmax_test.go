package tflite_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/importers"
	tfliteimp "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/refrt"
)

// argMaxGraph is x -> ArgMax: x float32, or uint8 / int8 quantized per
// tensor (deeplab's logits are u8 s=0.2014984 zp=36).
func argMaxGraph(t testing.TB, dt ir.DType, shape []int, a ir.ArgMaxAttrs) *ir.Graph {
	t.Helper()
	x := &ir.Tensor{Name: "logits", DType: dt, Shape: shape}
	if dt.IsQuantized() {
		zp := int64(36)
		if dt == ir.Int8 {
			zp = -92
		}
		x.Quant = &ir.Quant{Scale: []float32{0.2014984}, ZeroPoint: []int64{zp}}
	}
	y := &ir.Tensor{Name: "classes"}
	n := ir.NewNode("classes", ir.OpArgMax, []*ir.Tensor{x}, y)
	*n.Attrs.(*ir.ArgMaxAttrs) = a
	g := &ir.Graph{Name: "argmax", Inputs: []*ir.Tensor{x}, Nodes: []*ir.Node{n}, Outputs: []*ir.Tensor{y}}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	return g
}

// argMaxOptions returns the output_type and the axis tensor's shape of the
// file's ARG_MAX operator.
func argMaxOptions(t *testing.T, data []byte) (fb.TensorType, int) {
	t.Helper()
	m := fb.GetRootAsModel(data, 0)
	var sg fb.SubGraph
	m.Subgraphs(&sg, 0)
	var op fb.Operator
	var oc fb.OperatorCode
	for i := 0; i < sg.OperatorsLength(); i++ {
		sg.Operators(&op, i)
		m.OperatorCodes(&oc, int(op.OpcodeIndex()))
		if oc.BuiltinCode() != fb.BuiltinOperatorARG_MAX {
			continue
		}
		var tab flatbuffers.Table
		if op.BuiltinOptionsType() != fb.BuiltinOptionsArgMaxOptions || !op.BuiltinOptions(&tab) {
			t.Fatalf("ARG_MAX has options %v", op.BuiltinOptionsType())
		}
		var o fb.ArgMaxOptions
		o.Init(tab.Bytes, tab.Pos)
		var axis fb.Tensor
		sg.Tensors(&axis, int(op.Inputs(1)))
		if axis.Type() != fb.TensorTypeINT32 {
			t.Errorf("axis tensor is %v, want INT32", axis.Type())
		}
		return o.OutputType(), axis.ShapeLength()
	}
	t.Fatal("the file has no ARG_MAX")
	return 0, 0
}

// ArgMax round-trips: TFLite's form (axis removed) gives back the same graph
// and the same bytes; KeepDims is written as ARG_MAX then RESHAPE and
// computes the same. deeplabv3_mnv2_pascal_quant's form (u8 logits, a
// scalar int32 axis, output_type INT64) is the first case.
func TestArgMaxRoundTrip(t *testing.T) {
	cases := []struct {
		name  string
		dt    ir.DType
		shape []int
		attrs ir.ArgMaxAttrs
		ops   string
		typ   fb.TensorType
	}{
		{"deeplab_u8_int64", ir.Uint8, []int{1, 33, 33, 21}, ir.ArgMaxAttrs{Axis: 3, OutputType: ir.Int64}, "ARG_MAX", fb.TensorTypeINT64},
		{"float_int32", ir.Float32, []int{1, 4, 4, 5}, ir.ArgMaxAttrs{Axis: 3, OutputType: ir.Int32}, "ARG_MAX", fb.TensorTypeINT32},
		{"int8_middle_axis", ir.Int8, []int{2, 6, 3}, ir.ArgMaxAttrs{Axis: 1, OutputType: ir.Int32}, "ARG_MAX", fb.TensorTypeINT32},
		{"float_keepdims", ir.Float32, []int{1, 4, 4, 5}, ir.ArgMaxAttrs{Axis: 3, KeepDims: true, OutputType: ir.Int64}, "ARG_MAX RESHAPE", fb.TensorTypeINT64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := argMaxGraph(t, tc.dt, tc.shape, tc.attrs)
			data := export(t, g)
			if got := strings.Join(fileOps(t, data), " "); got != tc.ops {
				t.Errorf("file holds %s, want %s", got, tc.ops)
			}
			if typ, axisRank := argMaxOptions(t, data); typ != tc.typ || axisRank != 0 {
				t.Errorf("output_type %v, axis rank %d; want %v and a scalar axis", typ, axisRank, tc.typ)
			}
			g2, err := tfliteimp.Import(g.Name, data, importers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := g2.Validate(); err != nil {
				t.Fatal(err)
			}
			if !tc.attrs.KeepDims {
				if got, want := g2.Dump(), g.Dump(); got != want {
					t.Errorf("round trip changed the graph:\n%s", diffLines(want, got))
				}
				if again := export(t, g2); string(again) != string(data) {
					t.Errorf("re-export gives other bytes")
				}
			}
			x := argMaxInput(g.Inputs[0], 3)
			if got, want := runArgMax(t, g2, x), runArgMax(t, g, x); !slices.Equal(got, want) {
				t.Errorf("re-imported graph gives %v, want %v", got, want)
			}
		})
	}
}

// argMaxInput fills t's dtype with random values, many of them tied.
func argMaxInput(t *ir.Tensor, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	v := make([]float32, t.Len())
	for i := range v {
		switch t.DType {
		case ir.Float32:
			v[i] = float32(rng.IntN(9)) / 4
		case ir.Uint8:
			v[i] = float32(rng.IntN(24) * 11)
		case ir.Int8:
			v[i] = float32(rng.IntN(24)*11 - 128)
		}
	}
	return v
}

// runArgMax runs g on x (raw values for an integer input) and returns the
// indices.
func runArgMax(t testing.TB, g *ir.Graph, x []float32) []int64 {
	t.Helper()
	it := newInterpreter(t, g)
	in := it.Input(0)
	for i, v := range x {
		switch in.DType {
		case ir.Float32:
			in.F32[i] = v
		case ir.Uint8:
			in.U8[i] = uint8(v)
		case ir.Int8:
			in.I8[i] = int8(v)
		}
	}
	if err := it.Run(); err != nil {
		t.Fatal(err)
	}
	o := it.Output(0)
	out := make([]int64, o.Len())
	for i := range out {
		out[i] = int64(o.Float(i))
	}
	return out
}

// ArgMax exports run in TFLite and give our runtime's indices exactly, ties
// included. TFLite's WASM build cannot hand back int64 outputs, so these use
// int32 (what deeplab's reference class maps were made with).
func TestArgMaxInteropTFLite(t *testing.T) {
	refrt.Need(t, refrt.TFLite)
	for _, dt := range []ir.DType{ir.Float32, ir.Uint8, ir.Int8} {
		t.Run(dt.String(), func(t *testing.T) {
			g := argMaxGraph(t, dt, []int{1, 5, 5, 21}, ir.ArgMaxAttrs{Axis: 3, OutputType: ir.Int32})
			x := argMaxInput(g.Inputs[0], 11)
			var in refrt.Input
			switch dt {
			case ir.Float32:
				in = refrt.F32(g.Inputs[0].Shape, x)
			case ir.Uint8:
				u := make([]uint8, len(x))
				for i, v := range x {
					u[i] = uint8(v)
				}
				in = refrt.U8(g.Inputs[0].Shape, u)
			case ir.Int8:
				s := make([]int8, len(x))
				for i, v := range x {
					s[i] = int8(v)
				}
				in = refrt.I8(g.Inputs[0].Shape, s)
			}
			got := runTFLite(t, writeTemp(t, "argmax_"+dt.String(), export(t, g)), [][]refrt.Input{{in}})[0]
			want := runArgMax(t, g, x)
			differ := 0
			for i := range want {
				if int64(got[i]) != want[i] {
					differ++
				}
			}
			t.Logf("%d indices, %d differ from TFLite's", len(want), differ)
			if differ > 0 {
				t.Errorf("%d of %d indices differ from TFLite's", differ, len(want))
			}
		})
	}
}
