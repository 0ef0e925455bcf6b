package runtime

import (
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"
)

// countTask records how often each part ran and on how many parts.
type countTask struct {
	ran   []atomic.Int32
	parts atomic.Int32
	delay time.Duration
}

func (c *countTask) runTask(part, parts int) {
	c.parts.Store(int32(parts))
	c.ran[part].Add(1)
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
}

// TestPoolRunsEachPartOnce: every part of every run executes exactly once,
// whoever claims it, across many runs with varying part counts.
func TestPoolRunsEachPartOnce(t *testing.T) {
	p := newPool(4)
	defer p.stop()
	for r := range 2000 {
		parts := 1 + r%6
		c := &countTask{ran: make([]atomic.Int32, 6)}
		p.run(c, parts)
		got := int(c.parts.Load())
		for i := range c.ran {
			want := int32(0)
			if i < got {
				want = 1
			}
			if n := c.ran[i].Load(); n != want {
				t.Fatalf("run %d (%d parts, ran as %d): part %d ran %d times", r, parts, got, i, n)
			}
		}
	}
}

// TestPoolCallerTakesLateParts: with one OS thread for Go code the helpers
// cannot run while the caller works, so the caller claims every part itself
// instead of waiting for them (and soon stops handing parts out at all).
func TestPoolCallerTakesLateParts(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
	p := newPool(4)
	defer p.stop()
	for range 20 {
		c := &countTask{ran: make([]atomic.Int32, 4)}
		p.run(c, 4)
		for i := range c.parts.Load() {
			if n := c.ran[i].Load(); n != 1 {
				t.Fatalf("part %d ran %d times", i, n)
			}
		}
	}
	if p.stats.callerParts == 0 {
		t.Fatalf("caller ran no part: %+v", p.stats)
	}
}

// TestPoolFallsBackWhenHelpersAreLate: a helper that takes much longer than
// the caller (here its part sleeps) makes the pool go serial for a stretch.
func TestPoolFallsBackWhenHelpersAreLate(t *testing.T) {
	p := newPool(2)
	defer p.stop()
	slow := &slowTask{}
	for range 4 * lateLimit {
		p.run(slow, 2)
	}
	if p.stats.serial == 0 && p.serialLeft == 0 {
		t.Fatalf("no serial fallback after late helpers: %+v", p.stats)
	}
	// Serial runs do the whole task in one part.
	c := &countTask{ran: make([]atomic.Int32, 2)}
	p.run(c, 2)
	if c.parts.Load() != 1 {
		t.Fatalf("run during the fallback used %d parts", c.parts.Load())
	}
}

// slowTask's parts other than the one the caller runs first are slow,
// so the caller always waits longer than it works once a helper has taken
// one (the caller's own part lasts long enough for a parked helper to
// wake up and take the next).
type slowTask struct{}

func (slowTask) runTask(part, parts int) {
	switch {
	case parts > 1 && part > 0:
		time.Sleep(2 * time.Millisecond)
	case parts > 1:
		time.Sleep(300 * time.Microsecond)
	}
}
