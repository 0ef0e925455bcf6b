package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// Fast quantized kernels against the reference kernels of the same node:
// outputs must be identical, byte for byte, for TFLite's and ONNX
// Runtime's arithmetic, int8 and uint8 activations, per-tensor and
// per-channel weights, random zero points, strides, pads, groups and
// dilations.

type fastQCase struct {
	conv      fastConvCase
	dt        ir.DType
	perAxis   bool
	arith     ir.Arith
	wideRange bool // output scale small enough that many outputs clamp
	wInt8     bool // int8 weights with zero point 0 whatever dt is (ONNX Runtime's u8 x s8)
}

func (c fastQCase) String() string {
	return fmt.Sprintf("%v %v perAxis=%v arith=%v wInt8=%v", c.conv, c.dt, c.perAxis, c.arith, c.wInt8)
}

// qConvNode builds the quantized conv of c with random parameters.
func (c fastQCase) node(rng *rand.Rand) *ir.Node {
	cc := c.conv
	lo, hi := qRange(c.dt)
	inScale := float32(0.005 + 0.05*rng.Float64())
	inZP := int64(lo) + int64(rng.IntN(int(hi-lo)+1))
	x := &ir.Tensor{Name: "x", DType: c.dt, Shape: []int{cc.batch, cc.h, cc.w, cc.inC},
		Quant: &ir.Quant{Scale: []float32{inScale}, ZeroPoint: []int64{inZP}}}
	perG := cc.inC / cc.groups
	wShape := []int{cc.outC, cc.kH, cc.kW, perG}
	wq := &ir.Quant{}
	wdt := c.dt
	if c.wInt8 {
		wdt = ir.Int8
	}
	nScales := 1
	if c.perAxis {
		nScales = cc.outC
	}
	for range nScales {
		wq.Scale = append(wq.Scale, float32(0.001+0.02*rng.Float64()))
		zp := int64(0)
		if wdt == ir.Uint8 {
			zp = int64(rng.IntN(256))
		}
		wq.ZeroPoint = append(wq.ZeroPoint, zp)
	}
	w := &ir.Tensor{Name: "w", DType: wdt, Shape: wShape, Quant: wq, Data: &ir.Data{}}
	wlo, whi := qRange(wdt)
	for range ir.NumElements(wShape) {
		v := int32(wlo) + int32(rng.IntN(int(whi-wlo)+1))
		if wdt == ir.Int8 {
			w.Data.I8 = append(w.Data.I8, int8(v))
		} else {
			w.Data.U8 = append(w.Data.U8, uint8(v))
		}
	}
	ins := []*ir.Tensor{x, w}
	if cc.bias {
		b := &ir.Tensor{Name: "b", DType: ir.Int32, Shape: []int{cc.outC}, Data: &ir.Data{}}
		for range cc.outC {
			b.Data.I32 = append(b.Data.I32, int32(rng.IntN(20001)-10000))
		}
		ins = append(ins, b)
	}
	// An output scale near the accumulator's spread, sometimes smaller so
	// that the clamp is exercised.
	spread := float64(inScale) * float64(wq.Scale[0]) * 60 * math.Sqrt(float64(cc.kH*cc.kW*perG))
	if c.wideRange {
		spread /= 8
	}
	outScale := float32(spread / 100)
	outZP := int64(lo) + int64(rng.IntN(int(hi-lo)+1))
	oh := ir.ConvOutSize(cc.h, cc.kH, cc.sY, cc.dY, cc.pads[0], cc.pads[2], false)
	ow := ir.ConvOutSize(cc.w, cc.kW, cc.sX, cc.dX, cc.pads[1], cc.pads[3], false)
	y := &ir.Tensor{Name: "y", DType: c.dt, Shape: []int{cc.batch, oh, ow, cc.outC},
		Quant: &ir.Quant{Scale: []float32{outScale}, ZeroPoint: []int64{outZP}}}
	n := ir.NewNode("qconv", ir.OpConv, ins, y)
	n.Arith = c.arith
	a := n.Attrs.(*ir.ConvAttrs)
	a.Strides, a.Dilations, a.Pads, a.Group, a.Act = [2]int{cc.sY, cc.sX}, [2]int{cc.dY, cc.dX}, cc.pads, cc.groups, cc.act
	return n
}

