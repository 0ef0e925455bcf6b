package runtime

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// Helpers: small single-node graphs with quantized tensors.

func qTensorOf(name string, dt ir.DType, shape []int, scale float32, zp int64) *ir.Tensor {
	return &ir.Tensor{Name: name, DType: dt, Shape: shape, Quant: &ir.Quant{Scale: []float32{scale}, ZeroPoint: []int64{zp}}}
}

func qConst8(name string, dt ir.DType, shape []int, vals []int32, scales []float32, zps []int64) *ir.Tensor {
	t := &ir.Tensor{Name: name, DType: dt, Shape: shape, Quant: &ir.Quant{Scale: scales, ZeroPoint: zps}, Data: &ir.Data{}}
	for _, v := range vals {
		if dt == ir.Int8 {
			t.Data.I8 = append(t.Data.I8, int8(v))
		} else {
			t.Data.U8 = append(t.Data.U8, uint8(v))
		}
	}
	return t
}

func qValue(dt ir.DType, shape []int, vals []int32) *Tensor {
	t := NewTensor(dt, shape)
	for i, v := range vals {
		if dt == ir.Int8 {
			t.I8[i] = int8(v)
		} else {
			t.U8[i] = uint8(v)
		}
	}
	return t
}

func qValues(t *Tensor) []int32 {
	out := make([]int32, t.Len())
	for i := range out {
		out[i] = qAt(t, i)
	}
	return out
}

// qRunNode runs n on the given values for its non-constant inputs and
// returns output 0.
func qRunNode(t *testing.T, n *ir.Node, inputs ...*Tensor) *Tensor {
	t.Helper()
	g := &ir.Graph{Name: n.Name, Nodes: []*ir.Node{n}, Outputs: n.Outputs}
	for _, in := range n.Inputs {
		if in != nil && !in.IsConst() && !slices.Contains(g.Inputs, in) {
			g.Inputs = append(g.Inputs, in)
		}
	}
	if err := g.Validate(); err != nil {
		t.Fatalf("invalid test graph: %v", err)
	}
	// Three threads, whatever the machine: kernels that split their work
	// must give the same results as the serial reference.
	it, err := NewWithOptions(g, Options{Threads: 3})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for i, v := range inputs {
		if err := it.SetInput(i, v); err != nil {
			t.Fatalf("SetInput: %v", err)
		}
	}
	if err := it.Run(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return it.Output(0)
}

func qNode(name string, op ir.Op, attrs ir.Attrs, out *ir.Tensor, ins ...*ir.Tensor) *ir.Node {
	n := ir.NewNode(name, op, ins, out)
	if attrs != nil {
		n.Attrs = attrs
	}
	return n
}

func checkQ(t *testing.T, name string, got *Tensor, want []int32) {
	t.Helper()
	if g := qValues(got); !slices.Equal(g, want) {
		t.Errorf("%s = %v, want %v", name, g, want)
	}
}

// TestQConvPerChannelByHand: a 1x1 int8 conv with two output channels of
// different scales; expected values worked out by hand in the comments.
func TestQConvPerChannelByHand(t *testing.T) {
	x := qTensorOf("x", ir.Int8, []int{1, 2, 2, 1}, 0.5, 1)
	w := qConst8("w", ir.Int8, []int{2, 1, 1, 1}, []int32{2, -4}, []float32{0.25, 0.125}, []int64{0, 0})
	w.Quant.Axis = 0
	b := ir.NewConstI32("b", []int{2}, []int32{10, -20})
	b.Quant = &ir.Quant{Scale: []float32{0.125, 0.0625}, ZeroPoint: []int64{0, 0}}
	y := qTensorOf("y", ir.Int8, []int{1, 2, 2, 2}, 1, -5)
	n := qNode("conv", ir.OpConv, &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1}, y, x, w, b)
	// x - zp = 0, 2, -8, 126.
	// ch0: acc = 2v+10 = 10, 14, -6, 262; times 0.125 (2^30, shift -2):
	//      srdhm halves (5, 7, -3, 131), the shift rounds 1.25, 1.75, -0.75,
	//      32.75 to 1, 2, -1, 33; plus -5.
	// ch1: acc = -4v-20 = -20, -28, 12, -524; times 0.0625: -1.25, -1.75,
	//      0.75, -32.75 -> -1, -2, 1, -33; plus -5.
	got := qRunNode(t, n, qValue(ir.Int8, []int{1, 2, 2, 1}, []int32{1, 3, -7, 127}))
	checkQ(t, "per-channel conv", got, []int32{-4, -6, -3, -7, -6, -4, 28, -38})
}

