package testutil

import (
	"math"
	"testing"
)

func TestArgmax(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name string
		v    []float64
		want int
	}{
		{"empty", nil, -1},
		{"one", []float64{-3}, 0},
		{"last", []float64{1, 2, 3}, 2},
		{"first", []float64{3, 2, 1}, 0},
		{"negative", []float64{-5, -1, -2}, 1},
		{"tie keeps the lower index", []float64{1, 4, 2, 4}, 1},
		{"NaN first ranks last", []float64{nan, -7, -8}, 1},
		{"NaN inside is passed over", []float64{1, nan, 0}, 0},
		{"all NaN", []float64{nan, nan}, 0},
		{"infinities", []float64{math.Inf(-1), math.Inf(1), 5}, 1},
	}
	for _, c := range cases {
		if got := Argmax(c.v); got != c.want {
			t.Errorf("%s: Argmax(%v) = %d, want %d", c.name, c.v, got, c.want)
		}
		v32 := make([]float32, len(c.v))
		for i, x := range c.v {
			v32[i] = float32(x)
		}
		if got := Argmax(v32); got != c.want {
			t.Errorf("%s: Argmax(float32 %v) = %d, want %d", c.name, v32, got, c.want)
		}
	}
	if got := Argmax([]int8{-128, 5, 5, -1}); got != 1 {
		t.Errorf("int8: %d, want 1", got)
	}
	if got := Argmax([]uint8{0, 255, 255}); got != 1 {
		t.Errorf("uint8: %d, want 1", got)
	}
}
