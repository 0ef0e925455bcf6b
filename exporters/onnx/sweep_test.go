package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mnconv/mnconv/exporters"
	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/importers"
	onnximp "github.com/mnconv/mnconv/importers/onnx"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/refrt"
	"github.com/mnconv/mnconv/runtime"
)

// params lists, per op, the inputs the official tests feed as graph inputs
// that a real model stores as initializers; the sweep freezes them with the
// test's values so that the graph imports (mnconv's ir is static).
var params = map[string][]int{
	"Conv": {1, 2}, "BatchNormalization": {1, 2, 3, 4}, "Gemm": {1, 2}, "Reshape": {1},
	"Squeeze": {1}, "Unsqueeze": {1}, "Pad": {1, 2, 3}, "Clip": {1, 2},
	"QuantizeLinear": {1, 2}, "DequantizeLinear": {1, 2},
	"QLinearConv": {1, 2, 3, 4, 5, 6, 7, 8}, "QLinearMatMul": {1, 2, 3, 4, 5, 6, 7},
}

// importOfficial imports one official ONNX test model with its parameter
// inputs frozen; ok is false when mnconv does not import it.
func importOfficial(t *testing.T, dir string) (g *ir.Graph, ok bool) {
	data, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	m := &pb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		t.Fatal(err)
	}
	gp := m.GetGraph()
	index := map[string]int{}
	for i, v := range gp.GetInput() {
		index[v.GetName()] = i
	}
	frozen := map[string]bool{}
	for _, n := range gp.GetNode() {
		for _, i := range params[n.GetOpType()] {
			if i >= len(n.Input) || frozen[n.Input[i]] {
				continue
			}
			k, isInput := index[n.Input[i]]
			if !isInput {
				continue
			}
			raw, err := os.ReadFile(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", k)))
			if err != nil {
				return nil, false
			}
			tp := &pb.TensorProto{}
			if err := proto.Unmarshal(raw, tp); err != nil {
				t.Fatal(err)
			}
			tp.Name = proto.String(n.Input[i])
			gp.Initializer = append(gp.Initializer, tp)
			frozen[n.Input[i]] = true
		}
	}
	var inputs []*pb.ValueInfoProto
	for _, v := range gp.GetInput() {
		if !frozen[v.GetName()] {
			inputs = append(inputs, v)
		}
	}
	gp.Input = inputs
	if data, err = proto.Marshal(m); err != nil {
		t.Fatal(err)
	}
	g, err = onnximp.Import(dir, data, importers.Options{})
	return g, err == nil
}

// sweepInput makes a deterministic input of t's dtype and shape.
func sweepInput(t *ir.Tensor, salt int) *runtime.Tensor {
	x := runtime.NewTensor(t.DType, t.Shape)
	for i := range x.Len() {
		v := math.Sin(float64(i+salt) * 0.61)
		switch t.DType {
		case ir.Float32:
			x.F32[i] = float32(v * 3)
		case ir.Int8:
			x.I8[i] = int8(v * 100)
		case ir.Uint8:
			x.U8[i] = uint8(128 + v*100)
		case ir.Int32:
			x.I32[i] = int32(v * 1000)
		case ir.Int64:
			x.I64[i] = int64(v * 1000)
		}
	}
	return x
}