// naiveQConv is a direct transcription of the reference loops (explicit
// zero-point padding, per-group channel ranges) used to check the kernel's
// indexing; the requantization is the kernel's own.
func naiveQConv(x []int32, xs []int, xzp int32, w []int32, ws []int, wzp []int32, bias []int32, a *ir.ConvAttrs, ys []int, rq *qRequant) []int32 {
	N, H, W, C := xs[0], xs[1], xs[2], xs[3]
	O, KH, KW, IG := ws[0], ws[1], ws[2], ws[3]
	OH, OW := ys[1], ys[2]
	OG := O / a.Group
	out := make([]int32, N*OH*OW*O)
	for b := 0; b < N; b++ {
		for oy := 0; oy < OH; oy++ {
			for ox := 0; ox < OW; ox++ {
				for o := 0; o < O; o++ {
					g := o / OG
					acc := int64(0)
					if bias != nil {
						acc = int64(bias[o])
					}
					for ky := 0; ky < KH; ky++ {
						for kx := 0; kx < KW; kx++ {
							iy := oy*a.Strides[0] - a.Pads[0] + ky*a.Dilations[0]
							ix := ox*a.Strides[1] - a.Pads[1] + kx*a.Dilations[1]
							for ic := 0; ic < IG; ic++ {
								xv := xzp // padding holds the zero point
								if iy >= 0 && iy < H && ix >= 0 && ix < W {
									xv = x[((b*H+iy)*W+ix)*C+g*IG+ic]
								}
								wv := w[((o*KH+ky)*KW+kx)*IG+ic]
								acc += int64(xv-xzp) * int64(wv-wzp[o])
							}
						}
					}
					out[((b*OH+oy)*OW+ox)*O+o] = rq.apply(int32(acc), o)
				}
			}
		}
	}
	return out
}

