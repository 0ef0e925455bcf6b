package eval

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Detection scoring, the rules of the shared COCO reference
// (apps/reference/coco/REFERENCE.md, section Detection):
//
//   - Only the classes present in the ground truth are scored; mAP is the
//     mean of their APs.
//   - A class's detections are pooled over the images and sorted by score,
//     descending; ties keep the image order, then the detection's rank in
//     its image.
//   - Each detection in turn is matched to the unmatched ground-truth box
//     of its class and image with the highest IoU (the first such box on a
//     tie); it is a true positive when that IoU >= the threshold, which
//     marks the box matched. IoU is over continuous pixel coordinates (no
//     +1), 0 when the union is not positive.
//   - AP (VOC2010+ all-point): the area under the precision envelope
//     (precision made non-increasing from the right) over the recall
//     steps. AP (COCO 101-point): the mean of the envelope at recalls
//     0, 0.01, ..., 1, each read at the first detection reaching that
//     recall (0 past the last).
//   - COCO mAP@[.5:.95]: the 101-point AP averaged over the IoU thresholds
//     0.50, 0.55, ..., 0.95. No crowd, difficult or area handling: the
//     labels carry none.

// Box is an axis-aligned box in pixels: left, top, right, bottom.
type Box struct {
	XMin, YMin, XMax, YMax float64
}

// IoU is the intersection over union of a and b, 0 when the union is not
// positive.
func (a Box) IoU(b Box) float64 {
	w := max(0, min(a.XMax, b.XMax)-max(a.XMin, b.XMin))
	h := max(0, min(a.YMax, b.YMax)-max(a.YMin, b.YMin))
	inter := w * h
	union := (a.XMax-a.XMin)*(a.YMax-a.YMin) + (b.XMax-b.XMin)*(b.YMax-b.YMin) - inter
	if union > 0 {
		return inter / union
	}
	return 0
}

// Detection is one detected object.
type Detection struct {
	Class int     `json:"class"`
	Score float64 `json:"score"`
	Box   Box     `json:"box"`
}

// GroundTruth is the annotated boxes of one image.
type GroundTruth struct {
	File  string
	Boxes []Box
	Class []int // Class[k] is Boxes[k]'s class
}

// Annotations are the ground truth of a detection data set, images in file
// order, and the class names the file gives (by class id; "" where none).
type Annotations struct {
	Images []GroundTruth
	Names  []string
}

// Limits on an annotations file, checked as it is read.
const (
	maxAnnotationClass = 1 << 16
	maxAnnotationRows  = 1 << 24
)