// randQInput fills an 8-bit input with random stored values.
func randQInput(rng *rand.Rand, t *ir.Tensor) *Tensor {
	v := NewTensor(t.DType, t.Shape)
	for i := range v.Len() {
		b := byte(rng.IntN(256))
		if t.DType == ir.Int8 {
			v.I8[i] = int8(b)
		} else {
			v.U8[i] = b
		}
	}
	return v
}

// evalQ runs a quantized node's kernel from prepare on x.
func evalQ(t *testing.T, prepare PrepareFunc, n *ir.Node, threads int, x *Tensor) (*Tensor, Kernel) {
	t.Helper()
	k, err := prepare(n)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	if u, ok := k.(poolUser); ok && threads > 1 {
		p := newPool(threads)
		defer p.stop()
		u.setPool(p)
	}
	in := []*Tensor{x, FromConst(n.Inputs[1]), nil}
	if b := n.In(2); b != nil {
		in[2] = FromConst(b)
	}
	out := NewTensor(n.Out().DType, n.Out().Shape)
	for i := range out.I8 {
		out.I8[i] = 0x55
	}
	for i := range out.U8 {
		out.U8[i] = 0x55
	}
	if err := k.Eval(in[:len(n.Inputs)], []*Tensor{out}); err != nil {
		t.Fatalf("eval: %v", err)
	}
	return out, k
}

// quantFamilies are the families with quantized fast kernels (not "go").
func quantFamilies(t *testing.T) []kernelFamily {
	var fams []kernelFamily
	for _, f := range testFamilies(t) {
		if f >= familySIMD {
			fams = append(fams, f)
		}
	}
	return fams
}

// checkQCase runs c with every family in families and 1 and 3 threads. It
// returns the kernel type chosen by the last family, with "+vnni" when it
// took the VNNI GEMM.
func checkQCase(t *testing.T, rng *rand.Rand, families []kernelFamily, c fastQCase, wantFast string) string {
	t.Helper()
	chosen := ""
	n := c.node(rng)
	x := randQInput(rng, n.Inputs[0])
	ref, _ := evalQ(t, PrepareReference, n, 1, x)
	for _, fam := range families {
		for _, threads := range []int{1, 3} {
			var fast *Tensor
			var k Kernel
			withFamily(fam, func() { fast, k = evalQ(t, Prepare, n, threads, x) })
			chosen = fmt.Sprintf("%T", k)
			if wantFast != "" && chosen != wantFast {
				t.Fatalf("%v: Prepare chose %s, want %s", c, chosen, wantFast)
			}
			if g, ok := k.(*fastQGemmConv); ok && g.v != nil {
				chosen += "+vnni"
			}
			checkQBytes(t, fmt.Sprintf("%v family=%s threads=%d", c, fam, threads), ref, fast)
		}
	}
	return chosen
}