func TestQConvMatchesNaiveLoops(t *testing.T) {
	cases := []struct {
		name      string
		dt        ir.DType
		in        []int // NHWC
		outC, k   int
		group     int
		strides   [2]int
		dilations [2]int
		pads      [4]int
		perChan   bool
		act       ir.Activation
		arith     ir.Arith
	}{
		{"3x3 stride 2 pad 1 int8 per-channel", ir.Int8, []int{1, 7, 6, 5}, 6, 3, 1, [2]int{2, 2}, [2]int{1, 1}, [4]int{1, 1, 1, 1}, true, ir.ActRelu6, ir.ArithTFLite},
		{"3x3 uint8 per-tensor weight zp", ir.Uint8, []int{2, 5, 5, 3}, 9, 3, 1, [2]int{1, 1}, [2]int{1, 1}, [4]int{0, 1, 2, 1}, false, ir.ActNone, ir.ArithTFLite},
		{"grouped", ir.Int8, []int{1, 6, 6, 8}, 6, 3, 2, [2]int{1, 2}, [2]int{1, 1}, [4]int{1, 1, 1, 1}, true, ir.ActRelu, ir.ArithTFLite},
		{"depthwise", ir.Uint8, []int{1, 8, 8, 4}, 4, 3, 4, [2]int{2, 2}, [2]int{1, 1}, [4]int{0, 0, 1, 1}, false, ir.ActRelu6, ir.ArithTFLite},
		{"depthwise multiplier 2 dilated", ir.Int8, []int{1, 9, 9, 3}, 6, 3, 3, [2]int{1, 1}, [2]int{2, 2}, [4]int{2, 2, 2, 2}, true, ir.ActNone, ir.ArithTFLite},
		{"onnx per-channel", ir.Int8, []int{1, 6, 6, 5}, 7, 3, 1, [2]int{1, 1}, [2]int{1, 1}, [4]int{1, 1, 1, 1}, true, ir.ActNone, ir.ArithONNX},
		{"onnx uint8 depthwise", ir.Uint8, []int{1, 6, 6, 4}, 4, 3, 4, [2]int{1, 1}, [2]int{1, 1}, [4]int{1, 1, 1, 1}, false, ir.ActNone, ir.ArithONNX},
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, c := range cases {
		lo, hi := qRange(c.dt)
		rnd := func(n int) []int32 {
			v := make([]int32, n)
			for i := range v {
				v[i] = lo + int32(r.IntN(int(hi-lo+1)))
			}
			return v
		}
		xzp := lo + 100
		x := qTensorOf("x", c.dt, c.in, 0.05, int64(xzp))
		inG := c.in[3] / c.group
		wShape := []int{c.outC, c.k, c.k, inG}
		wVals := rnd(ir.NumElements(wShape))
		var scales []float32
		var zps []int64
		wzp := make([]int32, c.outC)
		if c.perChan {
			for o := range c.outC {
				scales = append(scales, 0.002+0.001*float32(o))
				zps = append(zps, 0)
			}
		} else {
			scales, zps = []float32{0.003}, []int64{int64(lo + 120)}
			for o := range wzp {
				wzp[o] = lo + 120
			}
		}
		w := qConst8("w", c.dt, wShape, wVals, scales, zps)
		bVals := make([]int32, c.outC)
		for i := range bVals {
			bVals[i] = int32(r.IntN(2001) - 1000)
		}
		b := ir.NewConstI32("b", []int{c.outC}, bVals)
		a := &ir.ConvAttrs{Strides: c.strides, Dilations: c.dilations, Pads: c.pads, Group: c.group, Act: c.act}
		oh := ir.ConvOutSize(c.in[1], c.k, c.strides[0], c.dilations[0], c.pads[0], c.pads[2], false)
		ow := ir.ConvOutSize(c.in[2], c.k, c.strides[1], c.dilations[1], c.pads[1], c.pads[3], false)
		yShape := []int{c.in[0], oh, ow, c.outC}
		y := qTensorOf("y", c.dt, yShape, 0.07, int64(lo+90))
		n := qNode("conv", ir.OpConv, a, y, x, w, b)
		n.Arith = c.arith
		xVals := rnd(ir.NumElements(c.in))
		got := qRunNode(t, n, qValue(c.dt, c.in, xVals))
		k, err := PrepareReference(n)
		if err != nil {
			t.Fatal(err)
		}
		want := naiveQConv(xVals, c.in, xzp, wVals, wShape, wzp, bVals, a, yShape, k.(*qConvKernel).rq)
		if g := qValues(got); !slices.Equal(g, want) {
			t.Errorf("%s: kernel and naive loops differ:\n got %v\nwant %v", c.name, g, want)
		}
		// Not all saturated: the case must exercise the arithmetic.
		distinct := map[int32]bool{}
		for _, v := range want {
			distinct[v] = true
		}
		if len(distinct) < 5 {
			t.Errorf("%s: only %d distinct outputs; the test data is degenerate", c.name, len(distinct))
		}
	}
}

func TestQGemmFullyConnected(t *testing.T) {
	for _, c := range []struct {
		act  ir.Activation
		want []int32
	}{
		// x - 128 = 2, 0, -28; w - 120 = [1 2 0], [-20 20 1]; bias 4, -8.
		// acc = 6 and -76; times 0.5*0.25 = 0.125: 0.75 -> 1, -9.5 -> -10
		// (srdhm -38 exact, the shift rounds -9.5 away from zero); plus 100.
		{ir.ActNone, []int32{101, 90}},
		{ir.ActRelu, []int32{101, 100}},
	} {
		x := qTensorOf("x", ir.Uint8, []int{1, 3}, 0.5, 128)
		w := qConst8("w", ir.Uint8, []int{2, 3}, []int32{121, 122, 120, 100, 140, 121}, []float32{0.25}, []int64{120})
		b := ir.NewConstI32("b", []int{2}, []int32{4, -8})
		y := qTensorOf("y", ir.Uint8, []int{1, 2}, 1, 100)
		n := qNode("fc", ir.OpGemm, &ir.GemmAttrs{TransB: true, Alpha: 1, Beta: 1, Act: c.act}, y, x, w, b)
		got := qRunNode(t, n, qValue(ir.Uint8, []int{1, 3}, []int32{130, 128, 100}))
		checkQ(t, "fc "+c.act.String(), got, c.want)
	}
}

func TestQMatMulRounding(t *testing.T) {
	// [[1 2] [3 4]] x [[1 0 1] [0 1 1]] = [[1 2 3] [3 4 7]], output scale 2:
	// halves. ONNX rounds ties to even; TFLite's srdhm rounds them up.
	for _, c := range []struct {
		arith ir.Arith
		want  []int32
	}{
		{ir.ArithONNX, []int32{0, 1, 2, 2, 2, 4}},
		{ir.ArithTFLite, []int32{1, 1, 2, 2, 2, 4}},
	} {
		a := qTensorOf("a", ir.Uint8, []int{2, 2}, 1, 0)
		b := qConst8("b", ir.Uint8, []int{2, 3}, []int32{1, 0, 1, 0, 1, 1}, []float32{1}, []int64{0})
		y := qTensorOf("y", ir.Uint8, []int{2, 3}, 2, 0)
		n := qNode("mm", ir.OpMatMul, nil, y, a, b)
		n.Arith = c.arith
		got := qRunNode(t, n, qValue(ir.Uint8, []int{2, 2}, []int32{1, 2, 3, 4}))
		checkQ(t, "matmul", got, c.want)
	}
}

func TestQBinaryOps(t *testing.T) {
	cases := []struct {
		name   string
		op     ir.Op
		arith  ir.Arith
		dt     ir.DType
		aShape []int
		bShape []int
		as, bs float32
		az, bz int64
		ys     float32
		yz     int64
		act    ir.Activation
		a, b   []int32
		want   []int32
	}{
		// 5 + 2 = 7; 0.5 + 0 = 0.5 -> 1 (both roundings away from zero here);
		// 127.5 + 63.75 = 191.25 -> 191.
		{"add different scales", ir.OpAdd, ir.ArithTFLite, ir.Uint8, []int{3}, []int{3}, 0.5, 0.25, 0, 0, 1, 0, ir.ActNone,
			[]int32{10, 1, 255}, []int32{8, 0, 255}, []int32{7, 1, 191}},
		// -0.5 -> -1: the last RoundingDivideByPOT rounds away from zero.
		{"add negative tie", ir.OpAdd, ir.ArithTFLite, ir.Int8, []int{2}, []int{2}, 0.5, 0.25, 0, 0, 1, 0, ir.ActNone,
			[]int32{-1, 3}, []int32{0, -2}, []int32{-1, 1}},
		{"add zero points and relu", ir.OpAdd, ir.ArithTFLite, ir.Int8, []int{2}, []int{2}, 0.1, 0.1, -10, 5, 0.2, -20, ir.ActRelu,
			[]int32{-10, 40}, []int32{-25, 45}, []int32{-20, 25}},
		{"add broadcast", ir.OpAdd, ir.ArithTFLite, ir.Uint8, []int{2, 2}, []int{2}, 1, 1, 0, 0, 1, 0, ir.ActNone,
			[]int32{1, 2, 3, 4}, []int32{10, 20}, []int32{11, 22, 13, 24}},
		{"sub", ir.OpSub, ir.ArithTFLite, ir.Int8, []int{3}, []int{3}, 0.5, 0.25, 0, 0, 1, 0, ir.ActNone,
			[]int32{10, 0, -20}, []int32{8, 6, 4}, []int32{3, -2, -11}},
		// (10)(-3) * 0.5*0.2/0.5 = -6; (7)(5)*0.2 = 7; (1)(5)*0.2 = 1.
		{"mul", ir.OpMul, ir.ArithTFLite, ir.Int8, []int{3}, []int{3}, 0.5, 0.2, 0, 0, 0.5, 0, ir.ActNone,
			[]int32{10, 7, 1}, []int32{-3, 5, 5}, []int32{-6, 7, 1}},
		{"max", ir.OpMax, ir.ArithTFLite, ir.Uint8, []int{3}, []int{1}, 0.5, 0.5, 3, 3, 0.5, 3, ir.ActNone,
			[]int32{1, 5, 9}, []int32{4}, []int32{4, 5, 9}},
		{"min", ir.OpMin, ir.ArithTFLite, ir.Uint8, []int{3}, []int{1}, 0.5, 0.5, 3, 3, 0.5, 3, ir.ActNone,
			[]int32{1, 5, 9}, []int32{4}, []int32{1, 4, 4}},
		// QLinearAdd: 0.5*1 + 0.25*2 = 1 -> 1; 0.5*3 + 0 = 1.5 -> 2 (even);
		// 0.5*5 + 0 = 2.5 -> 2 (even); saturation at 255.
		{"onnx qlinearadd", ir.OpAdd, ir.ArithONNX, ir.Uint8, []int{4}, []int{4}, 0.5, 0.25, 0, 0, 1, 0, ir.ActNone,
			[]int32{1, 3, 5, 255}, []int32{2, 0, 0, 255}, []int32{1, 2, 2, 191}},
		{"onnx qlinearadd zero points", ir.OpAdd, ir.ArithONNX, ir.Uint8, []int{2}, []int{2}, 0.02, 0.03, 128, 100, 0.04, 120, ir.ActNone,
			[]int32{201, 0}, []int32{150, 0}, []int32{194, 0}},
	}
	for _, c := range cases {
		a := qTensorOf("a", c.dt, c.aShape, c.as, c.az)
		b := qTensorOf("b", c.dt, c.bShape, c.bs, c.bz)
		shape, _ := ir.BroadcastShapes(c.aShape, c.bShape)
		y := qTensorOf("y", c.dt, shape, c.ys, c.yz)
		n := qNode(c.name, c.op, &ir.BinaryAttrs{Act: c.act}, y, a, b)
		n.Arith = c.arith
		got := qRunNode(t, n, qValue(c.dt, c.aShape, c.a), qValue(c.dt, c.bShape, c.b))
		checkQ(t, c.name, got, c.want)
	}
}

func softmaxNode(dt ir.DType, shape []int, scale float32, zp int64, beta float32) *ir.Node {
	lo, _ := dt.Range()
	x := qTensorOf("x", dt, shape, scale, zp)
	y := qTensorOf("y", dt, shape, 1.0/256, lo)
	return qNode("softmax", ir.OpSoftmax, &ir.SoftmaxAttrs{Axis: -1, Beta: beta}, y, x)
}

func TestQSoftmaxEdges(t *testing.T) {
	cases := []struct {
		name  string
		dt    ir.DType
		scale float32
		x     []int32
		want  []int32
	}{
		// Zero differences: four equal inputs give exactly 1/4 = 64/256.
		{"all equal", ir.Uint8, 0.1, []int32{7, 7, 7, 7}, []int32{64, 64, 64, 64}},
		{"all equal int8", ir.Int8, 0.1, []int32{-3, -3, -3, -3}, []int32{-64, -64, -64, -64}},
		// One input at the top, the other 255 quanta of 1.0 below: far beyond
		// diff_min, so qmin; the maximum gets 1.0, which saturates to 255.
		{"very negative", ir.Uint8, 1, []int32{255, 0}, []int32{255, 0}},
		{"very negative int8", ir.Int8, 1, []int32{127, -128}, []int32{127, -128}},
		// Two equal maxima and a far value: 1/2 each.
		{"two maxima", ir.Uint8, 1, []int32{200, 0, 200}, []int32{128, 0, 128}},
	}
	for _, c := range cases {
		n := softmaxNode(c.dt, []int{1, len(c.x)}, c.scale, 0, 1)
		got := qRunNode(t, n, qValue(c.dt, []int{1, len(c.x)}, c.x))
		checkQ(t, c.name, got, c.want)
	}
	// More than 512 equal maxima push TFLite's output exponent past 31 (it
	// aborts); we give the mathematically rounded 1/1001 * 256 -> 0.
	x := make([]int32, 1001)
	n := softmaxNode(ir.Uint8, []int{1, 1001}, 0.1, 0, 1)
	got := qValues(qRunNode(t, n, qValue(ir.Uint8, []int{1, 1001}, x)))
	if slices.Max(got) != 0 {
		t.Errorf("softmax of 1001 equal values: max output %d, want 0", slices.Max(got))
	}
	// Random rows against the float softmax: within one quantum.
	r := rand.New(rand.NewPCG(3, 4))
	for _, scale := range []float32{0.02, 0.1, 0.5} {
		vals := make([]int32, 4*10)
		for i := range vals {
			vals[i] = int32(r.IntN(256))
		}
		n := softmaxNode(ir.Uint8, []int{4, 10}, scale, 128, 1)
		got := qValues(qRunNode(t, n, qValue(ir.Uint8, []int{4, 10}, vals)))
		for row := range 4 {
			xs := vals[row*10 : row*10+10]
			mx := slices.Max(xs)
			sum := 0.0
			for _, v := range xs {
				sum += math.Exp(float64(scale) * float64(v-mx))
			}
			for c, v := range xs {
				want := math.Exp(float64(scale)*float64(v-mx)) / sum * 256
				if math.Abs(float64(got[row*10+c])-min(want, 255)) > 1 {
					t.Errorf("scale %g row %d col %d: got %d, float %.3f", scale, row, c, got[row*10+c], want)
				}
			}
		}
	}
}

func TestQLogistic(t *testing.T) {
	for _, dt := range []ir.DType{ir.Uint8, ir.Int8} {
		lo, hi := qRange(dt)
		zp := (lo + hi + 1) / 2
		x := qTensorOf("x", dt, []int{int(hi - lo + 1)}, 0.1, int64(zp))
		y := qTensorOf("y", dt, x.Shape, 1.0/256, int64(lo))
		n := qNode("sigmoid", ir.OpSigmoid, nil, y, x)
		vals := make([]int32, hi-lo+1)
		for i := range vals {
			vals[i] = lo + int32(i)
		}
		got := qValues(qRunNode(t, n, qValue(dt, x.Shape, vals)))
		for i, v := range vals {
			want := 256/(1+math.Exp(-0.1*float64(v-zp))) + float64(lo)
			if math.Abs(float64(got[i])-min(want, float64(hi))) > 1 {
				t.Errorf("%v logistic(%d) = %d, float %.3f", dt, v, got[i], want)
			}
		}
		// Zero gives exactly one half; the ends of the range saturate.
		if g := got[zp-lo]; g != lo+128 {
			t.Errorf("%v logistic(zero) = %d, want %d", dt, g, lo+128)
		}
		if got[0] != lo || got[len(got)-1] != hi {
			t.Errorf("%v logistic ends = %d, %d; want %d, %d", dt, got[0], got[len(got)-1], lo, hi)
		}
	}
	// Right at the input radius: scale 0.25 gives left shift 26 and radius
	// floor(15 * 2^27 / 2^26) = 30 quanta.
	x := qTensorOf("x", ir.Uint8, []int{4}, 0.25, 128)
	y := qTensorOf("y", ir.Uint8, []int{4}, 1.0/256, 0)
	got := qRunNode(t, qNode("sigmoid", ir.OpSigmoid, nil, y, x), qValue(ir.Uint8, []int{4}, []int32{98, 99, 157, 158}))
	checkQ(t, "logistic at the radius", got, []int32{0, 0, 255, 255})
}

func TestQHardSwish(t *testing.T) {
	for _, c := range []struct {
		dt       ir.DType
		is, os   float32
		iz, oz   int64
		fullSpan bool
	}{
		{ir.Int8, 0.05, 0.03, 0, -40, true},
		{ir.Uint8, 0.1, 0.05, 128, 20, true},
		{ir.Int8, 0.01, 0.02, -100, -128, true},
	} {
		lo, hi := qRange(c.dt)
		x := qTensorOf("x", c.dt, []int{int(hi - lo + 1)}, c.is, c.iz)
		y := qTensorOf("y", c.dt, x.Shape, c.os, c.oz)
		vals := make([]int32, hi-lo+1)
		for i := range vals {
			vals[i] = lo + int32(i)
		}
		got := qValues(qRunNode(t, qNode("hs", ir.OpHardSwish, nil, y, x), qValue(c.dt, x.Shape, vals)))
		for i, v := range vals {
			r := float64(c.is) * float64(v-int32(c.iz))
			f := r * min(max(r+3, 0), 6) / 6
			want := min(max(math.Round(f/float64(c.os))+float64(c.oz), float64(lo)), float64(hi))
			if math.Abs(float64(got[i])-want) > 1 {
				t.Errorf("%v hard_swish(%d) = %d, float %g", c.dt, v, got[i], want)
			}
		}
	}
}

func TestQQuantizeAndRequantize(t *testing.T) {
	in := NewTensor(ir.Float32, []int{8})
	copy(in.F32, []float32{0.5, -0.5, 1.5, 2.5, -2.5, 1000, -1000, float32(math.NaN())})
	for _, c := range []struct {
		arith ir.Arith
		want  []int32
	}{
		{ir.ArithTFLite, []int32{1, -1, 2, 3, -3, 127, -128, 0}}, // half away from zero; NaN -> zero point
		{ir.ArithONNX, []int32{0, 0, 2, 2, -2, 127, -128, -128}}, // half to even; NaN -> qmin
	} {
		x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: []int{8}}
		y := qTensorOf("y", ir.Int8, []int{8}, 1, 0)
		n := qNode("q", ir.OpQuantize, nil, y, x)
		n.Arith = c.arith
		checkQ(t, "quantize", qRunNode(t, n, in), c.want)
	}
	// A zero point; 2.5 and -3.5 round away from zero.
	x := &ir.Tensor{Name: "x", DType: ir.Float32, Shape: []int{3}}
	y := qTensorOf("y", ir.Uint8, []int{3}, 0.125, 100)
	in3 := NewTensor(ir.Float32, []int{3})
	copy(in3.F32, []float32{0.3125, -0.4375, 30})
	checkQ(t, "quantize zp", qRunNode(t, qNode("q", ir.OpQuantize, nil, y, x), in3), []int32{103, 96, 255})

	// Requantize from scale 1 to scale 2: x/2 through MultiplyByQuantizedMultiplier
	// (2^30, 0): ties go toward +infinity in srdhm.
	xq := qTensorOf("xq", ir.Int8, []int{6}, 1, 0)
	yq := qTensorOf("yq", ir.Int8, []int{6}, 2, 0)
	checkQ(t, "requantize ties", qRunNode(t, qNode("rq", ir.OpQuantize, nil, yq, xq), qValue(ir.Int8, []int{6}, []int32{1, -1, 3, -3, 5, -128})),
		[]int32{1, 0, 2, -1, 3, -64})
	// uint8 -> int8 with the same scale and zero points 128 apart is exact.
	xu := qTensorOf("xu", ir.Uint8, []int{3}, 0.5, 128)
	yi := qTensorOf("yi", ir.Int8, []int{3}, 0.5, 0)
	checkQ(t, "uint8 to int8", qRunNode(t, qNode("rq", ir.OpQuantize, nil, yi, xu), qValue(ir.Uint8, []int{3}, []int32{0, 128, 255})),
		[]int32{-128, 0, 127})
}

