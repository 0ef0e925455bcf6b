package onnx

import (
	"slices"
	"testing"

	"github.com/mnconv/mnconv/exporters"
	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/ir"
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
