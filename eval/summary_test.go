package eval

import (
	"reflect"
	"testing"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// TestResizeClassMapMatchesScoring: a class map brought to the mask's size
// by ResizeClassMap and scored at that size gives the confusion matrix that
// Add gives from the small map: run and eval map pixels alike.
func TestResizeClassMapMatchesScoring(t *testing.T) {
	pred := []int{0, 1, 2, 3, 4, 5} // 2 rows of 3
	got := ResizeClassMap(pred, 2, 3, 3, 7)
	want := []int{
		0, 0, 1, 1, 1, 2, 2, // row centre 0.5 * 2/3: source row 0
		3, 3, 4, 4, 4, 5, 5, // 1.5 * 2/3 = 1.0: row 1
		3, 3, 4, 4, 4, 5, 5,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ResizeClassMap = %v, want %v", got, want)
	}
	mask := make([]uint8, 5*9)
	for i := range mask {
		mask[i] = uint8(i * 7 % 6)
	}
	a, b := NewSegmentation(6), NewSegmentation(6)
	if err := a.Add(pred, 2, 3, mask, 5, 9); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(ResizeClassMap(pred, 2, 3, 5, 9), 5, 9, mask, 5, 9); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Confusion, b.Confusion) {
		t.Errorf("confusion from the small map %v, from the resized one %v", a.Confusion, b.Confusion)
	}
}

func TestCountClasses(t *testing.T) {
	got := CountClasses([]int{3, 0, 3, 7, 0, 3, 7, 0})
	want := []ClassPixels{{3, 3, 0.375}, {0, 3, 0.375}, {7, 2, 0.25}}
	want[0], want[1] = want[1], want[0] // equal counts: the lower class first
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CountClasses = %v, want %v", got, want)
	}
}

func f32(shape []int, v ...float32) *runtime.Tensor {
	return &runtime.Tensor{DType: ir.Float32, Shape: shape, F32: v}
}