func TestQDequantize(t *testing.T) {
	x := qTensorOf("x", ir.Uint8, []int{3}, 0.1, 128)
	y := &ir.Tensor{Name: "y", DType: ir.Float32, Shape: []int{3}}
	got := qRunNode(t, qNode("dq", ir.OpDequantize, nil, y, x), qValue(ir.Uint8, []int{3}, []int32{0, 128, 255}))
	s := float32(0.1)
	want := []float32{float32(-128) * s, 0, float32(127) * s}
	if !slices.Equal(got.F32, want) {
		t.Errorf("dequantize = %v, want %v", got.F32, want)
	}
	// Per-axis on the last axis.
	xp := &ir.Tensor{Name: "xp", DType: ir.Int8, Shape: []int{2, 2}, Quant: &ir.Quant{Scale: []float32{1, 0.5}, ZeroPoint: []int64{0, 2}, Axis: 1}}
	yp := &ir.Tensor{Name: "yp", DType: ir.Float32, Shape: []int{2, 2}}
	got = qRunNode(t, qNode("dq", ir.OpDequantize, nil, yp, xp), qValue(ir.Int8, []int{2, 2}, []int32{3, 4, -3, -4}))
	if want := []float32{3, 1, -3, -3}; !slices.Equal(got.F32, want) {
		t.Errorf("per-axis dequantize = %v, want %v", got.F32, want)
	}
}

