package onnx

import (
	"slices"
	"testing"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/format/onnx/onnxtest"
	"github.com/mnconv/mnconv/ir"
)

// ArgMax on an NCHW image: every axis, with and without keepdims, gives
// ONNX's indices in ONNX's layout; a Transpose appears only where dropping
// the axis would leave the stored order different from ONNX's.
func TestArgMaxOnImages(t *testing.T) {
	x := ramp(2, 3, 2, 2)
	for i := 0; i < len(x.Data.F32); i += 5 {
		x.Data.F32[i] = 1.5 // ties
	}
	dims := []int{2, 3, 2, 2}
	// ref is ONNX's ArgMax over the NCHW data, the first index on ties
	// (the last with last).
	ref := func(axis int, last bool) []int64 {
		stride := 1
		for _, d := range dims[axis+1:] {
			stride *= d
		}
		var out []int64
		for i := range x.Data.F32 {
			if (i/stride)%dims[axis] != 0 {
				continue
			}
			best, idx := x.Data.F32[i], 0
			for j := 1; j < dims[axis]; j++ {
				v := x.Data.F32[i+j*stride]
				if v > best || (last && v == best) {
					best, idx = v, j
				}
			}
			out = append(out, int64(idx))
		}
		return out
	}
	for axis := -1; axis < 4; axis++ {
		for _, keep := range []int64{0, 1} {
			for _, last := range []int64{0, 1} {
				ax := (axis + 4) % 4
				shape := slices.Clone(dims)
				if keep == 1 {
					shape[ax] = 1
				} else {
					shape = slices.Delete(shape, ax, ax+1)
				}
				s64 := make([]int64, len(shape))
				for i, d := range shape {
					s64[i] = int64(d)
				}
				m := onnxtest.Model(13, &pb.GraphProto{
					Node:   []*pb.NodeProto{onnxtest.Node("ArgMax", []string{"x"}, []string{"y"}, onnxtest.AttrInt("axis", int64(axis)), onnxtest.AttrInt("keepdims", keep), onnxtest.AttrInt("select_last_index", last))},
					Input:  []*pb.ValueInfoProto{onnxtest.FloatValue("x", 2, 3, 2, 2)},
					Output: []*pb.ValueInfoProto{onnxtest.Value("y", pb.TensorProto_INT64, s64...)},
				})
				g := importModel(t, m)
				if err := g.Validate(); err != nil {
					t.Fatal(err)
				}
				wantTrans := 0
				if keep == 0 && ax != 1 {
					wantTrans = 1
				}
				if n := opCount(g, ir.OpTranspose); n != wantTrans {
					t.Errorf("axis %d keepdims %d: %d Transpose nodes, want %d", axis, keep, n, wantTrans)
				}
				got := runModel(t, g, x)[0]
				if want := ref(ax, last != 0); got.DType != ir.Int64 || !slices.Equal(got.Shape, shape) || !slices.Equal(got.Data.I64, want) {
					t.Errorf("axis %d keepdims %d select_last_index %d: got %v %v %v, want int64%v %v", axis, keep, last, got.DType, got.Shape, got.Data.I64, shape, want)
				}
			}
		}
	}
}

// The examples of ONNX's ArgMax documentation on a plain (rank-2) tensor.
func TestArgMaxExamples(t *testing.T) {
	data := &ir.Tensor{DType: ir.Float32, Shape: []int{2, 2}, Data: &ir.Data{F32: []float32{2, 2, 3, 10}}}
	for _, c := range []struct {
		attrs []*pb.AttributeProto
		shape []int64
		want  []int64
	}{
		{nil, []int64{1, 2}, []int64{1, 1}},
		{[]*pb.AttributeProto{onnxtest.AttrInt("axis", 1)}, []int64{2, 1}, []int64{0, 1}},
		{[]*pb.AttributeProto{onnxtest.AttrInt("axis", 1), onnxtest.AttrInt("select_last_index", 1)}, []int64{2, 1}, []int64{1, 1}},
		{[]*pb.AttributeProto{onnxtest.AttrInt("axis", -1), onnxtest.AttrInt("keepdims", 0)}, []int64{2}, []int64{0, 1}},
	} {
		m := onnxtest.Model(13, &pb.GraphProto{
			Node:   []*pb.NodeProto{onnxtest.Node("ArgMax", []string{"x"}, []string{"y"}, c.attrs...)},
			Input:  []*pb.ValueInfoProto{onnxtest.FloatValue("x", 2, 2)},
			Output: []*pb.ValueInfoProto{onnxtest.Value("y", pb.TensorProto_INT64, c.shape...)},
		})
		if got := runModel(t, importModel(t, m), data)[0]; !slices.Equal(got.Data.I64, c.want) {
			t.Errorf("%v: got %v, want %v", c.attrs, got.Data.I64, c.want)
		}
	}
}
