package eval

import (
	"fmt"
	"math"
	"sort"

	"github.com/mnconv/mnconv/runtime"
)

// Per-image summaries of segmentation and detection outputs, as `run`
// prints them: the class map brought to the image's size with its class
// pixel counts, and detections as a list of Detection values. Detection is
// the one type a detector's result takes, whether it comes from a graph
// that ends in DetectionPostProcess (read here) or from raw SSD outputs
// decoded by DetSpec (detdecode.go); its Box is in pixels of the image.

// PostProcessDetections reads the four outputs of TFLite's
// DetectionPostProcess: boxes [1,D,4] (ymin, xmin, ymax, xmax), classes
// [1,D], scores [1,D] and count [1]. It returns the first count detections
// whose score is at least minScore, in the model's order (descending
// score), with the normalized boxes scaled to a w x h image.
func PostProcessDetections(boxes, classes, scores, count *runtime.Tensor, minScore float64, w, h int) ([]Detection, error) {
	bs, cs, ss := boxes.Shape, classes.Shape, scores.Shape
	if len(bs) != 3 || bs[0] != 1 || bs[2] != 4 || len(cs) != 2 || len(ss) != 2 || cs[1] != bs[1] || ss[1] != bs[1] || count.Len() != 1 {
		return nil, fmt.Errorf("detection outputs boxes %v, classes %v, scores %v, count %v; want [1,D,4], [1,D], [1,D], [1]", bs, cs, ss, count.Shape)
	}
	n := count.Float(0)
	if math.IsNaN(n) || n < 0 {
		return nil, fmt.Errorf("detection count %v", n)
	}
	d := min(int(n), bs[1])
	var out []Detection
	for i := range d {
		s := scores.Float(i)
		if s < minScore {
			continue
		}
		c := classes.Float(i)
		if math.IsNaN(c) || c < 0 || c > 1<<20 {
			return nil, fmt.Errorf("detection %d has class %v", i, c)
		}
		fw, fh := float64(w), float64(h)
		out = append(out, Detection{Class: int(c), Score: s, Box: Box{
			YMin: boxes.Float(4*i) * fh, XMin: boxes.Float(4*i+1) * fw, YMax: boxes.Float(4*i+2) * fh, XMax: boxes.Float(4*i+3) * fw}})
	}
	return out, nil
}

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
