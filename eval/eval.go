package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/runtime"
)

// Config tunes an evaluation.
type Config struct {
	Preset preprocess.Preset
	Mode   preprocess.Mode // Auto: chosen from the first model's input
	// Workers is the number of images in flight (one interpreter chain
	// each); 0 means one per CPU.
	Workers int
	// Progress receives a progress bar with an ETA; nil shows none.
	Progress io.Writer
	// Description labels the progress bar ("eval" when empty).
	Description string
	// MinImages is the fewest readable images that make a result; fewer is
	// an error. 0 means 1.
	MinImages int
	// LimitUnreadable makes more than MaxUnreadable (a share of the listed
	// images, 0 to 1; 0: none) unreadable images an error that names them;
	// without it they are skipped whatever their number.
	LimitUnreadable bool
	MaxUnreadable   float64
	// FloatMode is the pixel mapping of a float first input when Mode is
	// Auto (Auto: TargetFor's default); it lets a quantized model and its
	// float baseline share one preprocessing preset.
	FloatMode preprocess.Mode
	// Warn receives one message per unreadable image; nil discards them.
	Warn func(msg string)
	// CountLayers adds each model's per-layer executed and static MACs to
	// Result.Cost (the totals are always there).
	CountLayers bool
	// Cache, when set, keeps the decoded images for the next evaluation
	// on the same files (see ImageCache).
	Cache *ImageCache
}

// ImageResult is one image's outcome. Top5 holds class indices, best first
// (-1 = background of a 1001-way ImageNet output).
type ImageResult struct {
	File        string `json:"file"`
	Label       int    `json:"label"`
	Top5        []int  `json:"top5"`
	CorrectTop1 bool   `json:"correct_top1"`
	CorrectTop5 bool   `json:"correct_top5"`
}

// Skipped is an image that could not be read.
type Skipped struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// Result is an evaluation's outcome. Top1 and Top5 are percentages of N,
// the images that could be read.
type Result struct {
	N          int       `json:"n"`
	Top1       float64   `json:"top1"`
	Top5       float64   `json:"top5"`
	Unreadable int       `json:"unreadable"`
	Skipped    []Skipped `json:"skipped,omitempty"`
	// Classes is the length of the (last) model's output.
	Classes         int     `json:"classes"`
	Workers         int     `json:"workers"`
	ImagesPerSecond float64 `json:"images_per_second"`
	WallSeconds     float64 `json:"wall_seconds"`
	// DecodeSeconds and InferenceSeconds are summed over workers:
	// decoding plus preprocessing, and running the model chain.
	DecodeSeconds    float64 `json:"decode_seconds"`
	InferenceSeconds float64 `json:"inference_seconds"`
	// MACsPerImage is what the runtime executed per image, summed over the
	// chain (its kernels' counters over the N images); StaticMACs is
	// inspect's count of the same graphs, and WeightBytes the bytes of
	// their weights and biases. Cost has each model's figures.
	MACsPerImage int64         `json:"macs_per_image"`
	StaticMACs   int64         `json:"static_macs"`
	WeightBytes  int64         `json:"weight_bytes"`
	Cost         []*ModelCost  `json:"cost"`
	PerImage     []ImageResult `json:"per_image"`
}

// chain is a list of graphs run in sequence, output 0 of each feeding
// input 0 of the next.
type chain struct {
	models []*ir.Graph
	preset preprocess.Preset
	target preprocess.Target
	// classes: the last output's per-image length
	classes int
}

