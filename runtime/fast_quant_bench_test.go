package runtime

import (
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/mnconv/mnconv/ir"
)

// BenchmarkQuantLayerFamilies times single int8 layers of MobileNetV2 224
// (the stem conv, depthwise 3x3 at stride 1 and 2, a pointwise conv) at
// one thread on each kernel family this CPU runs, side by side in one run:
// compare the families of a layer within the same run only. The stem also
// runs on avx512-vnni's im2col path, which the direct convolution replaces.
func BenchmarkQuantLayerFamilies(b *testing.B) {
	same3 := [4]int{1, 1, 1, 1}
	tfS2 := [4]int{0, 0, 1, 1}
	layers := []struct {
		name string
		c    fastConvCase
	}{
		{"stem_224x3_s2", fastConvCase{1, 224, 224, 3, 32, 1, 3, 3, 2, 2, 1, 1, tfS2, ir.ActRelu6, true}},
		{"dw_112x96_s2", fastConvCase{1, 112, 112, 96, 96, 96, 3, 3, 2, 2, 1, 1, tfS2, ir.ActRelu6, true}},
		{"dw_56x144_s1", fastConvCase{1, 56, 56, 144, 144, 144, 3, 3, 1, 1, 1, 1, same3, ir.ActRelu6, true}},
		{"dw_14x576_s1", fastConvCase{1, 14, 14, 576, 576, 576, 3, 3, 1, 1, 1, 1, same3, ir.ActRelu6, true}},
		{"pw_56x24_144", fastConvCase{1, 56, 56, 24, 144, 1, 1, 1, 1, 1, 1, 1, [4]int{}, ir.ActRelu6, true}},
		{"pw_112x16_96", fastConvCase{1, 112, 112, 16, 96, 1, 1, 1, 1, 1, 1, 1, [4]int{}, ir.ActRelu6, true}},
	}
	for _, l := range layers {
		rng := rand.New(rand.NewPCG(1, 2))
		n := fastQCase{conv: l.c, dt: ir.Int8, perAxis: true, arith: ir.ArithTFLite}.node(rng)
		x := randQInput(rng, n.Inputs[0])
		in := []*Tensor{x, FromConst(n.Inputs[1])}
		if bias := n.In(2); bias != nil {
			in = append(in, FromConst(bias))
		}
		out := NewTensor(n.Out().DType, n.Out().Shape)
		run := func(name string, f kernelFamily, direct bool) {
			b.Run(l.name+"/"+name, func(b *testing.B) {
				var k Kernel
				var err error
				useQDirect = direct
				withFamily(f, func() { k, err = Prepare(n) })
				useQDirect = true
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if err := k.Eval(in, []*Tensor{out}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		for _, f := range allFamilies {
			if !f.runsHere() || f < familySIMD {
				continue
			}
			if f == familyAVX512VNNI && l.c.inC < 16 {
				run(f.String()+"-im2col", f, false) // the path before the direct convolution
			}
			run(f.String(), f, true)
		}
	}
}

// BenchmarkRequantFamilies times the requantization of 112x112 pixels of
// 96 channels (a MobileNetV2 expansion's output) with TFLite's and ONNX
// Runtime's arithmetic on each family, side by side.
func BenchmarkRequantFamilies(b *testing.B) {
	const pixels, channels = 112 * 112, 96
	rng := rand.New(rand.NewPCG(3, 4))
	acc := make([]int32, pixels*channels)
	for i := range acc {
		acc[i] = int32(rng.IntN(1<<16)) - 1<<15
	}
	dst := make([]byte, len(acc))
	for _, onnx := range []bool{false, true} {
		rq := &qRequant{onnx: onnx, zp: -3, lo: -128, hi: 127}
		for range channels {
			if onnx {
				rq.scale = append(rq.scale, float32(0.001+0.01*rng.Float64()))
			} else {
				rq.addChannel(int32(1<<30+rng.IntN(1<<30)), -8-rng.IntN(4))
			}
		}
		for _, f := range allFamilies {
			if !f.runsHere() || f < familySIMD {
				continue
			}
			b.Run(map[bool]string{false: "q31", true: "f32"}[onnx]+"/"+f.String(), func(b *testing.B) {
				var fr *fastRequant
				withFamily(f, func() { fr = newFastRequant(rq, channels, ir.Int8) })
				for b.Loop() {
					fr.rows(unsafe.Pointer(&dst[0]), acc, pixels)
				}
			})
		}
	}
}
