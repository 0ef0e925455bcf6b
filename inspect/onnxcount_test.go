package inspect

import (
	"encoding/binary"
	"fmt"
	"os"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/internal/testutil"
)

// onnxCount counts MACs and params of an ONNX file straight from its
// protobuf, in the file's own NCHW shapes, without the importer or the IR:
// an independent check of Analyze. It propagates shapes itself through the
// ops a float MobileNet export uses and fails on any other op. other counts
// the initializers read by BatchNormalization and elementwise ops (Pad's pads
// and Reshape's target shape are attributes, not data, in the IR).
func onnxCount(path string) (macs, params, other int64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, err
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		return 0, 0, 0, err
	}
	g := m.GetGraph()
	shapes := map[string][]int64{}
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = t
		shapes[t.GetName()] = t.GetDims()
	}
	for _, vi := range g.GetInput() {
		if _, ok := inits[vi.GetName()]; ok {
			continue
		}
		var s []int64
		for _, d := range vi.GetType().GetTensorType().GetShape().GetDim() {
			v := d.GetDimValue()
			if v <= 0 {
				v = 1 // symbolic batch
			}
			s = append(s, v)
		}
		shapes[vi.GetName()] = s
	}
	counted := map[string]bool{}
	countParam := func(name string) {
		if t, ok := inits[name]; ok && !counted[name] {
			counted[name] = true
			params += prod(t.GetDims())
		}
	}
	countOther := func(name string) {
		if t, ok := inits[name]; ok && !counted[name] {
			counted[name] = true
			other += prod(t.GetDims())
		}
	}
	for _, n := range g.GetNode() {
		in := func(i int) []int64 { return shapes[n.GetInput()[i]] }
		attrs := map[string]*onnxpb.AttributeProto{}
		for _, a := range n.GetAttribute() {
			attrs[a.GetName()] = a
		}
		ints := func(name string, def ...int64) []int64 {
			if a, ok := attrs[name]; ok {
				return a.GetInts()
			}
			return def
		}
		var out []int64
		switch op := n.GetOpType(); op {
		case "Conv":
			x, w := in(0), in(1)
			group := int64(1)
			if a, ok := attrs["group"]; ok {
				group = a.GetI()
			}
			if ap, ok := attrs["auto_pad"]; ok && string(ap.GetS()) != "NOTSET" {
				return 0, 0, 0, fmt.Errorf("node %s: auto_pad %s not handled by the test", n.GetName(), ap.GetS())
			}
			pads := ints("pads", 0, 0, 0, 0)
			strides := ints("strides", 1, 1)
			dil := ints("dilations", 1, 1)
			out = []int64{x[0], w[0], 0, 0}
			for i := range 2 {
				span := dil[i]*(w[2+i]-1) + 1
				out[2+i] = (x[2+i]+pads[i]+pads[2+i]-span)/strides[i] + 1
			}
			if x[1] != w[1]*group {
				return 0, 0, 0, fmt.Errorf("node %s: %d input channels, weight %v group %d", n.GetName(), x[1], w, group)
			}
			// Each output element reads Cin/group x KH x KW inputs: weight
			// dims 1..3 in OIHW.
			macs += prod(out) * w[1] * w[2] * w[3]
			for _, name := range n.GetInput()[1:] {
				countParam(name)
			}
		case "MatMul":
			a, w := in(0), in(1)
			out = append(append([]int64{}, a[:len(a)-1]...), w[len(w)-1])
			macs += prod(out) * a[len(a)-1]
			countParam(n.GetInput()[1])
		case "Gemm":
			a, w := in(0), in(1)
			ta, tb := false, false
			if v, ok := attrs["transA"]; ok {
				ta = v.GetI() != 0
			}
			if v, ok := attrs["transB"]; ok {
				tb = v.GetI() != 0
			}
			mm, k, nn := a[0], a[1], w[1]
			if ta {
				mm, k = k, mm
			}
			if tb {
				nn = w[0]
			}
			out = []int64{mm, nn}
			macs += mm * k * nn
			for _, name := range n.GetInput()[1:] {
				countParam(name)
			}
		case "Pad":
			x := in(0)
			pads := ints("pads")
			if len(n.GetInput()) > 1 {
				t, ok := inits[n.GetInput()[1]]
				if !ok {
					return 0, 0, 0, fmt.Errorf("node %s: pads are not an initializer", n.GetName())
				}
				pads = int64s(t)
			}
			out = make([]int64, len(x))
			for i := range x {
				out[i] = x[i] + pads[i] + pads[len(x)+i]
			}
		case "AveragePool", "MaxPool":
			x := in(0)
			k := ints("kernel_shape")
			pads := ints("pads", 0, 0, 0, 0)
			strides := ints("strides", 1, 1)
			out = []int64{x[0], x[1], 0, 0}
			for i := range 2 {
				out[2+i] = (x[2+i]+pads[i]+pads[2+i]-k[i])/strides[i] + 1
			}
		case "GlobalAveragePool":
			x := in(0)
			out = []int64{x[0], x[1], 1, 1}
		case "Reshape":
			x := in(0)
			t, ok := inits[n.GetInput()[1]]
			if !ok {
				return 0, 0, 0, fmt.Errorf("node %s: target shape is not an initializer", n.GetName())
			}
			out = int64s(t)
			known, neg := int64(1), -1
			for i, d := range out {
				switch {
				case d == 0:
					out[i] = x[i]
					known *= x[i]
				case d < 0:
					neg = i
				default:
					known *= d
				}
			}
			if neg >= 0 {
				out[neg] = prod(x) / known
			}
		case "Flatten":
			x := in(0)
			out = []int64{x[0], prod(x[1:])}
		case "BatchNormalization":
			out = in(0)
			for _, name := range n.GetInput()[1:] {
				countOther(name)
			}
		case "Clip", "Relu", "Softmax", "Identity", "Sigmoid", "HardSwish":
			out = in(0)
		case "Add", "Mul", "Sub", "Div":
			countOther(n.GetInput()[0])
			countOther(n.GetInput()[1])
			a, b := in(0), in(1)
			out = a
			if len(b) > len(a) {
				out = b
			}
		default:
			return 0, 0, 0, fmt.Errorf("node %s: op %s not handled by the test's counter", n.GetName(), op)
		}
		for _, o := range n.GetOutput() {
			shapes[o] = out
		}
	}
	return macs, params, other, nil
}

func prod(s []int64) int64 {
	p := int64(1)
	for _, d := range s {
		p *= d
	}
	return p
}

// int64s reads an INT64 initializer (raw or typed storage).
func int64s(t *onnxpb.TensorProto) []int64 {
	if raw := t.GetRawData(); len(raw) > 0 {
		v := make([]int64, len(raw)/8)
		for i := range v {
			v[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		return v
	}
	return append([]int64(nil), t.GetInt64Data()...)
}

// TestONNXCounter pins the independent count itself, so that a change in it
// shows up apart from a change in Analyze.
func TestONNXCounter(t *testing.T) {
	path := testutil.Shared(t, "models/onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx")
	macs, params, other, err := onnxCount(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("independent count from the ONNX protobuf: %d MACs, %d params, %d other params", macs, params, other)
	if macs <= 0 || params <= 0 {
		t.Fatalf("counted %d MACs and %d params", macs, params)
	}
}