func newChain(models []*ir.Graph, cfg Config) (*chain, error) {
	if len(models) == 0 {
		return nil, errors.New("eval: no model")
	}
	for i, g := range models {
		if g == nil || len(g.Inputs) != 1 || len(g.Outputs) < 1 {
			return nil, fmt.Errorf("eval: model %d (%s) must have one input and at least one output", i+1, modelName(g))
		}
		if i == 0 {
			continue
		}
		out, in := models[i-1].Outputs[0], g.Inputs[0]
		if out.Len() != in.Len() {
			return nil, fmt.Errorf("eval: model %d (%s) output %q %v has %d elements, model %d (%s) input %q %v takes %d",
				i, modelName(models[i-1]), out.Name, out.Shape, out.Len(), i+1, modelName(g), in.Name, in.Shape, in.Len())
		}
		if err := checkHandoff(out, in); err != nil {
			return nil, fmt.Errorf("eval: between model %d and %d: %w", i, i+1, err)
		}
	}
	mode := cfg.Mode
	if mode == preprocess.Auto && cfg.FloatMode != preprocess.Auto {
		mode = preprocess.Recipe{Float: cfg.FloatMode}.ModeFor(models[0], 0)
	}
	t, err := preprocess.TargetFor(models[0], 0, cfg.Preset, mode)
	if err != nil {
		return nil, fmt.Errorf("eval: %s: %w", modelName(models[0]), err)
	}
	last := models[len(models)-1].Outputs[0]
	if last.Len()%t.N != 0 || last.Len() == 0 {
		return nil, fmt.Errorf("eval: output %q %v does not split into a batch of %d", last.Name, last.Shape, t.N)
	}
	if last.DType.IsQuantized() && last.Quant.PerAxis() {
		return nil, fmt.Errorf("eval: output %q is quantized per axis; scores need one scale", last.Name)
	}
	return &chain{models: models, preset: cfg.Preset, target: t, classes: last.Len() / t.N}, nil
}

func modelName(g *ir.Graph) string {
	if g == nil {
		return "nil"
	}
	if g.Name != "" {
		return g.Name
	}
	return "unnamed"
}

// checkHandoff says whether out can feed in: as is when the dtypes match
// and the quantization agrees (or one side has none), else through real
// values, which needs per-tensor parameters on the quantized side(s).
func checkHandoff(out, in *ir.Tensor) error {
	if rawHandoff(out, in) {
		return nil
	}
	for _, t := range []*ir.Tensor{out, in} {
		switch {
		case t.DType == ir.Float32:
		case t.DType.IsQuantized() && t.Quant != nil && len(t.Quant.Scale) == 1:
		default:
			return fmt.Errorf("cannot convert %q (%v) to %q (%v): need float32 or per-tensor quantized tensors", out.Name, out.DType, in.Name, in.DType)
		}
	}
	return nil
}

func rawHandoff(out, in *ir.Tensor) bool {
	if out.DType != in.DType {
		return false
	}
	if out.Quant == nil || in.Quant == nil {
		return true
	}
	return slices.Equal(out.Quant.Scale, in.Quant.Scale) && slices.Equal(out.Quant.ZeroPoint, in.Quant.ZeroPoint)
}

// handoff copies src (tensor out of one model) into dst (in of the next).
func handoff(src *runtime.Tensor, out *ir.Tensor, dst *runtime.Tensor, in *ir.Tensor) {
	if rawHandoff(out, in) {
		copyTensor(dst, src)
		return
	}
	real := src.Dequantized(out.Quant)
	if in.DType == ir.Float32 {
		copy(dst.F32, real)
		return
	}
	s, zp := in.Quant.S(0), in.Quant.ZP(0)
	for i, v := range real {
		q := ir.QuantizeValue(float64(v), s, zp, in.DType)
		if in.DType == ir.Int8 {
			dst.I8[i] = int8(q)
		} else {
			dst.U8[i] = uint8(q)
		}
	}
}

// worker holds one interpreter per model of the chain.
type worker struct {
	c     *chain
	its   []*runtime.Interpreter
	infer time.Duration
	// state is what a task's score hook keeps per worker (nil until it
	// sets it).
	state any
}

func (c *chain) newWorker() (*worker, error) {
	w := &worker{c: c}
	for _, g := range c.models {
		// one thread per interpreter: the workers are the parallelism
		it, err := runtime.NewWithOptions(g, runtime.Options{Threads: 1})
		if err != nil {
			return nil, fmt.Errorf("eval: %s: %w", modelName(g), err)
		}
		w.its = append(w.its, it)
	}
	return w, nil
}

// top5 is the top-5 class indices of the chain's last output.
func (w *worker) top5() []int {
	out := w.its[len(w.its)-1].Output(0)
	scores := make([]float64, w.c.classes)
	for i := range scores {
		scores[i] = out.Float(i) // raw values rank as the dequantized ones do (scale > 0)
	}
	top := TopK(scores, 5)
	for i, k := range top {
		top[i] = ClassOf(w.c.classes, k)
	}
	return top
}

