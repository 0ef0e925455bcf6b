package onnx

import (
	"slices"
	"testing"

	"github.com/mnconv/mnconv/exporters"
	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/refrt"
)

// TestFileQOperator: in QOperator form a Conv whose ReLU the output range
// implies (zero point at int8's minimum) is one QLinearConv with its
// per-channel weight scales; a Conv whose ReLU6 the range does not imply
// stays DequantizeLinear -> Conv -> Clip -> QuantizeLinear; an Add of the
// two is com.microsoft QLinearAdd, imported at version 1; a MaxPool keeping
// its quantization runs on the integers. The file reads back to the same
// graph shape, and the default (QDQ) form has no QLinear op.
func TestFileQOperator(t *testing.T) {
	b, x := newGB(ir.Int8, 1, 4, 4, 2)
	x.Quant = &ir.Quant{Scale: []float32{0.05}, ZeroPoint: []int64{-3}}
	ws := []float32{0.01, 0.02, 0.03}
	conv := func(act ir.Activation, name string) *ir.Tensor {
		y := b.node(ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1, Act: act}, x, quantWeight(name+"_w", []int{3, 1, 1, 2}, ws), quantBias(name+"_b", 0.05, ws))
		y.DType, y.Quant = ir.Int8, &ir.Quant{Scale: []float32{0.1}, ZeroPoint: []int64{-128}}
		return y
	}
	folded, kept := conv(ir.ActRelu, "relu"), conv(ir.ActRelu6, "relu6")
	sum := b.node(ir.OpAdd, &ir.BinaryAttrs{}, folded, kept)
	sum.DType, sum.Quant = ir.Int8, &ir.Quant{Scale: []float32{0.2}, ZeroPoint: []int64{-100}}
	pool := b.node(ir.OpMaxPool, &ir.PoolAttrs{Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}, Dilations: [2]int{1, 1}}, sum)
	pool.DType, pool.Quant = ir.Int8, sum.Quant.Clone()
	g := b.finish(t, pool)

	if !actFolds(ir.ActRelu, folded) || actFolds(ir.ActRelu6, kept) {
		t.Fatalf("actFolds: ReLU at zero point -128 folds, ReLU6 up to 6/0.1 = 60 quanta does not")
	}
	data, err := Export(g, exporters.Options{QOperator: true})
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, data)
	ops := opCounts(m)
	for op, want := range map[string]int{"QLinearConv": 1, "Conv": 1, "Clip": 1, "QLinearAdd": 1, "MaxPool": 1, "Relu": 0} {
		if ops[op] != want {
			t.Errorf("%d %s, want %d (ops %v)", ops[op], op, want, ops)
		}
	}
	var ms bool
	for _, o := range m.GetOpsetImport() {
		ms = ms || o.GetDomain() == msDomain && o.GetVersion() == msOpset
	}
	if !ms {
		t.Errorf("opset imports %v lack %s version %d", m.GetOpsetImport(), msDomain, msOpset)
	}
	qc := find(m, "QLinearConv")[0]
	if len(qc.GetInput()) != 9 {
		t.Fatalf("QLinearConv has %d inputs, want 9", len(qc.GetInput()))
	}
	if w := initializer(m, qc.GetInput()[3]); pb.TensorProto_DataType(w.GetDataType()) != pb.TensorProto_INT8 || !slices.Equal(w.GetDims(), []int64{3, 2, 1, 1}) {
		t.Errorf("QLinearConv weight %v %v, want int8 [3 2 1 1]", w.GetDataType(), w.GetDims())
	}
	if s := initializer(m, qc.GetInput()[4]); !slices.Equal(s.GetDims(), []int64{3}) {
		t.Errorf("QLinearConv weight scale dims %v, want [3]", s.GetDims())
	}
	if a := find(m, "QLinearAdd")[0]; a.GetDomain() != msDomain {
		t.Errorf("QLinearAdd in domain %q", a.GetDomain())
	}
	if p := find(m, "MaxPool")[0]; p.GetInput()[0] != find(m, "QLinearAdd")[0].GetOutput()[0] {
		t.Errorf("MaxPool reads %q, not QLinearAdd's integers", p.GetInput()[0])
	}
	back := reimport(t, data)
	if len(back.Nodes) == 0 {
		t.Fatal("nothing read back")
	}
	qdq, _ := export(t, g, "")
	if k := opCounts(decode(t, qdq))["QLinearConv"]; k != 0 {
		t.Errorf("the default form has %d QLinearConv", k)
	}
}