func TestQPools(t *testing.T) {
	pool := func(op ir.Op, dt ir.DType, in []int, k int, pads [4]int, includePad bool, zp int64, vals []int32) []int32 {
		a := &ir.PoolAttrs{Kernel: [2]int{k, k}, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: pads, CountIncludePad: includePad}
		oh := ir.ConvOutSize(in[1], k, 1, 1, pads[0], pads[2], false)
		ow := ir.ConvOutSize(in[2], k, 1, 1, pads[1], pads[3], false)
		x := qTensorOf("x", dt, in, 0.5, zp)
		y := qTensorOf("y", dt, []int{in[0], oh, ow, in[3]}, 0.5, zp)
		return qValues(qRunNode(t, qNode("pool", op, a, y, x), qValue(dt, in, vals)))
	}
	// int8 [-1 -2]: -1.5 rounds away from zero to -2; [1 2] -> 2.
	if got := pool(ir.OpAvgPool, ir.Int8, []int{1, 1, 2, 2}, 1, [4]int{}, false, 0, []int32{-1, 1, -2, 2}); !slices.Equal(got, []int32{-1, 1, -2, 2}) {
		t.Errorf("avgpool 1x1 = %v", got)
	}
	a := &ir.PoolAttrs{Kernel: [2]int{1, 2}, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}}
	x := qTensorOf("x", ir.Int8, []int{1, 1, 2, 2}, 0.5, 0)
	y := qTensorOf("y", ir.Int8, []int{1, 1, 1, 2}, 0.5, 0)
	checkQ(t, "avgpool ties", qRunNode(t, qNode("pool", ir.OpAvgPool, a, y, x), qValue(ir.Int8, x.Shape, []int32{-1, 1, -2, 2})), []int32{-2, 2})
	// 2x2 window with padding 1 on a 2x2 input: the corner window holds one
	// input; TFLite excludes the padding from the count, ONNX's
	// count_include_pad counts it as the zero point.
	vals := []int32{10, 20, 30, 41}
	got := pool(ir.OpAvgPool, ir.Uint8, []int{1, 2, 2, 1}, 2, [4]int{1, 1, 1, 1}, false, 0, vals)
	if want := []int32{10, 15, 20, 20, 25, 31, 30, 36, 41}; !slices.Equal(got, want) {
		t.Errorf("avgpool excluding padding = %v, want %v", got, want)
	}
	got = pool(ir.OpAvgPool, ir.Uint8, []int{1, 2, 2, 1}, 2, [4]int{1, 1, 1, 1}, true, 2, vals)
	// corner: (10 + 3*2)/4 = 4; edge (10+20+2+2)/4 = 8.5 -> 9; centre 101/4 = 25.25 -> 25.
	if want := []int32{4, 9, 7, 11, 25, 16, 9, 19, 12}; !slices.Equal(got, want) {
		t.Errorf("avgpool including padding = %v, want %v", got, want)
	}
	got = pool(ir.OpMaxPool, ir.Int8, []int{1, 2, 2, 1}, 2, [4]int{1, 1, 1, 1}, false, 0, []int32{-10, -20, -30, -41})
	if want := []int32{-10, -10, -20, -10, -10, -20, -30, -30, -41}; !slices.Equal(got, want) {
		t.Errorf("maxpool = %v, want %v", got, want)
	}
}

