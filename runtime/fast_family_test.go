package runtime

import (
	"os"
	"strings"
	"testing"
)

// The differential tests run every kernel family this CPU supports
// (fast_family.go) and say which they skip.

// allFamilies is every family, slowest first.
var allFamilies = []kernelFamily{familyGo, familySIMD, familyDotProd, familyAVX512, familyAVX512VNNI}

// testFamilies returns the families this machine runs and logs the others.
func testFamilies(t testing.TB) []kernelFamily {
	t.Helper()
	var run, skipped []string
	var fams []kernelFamily
	for _, f := range allFamilies {
		if !f.runsHere() {
			skipped = append(skipped, f.String())
			continue
		}
		fams = append(fams, f)
		run = append(run, f.String())
	}
	if len(skipped) > 0 {
		t.Logf("kernel families: testing %v; skipped %v (not supported by this CPU or build)", run, skipped)
	} else {
		t.Logf("kernel families: testing %v", run)
	}
	return fams
}

// withFamily runs fn with family f selected, then restores the previous one.
func withFamily(f kernelFamily, fn func()) {
	saved := family
	setFamily(f)
	defer setFamily(saved)
	fn()
}

func TestKernelFamilySelection(t *testing.T) {
	names := KernelFamilies()
	if names[0] != "go" || names[len(names)-1] != bestFamily.String() {
		t.Fatalf("KernelFamilies() = %v, best %s", names, bestFamily)
	}
	if env := os.Getenv("MNCONV_KERNELS"); env == "" && KernelFamily() != bestFamily.String() {
		t.Errorf("KernelFamily() = %s without MNCONV_KERNELS, want the best, %s", KernelFamily(), bestFamily)
	}
	if familyFromEnv(strings.ToUpper(familySIMD.String())) != min(familySIMD, bestFamily) || familyFromEnv("nonsense") != bestFamily || familyFromEnv("") != bestFamily {
		t.Errorf("familyFromEnv does not parse or fall back")
	}
	saved := family
	defer setFamily(saved)
	for _, n := range names {
		if err := SetKernelFamily(n); err != nil || KernelFamily() != n || useSIMD != (n != "go") {
			t.Errorf("SetKernelFamily(%s): %v, now %s, useSIMD %v", n, err, KernelFamily(), useSIMD)
		}
	}
	if err := SetKernelFamily("sse9"); err == nil {
		t.Errorf("SetKernelFamily accepted an unknown name")
	}
	for _, f := range allFamilies {
		if !f.runsHere() {
			if err := SetKernelFamily(f.String()); err == nil {
				t.Errorf("SetKernelFamily accepted %s, which this CPU or architecture lacks", f)
			}
			if familyFromEnv(f.String()) != bestFamily {
				t.Errorf("familyFromEnv(%s) did not fall back to %s", f, bestFamily)
			}
		}
	}
	t.Logf("this machine: %v, in use %s", names, KernelFamily())
}

// BenchmarkFloatGemmFamilies is the float GEMM alone (a 56x56 pointwise
// conv's 3136 x 144 x 144 product) on each family, in GFLOP/s.
func BenchmarkFloatGemmFamilies(b *testing.B) {
	const m, k, n = 3136, 144, 144
	a := make([]float32, m*k)
	for i := range a {
		a[i] = float32(i%7) * 0.25
	}
	c := make([]float32, m*n)
	for _, f := range allFamilies {
		if !f.runsHere() {
			b.Logf("skipped %s: not supported here", f)
			continue
		}
		b.Run(f.String(), func(b *testing.B) {
			withFamily(f, func() {
				p := packB(k, n, func(kk, j int) float32 { return float32((kk+j)%5) * 0.5 }, nil)
				s := newGemmScratch(k)
				for b.Loop() {
					p.run(a, k, m, c, n, 0, len(p.panels), -1e30, 1e30, s)
				}
				b.ReportMetric(2*m*k*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		})
	}
}
