package eval

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/mnconv/mnconv/ir"
)

// DetItem is one image with its ground truth.
type DetItem struct {
	Path  string // the image
	Truth GroundTruth
}

// DetItems are the annotated images of ann, found in the folder images,
// in the annotations' order. Images without any box are not listed in the
// CSV format and so are not evaluated.
func DetItems(images string, ann *Annotations) []DetItem {
	items := make([]DetItem, len(ann.Images))
	for i, g := range ann.Images {
		items[i] = DetItem{Path: filepath.Join(images, g.File), Truth: g}
	}
	return items
}

// DetImage is one image's detections, best first, in pixels.
type DetImage struct {
	File       string      `json:"file"`
	Width      int         `json:"width"`
	Height     int         `json:"height"`
	Detections []Detection `json:"detections"`
}

// DetResult is a detection evaluation's outcome.
type DetResult struct {
	DetMetrics
	N       int       `json:"n"`
	Skipped []Skipped `json:"skipped,omitempty"`
	// Decoding says how the outputs were read.
	Decoding         string     `json:"decoding"`
	Workers          int        `json:"workers"`
	WallSeconds      float64    `json:"wall_seconds"`
	ImagesPerSecond  float64    `json:"images_per_second"`
	DecodeSeconds    float64    `json:"decode_seconds"`
	InferenceSeconds float64    `json:"inference_seconds"`
	PerImage         []DetImage `json:"per_image,omitempty"`
}

// EvaluateDetection runs the chain of models on every item (preprocessed
// as cfg says, cfg.Workers images in parallel), decodes the last model's
// outputs as spec says and scores the detections against the items'
// ground truth (see ScoreDetections); names label the classes. Unreadable
// images are named through cfg.Warn and left out of the scoring (their
// boxes too); a model or decoding failure is an error.
func EvaluateDetection(ctx context.Context, models []*ir.Graph, items []DetItem, spec DetSpec, names []string, cfg Config) (*DetResult, error) {
	c, err := newChain(models, cfg)
	if err != nil {
		return nil, err
	}
	dec, err := spec.resolve(models[len(models)-1])
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	per := make([]DetImage, len(items))
	st, err := c.loop(ctx, cfg, task{
		n:    len(items),
		path: func(i int) string { return items[i].Path },
		name: func(i int) string { return items[i].Truth.File },
		score: func(w *worker, i int, d *decoded) error {
			dw, _ := w.state.(*detWorker)
			if dw == nil {
				var err error
				if dw, err = dec.newWorker(); err != nil {
					return err
				}
				w.state = dw
			}
			dets, err := dec.decode(dw, w.its[len(w.its)-1].Output, d.srcW, d.srcH)
			per[i] = DetImage{File: items[i].Truth.File, Width: d.srcW, Height: d.srcH, Detections: dets}
			return err
		},
	})
	if err != nil {
		return nil, err
	}
	r := &DetResult{Decoding: dec.Describe(), Workers: len(st.workers), WallSeconds: st.wall.Seconds(),
		DecodeSeconds: st.decode.Seconds(), InferenceSeconds: st.inference().Seconds()}
	var gt []GroundTruth
	var dets [][]Detection
	for i, it := range items {
		if err := st.readErr[i]; err != nil {
			r.Skipped = append(r.Skipped, Skipped{File: it.Truth.File, Error: err.Error()})
			if cfg.Warn != nil {
				cfg.Warn(fmt.Sprintf("skipping unreadable image %s: %v", it.Truth.File, err))
			}
			continue
		}
		gt = append(gt, it.Truth)
		dets = append(dets, per[i].Detections)
		r.PerImage = append(r.PerImage, per[i])
	}
	r.N = len(gt)
	if err := cfg.checkReadable(r.Skipped, len(items), r.N); err != nil {
		return r, err
	}
	if r.DetMetrics, err = ScoreDetections(gt, dets, names); err != nil {
		return nil, err
	}
	if r.WallSeconds > 0 {
		r.ImagesPerSecond = float64(r.N) / r.WallSeconds
	}
	return r, nil
}
