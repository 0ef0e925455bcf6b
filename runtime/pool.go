package runtime

import (
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A pool runs one kernel's work on several goroutines. Each Interpreter owns
// one, sized by Options.Threads; its goroutines start on the first Run that
// needs them and then live as long as the Interpreter (Close or garbage
// collection stops them). Handing out work is an atomic store per helper
// (helpers poll briefly before they park) and allocates nothing, so a
// kernel may split every Eval.
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
	slots   []*slot    // one per helper goroutine (threads-1)
	pending atomic.Int32
	stopped bool
}

// slot hands one helper its jobs. A helper spins on seq for a while after
// each job before it parks on wake: layers follow each other every few tens
// of microseconds, and a parked goroutine takes longer than that to be
// scheduled on the other core (a channel send readies the receiver on the
// sender's own processor), which left two threads no faster than one.
type slot struct {
	seq    atomic.Uint64 // bumped when a job is posted
	job    job
	parked atomic.Bool
	wake   chan struct{} // capacity 1
	quit   atomic.Bool
	_      [64]byte // keep slots on separate cache lines
}

// spinFor is how long an idle helper polls before parking.
const spinFor = 200 * time.Microsecond

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
	p.pending.Store(int32(parts - 1))
	for i := 1; i < parts; i++ {
		s := p.slots[i-1]
		s.job = job{t, i, parts}
		s.seq.Add(1)
		if s.parked.Load() {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
	t.runTask(0, parts)
	for spins := 0; p.pending.Load() != 0; spins++ {
		if spins&63 == 63 {
			goruntime.Gosched()
		}
	}
}

// start launches the helper goroutines once; it reports false after stop.
func (p *pool) start() bool {
	if p.slots != nil {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	if p.slots == nil {
		slots := make([]*slot, p.threads-1)
		for i := range slots {
			slots[i] = &slot{wake: make(chan struct{}, 1)}
			go p.worker(slots[i])
		}
		p.slots = slots
	}
	return true
}

func (p *pool) worker(s *slot) {
	var seen uint64
	for {
		deadline := time.Now().Add(spinFor)
		for spins := 0; s.seq.Load() == seen; spins++ {
			if s.quit.Load() {
				return
			}
			if spins&255 == 255 && time.Now().After(deadline) {
				// Park: announce it, then look once more, so that a post
				// that raced with us either is seen here or sends a wake.
				s.parked.Store(true)
				if s.seq.Load() == seen && !s.quit.Load() {
					<-s.wake
				}
				s.parked.Store(false)
				deadline = time.Now().Add(spinFor)
			}
		}
		seen = s.seq.Load()
		j := s.job
		j.t.runTask(j.part, j.parts)
		p.pending.Add(-1)
	}
}

// stop ends the helper goroutines; later runs are serial. It must not race
// with run (the Interpreter is single-goroutine, and its cleanup runs only
// once it is unreachable).
func (p *pool) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	for _, s := range p.slots {
		s.quit.Store(true)
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	p.slots = nil
}

// split returns the half-open range of part out of parts equal shares of n
// items, rounded to multiples of align (the last share takes the rest).
func split(n, part, parts, align int) (lo, hi int) {
	units := (n + align - 1) / align
	lo = units * part / parts * align
	hi = units * (part + 1) / parts * align
	return min(lo, n), min(hi, n)
}