// checkQBytes reports where fast and ref differ.
func checkQBytes(t *testing.T, label string, ref, fast *Tensor) {
	t.Helper()
	bad := 0
	for i := range ref.Len() {
		if qAt(ref, i) != qAt(fast, i) {
			if bad < 5 {
				t.Errorf("%s: element %d (%s): fast %d, reference %d", label, i, indexString(i, ref.Shape), qAt(fast, i), qAt(ref, i))
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d outputs differ", label, bad, ref.Len())
	}
}

func TestFastQuantConvMobileNetShapes(t *testing.T) {
	if !hasSIMDKernels {
		t.Skip("skipping: the quantized fast kernels need the assembly kernels")
	}
	families := quantFamilies(t)
	rng := rand.New(rand.NewPCG(11, 12))
	same3 := [4]int{1, 1, 1, 1}
	tfS2 := [4]int{0, 0, 1, 1}
	shapes := []struct {
		c    fastConvCase
		want string
	}{
		{fastConvCase{1, 32, 32, 3, 32, 1, 3, 3, 2, 2, 1, 1, tfS2, ir.ActRelu6, true}, "*runtime.fastQGemmConv"},
		{fastConvCase{1, 16, 16, 32, 32, 32, 3, 3, 1, 1, 1, 1, same3, ir.ActRelu6, true}, "*runtime.fastQDepthwise"},
		{fastConvCase{1, 15, 15, 96, 96, 96, 3, 3, 2, 2, 1, 1, same3, ir.ActRelu6, true}, "*runtime.fastQDepthwise"},
		{fastConvCase{1, 16, 16, 48, 48, 48, 3, 3, 2, 2, 1, 1, tfS2, ir.ActNone, false}, "*runtime.fastQDepthwise"},
		{fastConvCase{1, 7, 7, 32, 32, 32, 3, 3, 1, 1, 2, 2, [4]int{2, 2, 2, 2}, ir.ActNone, true}, "*runtime.fastQDepthwise"},
		{fastConvCase{1, 14, 14, 32, 144, 1, 1, 1, 1, 1, 1, 1, [4]int{}, ir.ActRelu6, true}, "*runtime.fastQGemmConv"},
		{fastConvCase{1, 7, 7, 144, 24, 1, 1, 1, 1, 1, 1, 1, [4]int{}, ir.ActNone, true}, "*runtime.fastQGemmConv"},
		{fastConvCase{1, 7, 7, 320, 1280, 1, 1, 1, 1, 1, 1, 1, [4]int{}, ir.ActRelu6, false}, "*runtime.fastQGemmConv"},
		{fastConvCase{2, 5, 3, 17, 19, 1, 1, 1, 1, 1, 1, 1, [4]int{}, ir.ActRelu, true}, "*runtime.fastQGemmConv"},
	}
	for _, s := range shapes {
		for _, dt := range []ir.DType{ir.Int8, ir.Uint8} {
			for _, arith := range []ir.Arith{ir.ArithTFLite, ir.ArithONNX, ir.ArithBuiltin} {
				for _, perAxis := range []bool{false, true} {
					checkQCase(t, rng, families, fastQCase{conv: s.c, dt: dt, perAxis: perAxis, arith: arith, wideRange: rng.IntN(2) == 0, wInt8: perAxis && dt == ir.Uint8}, s.want)
				}
			}
		}
	}
}

func TestFastQuantConvRandom(t *testing.T) {
	if !hasSIMDKernels {
		t.Skip("skipping: the quantized fast kernels need the assembly kernels")
	}
	families := quantFamilies(t)
	rng := rand.New(rand.NewPCG(13, 14))
	acts := []ir.Activation{ir.ActNone, ir.ActRelu, ir.ActRelu6}
	chosen := map[string]int{}
	defer func() { t.Logf("kernels chosen: %v", chosen) }()
	for range 120 {
		var c fastConvCase
		c.batch = 1 + rng.IntN(2)
		c.h, c.w = 1+rng.IntN(10), 1+rng.IntN(10)
		c.kH, c.kW = 1+rng.IntN(3), 1+rng.IntN(3)
		c.sY, c.sX = 1+rng.IntN(2), 1+rng.IntN(3)
		c.dY, c.dX = 1+rng.IntN(2), 1+rng.IntN(2)
		for i := range c.pads {
			c.pads[i] = rng.IntN(3)
		}
		switch rng.IntN(4) {
		case 0:
			c.inC = 16 * (1 + rng.IntN(3))
			c.groups, c.outC, c.kH, c.kW = c.inC, c.inC, 3, 3
		case 1:
			c.groups = 1 + rng.IntN(3)
			c.inC, c.outC = c.groups*(1+rng.IntN(5)), c.groups*(1+rng.IntN(6))
		case 2:
			c.kH, c.kW, c.sY, c.sX, c.pads = 1, 1, 1, 1, [4]int{}
			c.groups, c.inC, c.outC = 1, 1+rng.IntN(70), 1+rng.IntN(40)
		default:
			c.groups, c.inC, c.outC = 1, 1+rng.IntN(9), 1+rng.IntN(33)
		}
		c.act = acts[rng.IntN(len(acts))]
		c.bias = rng.IntN(3) != 0
		if ir.ConvOutSize(c.h, c.kH, c.sY, c.dY, c.pads[0], c.pads[2], false) < 1 ||
			ir.ConvOutSize(c.w, c.kW, c.sX, c.dX, c.pads[1], c.pads[3], false) < 1 {
			continue
		}
		dt := []ir.DType{ir.Int8, ir.Uint8}[rng.IntN(2)]
		arith := []ir.Arith{ir.ArithTFLite, ir.ArithONNX, ir.ArithBuiltin}[rng.IntN(3)]
		chosen[checkQCase(t, rng, families, fastQCase{conv: c, dt: dt, perAxis: rng.IntN(2) == 0, arith: arith, wideRange: rng.IntN(3) == 0, wInt8: rng.IntN(2) == 0}, "")]++
	}
}

// TestFastQuantElementwise: tabulated Add/Sub/Mul and the assembly
// Quantize give the reference kernels' bytes.
func TestFastQuantElementwise(t *testing.T) {
	if !hasSIMDKernels {
		t.Skip("skipping: the quantized fast kernels need the assembly kernels")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	shape := []int{1, 9, 13, 24}
	for _, op := range []ir.Op{ir.OpAdd, ir.OpSub, ir.OpMul} {
		for _, dt := range []ir.DType{ir.Int8, ir.Uint8} {
			for _, arith := range []ir.Arith{ir.ArithTFLite, ir.ArithONNX, ir.ArithBuiltin} {
				lo, hi := qRange(dt)
				param := func() *ir.Quant {
					return &ir.Quant{Scale: []float32{float32(0.01 + 0.1*rng.Float64())}, ZeroPoint: []int64{int64(lo) + int64(rng.IntN(int(hi-lo)+1))}}
				}
				a := &ir.Tensor{Name: "a", DType: dt, Shape: shape, Quant: param()}
				b := &ir.Tensor{Name: "b", DType: dt, Shape: shape, Quant: param()}
				y := &ir.Tensor{Name: "y", DType: dt, Shape: shape, Quant: param()}
				n := ir.NewNode("qbin", op, []*ir.Tensor{a, b}, y)
				n.Arith = arith
				if rng.IntN(2) == 0 {
					n.SetFusedAct(ir.ActRelu)
				}
				av, bv := randQInput(rng, a), randQInput(rng, b)
				refK, err := PrepareReference(n)
				if err != nil {
					t.Fatalf("%v %v %v: reference: %v", op, dt, arith, err)
				}
				fastK, err := Prepare(n)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := fastK.(*fastQBinary); !ok {
					t.Fatalf("%v %v: Prepare chose %T", op, dt, fastK)
				}
				ref, fast := NewTensor(dt, shape), NewTensor(dt, shape)
				if err := refK.Eval([]*Tensor{av, bv}, []*Tensor{ref}); err != nil {
					t.Fatal(err)
				}
				if err := fastK.Eval([]*Tensor{av, bv}, []*Tensor{fast}); err != nil {
					t.Fatal(err)
				}
				for i := range ref.Len() {
					if qAt(ref, i) != qAt(fast, i) {
						t.Errorf("%v %v %v: element %d: fast %d, reference %d", op, dt, arith, i, qAt(fast, i), qAt(ref, i))
						break
					}
				}
			}
		}
	}
	// Quantize: ties, NaN, infinities and out-of-range values included.
	for _, dt := range []ir.DType{ir.Int8, ir.Uint8} {
		x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: []int{1, 7, 9, 3}}
		y := &ir.Tensor{Name: "y", DType: dt, Shape: x.Shape, Quant: &ir.Quant{Scale: []float32{0.0625}, ZeroPoint: []int64{3}}}
		n := ir.NewNode("q", ir.OpQuantize, []*ir.Tensor{x}, y)
		n.Arith = ir.ArithONNX
		xv := NewTensor(ir.Float32, x.Shape)
		for i := range xv.F32 {
			xv.F32[i] = float32(rng.NormFloat64() * 6)
			if i%5 == 0 {
				xv.F32[i] = float32(rng.IntN(401)-200) * 0.03125 // exact ties at half quanta
			}
		}
		xv.F32[1], xv.F32[2], xv.F32[3] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
		xv.F32[len(xv.F32)-1] = float32(math.NaN()) // in the scalar tail
		refK, _ := PrepareReference(n)
		fastK, err := Prepare(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := fastK.(*fastQuantize); !ok {
			t.Fatalf("quantize: Prepare chose %T", fastK)
		}
		ref, fast := NewTensor(dt, x.Shape), NewTensor(dt, x.Shape)
		refK.Eval([]*Tensor{xv}, []*Tensor{ref})
		fastK.Eval([]*Tensor{xv}, []*Tensor{fast})
		for i := range ref.Len() {
			if qAt(ref, i) != qAt(fast, i) {
				t.Errorf("quantize %v: element %d (%v): fast %d, reference %d", dt, i, xv.F32[i], qAt(fast, i), qAt(ref, i))
			}
		}
	}
}

// TestFastRequantizeTable: 8-bit -> 8-bit Quantize by table equals the
// reference for every stored value, both directions of signedness.
func TestFastRequantizeTable(t *testing.T) {
	for _, c := range []struct{ in, out ir.DType }{{ir.Uint8, ir.Int8}, {ir.Int8, ir.Uint8}, {ir.Int8, ir.Int8}} {
		x := &ir.Tensor{Name: "x", DType: c.in, Shape: []int{1, 16, 16, 2}, Quant: &ir.Quant{Scale: []float32{0.0078125}, ZeroPoint: []int64{map[ir.DType]int64{ir.Uint8: 128, ir.Int8: -3}[c.in]}}}
		y := &ir.Tensor{Name: "y", DType: c.out, Shape: x.Shape, Quant: &ir.Quant{Scale: []float32{0.0123}, ZeroPoint: []int64{map[ir.DType]int64{ir.Uint8: 120, ir.Int8: -1}[c.out]}}}
		n := ir.NewNode("rq", ir.OpQuantize, []*ir.Tensor{x}, y)
		xv := NewTensor(c.in, x.Shape)
		for i := range xv.Len() {
			if c.in == ir.Int8 {
				xv.I8[i] = int8(i)
			} else {
				xv.U8[i] = uint8(i)
			}
		}
		refK, err := PrepareReference(n)
		if err != nil {
			t.Fatal(err)
		}
		fastK, err := Prepare(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := fastK.(*fastQTable); !ok {
			t.Fatalf("%v -> %v: Prepare chose %T", c.in, c.out, fastK)
		}
		ref, fast := NewTensor(c.out, x.Shape), NewTensor(c.out, x.Shape)
		refK.Eval([]*Tensor{xv}, []*Tensor{ref})
		fastK.Eval([]*Tensor{xv}, []*Tensor{fast})
		for i := range ref.Len() {
			if qAt(ref, i) != qAt(fast, i) {
				t.Fatalf("%v -> %v: element %d: fast %d, reference %d", c.in, c.out, i, qAt(fast, i), qAt(ref, i))
			}
		}
	}
}

// TestFastQuantDirectConv covers the avx512-vnni direct convolution for few
// input channels (fast_qdirect.go): channel counts padded to 4 and 8, one
// and three panels of 16 outputs, rows of exactly six and seven pixels
// (the last block overlapping), horizontal strides, vertical dilation and
// asymmetric padding, int8 and uint8, both arithmetics.
func TestFastQuantDirectConv(t *testing.T) {
	if !hasSIMDKernels {
		t.Skip("skipping: the quantized fast kernels need the assembly kernels")
	}
	families := quantFamilies(t)
	rng := rand.New(rand.NewPCG(21, 22))
	shapes := []fastConvCase{
		{1, 9, 13, 3, 32, 1, 3, 3, 2, 2, 1, 1, [4]int{0, 0, 1, 1}, ir.ActRelu6, true},
		{2, 8, 6, 1, 16, 1, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}, ir.ActNone, false},
		{1, 7, 20, 4, 48, 1, 2, 3, 1, 3, 2, 1, [4]int{2, 0, 1, 2}, ir.ActRelu, true},
		{1, 10, 7, 5, 16, 1, 3, 1, 2, 1, 1, 1, [4]int{1, 0, 0, 0}, ir.ActNone, true},
		{1, 6, 12, 9, 32, 1, 1, 3, 1, 2, 1, 1, [4]int{0, 1, 0, 1}, ir.ActRelu6, false},
	}
	direct := 0
	for _, s := range shapes {
		for _, dt := range []ir.DType{ir.Int8, ir.Uint8} {
			for _, arith := range []ir.Arith{ir.ArithTFLite, ir.ArithONNX, ir.ArithBuiltin} {
				c := fastQCase{conv: s, dt: dt, perAxis: rng.IntN(2) == 0, arith: arith, wideRange: rng.IntN(2) == 0, wInt8: dt == ir.Uint8 && rng.IntN(2) == 0}
				checkQCase(t, rng, families, c, "*runtime.fastQGemmConv")
				if bestFamily >= familyAVX512VNNI {
					withFamily(familyAVX512VNNI, func() {
						k, _ := Prepare(c.node(rng))
						if g, ok := k.(*fastQGemmConv); ok && g.v != nil && g.v.d != nil {
							direct++
						}
					})
				}
			}
		}
	}
	if bestFamily >= familyAVX512VNNI && direct == 0 {
		t.Errorf("no case took the direct path")
	}
	t.Logf("direct path taken by %d of %d cases", direct, len(shapes)*4)
}
