package runtime

import (
	"slices"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// resizeRow runs Resize on one row [1,1,W,1] resized to [1,1,out,1].
func resizeRow(t *testing.T, x *Tensor, q *ir.Quant, a ir.ResizeAttrs) *Tensor {
	t.Helper()
	in := &ir.Tensor{Name: "x", DType: x.DType, Shape: x.Shape, Quant: q}
	y := &ir.Tensor{Name: "y", DType: x.DType, Quant: q.Clone()}
	n := ir.NewNode("resize", ir.OpResize, []*ir.Tensor{in}, y)
	*n.Attrs.(*ir.ResizeAttrs) = a
	outs, err := RunSingle(n, x)
	if err != nil {
		t.Fatal(err)
	}
	return outs[0]
}

func TestResizeFloat(t *testing.T) {
	x := &Tensor{DType: ir.Float32, Shape: []int{1, 1, 2, 1}, F32: []float32{0, 10}}
	for _, c := range []struct {
		a    ir.ResizeAttrs
		want []float32
	}{
		{ir.ResizeAttrs{Size: [2]int{1, 3}, Coord: ir.CoordAlignCorners}, []float32{0, 5, 10}},
		{ir.ResizeAttrs{Size: [2]int{1, 4}, Coord: ir.CoordHalfPixel}, []float32{0, 2.5, 7.5, 10}},
		{ir.ResizeAttrs{Size: [2]int{1, 4}, Coord: ir.CoordPytorchHalfPixel}, []float32{0, 2.5, 7.5, 10}},
		{ir.ResizeAttrs{Size: [2]int{1, 4}, Coord: ir.CoordAsymmetric}, []float32{0, 5, 10, 10}},
		{ir.ResizeAttrs{Size: [2]int{1, 4}, Mode: ir.ResizeNearest, Coord: ir.CoordAsymmetric, Nearest: ir.NearestRoundPreferFloor}, []float32{0, 0, 10, 10}},
		{ir.ResizeAttrs{Size: [2]int{1, 4}, Mode: ir.ResizeNearest, Coord: ir.CoordAsymmetric, Nearest: ir.NearestRoundPreferCeil}, []float32{0, 10, 10, 10}},
		{ir.ResizeAttrs{Size: [2]int{1, 4}, Mode: ir.ResizeNearest, Coord: ir.CoordAsymmetric, Nearest: ir.NearestCeil}, []float32{0, 10, 10, 10}},
		{ir.ResizeAttrs{Size: [2]int{1, 4}, Mode: ir.ResizeNearest, Coord: ir.CoordTFHalfPixelForNN, Nearest: ir.NearestFloor}, []float32{0, 0, 10, 10}},
		{ir.ResizeAttrs{Size: [2]int{1, 3}, Mode: ir.ResizeNearest, Coord: ir.CoordAlignCorners, Nearest: ir.NearestRoundPreferCeil}, []float32{0, 10, 10}},
	} {
		if got := resizeRow(t, x, nil, c.a).F32; !slices.Equal(got, c.want) {
			t.Errorf("%+v: got %v, want %v", c.a, got, c.want)
		}
	}
	// Height and width at once: 2x2 -> 3x3 with align_corners is the
	// centre average.
	sq := &Tensor{DType: ir.Float32, Shape: []int{1, 2, 2, 1}, F32: []float32{0, 4, 8, 12}}
	got := resizeRow(t, sq, nil, ir.ResizeAttrs{Size: [2]int{3, 3}, Coord: ir.CoordAlignCorners}).F32
	if want := []float32{0, 2, 4, 4, 6, 8, 8, 10, 12}; !slices.Equal(got, want) {
		t.Errorf("2x2 -> 3x3: got %v, want %v", got, want)
	}
}

// TestResizeQuantized checks the 8-bit arithmetic by hand: uint8 truncates
// TFLite's float32 sum; int8 is the 10-bit fixed point with scale10 =
// (1024+1)/3 = 341 for 2 -> 4 with align_corners, rounding half away from
// zero and dividing toward zero.
func TestResizeQuantized(t *testing.T) {
	q := &ir.Quant{Scale: []float32{0.5}, ZeroPoint: []int64{0}}
	align := ir.ResizeAttrs{Size: [2]int{1, 4}, Coord: ir.CoordAlignCorners}
	u := &Tensor{DType: ir.Uint8, Shape: []int{1, 1, 2, 1}, U8: []uint8{0, 2}}
	// src = 0, 1/3, 2/3, 1: 2*0.33333334 = 0.6666667 -> 0 (rounding would give 1).
	if got, want := resizeRow(t, u, q, align).U8, []uint8{0, 0, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("uint8: got %v, want %v", got, want)
	}
	// 2*1024*{341, 682, 1023} + 2^19 over 2^20 = 1.16, 1.83, 2.49.
	s := &Tensor{DType: ir.Int8, Shape: []int{1, 1, 2, 1}, I8: []int8{0, 2}}
	if got, want := resizeRow(t, s, q, align).I8, []int8{0, 1, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("int8: got %v, want %v", got, want)
	}
	// -2*1024*{683, 342, 1} - 2^19 over 2^20 = -1.83, -1.17, -0.50.
	neg := &Tensor{DType: ir.Int8, Shape: []int{1, 1, 2, 1}, I8: []int8{-2, 0}}
	if got, want := resizeRow(t, neg, q, align).I8, []int8{-2, -1, -1, 0}; !slices.Equal(got, want) {
		t.Errorf("int8 negative: got %v, want %v", got, want)
	}
	near := ir.ResizeAttrs{Size: [2]int{1, 4}, Mode: ir.ResizeNearest, Coord: ir.CoordAsymmetric, Nearest: ir.NearestFloor}
	if got, want := resizeRow(t, s, q, near).I8, []int8{0, 0, 2, 2}; !slices.Equal(got, want) {
		t.Errorf("int8 nearest: got %v, want %v", got, want)
	}
	// An int8 linear resize TFLite has no kernel for is an error naming the node.
	in := &ir.Tensor{Name: "x", DType: ir.Int8, Shape: []int{1, 1, 2, 1}, Quant: q}
	y := &ir.Tensor{Name: "y", DType: ir.Int8, Quant: q}
	n := ir.NewNode("pt", ir.OpResize, []*ir.Tensor{in}, y)
	*n.Attrs.(*ir.ResizeAttrs) = ir.ResizeAttrs{Size: [2]int{1, 4}, Coord: ir.CoordPytorchHalfPixel}
	if _, err := RunSingle(n, s); err == nil {
		t.Error("int8 pytorch_half_pixel: no error")
	}
}
