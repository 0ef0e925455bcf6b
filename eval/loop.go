package eval

import (
	"context"
	"fmt"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mnconv/mnconv/preprocess"
)

// The one worker loop of every task: classification, segmentation and
// detection differ only in what they read beside the image (a mask) and in
// how they score the chain's outputs, which are the two hooks of a task.

// task is one evaluation's per-image work.
type task struct {
	// n is the number of images; path(i) is image i's file, name(i) what
	// errors call it.
	n          int
	path, name func(i int) string
	// side, when set, reads what image i needs beside its pixels (a
	// mask); it runs in a decoder, so it overlaps inference too. An error
	// makes the image unreadable.
	side func(i int) (any, error)
	// score reads the outputs of w's chain, which has just run on image
	// i; it runs in a runner, one call per worker at a time. An error
	// stops the evaluation.
	score func(w *worker, i int, d *decoded) error
}

// decoded is one image read and preprocessed by a decoder, on its way to
// a runner.
type decoded struct {
	i   int
	img *preprocess.Image
	// srcW and srcH are the image's size before preprocessing (detection
	// boxes are scaled to it).
	srcW, srcH int
	side       any
	err        error
}

// loopStats is what the loop measured and could not read.
type loopStats struct {
	workers []*worker
	readErr []error // per image; nil: read
	wall    time.Duration
	decode  time.Duration // summed over decoders
}

// inference sums the workers' time in the chain.
func (s *loopStats) inference() time.Duration {
	var d time.Duration
	for _, w := range s.workers {
		d += w.infer
	}
	return d
}

// loop runs the chain over the task's images. A bounded pipeline: nw
// decoders read and preprocess images into a queue of nw, nw runners take
// them from it, so one image decodes while another runs; results land by
// index, so their order (and the report) does not depend on the
// scheduling. The interpreters are prepared here one after another: a
// kernel's Prepare reads the shared graph and need not be safe to run
// concurrently.
func (c *chain) loop(ctx context.Context, cfg Config, t task) (*loopStats, error) {
	nw := cfg.Workers
	if nw <= 0 {
		nw = goruntime.NumCPU()
	}
	nw = max(1, min(nw, t.n))
	st := &loopStats{workers: make([]*worker, nw), readErr: make([]error, t.n)}
	for i := range st.workers {
		w, err := c.newWorker()
		if err != nil {
			return nil, err
		}
		st.workers[i] = w
	}

	var bar *progressbar.ProgressBar
	if cfg.Progress != nil {
		desc := cfg.Description
		if desc == "" {
			desc = "eval"
		}
		bar = progressbar.NewOptions(t.n,
			progressbar.OptionSetWriter(cfg.Progress),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("img"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	queue := make(chan decoded, nw)
	decodeTime := make([]time.Duration, nw)
	var (
		wg, dwg  sync.WaitGroup
		failOnce sync.Once
		failure  error
	)
	fail := func(err error) {
		failOnce.Do(func() { failure = err })
		cancel()
	}
	start := time.Now()
	for d := range nw {
		dwg.Add(1)
		go func() {
			defer dwg.Done()
			for i := range next {
				t0 := time.Now()
				dc := cfg.Cache.decode(c, i, t)
				decodeTime[d] += time.Since(t0)
				select {
				case queue <- dc:
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() {
		dwg.Wait()
		close(queue)
	}()
	for _, w := range st.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range queue {
				switch {
				case d.err != nil:
					st.readErr[d.i] = d.err
				case ctx.Err() != nil:
				default:
					if err := w.run(d.img); err != nil {
						fail(fmt.Errorf("eval: %s: %w", t.name(d.i), err))
					} else if err := t.score(w, d.i, &d); err != nil {
						fail(fmt.Errorf("eval: %s: %w", t.name(d.i), err))
					}
				}
				if bar != nil {
					bar.Add(1)
				}
			}
		}()
	}
feed:
	for i := range t.n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	st.wall = time.Since(start)
	if bar != nil {
		bar.Finish()
	}
	if failure != nil {
		return nil, failure
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	for _, d := range decodeTime {
		st.decode += d
	}
	return st, nil
}

// decode reads image i (and its side data) and preprocesses it to the
// chain's input size.
func (c *chain) decode(i int, t task) decoded {
	d := decoded{i: i}
	path := t.path(i)
	m, err := preprocess.DecodeFile(path)
	if err != nil {
		d.err = err
		return d
	}
	d.srcW, d.srcH = m.W, m.H
	if d.img, err = c.preset.Apply(m, c.target.W, c.target.H); err != nil {
		d.err = fmt.Errorf("%s: %w", path, err)
		return d
	}
	if t.side != nil {
		d.side, d.err = t.side(i)
	}
	return d
}

// ImageCache keeps images as decoders left them (decoded, cropped and
// resized, before the pixel mapping), so that a caller evaluating many
// models on one folder reads each image once: quantize --max-drop's tries.
// Entries are keyed by file, preset and size; images with side data (masks)
// are not kept. The zero value is ready; a nil cache keeps nothing. Safe for
// concurrent use.
type ImageCache struct {
	// MaxBytes bounds the pixels kept (0: no bound); images past it are
	// decoded every time.
	MaxBytes int64
	mu       sync.Mutex
	m        map[imageKey]decoded
	bytes    int64
}

type imageKey struct {
	path   string
	preset preprocess.Preset
	w, h   int
}

// decode is c.decode through the cache.
func (ic *ImageCache) decode(c *chain, i int, t task) decoded {
	if ic == nil || t.side != nil {
		return c.decode(i, t)
	}
	k := imageKey{t.path(i), c.preset, c.target.W, c.target.H}
	ic.mu.Lock()
	d, ok := ic.m[k]
	ic.mu.Unlock()
	if ok {
		d.i = i
		return d
	}
	d = c.decode(i, t)
	var size int64
	if d.img != nil {
		size = int64(len(d.img.Pix))
	}
	ic.mu.Lock()
	if ic.m == nil {
		ic.m = map[imageKey]decoded{}
	}
	if ic.MaxBytes == 0 || ic.bytes+size <= ic.MaxBytes {
		ic.m[k] = d
		ic.bytes += size
	}
	ic.mu.Unlock()
	return d
}