// run runs the chain on a preprocessed image; the result is the last
// interpreter's output 0.
func (w *worker) run(m *preprocess.Image) error {
	t := w.c.target
	start := time.Now()
	defer func() { w.infer += time.Since(start) }()
	if err := t.Fill(w.its[0].Input(0), 0, m.Pix); err != nil {
		return err
	}
	for i, ip := range w.its {
		if i > 0 {
			handoff(w.its[i-1].Output(0), w.c.models[i-1].Outputs[0], ip.Input(0), w.c.models[i].Inputs[0])
		}
		if err := runSafely(ip); err != nil {
			return fmt.Errorf("%s: %w", modelName(w.c.models[i]), err)
		}
	}
	return nil
}

// runSafely runs an interpreter, turning a kernel panic (a runtime bug)
// into an error with its stack, so that one bad kernel stops the evaluation
// with a report instead of killing the process from a worker goroutine.
func runSafely(it *runtime.Interpreter) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("runtime panic: %v\n%s", p, debug.Stack())
		}
	}()
	return it.Run()
}

// Evaluate classifies every item with the chain of models (output 0 of each
// feeding input 0 of the next) and scores the top-1 and top-5 accuracy:
// Run, then Summarize. Images run in parallel, one interpreter chain per
// worker; the graphs are shared read-only. Unreadable images are counted,
// named through cfg.Warn and skipped; fewer readable images than
// cfg.MinImages (at least 1) is an error, as is any failure of the models
// themselves.
func Evaluate(ctx context.Context, models []*ir.Graph, items []Item, cfg Config) (*Result, error) {
	t, err := Run(ctx, models, items, cfg)
	if err != nil {
		return nil, err
	}
	return Summarize(t, cfg)
}

// Run classifies every item with the chain of models and returns the
// per-image outcomes and executed costs, in the order of items; it applies
// no minimum of readable images (a shard may hold none). Unreadable images
// are named through cfg.Warn.
func Run(ctx context.Context, models []*ir.Graph, items []Item, cfg Config) (*Tally, error) {
	c, err := newChain(models, cfg)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if it.Label >= c.numClasses() {
			return nil, fmt.Errorf("eval: %s has label %d, but the model has %d classes", it.File, it.Label, c.numClasses())
		}
	}
	tops := make([][]int, len(items))
	st, err := c.loop(ctx, cfg, task{
		n:    len(items),
		path: func(i int) string { return items[i].Path },
		name: func(i int) string { return items[i].File },
		score: func(w *worker, i int, _ *decoded) error {
			tops[i] = w.top5()
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	workers := st.workers
	t := &Tally{Classes: c.classes, Workers: len(workers), WallSeconds: st.wall.Seconds(), Images: make([]TallyImage, 0, len(items)),
		DecodeSeconds: st.decode.Seconds(), InferenceSeconds: st.inference().Seconds()}
	readErr := st.readErr
	n := 0
	for i, it := range items {
		ti := TallyImage{Index: it.Index, File: it.File, Label: it.Label, Top5: tops[i]}
		if readErr[i] != nil {
			ti.Top5, ti.Error = nil, readErr[i].Error()
			if cfg.Warn != nil {
				cfg.Warn(fmt.Sprintf("skipping unreadable image %s: %v", it.File, readErr[i]))
			}
		} else {
			n++
		}
		t.Images = append(t.Images, ti)
	}
	for mi := range c.models {
		its := make([]*runtime.Interpreter, len(workers))
		for wi, w := range workers {
			its[wi] = w.its[mi]
		}
		mc, err := CountRuns(n, cfg.CountLayers, its...)
		if err != nil {
			return nil, err
		}
		t.Cost = append(t.Cost, mc)
	}
	return t, nil
}

// UnreadableError is Evaluate's refusal of a folder with more unreadable
// images than Config.MaxUnreadable allows.
type UnreadableError struct {
	Skipped []Skipped
	Listed  int
	Max     float64
}

func (e *UnreadableError) Error() string {
	const show = 5
	var names []string
	for i, s := range e.Skipped {
		if i == show {
			names = append(names, fmt.Sprintf("and %d more", len(e.Skipped)-show))
			break
		}
		names = append(names, fmt.Sprintf("%s (%s)", s.File, s.Error))
	}
	return fmt.Sprintf("eval: %d of %d images are unreadable, more than the %.4g%% allowed: %s",
		len(e.Skipped), e.Listed, 100*e.Max, strings.Join(names, "; "))
}

// numClasses is the number of class indices the output can name: 1000
// for a 1001-way ImageNet output (background is not a label).
func (c *chain) numClasses() int {
	if c.classes == 1001 {
		return 1000
	}
	return c.classes
}