func TestQMean(t *testing.T) {
	mean := func(arith ir.Arith, dt ir.DType, is, os float32, iz, oz int64, vals []int32) []int32 {
		x := qTensorOf("x", dt, []int{1, 2, 2, 1}, is, iz)
		y := qTensorOf("y", dt, []int{1, 1, 1, 1}, os, oz)
		n := qNode("mean", ir.OpMean, &ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: true}, y, x)
		n.Arith = arith
		return qValues(qRunNode(t, n, qValue(dt, x.Shape, vals)))
	}
	cases := []struct {
		name   string
		arith  ir.Arith
		dt     ir.DType
		is, os float32
		iz, oz int64
		vals   []int32
		want   int32
	}{
		// 11/4 = 2.75 -> 3 through multiplier 2^30 and shift -1.
		{"tflite 2.75", ir.ArithTFLite, ir.Int8, 1, 1, 0, 0, []int32{1, 2, 3, 5}, 3},
		// 10/4 = 2.5: srdhm halves exactly (5), the shift rounds 2.5 up.
		{"tflite tie", ir.ArithTFLite, ir.Int8, 1, 1, 0, 0, []int32{1, 2, 3, 4}, 3},
		{"tflite negative tie", ir.ArithTFLite, ir.Int8, 1, 1, 0, 0, []int32{-1, -2, -3, -4}, -3},
		// Different scales and zero points: (101 - 0) * 0.5 / 0.25 / 4 = 50.5,
		// a tie: srdhm rounds it up, MLAS to even.
		{"tflite requantize", ir.ArithTFLite, ir.Uint8, 0.5, 0.25, 10, 3, []int32{20, 30, 40, 51}, 3 + 51},
		{"onnx 2.75", ir.ArithONNX, ir.Uint8, 1, 1, 0, 0, []int32{1, 2, 3, 5}, 3},
		{"onnx tie to even", ir.ArithONNX, ir.Uint8, 1, 1, 0, 0, []int32{1, 2, 3, 4}, 2},
		{"onnx zero points", ir.ArithONNX, ir.Uint8, 0.5, 0.25, 10, 3, []int32{20, 30, 40, 51}, 3 + 50},
	}
	for _, c := range cases {
		if got := mean(c.arith, c.dt, c.is, c.os, c.iz, c.oz, c.vals); len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: mean = %v, want %d", c.name, got, c.want)
		}
	}
	// Over a middle axis without keepdims, against the exact average.
	x := qTensorOf("x", ir.Int8, []int{2, 3, 2}, 0.1, 0)
	y := qTensorOf("y", ir.Int8, []int{2, 2}, 0.1, 0)
	n := qNode("mean", ir.OpMean, &ir.ReduceAttrs{Axes: []int{1}}, y, x)
	got := qRunNode(t, n, qValue(ir.Int8, x.Shape, []int32{1, 10, 2, 20, 4, 31, -1, -10, -2, -20, -4, -31}))
	checkQ(t, "mean axis 1", got, []int32{2, 20, -2, -20})
}

