package quantize

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/mnconv/mnconv/ir"
	rt "github.com/mnconv/mnconv/runtime"
)

// Source yields calibration inputs: Len items, each loaded on demand as the
// graph's single input. A load error means the item is unreadable: it is
// counted, named in Stats.Skipped, and calibration goes on.
type Source interface {
	Len() int
	Name(i int) string
	Load(i int) (*rt.Tensor, error)
}

// Stats are the merged observations of a calibration run.
type Stats struct {
	Hist    map[string]*Histogram // by tensor name: graph inputs and float node outputs
	Images  int                   // items that ran
	Skipped []string              // items that could not be loaded, with the reason
}

// CalibrateOptions tune Calibrate.
type CalibrateOptions struct {
	Workers  int          // 0 means GOMAXPROCS
	Progress func()       // called once per item, from any worker
	Warn     func(string) // unreadable items; nil discards
	// AllowEmpty accepts a run in which no item could be used (a shard of
	// a sharded calibration may hold none); else that is an error.
	AllowEmpty bool
}

// Calibrate runs the float graph over every item of src with an observer on
// every float activation. Histograms are streamed and merged (memory does not
// grow with the number of items) and order-independent (see Histogram), so
// the result is the same for any worker count.
func Calibrate(ctx context.Context, g *ir.Graph, src Source, opts CalibrateOptions) (*Stats, error) {
	if len(g.Inputs) != 1 {
		return nil, fmt.Errorf("calibration needs a model with one input, this one has %d", len(g.Inputs))
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, src.Len()))
	type result struct {
		hist    map[string]*Histogram
		images  int
		skipped map[int]string
		err     error
	}
	results := make([]result, workers)
	next := make(chan int)
	// A bounded pipeline: as many loaders as workers decode items into a
	// queue of that many, so that loading overlaps running; results are
	// merged order-independently (and skipped items reported by index).
	type loaded struct {
		i   int
		x   *rt.Tensor
		err error
	}
	queue := make(chan loaded, workers)
	var lwg sync.WaitGroup
	for range workers {
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			for i := range next {
				x, err := src.Load(i)
				queue <- loaded{i, x, err}
			}
		}()
	}
	go func() {
		lwg.Wait()
		close(queue)
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(res *result) {
			defer wg.Done()
			res.hist = map[string]*Histogram{}
			res.skipped = map[int]string{}
			it, err := rt.NewWithOptions(g, rt.Options{Threads: 1}) // the workers are the parallelism
			if err != nil {
				res.err = err
				for range queue {
				}
				return
			}
			observe := func(t *ir.Tensor, v *rt.Tensor) {
				if v.DType != ir.Float32 {
					return
				}
				h := res.hist[t.Name]
				if h == nil {
					h = NewHistogram()
					res.hist[t.Name] = h
				}
				h.Add(v.F32)
			}
			it.Observe = func(n *ir.Node, outs []*rt.Tensor) {
				for i, t := range n.Outputs {
					observe(t, outs[i])
				}
			}
			for l := range queue {
				if res.err != nil {
					continue
				}
				i, x, err := l.i, l.x, l.err
				if err != nil {
					res.skipped[i] = err.Error()
					if opts.Progress != nil {
						opts.Progress()
					}
					continue
				}
				if err := it.SetInput(0, x); err != nil {
					res.err = fmt.Errorf("%s: %v", src.Name(i), err)
					continue
				}
				observe(g.Inputs[0], it.Input(0))
				if err := it.Run(); err != nil {
					res.err = fmt.Errorf("%s: %v", src.Name(i), err)
					continue
				}
				res.images++
				if opts.Progress != nil {
					opts.Progress()
				}
			}
		}(&results[w])
	}
feed:
	for i := 0; i < src.Len(); i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st := &Stats{Hist: map[string]*Histogram{}}
	skipped := map[int]string{}
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		st.Images += r.images
		for k, v := range r.skipped {
			skipped[k] = v
		}
		for name, h := range r.hist {
			if st.Hist[name] == nil {
				st.Hist[name] = NewHistogram()
			}
			st.Hist[name].Merge(h)
		}
	}
	for i := 0; i < src.Len(); i++ {
		if why, ok := skipped[i]; ok {
			msg := fmt.Sprintf("%s: skipped: %s", src.Name(i), why)
			st.Skipped = append(st.Skipped, msg)
			if opts.Warn != nil {
				opts.Warn(msg)
			}
		}
	}
	if st.Images == 0 && !opts.AllowEmpty {
		return nil, fmt.Errorf("calibration: none of the %d items could be used", src.Len())
	}
	return st, nil
}
