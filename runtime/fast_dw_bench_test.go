//go:build unix

package runtime

import (
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/mnconv/mnconv/ir"
)

// BenchmarkDepthwiseZ runs MobileNetV2's 3x3 float depthwise layers (one
// of each shape, ReLU6, 1 thread) on the AVX-512 family, "old" with
// dw3x3Pix2z and dw3x3TapsZ, "new" with dw3x3RowZ or dw3x3RowZB, in GFLOP/s
// (of the wall time) and in user CPU time per op. "hot" runs on the same
// buffers again and again; "cold" rewrites the input and touches 8 MB of
// other data before each run (untimed), as in a model, where a large
// layer's input comes from the previous layer's output and not from the
// L2 cache:
//
//	go test -run '^$' -bench DepthwiseZ -count 6 ./runtime
func BenchmarkDepthwiseZ(b *testing.B) {
	if !familyAVX512.runsHere() {
		b.Skip("no AVX-512 here")
	}
	layers := []struct {
		name     string
		h, w, c  int
		s        int
		pads     [4]int
		outH, oW int
	}{
		{"block0_dw_112x112x32", 112, 112, 32, 1, [4]int{1, 1, 1, 1}, 112, 112},
		{"block1_dw_112x112x96_s2", 112, 112, 96, 2, [4]int{0, 0, 1, 1}, 56, 56},
		{"block2_dw_56x56x144", 56, 56, 144, 1, [4]int{1, 1, 1, 1}, 56, 56},
		{"block3_dw_56x56x144_s2", 56, 56, 144, 2, [4]int{0, 0, 1, 1}, 28, 28},
		{"block4_dw_28x28x192", 28, 28, 192, 1, [4]int{1, 1, 1, 1}, 28, 28},
		{"block6_dw_28x28x192_s2", 28, 28, 192, 2, [4]int{0, 0, 1, 1}, 14, 14},
		{"block7_dw_14x14x384", 14, 14, 384, 1, [4]int{1, 1, 1, 1}, 14, 14},
		{"block11_dw_14x14x576", 14, 14, 576, 1, [4]int{1, 1, 1, 1}, 14, 14},
		{"block13_dw_14x14x576_s2", 14, 14, 576, 2, [4]int{0, 0, 1, 1}, 7, 7},
		{"block14_dw_7x7x960", 7, 7, 960, 1, [4]int{1, 1, 1, 1}, 7, 7},
	}
	junk := make([]float32, 2<<20)
	for _, l := range layers {
		tc := fastConvCase{1, l.h, l.w, l.c, l.c, l.c, 3, 3, l.s, l.s, 1, 1, l.pads, ir.ActRelu6, true}
		n := tc.node(rand.New(rand.NewPCG(7, 8)), false)
		x := NewTensor(ir.Float32, n.Inputs[0].Shape)
		copy(x.F32, randFloats(rand.New(rand.NewPCG(9, 10)), x.Len(), false))
		in := []*Tensor{x, FromConst(n.Inputs[1]), FromConst(n.Inputs[2])}
		out := []*Tensor{NewTensor(ir.Float32, n.Out().Shape)}
		flops := 2 * 9 * float64(out[0].Len())
		src := slices.Clone(x.F32)
		for _, mode := range []string{"hot", "cold"} {
			for _, v := range []struct {
				name string
				row  bool
			}{{"old", false}, {"new", true}} {
				b.Run(l.name+"/"+mode+"/"+v.name, func(b *testing.B) {
					var k Kernel
					withFamily(bestFamily, func() {
						saved := dwRowKernel
						dwRowKernel = v.row
						defer func() { dwRowKernel = saved }()
						var err error
						if k, err = Prepare(n); err != nil {
							b.Fatal(err)
						}
					})
					cpu0 := userTime()
					for b.Loop() {
						if mode == "cold" {
							b.StopTimer()
							for i := range junk {
								junk[i]++
							}
							copy(x.F32, src)
							b.StartTimer()
						}
						if err := k.Eval(in, out); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					if mode == "hot" {
						b.ReportMetric(float64(userTime()-cpu0)/float64(b.N), "user-ns/op")
					}
				})
			}
		}
	}
}

// userTime is the process's user CPU time so far.
func userTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano())
}
