package eval

import (
	"sort"

	"github.com/mnconv/mnconv/runtime"
)

// Per-image summaries of segmentation outputs, as `run` prints them: the
// class map brought to the image's size with its class pixel counts.
// Detections come from Decoder (detdecode.go), for graphs that end in
// DetectionPostProcess and raw SSD outputs alike.

// ClassMap is a segmentation output's class map: the output itself when it
// is an integer [1,H,W] map (ArgMax), else the argmax over the last axis of
// [1,H,W,C] scores; h x w values, row-major.
func ClassMap(out *runtime.Tensor) (pred []int, h, w int, err error) {
	return segClassMap(out)
}

// ResizeClassMap brings a ph x pw class map to h x w by nearest neighbour,
// src = floor((x + 0.5) * pw / w) on each axis: the mapping Segmentation.Add
// scores masks with.
func ResizeClassMap(pred []int, ph, pw, h, w int) []int {
	xs := make([]int, w)
	for x := range xs {
		xs[x] = min((2*x+1)*pw/(2*w), pw-1)
	}
	out := make([]int, 0, h*w)
	for y := range h {
		row := pred[min((2*y+1)*ph/(2*h), ph-1)*pw:]
		for _, sx := range xs {
			out = append(out, row[sx])
		}
	}
	return out
}

// ClassPixels is how many pixels of a class map one class covers.
type ClassPixels struct {
	Class  int
	Pixels int
	Share  float64 // of all the map's pixels
}

// CountClasses lists the classes present in a class map, most pixels
// first (ties to the lower class).
func CountClasses(pred []int) []ClassPixels {
	counts := map[int]int{}
	for _, c := range pred {
		counts[c]++
	}
	out := make([]ClassPixels, 0, len(counts))
	for c, n := range counts {
		out = append(out, ClassPixels{Class: c, Pixels: n, Share: float64(n) / float64(len(pred))})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pixels != out[j].Pixels {
			return out[i].Pixels > out[j].Pixels
		}
		return out[i].Class < out[j].Class
	})
	return out
}
