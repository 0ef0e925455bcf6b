package eval

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// Segmentation scoring: a confusion matrix over the classes of class maps
// against ground-truth masks (one class per pixel, IgnoreClass ignored).
// A class map at model resolution is brought to the mask's size with
// nearest neighbour, src = floor((x + 0.5) * S / W) on each axis (model
// size S, image size W), which is Pillow's resize(NEAREST) and what the
// shared references did. IoU of a class = TP / (TP + FP + FN) over all the
// images together; mIoU is the mean over the classes present in the ground
// truth; pixel accuracy = correct / scored pixels.

// IgnoreClass marks mask pixels that are not scored.
const IgnoreClass = 255

// Segmentation accumulates the confusion matrix of class maps against
// masks.
type Segmentation struct {
	Classes int
	// Confusion[truth][predicted] counts scored pixels.
	Confusion [][]int64
	// Other[truth] counts scored pixels whose prediction is outside
	// [0, Classes).
	Other []int64
	// Images counts the class maps added.
	Images int
}

// NewSegmentation returns an empty matrix over classes classes.
func NewSegmentation(classes int) *Segmentation {
	c := make([][]int64, classes)
	for i := range c {
		c[i] = make([]int64, classes)
	}
	return &Segmentation{Classes: classes, Confusion: c, Other: make([]int64, classes)}
}

// Add scores one image: pred is a ph x pw class map (row-major), mask an
// h x w ground truth.
func (s *Segmentation) Add(pred []int, ph, pw int, mask []uint8, h, w int) error {
	if len(pred) != ph*pw || len(mask) != h*w || ph < 1 || pw < 1 {
		return fmt.Errorf("class map %dx%d with %d values, mask %dx%d with %d values", ph, pw, len(pred), h, w, len(mask))
	}
	xs := make([]int, w)
	for x := range xs {
		xs[x] = min((2*x+1)*pw/(2*w), pw-1)
	}
	for y := range h {
		row := pred[min((2*y+1)*ph/(2*h), ph-1)*pw:]
		for x, truth := range mask[y*w : (y+1)*w] {
			if truth == IgnoreClass {
				continue
			}
			if int(truth) >= s.Classes {
				return fmt.Errorf("mask pixel (%d, %d) is class %d, outside the %d classes", x, y, truth, s.Classes)
			}
			p := row[xs[x]]
			if p < 0 || p >= s.Classes {
				s.Other[truth]++
				continue
			}
			s.Confusion[truth][p]++
		}
	}
	s.Images++
	return nil
}

// ClassIoU is one class's score.
type ClassIoU struct {
	Class     int
	IoU       float64 // 0 when the class is neither in the truth nor predicted
	Truth     int64   // ground-truth pixels
	Predicted int64   // pixels predicted as the class (among scored pixels)
}

// SegMetrics are the scores of a Segmentation.
type SegMetrics struct {
	PerClass      []ClassIoU
	MIoU          float64 // mean IoU over the classes present in the truth
	ClassesScored int     // how many that is
	PixelAccuracy float64
	Pixels        int64 // scored pixels
}

// Metrics computes per-class IoU, mIoU and pixel accuracy.
func (s *Segmentation) Metrics() SegMetrics {
	var m SegMetrics
	var correct int64
	pred := make([]int64, s.Classes)
	for t, row := range s.Confusion {
		for p, n := range row {
			pred[p] += n
			m.Pixels += n
			if t == p {
				correct += n
			}
		}
	}
	for _, n := range s.Other {
		m.Pixels += n
	}
	var sum float64
	for c := range s.Classes {
		truth := s.Other[c]
		for _, n := range s.Confusion[c] {
			truth += n
		}
		tp := s.Confusion[c][c]
		ci := ClassIoU{Class: c, Truth: truth, Predicted: pred[c]}
		if union := truth + pred[c] - tp; union > 0 {
			ci.IoU = float64(tp) / float64(union)
		}
		if truth > 0 {
			sum += ci.IoU
			m.ClassesScored++
		}
		m.PerClass = append(m.PerClass, ci)
	}
	if m.ClassesScored > 0 {
		m.MIoU = sum / float64(m.ClassesScored)
	}
	if m.Pixels > 0 {
		m.PixelAccuracy = float64(correct) / float64(m.Pixels)
	}
	return m
}

// ReadClassPNG reads a single-channel PNG whose pixel values are classes (a
// mask or a class map): values row-major, width, height.
func ReadClassPNG(path string) ([]uint8, int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	b := img.Bounds()
	out := make([]uint8, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			switch m := img.(type) {
			case *image.Gray:
				out = append(out, m.GrayAt(x, y).Y)
			case *image.Paletted:
				out = append(out, m.ColorIndexAt(x, y))
			default:
				return nil, 0, 0, fmt.Errorf("%s: %T image, want a gray or paletted PNG of classes", path, img)
			}
		}
	}
	return out, b.Dx(), b.Dy(), nil
}

