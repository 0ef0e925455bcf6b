package eval

import (
	"cmp"
	"fmt"
	"slices"
)

// A Result is a function of a Tally: what one run (or the merged shards of
// one) counted image by image. Summarize turns a tally into the report, so
// an unsharded evaluation and the merge of its shards give the same Result
// (timings aside: those are measured, not counted).

// Tally is the raw outcome of running a chain over a list of images.
type Tally struct {
	// Classes is the length of the (last) model's output.
	Classes int `json:"classes"`
	// Images are the per-image outcomes in list order.
	Images []TallyImage `json:"images"`
	// Cost has each model's executed MACs over the readable images.
	Cost []*ModelCost `json:"cost"`
	// Timings, as in Result; a merge sums the workers and the seconds
	// summed over workers and keeps the longest wall time (shards run side
	// by side).
	Workers          int     `json:"workers"`
	WallSeconds      float64 `json:"wall_seconds"`
	DecodeSeconds    float64 `json:"decode_seconds"`
	InferenceSeconds float64 `json:"inference_seconds"`
}

// TallyImage is one image's outcome: its top-5 classes, or why it could
// not be read.
type TallyImage struct {
	Index int    `json:"index"` // position in the labels file
	File  string `json:"file"`
	Label int    `json:"label"`
	Top5  []int  `json:"top5,omitempty"`
	Error string `json:"error,omitempty"`
}

// Summarize scores a tally: top-1 and top-5 over the readable images, the
// unreadable ones listed, the chain's costs. More unreadable images than
// cfg allows (LimitUnreadable, MaxUnreadable) or fewer readable ones than
// cfg.MinImages (at least 1) is an error; the result is returned with it.
func Summarize(t *Tally, cfg Config) (*Result, error) {
	r := &Result{Classes: t.Classes, Workers: t.Workers, WallSeconds: t.WallSeconds,
		DecodeSeconds: t.DecodeSeconds, InferenceSeconds: t.InferenceSeconds,
		Cost: t.Cost, PerImage: []ImageResult{}}
	images := slices.Clone(t.Images)
	slices.SortStableFunc(images, func(a, b TallyImage) int { return cmp.Compare(a.Index, b.Index) })
	var hit1, hit5 int
	for _, im := range images {
		if im.Error != "" {
			r.Skipped = append(r.Skipped, Skipped{File: im.File, Error: im.Error})
			continue
		}
		res := ImageResult{File: im.File, Label: im.Label, Top5: im.Top5}
		res.CorrectTop1 = len(im.Top5) > 0 && im.Top5[0] == im.Label
		res.CorrectTop5 = slices.Contains(im.Top5, im.Label)
		if res.CorrectTop1 {
			hit1++
		}
		if res.CorrectTop5 {
			hit5++
		}
		r.PerImage = append(r.PerImage, res)
	}
	r.N = len(r.PerImage)
	r.Unreadable = len(r.Skipped)
	r.MACsPerImage, r.StaticMACs, r.WeightBytes = chainCost(r.Cost)
	if err := cfg.checkReadable(r.Skipped, len(images), r.N); err != nil {
		return r, err
	}
	r.Top1 = 100 * float64(hit1) / float64(r.N)
	r.Top5 = 100 * float64(hit5) / float64(r.N)
	if r.WallSeconds > 0 {
		r.ImagesPerSecond = float64(r.N) / r.WallSeconds
	}
	return r, nil
}

// MergeTallies joins the tallies of disjoint slices of one image list run
// by the same chain: images in list order, executed MACs added (every image
// of a static-shape graph costs the same, so a part that saw images must
// agree on MACs per image with every other), timings as Tally says. An
// image in two parts is an error.
func MergeTallies(parts ...*Tally) (*Tally, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("eval: no tallies to merge")
	}
	m := &Tally{Classes: parts[0].Classes}
	seen := map[string]bool{}
	for pi, p := range parts {
		if p.Classes != m.Classes {
			return nil, fmt.Errorf("eval: part %d has %d classes, part 0 has %d", pi, p.Classes, m.Classes)
		}
		if len(p.Cost) != len(parts[0].Cost) {
			return nil, fmt.Errorf("eval: part %d ran a chain of %d models, part 0 one of %d", pi, len(p.Cost), len(parts[0].Cost))
		}
		for _, im := range p.Images {
			if seen[im.File] {
				return nil, fmt.Errorf("eval: image %s is in more than one part", im.File)
			}
			seen[im.File] = true
		}
		m.Images = append(m.Images, p.Images...)
		m.Workers += p.Workers
		m.WallSeconds = max(m.WallSeconds, p.WallSeconds)
		m.DecodeSeconds += p.DecodeSeconds
		m.InferenceSeconds += p.InferenceSeconds
	}
	slices.SortStableFunc(m.Images, func(a, b TallyImage) int { return cmp.Compare(a.Index, b.Index) })
	for mi := range parts[0].Cost {
		var costs []*ModelCost
		for _, p := range parts {
			costs = append(costs, p.Cost[mi])
		}
		c, err := mergeCost(costs)
		if err != nil {
			return nil, err
		}
		m.Cost = append(m.Cost, c)
	}
	return m, nil
}

// mergeCost adds up one model's costs over parts: the static figures must
// be equal, the executed ones per image too where a part ran images.
func mergeCost(parts []*ModelCost) (*ModelCost, error) {
	base := parts[0]
	for _, p := range parts {
		if p.Images > 0 {
			base = p
			break
		}
	}
	m := *base
	m.Layers = slices.Clone(base.Layers)
	m.Images = 0
	for _, p := range parts {
		if p.Model != base.Model || p.StaticMACs != base.StaticMACs || p.WeightBytes != base.WeightBytes {
			return nil, fmt.Errorf("eval: parts measured different models (%s: %d MACs, %d weight bytes; %s: %d MACs, %d weight bytes)",
				base.Model, base.StaticMACs, base.WeightBytes, p.Model, p.StaticMACs, p.WeightBytes)
		}
		m.Images += p.Images
		if p.Images == 0 {
			continue
		}
		same := p.MACsPerImage == base.MACsPerImage && len(p.Layers) == len(base.Layers)
		for i := 0; same && i < len(p.Layers); i++ {
			same = p.Layers[i].MACsPerImage == base.Layers[i].MACsPerImage
		}
		if !same {
			return nil, fmt.Errorf("eval: %s executed %d MACs per image in one part and %d in another", base.Model, base.MACsPerImage, p.MACsPerImage)
		}
	}
	return &m, nil
}

// checkReadable applies the unreadable-image policy to a run over listed
// images, n of them read: more unreadable ones than LimitUnreadable and
// MaxUnreadable allow, or fewer read than MinImages (at least 1), is an
// error. Classification (Summarize) and segmentation share it.
func (cfg Config) checkReadable(skipped []Skipped, listed, n int) error {
	if cfg.LimitUnreadable && len(skipped) > 0 && float64(len(skipped)) > cfg.MaxUnreadable*float64(listed) {
		return &UnreadableError{Skipped: skipped, Listed: listed, Max: cfg.MaxUnreadable}
	}
	if minImages := max(cfg.MinImages, 1); n < minImages {
		return fmt.Errorf("eval: only %d of %d images could be read, fewer than the minimum %d", n, listed, minImages)
	}
	return nil
}
