package runtime

import "sync"

// A pool runs one kernel's work on several goroutines. Each Interpreter owns
// one, sized by Options.Threads; its goroutines start on the first Run that
// needs them and then live as long as the Interpreter (Close or garbage
// collection stops them). Handing out work costs a channel send per helper
// and allocates nothing, so a kernel may split every Eval.
//
// The calling goroutine always takes part 0: with one thread, or with work
// too small to share, nothing is handed over at all.

// task is a kernel's parallel body. runTask(part, parts) does part of parts
// equal shares; part also indexes per-thread scratch, since no two parts of
// one run execute on the same goroutine at once.
type task interface {
	runTask(part, parts int)
}

// poolUser is implemented by kernels that split their work: the Interpreter
// hands them its pool after Prepare (kernels also run without one, serially).
type poolUser interface {
	setPool(p *pool)
}

type job struct {
	t           task
	part, parts int
}

type pool struct {
	threads int
	mu      sync.Mutex // guards starting and stopping, not running
	jobs    []chan job // one per helper goroutine (threads-1)
	wg      sync.WaitGroup
	stopped bool
}

func newPool(threads int) *pool { return &pool{threads: max(threads, 1)} }

// size is the number of parts a run may use (1 for a nil pool).
func (p *pool) size() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// run executes t in parts (at most the pool's size) and returns when all are
// done. A nil pool runs the task serially.
func (p *pool) run(t task, parts int) {
	parts = min(parts, p.size())
	if parts <= 1 {
		t.runTask(0, 1)
		return
	}
	if !p.start() {
		t.runTask(0, 1)
		return
	}
	p.wg.Add(parts - 1)
	for i := 1; i < parts; i++ {
		p.jobs[i-1] <- job{t, i, parts}
	}
	t.runTask(0, parts)
	p.wg.Wait()
}

// start launches the helper goroutines once; it reports false after stop.
func (p *pool) start() bool {
	if p.jobs != nil {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	if p.jobs == nil {
		jobs := make([]chan job, p.threads-1)
		for i := range jobs {
			jobs[i] = make(chan job, 1)
			go p.worker(jobs[i])
		}
		p.jobs = jobs
	}
	return true
}

func (p *pool) worker(jobs chan job) {
	for j := range jobs {
		j.t.runTask(j.part, j.parts)
		p.wg.Done()
	}
}

// stop ends the helper goroutines; later runs are serial. It must not race
// with run (the Interpreter is single-goroutine, and its cleanup runs only
// once it is unreachable).
func (p *pool) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	for _, ch := range p.jobs {
		close(ch)
	}
	p.jobs = nil
}

// split returns the half-open range of part out of parts equal shares of n
// items, rounded to multiples of align (the last share takes the rest).
func split(n, part, parts, align int) (lo, hi int) {
	units := (n + align - 1) / align
	lo = units * part / parts * align
	hi = units * (part + 1) / parts * align
	return min(lo, n), min(hi, n)
}
