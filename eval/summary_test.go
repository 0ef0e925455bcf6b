package eval

import (
	"reflect"
	"strings"
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

func TestPostProcessDetections(t *testing.T) {
	boxes := f32([]int{1, 3, 4}, 0.1, 0.2, 0.5, 0.6, 0, 0, 1, 1, 0.3, 0.3, 0.4, 0.4)
	classes := f32([]int{1, 3}, 4, 0, 9)
	scores := f32([]int{1, 3}, 0.9, 0.3, 0.8)
	count := f32([]int{1}, 2) // the third row is padding
	got, err := PostProcessDetections(boxes, classes, scores, count, 0.25, 200, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []Detection{
		{Class: 4, Score: float64(float32(0.9)), Box: Box{YMin: float64(float32(0.1)) * 100, XMin: float64(float32(0.2)) * 200, YMax: float64(float32(0.5)) * 100, XMax: float64(float32(0.6)) * 200}},
		{Class: 0, Score: float64(float32(0.3)), Box: Box{0, 0, 200, 100}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got, _ := PostProcessDetections(boxes, classes, scores, count, 0.5, 200, 100); len(got) != 1 {
		t.Errorf("--min-score 0.5 kept %d, want 1", len(got))
	}
	bad := []struct {
		name       string
		b, c, s, n *runtime.Tensor
		want       string
	}{
		{"boxes rank", f32([]int{3, 4}, make([]float32, 12)...), classes, scores, count, "want [1,D,4]"},
		{"scores length", boxes, classes, f32([]int{1, 2}, 1, 1), count, "want [1,D,4]"},
		{"negative count", boxes, classes, scores, f32([]int{1}, -1), "count"},
		{"negative class", boxes, f32([]int{1, 3}, -1, 0, 0), scores, count, "class"},
	}
	for _, c := range bad {
		if _, err := PostProcessDetections(c.b, c.c, c.s, c.n, 0, 1, 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}