// ReadAnnotations reads a detection CSV: a header naming at least file,
// class_id, xmin, ymin, xmax and ymax (class_name optional), then one box
// per row in pixels. Images keep the order of their first row.
func ReadAnnotations(path string) (*Annotations, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := parseAnnotations(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

func parseAnnotations(r io.Reader) (*Annotations, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"file", "class_id", "xmin", "ymin", "xmax", "ymax"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("header %q has no column %s (want file,class_id[,class_name],xmin,ymin,xmax,ymax)", strings.Join(head, ","), need)
		}
	}
	nameCol, hasName := col["class_name"]
	a := &Annotations{}
	index := map[string]int{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if line > maxAnnotationRows {
			return nil, fmt.Errorf("more than %d rows", maxAnnotationRows)
		}
		field := func(name string) string {
			if i := col[name]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		file := field("file")
		if file == "" {
			return nil, fmt.Errorf("line %d: no file", line)
		}
		cls, err := strconv.Atoi(field("class_id"))
		if err != nil || cls < 0 || cls >= maxAnnotationClass {
			return nil, fmt.Errorf("line %d: class_id %q is not a class index (0 to %d)", line, field("class_id"), maxAnnotationClass-1)
		}
		var v [4]float64
		for k, name := range []string{"xmin", "ymin", "xmax", "ymax"} {
			if v[k], err = strconv.ParseFloat(field(name), 64); err != nil || math.IsNaN(v[k]) || math.IsInf(v[k], 0) {
				return nil, fmt.Errorf("line %d: %s %q is not a number", line, name, field(name))
			}
		}
		i, ok := index[file]
		if !ok {
			i = len(a.Images)
			index[file] = i
			a.Images = append(a.Images, GroundTruth{File: file})
		}
		g := &a.Images[i]
		g.Boxes = append(g.Boxes, Box{v[0], v[1], v[2], v[3]})
		g.Class = append(g.Class, cls)
		if hasName && nameCol < len(rec) {
			for len(a.Names) <= cls {
				a.Names = append(a.Names, "")
			}
			if a.Names[cls] == "" {
				a.Names[cls] = strings.TrimSpace(rec[nameCol])
			}
		}
	}
	if len(a.Images) == 0 {
		return nil, errors.New("no boxes")
	}
	return a, nil
}

// ClassAP is one class's detection scores.
type ClassAP struct {
	Class int    `json:"class"`
	Name  string `json:"name,omitempty"`
	// Truth: ground-truth boxes; Detections: detections of the class; TP:
	// those matched at IoU 0.5.
	Truth      int `json:"truth"`
	Detections int `json:"detections"`
	TP         int `json:"tp"`
	// AP50 is VOC all-point AP at IoU 0.5, AP50COCO the COCO 101-point AP
	// at IoU 0.5, AP the COCO 101-point AP averaged over IoU 0.5:0.95.
	AP50     float64 `json:"ap50"`
	AP50COCO float64 `json:"ap50_coco101"`
	AP       float64 `json:"ap_50_95"`
}

// DetMetrics are the scores of a detector over a data set.
type DetMetrics struct {
	// MAP50 (VOC all-point), MAP50COCO (101-point) and MAP (101-point over
	// IoU 0.5:0.95) are the means of the per-class APs over the classes in
	// the ground truth.
	MAP50      float64   `json:"map50"`
	MAP50COCO  float64   `json:"map50_coco101"`
	MAP        float64   `json:"map_50_95"`
	PerClass   []ClassAP `json:"per_class"`
	Truth      int       `json:"truth_boxes"`
	Detections int       `json:"detections"`
}

// cocoThresholds are the IoU thresholds of COCO's mAP, 0.50, 0.55, ...,
// 0.95, as numpy's linspace(0.5, 0.95, 10) computes them (pycocotools).
var cocoThresholds = linspace(0.5, 0.95, 10)

// linspace is numpy's linspace(start, stop, n): start + k*step, the last
// exactly stop (the exact values decide ties of IoU or recall with them).
func linspace(start, stop float64, n int) []float64 {
	t := make([]float64, n)
	step := (stop - start) / float64(n-1)
	for k := range t {
		t[k] = float64(k)*step + start
	}
	t[n-1] = stop
	return t
}

// cocoRecalls are the recall points of COCO's AP: 0, 0.01, ..., 1.
var cocoRecalls = linspace(0, 1, 101)

// ScoreDetections scores dets[i], the detections on the image gt[i] (in
// rank order), against the ground truth.
func ScoreDetections(gt []GroundTruth, dets [][]Detection, names []string) (DetMetrics, error) {
	if len(dets) != len(gt) {
		return DetMetrics{}, fmt.Errorf("eval: %d images of detections for %d of ground truth", len(dets), len(gt))
	}
	type cand struct {
		image int
		box   Box
		score float64
	}
	truth := map[int]int{}
	for _, g := range gt {
		for _, c := range g.Class {
			truth[c]++
		}
	}
	classes := make([]int, 0, len(truth))
	for c := range truth {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	byClass := map[int][]cand{}
	var m DetMetrics
	for i, ds := range dets {
		for _, d := range ds {
			m.Detections++
			if truth[d.Class] > 0 {
				byClass[d.Class] = append(byClass[d.Class], cand{i, d.Box, d.Score})
			}
		}
	}
	for _, c := range classes {
		cs := byClass[c]
		// stable: ties keep image order, then rank
		slices.SortStableFunc(cs, func(a, b cand) int { return cmp.Compare(b.score, a.score) })
		ap := ClassAP{Class: c, Truth: truth[c], Detections: len(cs)}
		if c < len(names) {
			ap.Name = names[c]
		}
		tp := make([]bool, len(cs))
		for ti, thr := range cocoThresholds {
			used := make(map[int][]bool)
			for k, d := range cs {
				g := &gt[d.image]
				u := used[d.image]
				if u == nil {
					u = make([]bool, len(g.Boxes))
					used[d.image] = u
				}
				best, bestIoU := -1, -1.0
				for j, b := range g.Boxes {
					if g.Class[j] != c {
						continue
					}
					v := d.box.IoU(b)
					if u[j] {
						v = -1
					}
					if v > bestIoU {
						best, bestIoU = j, v
					}
				}
				tp[k] = best >= 0 && bestIoU >= thr
				if tp[k] {
					u[best] = true
				}
			}
			voc, coco := averagePrecision(tp, ap.Truth)
			ap.AP += coco / float64(len(cocoThresholds))
			if ti == 0 {
				ap.AP50, ap.AP50COCO = voc, coco
				for _, t := range tp {
					if t {
						ap.TP++
					}
				}
			}
		}
		m.PerClass = append(m.PerClass, ap)
		m.Truth += ap.Truth
		m.MAP50 += ap.AP50
		m.MAP50COCO += ap.AP50COCO
		m.MAP += ap.AP
	}
	if n := float64(len(m.PerClass)); n > 0 {
		m.MAP50 /= n
		m.MAP50COCO /= n
		m.MAP /= n
	}
	return m, nil
}

// averagePrecision is the VOC all-point and the COCO 101-point AP of a
// ranked list of hits over npos ground-truth boxes (npos > 0).
func averagePrecision(tp []bool, npos int) (voc, coco float64) {
	n := len(tp)
	rec := make([]float64, n)
	prec := make([]float64, n)
	hits := 0
	for i, t := range tp {
		if t {
			hits++
		}
		rec[i] = float64(hits) / float64(npos)
		prec[i] = float64(hits) / float64(i+1)
	}
	// the envelope: precision made non-increasing from the right
	env := slices.Clone(prec)
	for i := n - 2; i >= 0; i-- {
		env[i] = max(env[i], env[i+1])
	}
	// all-point: sum of recall steps times the envelope after the step
	prevRec := 0.0
	for i := range n {
		if rec[i] != prevRec {
			voc += (rec[i] - prevRec) * env[i]
			prevRec = rec[i]
		}
	}
	j := 0
	for _, r := range cocoRecalls {
		for j < n && rec[j] < r {
			j++
		}
		if j < n {
			coco += env[j]
		}
	}
	return voc, coco / float64(len(cocoRecalls))
}