// SegItem is one image with its ground-truth mask.
type SegItem struct {
	Path string // the image
	Mask string // its PNG mask (classes, IgnoreClass ignored)
	File string // name reports show
}

// SegResult is a segmentation evaluation's outcome.
type SegResult struct {
	SegMetrics
	N               int       `json:"n"`
	Classes         int       `json:"classes"`
	Skipped         []Skipped `json:"skipped,omitempty"`
	Workers         int       `json:"workers"`
	WallSeconds     float64   `json:"wall_seconds"`
	ImagesPerSecond float64   `json:"images_per_second"`
}

// SegItems pairs every PNG mask in masks with the image of the same stem in
// images (.jpg, .jpeg, .png or .bmp), in mask-name order.
func SegItems(images, masks string) ([]SegItem, error) {
	ents, err := os.ReadDir(masks)
	if err != nil {
		return nil, err
	}
	var items []SegItem
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.EqualFold(filepath.Ext(name), ".png") {
			continue
		}
		stem := strings.TrimSuffix(name, filepath.Ext(name))
		found := ""
		for _, ext := range []string{".jpg", ".jpeg", ".png", ".bmp", ".JPG", ".JPEG"} {
			if _, err := os.Stat(filepath.Join(images, stem+ext)); err == nil {
				found = stem + ext
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("mask %s has no image %s.jpg (or .jpeg, .png, .bmp) in %s", name, stem, images)
		}
		items = append(items, SegItem{Path: filepath.Join(images, found), Mask: filepath.Join(masks, name), File: found})
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("no PNG masks in %s", masks)
	}
	return items, nil
}

// segClassMap is the class map of a model output: the output itself when it
// is an integer [1,H,W] (or [1,H,W,1]) map (ArgMax), else the argmax over
// the last axis of [1,H,W,C] raw values, ties to the lower class.
func segClassMap(out *runtime.Tensor) (pred []int, h, w int, err error) {
	s := out.Shape
	switch {
	case len(s) == 3 && (out.DType == ir.Int32 || out.DType == ir.Int64):
		h, w = s[1], s[2]
		pred = make([]int, h*w)
		for i := range pred {
			pred[i] = int(out.Float(i))
		}
		return pred, h, w, nil
	case len(s) == 4 && s[0] == 1:
		h, w = s[1], s[2]
		c := s[3]
		pred = make([]int, h*w)
		v := out.Floats()
		for i := range pred {
			pred[i] = Argmax(v[i*c : (i+1)*c])
		}
		return pred, h, w, nil
	}
	return nil, 0, 0, fmt.Errorf("output %v %v is neither a [1,H,W,C] score map nor a [1,H,W] class map", out.DType, s)
}

// EvaluateSegmentation runs model on every item (preprocessed as cfg says,
// cfg.Workers images in parallel) and scores its class maps against the
// masks over classes classes. Unreadable images or masks are skipped and
// named through cfg.Warn; a model failure is an error.
func EvaluateSegmentation(ctx context.Context, model *ir.Graph, items []SegItem, classes int, cfg Config) (*SegResult, error) {
	c, err := newChain([]*ir.Graph{model}, cfg)
	if err != nil {
		return nil, err
	}
	type scored struct {
		pred   []int
		ph, pw int
		mask   []uint8
		mh, mw int
	}
	res := make([]scored, len(items))
	st, err := c.loop(ctx, cfg, task{
		n:    len(items),
		path: func(i int) string { return items[i].Path },
		name: func(i int) string { return items[i].File },
		side: func(i int) (any, error) {
			var r scored
			var err error
			r.mask, r.mw, r.mh, err = ReadClassPNG(items[i].Mask)
			return r, err
		},
		score: func(w *worker, i int, d *decoded) error {
			r := d.side.(scored)
			var err error
			r.pred, r.ph, r.pw, err = segClassMap(w.its[0].Output(0))
			res[i] = r
			return err
		},
	})
	if err != nil {
		return nil, err
	}
	wall := st.wall
	nw := len(st.workers)
	s := NewSegmentation(classes)
	out := &SegResult{Classes: classes, Workers: nw, WallSeconds: wall.Seconds()}
	for i, r := range res {
		if err := st.readErr[i]; err != nil {
			out.Skipped = append(out.Skipped, Skipped{File: items[i].File, Error: err.Error()})
			if cfg.Warn != nil {
				cfg.Warn(fmt.Sprintf("skipping unreadable image %s: %v", items[i].File, err))
			}
			continue
		}
		if err := s.Add(r.pred, r.ph, r.pw, r.mask, r.mh, r.mw); err != nil {
			return nil, fmt.Errorf("eval: %s: %w", items[i].File, err)
		}
		out.N++
	}
	if err := cfg.checkReadable(out.Skipped, len(items), out.N); err != nil {
		return out, err
	}
	out.SegMetrics = s.Metrics()
	if wall > 0 {
		out.ImagesPerSecond = float64(out.N) / wall.Seconds()
	}
	return out, nil
}