// TestQOperatorElementwise: Sigmoid, a Mul of two quantized images and a
// Softmax become com.microsoft QLinearSigmoid, QLinearMul and
// QLinearSoftmax; the file reads back into the same ops on quantized
// tensors, and ONNX Runtime gives what it gives for the QDQ form within one
// quantum of the output.
func TestQOperatorElementwise(t *testing.T) {
	b, x := newGB(ir.Int8, 1, 2, 2, 3)
	x.Quant = &ir.Quant{Scale: []float32{0.05}, ZeroPoint: []int64{-3}}
	sig := b.node(ir.OpSigmoid, nil, x)
	sig.DType, sig.Quant = ir.Int8, &ir.Quant{Scale: []float32{1.0 / 256}, ZeroPoint: []int64{-128}}
	mul := b.node(ir.OpMul, &ir.BinaryAttrs{}, sig, x)
	mul.DType, mul.Quant = ir.Int8, &ir.Quant{Scale: []float32{0.03}, ZeroPoint: []int64{5}}
	flat := b.nodeShaped(ir.OpReshape, nil, []int{1, 12}, mul)
	flat.DType, flat.Quant = ir.Int8, mul.Quant.Clone()
	soft := b.node(ir.OpSoftmax, &ir.SoftmaxAttrs{Axis: 1, Beta: 1}, flat)
	soft.DType, soft.Quant = ir.Int8, &ir.Quant{Scale: []float32{1.0 / 256}, ZeroPoint: []int64{-128}}
	g := b.finish(t, soft)
	data, err := Export(g, exporters.Options{QOperator: true})
	if err != nil {
		t.Fatal(err)
	}
	ops := opCounts(decode(t, data))
	for _, op := range []string{"QLinearSigmoid", "QLinearMul", "QLinearSoftmax"} {
		if ops[op] != 1 {
			t.Errorf("%d %s (ops %v)", ops[op], op, ops)
		}
	}
	for op := range ops {
		if op == "Sigmoid" || op == "Mul" || op == "Softmax" || op == "DequantizeLinear" {
			t.Errorf("a float %s is left (ops %v)", op, ops)
		}
	}
	back := reimport(t, data)
	var got []ir.Op
	for _, n := range back.Nodes {
		if n.Out().Quant == nil {
			t.Errorf("node %q (%v) reads back unquantized", n.Name, n.Op)
		}
		got = append(got, n.Op)
	}
	for _, op := range []ir.Op{ir.OpSigmoid, ir.OpMul, ir.OpSoftmax} {
		if !slices.Contains(got, op) {
			t.Errorf("read back without %v: %v", op, got)
		}
	}
	refrt.Need(t, refrt.ONNX)
	in := make([]int8, 12)
	for i := range in {
		in[i] = int8(i*23%200 - 100)
	}
	qdq, _ := export(t, g, "")
	feed := []refrt.Input{refrt.I8([]int{1, 2, 2, 3}, in)} // NHWC, as the source
	want := ortRun(t, writeTemp(t, "qdq.onnx", qdq), feed)[0]
	have := ortRun(t, writeTemp(t, "qop.onnx", data), feed)[0]
	for i := range want {
		if d := want[i] - have[i]; d > 1 || d < -1 {
			t.Errorf("output %d: %v in QOperator form, %v in QDQ form", i, have[i], want[i])
		}
	}
}
