package runtime_test

import (
	"fmt"
	goruntime "runtime"
	"sync/atomic"
	"testing"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/runtime"
)

// BenchmarkThreadsUnderLoad times a built MobileNet v1 0.5 at 160 px with 1
// and 2 threads, on its own and with a competing goroutine that spins on a
// locked OS thread (it holds one of GOMAXPROCS's Ps and one core, the way
// another busy process holds a core). With the load, 2 threads should not be
// slower than 1: the caller runs parts its helper has not claimed, and the
// pool goes serial while helpers stay late. bench/threads-under-load.sh
// measures the same with a real competing process.
func BenchmarkThreadsUnderLoad(b *testing.B) {
	g := builtModel(b, builder.V1, 0.5, 160)
	for _, load := range []bool{false, true} {
		for _, threads := range []int{1, 2} {
			name := fmt.Sprintf("load=%v/threads=%d", load, threads)
			b.Run(name, func(b *testing.B) {
				it, err := runtime.NewWithOptions(g, runtime.Options{Threads: threads})
				if err != nil {
					b.Fatal(err)
				}
				defer it.Close()
				fillInput(it.Input(0), 1)
				var stop atomic.Bool
				done := make(chan struct{})
				if load {
					go func() {
						goruntime.LockOSThread()
						defer close(done)
						for n := 0; !stop.Load(); n++ {
						}
					}()
				} else {
					close(done)
				}
				for b.Loop() {
					if err := it.Run(); err != nil {
						b.Fatal(err)
					}
				}
				stop.Store(true)
				<-done
			})
		}
	}
}
