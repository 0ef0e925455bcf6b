package runtime

import (
	"fmt"
	"os"
	goruntime "runtime"
	"strings"
)

// Kernel families: which instruction set the fast kernels use, chosen once
// at start-up from the CPU's features (fast_simd_amd64.go detects them) and
// overridable for tests and benchmarks. Every family computes the same
// bits (the reference kernels' arithmetic); they differ only in speed.
//
//	go           pure-Go loops (any CPU, and -tags purego)
//	avx2         AVX2 + FMA assembly, YMM (amd64)
//	neon         Advanced SIMD assembly (arm64): the same level as avx2
//	neon-dotprod neon plus SDOT (ARMv8.2 dot product) for the int8 GEMM
//	             (s8 x s8 in int32), when the CPU has it (HWCAP ASIMDDP)
//	avx512       AVX-512 F/BW/VL/DQ, ZMM: float GEMM 6x32 and 6x16, depthwise
//	             16 channels; int8 GEMM 6x32 on int16 (VPMADDWD) and int8
//	             depthwise 32 channels
//	avx512-vnni  avx512 plus VPDPBUSD for the int8 GEMM (u8 x s8 in int32)
//
// The environment variable MNCONV_KERNELS (one of the names above) picks a
// family at start-up; one the CPU (or architecture) lacks falls back to the
// best it has. The constants are ordered so that "at least avx512" and "at
// least neon" mean what they say; neon-dotprod sits below avx512 and runs
// on arm64 only (runsHere).
// SetKernelFamily does the same for a program; kernels already prepared
// keep the family they were prepared with.

type kernelFamily int

const (
	familyGo kernelFamily = iota
	// familySIMD is the baseline assembly: AVX2 on amd64, NEON on arm64.
	familySIMD
	familyDotProd // arm64 only
	familyAVX512
	familyAVX512VNNI
)

var familyNames = [...]string{"go", simdFamilyName(), "neon-dotprod", "avx512", "avx512-vnni"}

// simdFamilyName names familySIMD after the instruction set it uses here.
func simdFamilyName() string {
	if goruntime.GOARCH == "arm64" {
		return "neon"
	}
	return "avx2"
}

func (f kernelFamily) String() string { return familyNames[f] }

// runsHere reports whether this CPU and build run family f.
func (f kernelFamily) runsHere() bool {
	switch {
	case f > bestFamily:
		return false
	case f == familyDotProd:
		return goruntime.GOARCH == "arm64"
	case f >= familyAVX512:
		return goruntime.GOARCH == "amd64"
	}
	return true
}

// bestFamily is what this CPU supports; family is the one in use.
var (
	bestFamily = detectFamily()
	family     = familyFromEnv(os.Getenv("MNCONV_KERNELS"))
)

func familyFromEnv(name string) kernelFamily {
	if f, ok := parseFamily(name); ok && f.runsHere() {
		return f
	}
	return bestFamily
}

func parseFamily(name string) (kernelFamily, bool) {
	for i, n := range familyNames {
		if strings.EqualFold(strings.TrimSpace(name), n) {
			return kernelFamily(i), true
		}
	}
	return 0, false
}

// KernelFamily names the family the fast kernels prepared from now on use.
func KernelFamily() string { return family.String() }

// KernelFamilies lists the families this CPU (and build) can run, slowest
// first.
func KernelFamilies() []string {
	var names []string
	for f := familyGo; f <= bestFamily; f++ {
		if f.runsHere() {
			names = append(names, f.String())
		}
	}
	return names
}

// SetKernelFamily selects the family for kernels prepared from now on (not
// safe to call while models are being prepared on other goroutines).
func SetKernelFamily(name string) error {
	f, ok := parseFamily(name)
	if !ok {
		return fmt.Errorf("runtime: unknown kernel family %q (have %s)", name, strings.Join(familyNames[:], ", "))
	}
	if !f.runsHere() {
		return fmt.Errorf("runtime: kernel family %s needs CPU features this machine lacks (best: %s)", f, bestFamily)
	}
	setFamily(f)
	return nil
}

func setFamily(f kernelFamily) {
	family = f
	useSIMD = f >= familySIMD
}