func TestQConcatScaling(t *testing.T) {
	a := qTensorOf("a", ir.Uint8, []int{1, 2}, 0.5, 0)
	b := qTensorOf("b", ir.Uint8, []int{1, 2}, 1, 10)
	y := qTensorOf("y", ir.Uint8, []int{1, 4}, 1, 10)
	n := qNode("cat", ir.OpConcat, &ir.ConcatAttrs{Axis: 1}, y, a, b)
	// a: round(x*0.5 + 0) + 10: 3 -> 1.5 -> 2 (half away from zero) -> 12;
	// 255 -> 127.5 -> 128 -> 138. b is copied.
	got := qRunNode(t, n, qValue(ir.Uint8, []int{1, 2}, []int32{3, 255}), qValue(ir.Uint8, []int{1, 2}, []int32{0, 200}))
	checkQ(t, "concat", got, []int32{12, 138, 0, 200})
	// Identical parameters go to the generic copy.
	a2 := qTensorOf("a", ir.Int8, []int{2, 1}, 0.5, 1)
	b2 := qTensorOf("b", ir.Int8, []int{2, 1}, 0.5, 1)
	y2 := qTensorOf("y", ir.Int8, []int{2, 2}, 0.5, 1)
	n2 := qNode("cat", ir.OpConcat, &ir.ConcatAttrs{Axis: 1}, y2, a2, b2)
	got = qRunNode(t, n2, qValue(ir.Int8, []int{2, 1}, []int32{1, 2}), qValue(ir.Int8, []int{2, 1}, []int32{3, 4}))
	checkQ(t, "concat copy", got, []int32{1, 3, 2, 4})
}

