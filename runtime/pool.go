package runtime

import (
	"sync"
	"sync/atomic"
	"time"
)

// A pool runs one kernel's work on several goroutines. Each Interpreter owns
// one, sized by Options.Threads; its goroutines start on the first Run that
// needs them and then live as long as the Interpreter (Close or garbage
// collection stops them). Handing out work is a few atomic operations
// (helpers poll briefly before they park) and allocates nothing, so a
// kernel may split every Eval.
//
// Parts are claimed, not assigned: the caller and the helpers take the next
// unclaimed part from one shared counter until none is left, so a helper
// that the operating system has descheduled (another process on its core)
// holds no part hostage: the caller runs it. The caller then waits only for
// parts a helper has started, spinning briefly and then parking, so a slow
// helper on the same core gets the CPU instead of a spinning caller. When
// helpers are late run after run (the caller waits longer than it worked,
// or does every part itself), the pool runs serially for a while and then
// tries again (see pool.late), so n threads cost at most a probe now and
// then over one.

// task is a kernel's parallel body. runTask(part, parts) does part of parts
// equal shares; part also indexes per-part scratch: every part of a run is
// claimed exactly once, so no two goroutines use one part's scratch at once.
type task interface {
	runTask(part, parts int)
}

// poolUser is implemented by kernels that split their work: the Interpreter
// hands them its pool after Prepare (kernels also run without one, serially).
type poolUser interface {
	setPool(p *pool)
}

type pool struct {
	threads int
	mu      sync.Mutex // guards starting and stopping, not running
	slots   []*slot    // one per helper goroutine (threads-1)
	stopped bool

	// The current run. claim packs gen<<32 | parts<<16 | next part; a
	// helper claims part next by a compare-and-swap that fails once the
	// caller has moved on to another generation, and reads t only after a
	// successful claim (the caller cannot start another run, and so write
	// t, before that part is done).
	t        task
	gen      uint32
	claim    atomic.Uint64
	done     atomic.Int32  // parts finished in this run
	waiting  atomic.Bool   // the caller is (about to be) parked on finished
	finished chan struct{} // capacity 1: the last part's finisher wakes the caller

	// Adaptive fallback, touched only by the caller's goroutine.
	lateRuns   int // recent parallel runs whose helpers were late (decays)
	serialLeft int // runs still to do serially before trying helpers again
	backoff    int // length of the next serial stretch
	stats      poolStats
	_          [64]byte
}

// poolStats count what run did (for tests and benchmarks).
type poolStats struct {
	parallel, serial, callerParts, helperParts, late int64
}

// slot parks one helper. A helper spins on the claim word for a while
// after each run before it parks on wake: layers follow each other every few
// tens of microseconds, and a parked goroutine takes longer than that to be
// scheduled on the other core.
type slot struct {
	parked atomic.Bool
	wake   chan struct{} // capacity 1
	quit   atomic.Bool
	_      [64]byte // keep slots on separate cache lines
}

const (
	// spinFor is how long an idle helper polls before parking; waitSpin
	// how long the caller polls for parts in progress before parking.
	spinFor  = 100 * time.Microsecond
	waitSpin = 20 * time.Microsecond
	// lateLimit late runs (net of on-time ones) switch to serial runs for
	// backoff runs, minBackoff at first and doubling up to maxBackoff
	// while the helpers stay late.
	lateLimit  = 2
	minBackoff = 512
	maxBackoff = 1 << 14
)

func newPool(threads int) *pool {
	return &pool{threads: max(threads, 1), finished: make(chan struct{}, 1), backoff: minBackoff}
}

// size is the number of parts a run may use (1 for a nil pool).
func (p *pool) size() int {
	if p == nil {
		return 1
	}
	return p.threads
}

func claimGen(v uint64) uint32 { return uint32(v >> 32) }

