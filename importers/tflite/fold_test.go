package tflite

import (
	"slices"
	"strings"
	"testing"

	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/format/tflite/tflitetest"
	"github.com/mnconv/mnconv/importers"
)

// TestSliceSpec: strided slices as TF resolves them (numpy's x[b:e:s] with
// masks for the left-out bounds, shrink for x[i]).
func TestSliceSpec(t *testing.T) {
	for _, c := range []struct {
		name                  string
		in                    []int
		sl                    sliceSpec
		starts, steps, walked []int
		out                   []int
		err                   string
	}{
		{"x[1:4]", []int{5}, sliceSpec{begin: []int{1}, end: []int{4}, strides: []int{1}}, []int{1}, []int{1}, []int{3}, []int{3}, ""},
		{"x[1:-1:2]", []int{6}, sliceSpec{begin: []int{1}, end: []int{-1}, strides: []int{2}}, []int{1}, []int{2}, []int{2}, []int{2}, ""},
		{"x[::-1]", []int{4}, sliceSpec{begin: []int{0}, end: []int{0}, strides: []int{-1}, beginMask: 1, endMask: 1}, []int{3}, []int{-1}, []int{4}, []int{4}, ""},
		{"x[3:0:-2]", []int{5}, sliceSpec{begin: []int{3}, end: []int{0}, strides: []int{-2}}, []int{3}, []int{-2}, []int{2}, []int{2}, ""},
		{"x[-1] (shrink)", []int{4}, sliceSpec{begin: []int{-1}, end: []int{0}, strides: []int{1}, shrinkMask: 1}, []int{3}, []int{1}, []int{1}, []int{}, ""},
		{"shape[0:1] shrunk, as the ST SSD's batch", []int{4}, sliceSpec{begin: []int{0}, end: []int{1}, strides: []int{1}, shrinkMask: 1}, []int{0}, []int{1}, []int{1}, []int{}, ""},
		{"x[1:], axes past the spec whole", []int{3, 2}, sliceSpec{begin: []int{1}, end: []int{0}, strides: []int{1}, endMask: 1}, []int{1, 0}, []int{1, 1}, []int{2, 2}, []int{2, 2}, ""},
		{"clamped x[-9:99]", []int{3}, sliceSpec{begin: []int{-9}, end: []int{99}, strides: []int{1}}, []int{0}, []int{1}, []int{3}, []int{3}, ""},
		{"empty x[2:1]", []int{3}, sliceSpec{begin: []int{2}, end: []int{1}, strides: []int{1}}, []int{2}, []int{1}, []int{0}, []int{0}, ""},
		{"offset x[1:1+2]", []int{5}, sliceSpec{begin: []int{1}, end: []int{2}, strides: []int{1}, offset: true}, []int{1}, []int{1}, []int{2}, []int{2}, ""},
		{"stride 0", []int{3}, sliceSpec{begin: []int{0}, end: []int{1}, strides: []int{0}}, nil, nil, nil, nil, "stride of axis 0 is 0"},
		{"shrink outside", []int{3}, sliceSpec{begin: []int{3}, end: []int{4}, strides: []int{1}, shrinkMask: 1}, nil, nil, nil, nil, "index 3 is outside [0, 3)"},
		{"too many entries", []int{3}, sliceSpec{begin: []int{0, 0}, end: []int{1, 1}, strides: []int{1, 1}}, nil, nil, nil, nil, "one entry per axis"},
	} {
		starts, steps, walked, out, err := c.sl.resolve(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(starts, c.starts) || !slices.Equal(steps, c.steps) || !slices.Equal(walked, c.walked) || !slices.Equal(out, c.out) {
			t.Errorf("%s: starts %v steps %v walked %v out %v (%v), want %v %v %v %v", c.name, starts, steps, walked, out, err, c.starts, c.steps, c.walked, c.out)
		}
	}
}

// shapeOpsModel is the ST SSD's pattern on a small graph: a Keras
// Reshape(-1, 12) written as SHAPE -> STRIDED_SLICE (the batch) -> PACK ->
// RESHAPE, constant anchors tiled by the batch (PACK -> TILE -> RESHAPE),
// and a PACK of int8 constants on axis 1.
func shapeOpsModel() *tflitetest.Model {
	i32, i8 := fb.TensorTypeINT32, fb.TensorTypeINT8
	q := []float32{0.5}
	return &tflitetest.Model{
		Tensors: []tflitetest.Tensor{
			0:  {Name: "x", Type: fb.TensorTypeFLOAT32, Shape: []int32{2, 3, 4}},
			1:  {Name: "shape", Type: i32, Shape: []int32{3}},
			2:  {Name: "zero", Type: i32, Shape: []int32{1}, Data: tflitetest.I32(0)},
			3:  {Name: "one1", Type: i32, Shape: []int32{1}, Data: tflitetest.I32(1)},
			4:  {Name: "batch", Type: i32, Shape: []int32{}},
			5:  {Name: "twelve", Type: i32, Shape: []int32{}, Data: tflitetest.I32(12)},
			6:  {Name: "target", Type: i32, Shape: []int32{2}},
			7:  {Name: "y", Type: fb.TensorTypeFLOAT32, Shape: []int32{2, 12}},
			8:  {Name: "anchors", Type: i8, Shape: []int32{1, 2, 2}, Data: []byte{1, 2, 3, 4}, Scale: q, ZP: []int64{0}},
			9:  {Name: "one", Type: i32, Shape: []int32{}, Data: tflitetest.I32(1)},
			10: {Name: "multiples", Type: i32, Shape: []int32{3}},
			11: {Name: "tiled", Type: i8, Shape: []int32{2, 2, 2}, Scale: q, ZP: []int64{0}},
			12: {Name: "flat8", Type: i32, Shape: []int32{2}, Data: tflitetest.I32(4, 2)},
			13: {Name: "z", Type: i8, Shape: []int32{4, 2}, Scale: q, ZP: []int64{0}},
			14: {Name: "a", Type: i8, Shape: []int32{2}, Data: []byte{1, 2}, Scale: q, ZP: []int64{0}},
			15: {Name: "b", Type: i8, Shape: []int32{2}, Data: []byte{3, 4}, Scale: q, ZP: []int64{0}},
			16: {Name: "ab", Type: i8, Shape: []int32{2, 2}, Scale: q, ZP: []int64{0}},
			17: {Name: "flat4", Type: i32, Shape: []int32{1}, Data: tflitetest.I32(4)},
			18: {Name: "w", Type: i8, Shape: []int32{4}, Scale: q, ZP: []int64{0}},
		},
		Inputs:  []int32{0},
		Outputs: []int32{7, 13, 18},
		Ops: []tflitetest.Op{
			{Code: fb.BuiltinOperatorSHAPE, Inputs: []int32{0}, Outputs: []int32{1}, OptType: fb.BuiltinOptionsShapeOptions, Opts: tflitetest.Shape(fb.TensorTypeINT32)},
			{Code: fb.BuiltinOperatorSTRIDED_SLICE, Inputs: []int32{1, 2, 3, 3}, Outputs: []int32{4},
				OptType: fb.BuiltinOptionsStridedSliceOptions, Opts: tflitetest.StridedSlice(0, 0, 0, 0, 1, false)},
			{Code: fb.BuiltinOperatorPACK, Inputs: []int32{4, 5}, Outputs: []int32{6}, OptType: fb.BuiltinOptionsPackOptions, Opts: tflitetest.Pack(2, 0)},
			{Code: fb.BuiltinOperatorRESHAPE, Inputs: []int32{0, 6}, Outputs: []int32{7}},
			{Code: fb.BuiltinOperatorPACK, Inputs: []int32{4, 9, 9}, Outputs: []int32{10}, OptType: fb.BuiltinOptionsPackOptions, Opts: tflitetest.Pack(3, 0)},
			{Code: fb.BuiltinOperatorTILE, Inputs: []int32{8, 10}, Outputs: []int32{11}},
			{Code: fb.BuiltinOperatorRESHAPE, Inputs: []int32{11, 12}, Outputs: []int32{13}},
			{Code: fb.BuiltinOperatorPACK, Inputs: []int32{14, 15}, Outputs: []int32{16}, OptType: fb.BuiltinOptionsPackOptions, Opts: tflitetest.Pack(2, 1)},
			{Code: fb.BuiltinOperatorRESHAPE, Inputs: []int32{16, 17}, Outputs: []int32{18}},
		},
	}
}

// TestFoldShapeOps: the shape computations become constants and only the
// three RESHAPEs remain, with static targets; the tiled anchors and the
// stacked pair hold the values TF computes.
func TestFoldShapeOps(t *testing.T) {
	g, err := Import("shapes.tflite", shapeOpsModel().Build(), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, n := range g.Nodes {
		ops = append(ops, n.Op.String()+" "+n.Out().Name)
	}
	if got := strings.Join(ops, ", "); got != "Reshape y, Reshape z, Reshape w" {
		t.Fatalf("nodes %s", got)
	}
	y, z, w := g.Nodes[0], g.Nodes[1], g.Nodes[2]
	if !slices.Equal(y.Out().Shape, []int{2, 12}) {
		t.Errorf("y %v", y.Out().Shape)
	}
	tiled := z.In(0)
	if !tiled.IsConst() || !slices.Equal(tiled.Shape, []int{2, 2, 2}) || !slices.Equal(tiled.Data.I8, []int8{1, 2, 3, 4, 1, 2, 3, 4}) || tiled.Quant.S(0) != 0.5 {
		t.Errorf("tiled %v %+v", tiled.Shape, tiled.Data)
	}
	if ab := w.In(0); !ab.IsConst() || !slices.Equal(ab.Shape, []int{2, 2}) || !slices.Equal(ab.Data.I8, []int8{1, 3, 2, 4}) {
		t.Errorf("PACK on axis 1 %v %+v", ab.Shape, ab.Data)
	}
	if err := g.Validate(); err != nil {
		t.Error(err)
	}
}

// TestFoldRefusesRunTimeData: the folded builtins have no kernels; on data
// computed at run time they fail naming the operator (a lenient import
// keeps them opaque), and a TILE may not grow past the import's limits.
func TestFoldRefusesRunTimeData(t *testing.T) {
	m := shapeOpsModel()
	m.Ops[5].Inputs[0] = 0 // TILE(x, multiples)
	m.Tensors[11].Type, m.Tensors[11].Shape, m.Tensors[11].Scale = fb.TensorTypeFLOAT32, []int32{4, 3, 4}, nil
	m.Tensors[13].Type, m.Tensors[13].Shape, m.Tensors[13].Scale = fb.TensorTypeFLOAT32, []int32{24, 2}, nil
	m.Tensors[12].Data = tflitetest.I32(24, 2)
	want := `operator 5 "tiled" (TILE): input 0 ("x") is computed at run time; TILE is supported on constants only`
	if _, err := Import("shapes.tflite", m.Build(), importers.Options{}); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("TILE of an input: %v, want %q", err, want)
	}
	g, err := Import("shapes.tflite", m.Build(), importers.Options{Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	if ops := g.OpaqueOps(); len(ops) != 1 || ops[0].Op != "TILE" || ops[0].Count != 1 {
		t.Errorf("lenient: %v", ops)
	}

	m = shapeOpsModel()
	m.Tensors[9].Data = tflitetest.I32(1 << 20)
	if _, err := Import("shapes.tflite", m.Build(), importers.Options{}); err == nil || !strings.Contains(err.Error(), "(TILE): output shape") {
		t.Errorf("huge TILE: %v", err)
	}
	m = shapeOpsModel()
	m.Ops[1].Opts = tflitetest.StridedSlice(0, 0, 1, 0, 1, false)
	if _, err := Import("shapes.tflite", m.Build(), importers.Options{}); err == nil || !strings.Contains(err.Error(), "ellipsis_mask 1 and new_axis_mask 0 are not supported") {
		t.Errorf("ellipsis: %v", err)
	}
	m = shapeOpsModel()
	m.Ops[2].Opts = tflitetest.Pack(3, 0)
	if _, err := Import("shapes.tflite", m.Build(), importers.Options{}); err == nil || !strings.Contains(err.Error(), "values_count 3, but 2 inputs") {
		t.Errorf("values_count: %v", err)
	}
	m = shapeOpsModel()
	m.Tensors[6].Shape = []int32{3}
	if _, err := Import("shapes.tflite", m.Build(), importers.Options{}); err == nil || !strings.Contains(err.Error(), `output "target" is declared [3], the operator gives [2]`) {
		t.Errorf("declared shape: %v", err)
	}
}