// TestOfficialOpModels: every official ONNX operator test model that mnconv
// imports exports, reads back, and (where our runtime runs it) computes the
// same outputs as the graph it came from, to one quantum for quantized
// outputs. With MNCONV_EXPORT_SWEEP_ORT=1, ONNX Runtime also loads and
// runs every exported file (slow: one process per model).
func TestOfficialOpModels(t *testing.T) {
	root := testutil.Shared(t, "onnx-tests")
	withORT := os.Getenv("MNCONV_EXPORT_SWEEP_ORT") == "1"
	if withORT {
		refrt.Need(t, refrt.ONNX)
	}
	imported, ran := 0, 0
	for _, sub := range []string{"node", "pytorch-converted"} {
		ents, err := os.ReadDir(filepath.Join(root, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			dir := filepath.Join(root, sub, e.Name())
			g, ok := importOfficial(t, dir)
			if !ok {
				continue
			}
			imported++
			b, err := Export(g, exporters.Options{})
			if err != nil {
				// What ONNX at opset 13/14 cannot say is a clean error.
				if strings.Contains(err.Error(), "internal error") {
					t.Errorf("%s: %v", e.Name(), err)
				}
				t.Logf("%s: not exported: %v", e.Name(), err)
				continue
			}
			g2, err := onnximp.Import("exported.onnx", b, importers.Options{})
			if err != nil {
				t.Errorf("%s: the export does not import: %v", e.Name(), err)
				continue
			}
			var ins []*runtime.Tensor
			for i, in := range g.Inputs {
				ins = append(ins, sweepInput(in, i*101))
			}
			want, err := runInputs(g, ins)
			if err != nil {
				continue // the runtime does not run this one; nothing to compare
			}
			foldConstDequantize(t, g2)
			got, err := runInputs(g2, ins)
			if err != nil {
				t.Errorf("%s: the original runs, the export read back does not: %v", e.Name(), err)
				continue
			}
			ran++
			for k, o := range g.Outputs {
				tol := 1e-5
				if o.Quant != nil {
					tol = 1.01 * float64(slices.Max(o.Quant.Scale))
				}
				for i := range want[k] {
					w, v := float64(want[k][i]), float64(got[k][i])
					if math.Abs(w-v) > tol*(1+math.Abs(w)) && !(math.IsNaN(w) && math.IsNaN(v)) {
						t.Errorf("%s: output %d element %d is %v after the round trip, %v before", e.Name(), k, i, v, w)
						break
					}
				}
			}
			if withORT {
				var feeds []refrt.Input
				m := decode(t, b)
				for i, x := range ins {
					shape := inputShape(m, i)
					data := refrt.Input{DType: x.DType, Shape: x.Shape}
					switch x.DType {
					case ir.Float32:
						v := x.F32
						if !slices.Equal(shape, x.Shape) {
							v = nhwcToNCHW(v, x.Shape[1], x.Shape[2], x.Shape[3])
						}
						data = refrt.F32(shape, v)
					case ir.Int8:
						v := x.I8
						if !slices.Equal(shape, x.Shape) {
							v = nhwcToNCHW(v, x.Shape[1], x.Shape[2], x.Shape[3])
						}
						data = refrt.I8(shape, v)
					case ir.Uint8:
						v := x.U8
						if !slices.Equal(shape, x.Shape) {
							v = nhwcToNCHW(v, x.Shape[1], x.Shape[2], x.Shape[3])
						}
						data = refrt.U8(shape, v)
					case ir.Int32:
						v := x.I32
						if !slices.Equal(shape, x.Shape) {
							v = nhwcToNCHW(v, x.Shape[1], x.Shape[2], x.Shape[3])
						}
						data = refrt.Input{DType: ir.Int32, Shape: shape, Data: make([]byte, 4*len(v))}
						for j, k := range v {
							binary.LittleEndian.PutUint32(data.Data[4*j:], uint32(k))
						}
					default:
						continue
					}
					feeds = append(feeds, data)
				}
				r, err := refrt.Run(refrt.ONNX, writeTemp(t, "op.onnx", b), [][]refrt.Input{feeds}, refrt.Options{Threads: 1})
				if err != nil {
					t.Errorf("%s: ONNX Runtime: %v", e.Name(), err)
					continue
				}
				for k, o := range g.Outputs {
					v := r.Values[0][k]
					if o.Rank() == 4 && k < len(g.OutputLayouts) && g.OutputLayouts[k] == ir.NCHW {
						v = nchwToNHWC(v, o.Shape[1], o.Shape[2], o.Shape[3])
					}
					tol := 1e-4
					if q := o.Quant; q != nil {
						v = dequantizeRaw(v, o)
						tol = 1.01 * float64(slices.Max(q.Scale))
					}
					for i := range want[k] {
						w, x := float64(want[k][i]), float64(v[i])
						if math.Abs(w-x) > tol*(1+math.Abs(w)) && !(math.IsNaN(w) && math.IsNaN(x)) {
							t.Errorf("%s: output %d element %d is %v in ONNX Runtime, %v in ours", e.Name(), k, i, x, w)
							break
						}
					}
				}
			}
		}
	}
	t.Logf("official op models: %d imported, all exported and read back; %d run by our runtime and compared", imported, ran)
}

// runInputs runs g on inputs, recovering from a kernel panic.
func runInputs(g *ir.Graph, ins []*runtime.Tensor) (outs [][]float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("runtime panic: %v", r)
		}
	}()
	it, err := runtime.New(g)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for i, x := range ins {
		if err := it.SetInput(i, x); err != nil {
			return nil, err
		}
	}
	if err := it.Run(); err != nil {
		return nil, err
	}
	for k, o := range g.Outputs {
		outs = append(outs, append([]float32(nil), it.Output(k).Dequantized(o.Quant)...))
	}
	return outs, nil
}