// run executes t in parts (at most the pool's size) and returns when all are
// done. A nil pool runs the task serially; so does a pool whose helpers have
// been late (see pool.late): results do not depend on the split.
func (p *pool) run(t task, parts int) {
	parts = min(parts, p.size())
	if parts <= 1 {
		t.runTask(0, 1)
		return
	}
	if p.serialLeft > 0 {
		p.serialLeft--
		p.stats.serial++
		t.runTask(0, 1)
		return
	}
	if !p.start() {
		t.runTask(0, 1)
		return
	}
	p.stats.parallel++
	p.gen++
	p.t = t
	p.done.Store(0)
	p.claim.Store(uint64(p.gen)<<32 | uint64(parts)<<16)
	// A helper that was parked is on its way (tens of microseconds to be
	// scheduled): if it misses this run altogether, that is its wake-up,
	// not another process on its core, and the run counts neither way. A
	// helper that takes a part and then keeps the caller waiting is late
	// either way.
	woken := wakeParked(p.slots[:parts-1])
	start := time.Now()
	mine := p.work(p.gen)
	p.stats.callerParts += int64(mine)
	p.stats.helperParts += int64(parts - mine)
	if p.done.Load() == int32(parts) {
		p.t = nil
		if !(woken && mine == parts) {
			p.late(mine == parts)
		}
		return
	}
	worked := time.Since(start)
	p.wait(int32(parts))
	p.t = nil
	p.late(time.Since(start) > 2*worked)
}

// prewake wakes parked helpers ahead of a run of the graph, so that they
// are spinning by the time its first parallel node posts work (after a
// pause between runs they have parked).
func (p *pool) prewake() {
	if p == nil || p.serialLeft > 0 {
		return
	}
	wakeParked(p.slots)
}

// wakeParked wakes the parked helpers among slots and reports whether
// there were any.
func wakeParked(slots []*slot) bool {
	woken := false
	for _, s := range slots {
		if s.parked.Load() {
			woken = true
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
	return woken
}

// work claims and runs parts of generation gen until none is left; it
// returns how many it ran.
func (p *pool) work(gen uint32) int {
	n := 0
	for {
		v := p.claim.Load()
		parts, next := int(v>>16&0xFFFF), int(v&0xFFFF)
		if claimGen(v) != gen || next >= parts {
			return n
		}
		if !p.claim.CompareAndSwap(v, v+1) {
			continue
		}
		p.t.runTask(next, parts)
		n++
		if p.done.Add(1) == int32(parts) && p.waiting.CompareAndSwap(true, false) {
			p.finished <- struct{}{}
		}
	}
}

// wait returns once all parts are done: it polls for waitSpin, then parks
// until the goroutine finishing the last part wakes it.
func (p *pool) wait(parts int32) {
	deadline := time.Now().Add(waitSpin)
	for spins := 0; p.done.Load() != parts; spins++ {
		if spins&63 != 63 || time.Now().Before(deadline) {
			continue
		}
		p.waiting.Store(true)
		if p.done.Load() == parts && p.waiting.CompareAndSwap(true, false) {
			return // finished meanwhile, and nobody will send
		}
		<-p.finished
		return
	}
}

// late records whether this parallel run's helpers were late; enough late
// runs switch the pool to serial runs for a stretch that doubles each time
// the helpers are still late when it ends.
func (p *pool) late(late bool) {
	if !late {
		p.lateRuns = max(p.lateRuns-1, 0)
		if p.lateRuns == 0 {
			p.backoff = minBackoff
		}
		return
	}
	p.stats.late++
	p.lateRuns += 2
	if p.lateRuns >= 2*lateLimit {
		p.serialLeft = p.backoff
		p.backoff = min(2*p.backoff, maxBackoff)
		p.lateRuns = lateLimit // one more late probe goes serial again
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

// worker is a helper: it waits for a new generation of the claim word and
// joins in claiming its parts.
func (p *pool) worker(s *slot) {
	var seen uint32
	for {
		deadline := time.Now().Add(spinFor)
		v := p.claim.Load()
		for spins := 0; claimGen(v) == seen; spins++ {
			if s.quit.Load() {
				return
			}
			if spins&255 == 255 && time.Now().After(deadline) {
				// Park: announce it, then look once more, so that a post
				// that raced with us either is seen here or sends a wake.
				s.parked.Store(true)
				if claimGen(p.claim.Load()) == seen && !s.quit.Load() {
					<-s.wake
				}
				s.parked.Store(false)
				deadline = time.Now().Add(spinFor)
			}
			v = p.claim.Load()
		}
		seen = claimGen(v)
		p.work(seen)
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