func TestQReluAndClip(t *testing.T) {
	x := qTensorOf("x", ir.Uint8, []int{5}, 0.1, 10)
	y := qTensorOf("y", ir.Uint8, []int{5}, 0.1, 10)
	vals := qValue(ir.Uint8, []int{5}, []int32{0, 10, 50, 70, 200})
	checkQ(t, "relu", qRunNode(t, qNode("relu", ir.OpRelu, nil, y, x), vals), []int32{10, 10, 50, 70, 200})
	checkQ(t, "relu6", qRunNode(t, qNode("clip", ir.OpClip, &ir.ClipAttrs{Min: 0, Max: 6}, y, x), vals), []int32{10, 10, 50, 70, 70})
	checkQ(t, "relu_n1_to_1", qRunNode(t, qNode("clip", ir.OpClip, &ir.ClipAttrs{Min: -1, Max: 1}, y, x), vals), []int32{0, 10, 20, 20, 20})
	// Different output parameters: requantized through the multiplier.
	y2 := qTensorOf("y2", ir.Uint8, []int{5}, 0.2, 0)
	checkQ(t, "relu requantized", qRunNode(t, qNode("relu", ir.OpRelu, nil, y2, x), vals), []int32{0, 0, 20, 30, 95})
}

func TestQErrors(t *testing.T) {
	cases := []struct {
		name string
		node func() *ir.Node
		want string
	}{
		{"per-axis activation", func() *ir.Node {
			x := &ir.Tensor{Name: "x", DType: ir.Int8, Shape: []int{1, 2}, Quant: &ir.Quant{Scale: []float32{1, 2}, ZeroPoint: []int64{0, 0}, Axis: 1}}
			return qNode("relu", ir.OpRelu, nil, qTensorOf("y", ir.Int8, []int{1, 2}, 1, 0), x)
		}, "per-tensor"},
		{"softmax output scale", func() *ir.Node {
			x := qTensorOf("x", ir.Uint8, []int{1, 4}, 0.1, 0)
			return qNode("sm", ir.OpSoftmax, &ir.SoftmaxAttrs{Axis: -1, Beta: 1}, qTensorOf("y", ir.Uint8, []int{1, 4}, 0.1, 0), x)
		}, "scale 1/256"},
		{"pool params differ", func() *ir.Node {
			a := &ir.PoolAttrs{Kernel: [2]int{1, 1}, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}}
			return qNode("p", ir.OpAvgPool, a, qTensorOf("y", ir.Int8, []int{1, 1, 1, 1}, 2, 0), qTensorOf("x", ir.Int8, []int{1, 1, 1, 1}, 1, 0))
		}, "needs them equal"},
		{"float bias", func() *ir.Node {
			w := qConst8("w", ir.Int8, []int{1, 1, 1, 1}, []int32{1}, []float32{1}, []int64{0})
			b := ir.NewConstF32("b", []int{1}, []float32{0})
			a := &ir.ConvAttrs{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Group: 1}
			return qNode("c", ir.OpConv, a, qTensorOf("y", ir.Int8, []int{1, 1, 1, 1}, 1, 0), qTensorOf("x", ir.Int8, []int{1, 1, 1, 1}, 1, 0), w, b)
		}, "want int32"},
	}
	for _, c := range cases {
		n := c.node()
		_, err := Prepare(n)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), n.Name) {
			t.Errorf("%s: Prepare error %v, want one naming the node and containing %q", c.name, err, c.want)
		}
	}
}

// TestQPadAndReshapeUseGenericKernels: quantized Pad and Reshape have no
// kernel of their own; the generic ones take them (Pad filling with the
// zero point, real zero).
func TestQPadAndReshapeUseGenericKernels(t *testing.T) {
	x := qTensorOf("x", ir.Uint8, []int{1, 1, 2, 1}, 0.5, 7)
	y := qTensorOf("y", ir.Uint8, []int{1, 1, 4, 1}, 0.5, 7)
	n := qNode("pad", ir.OpPad, &ir.PadAttrs{Pads: []int{0, 0, 1, 0, 0, 0, 1, 0}}, y, x)
	checkQ(t, "pad", qRunNode(t, n, qValue(ir.Uint8, x.Shape, []int32{1, 2})), []int32{7, 1, 2, 7})
	r := qTensorOf("r", ir.Uint8, []int{2}, 0.5, 7)
	checkQ(t, "reshape", qRunNode(t, qNode("reshape", ir.OpReshape, nil, r, x), qValue(ir.Uint8, x.Shape, []int32{1, 2})), []int32{1, 2})
}
