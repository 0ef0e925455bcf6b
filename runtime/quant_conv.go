package runtime

import (
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Quantized Conv (regular, grouped, depthwise with a depth multiplier), Gemm
// as a fully connected layer, and MatMul. The accumulator is
// sum((x - xzp) * (w - wzp)) + bias in int32, exactly as TFLite's reference
// kernels (reference/conv.h, integer_ops/conv.h, depthwiseconv_uint8.h,
// integer_ops/depthwise_conv.h, fully_connected.h) and ONNX Runtime's MLAS
// GEMMs form it: integer sums do not depend on the order of summation, so
// only the requantization (qRequant) tells the two conventions apart.
// Padding taps are skipped, which equals padding with the input zero point
// (TFLite's is_point_inside_image test, ONNX's x_zero_point padding).

func init() {
	Register(ir.OpConv, Quantized, prepareQConv)
	Register(ir.OpGemm, Quantized, prepareQGemm)
	Register(ir.OpMatMul, Quantized, prepareQMatMul)
}

var (
	_ Kernel = (*qConvKernel)(nil)
	_ Kernel = (*qGemmKernel)(nil)
	_ Kernel = (*qMatMulKernel)(nil)

	_ poolUser = (*qConvKernel)(nil)
)

type qConvKernel struct {
	batch, inH, inW, inC    int
	outH, outW, outC        int
	kH, kW                  int
	strideH, strideW        int
	dilH, dilW, padT, padL  int
	groups, inPerG, outPerG int
	depthwise               bool
	mult                    int     // depth multiplier (depthwise only)
	w                       []int32 // w - wzp: [O][KH][KW][I/G], or [KH][KW][O] when depthwise
	inZP                    int32
	rq                      *qRequant
	x, acc                  []int32     // scratch: input minus zero point, accumulators
	taps                    [][]convTap // per pool part
	pool                    *pool
	bias                    []int32 // the current Eval's bias (zeros when absent)
	zeroBias                []int32
	macCount
	pixelMACs int64 // outC x KH x KW x inPerG: one output pixel's MACs, padded taps included (count.go)
}

func prepareQConv(n *ir.Node) (Kernel, error) {
	a := n.Attrs.(*ir.ConvAttrs)
	x, w, b, y := n.Inputs[0], n.Inputs[1], n.In(2), n.Outputs[0]
	in, err := qPerTensor(n, x, "input")
	if err != nil {
		return nil, err
	}
	out, err := qPerTensor(n, y, "output")
	if err != nil {
		return nil, err
	}
	if x.Rank() != 4 || w.Rank() != 4 || y.Rank() != 4 {
		return nil, n.Errorf("input, weight and output have ranks %d, %d, %d; want 4 (NHWC, OHWI)", x.Rank(), w.Rank(), y.Rank())
	}
	win, winErr := n.Window() // reported after the channel checks
	k := &qConvKernel{
		batch: x.Shape[0], inH: win.InH, inW: win.InW, inC: x.Shape[3],
		outH: y.Shape[1], outW: y.Shape[2], outC: y.Shape[3],
		kH: win.KH, kW: win.KW,
		strideH: win.StrideY, strideW: win.StrideX,
		dilH: win.DilY, dilW: win.DilX,
		padT: win.PadTop, padL: win.PadLeft,
		groups: a.Group, inZP: in.zp,
	}
	if k.groups < 1 || k.inC%k.groups != 0 || k.outC%k.groups != 0 || w.Shape[3]*k.groups != k.inC || w.Shape[0] != k.outC {
		return nil, n.Errorf("weight %q %v does not fit %d input and %d output channels in %d groups", w.Name, w.Shape, k.inC, k.outC, k.groups)
	}
	if winErr != nil {
		return nil, winErr
	}
	if y.Shape[0] != k.batch || !win.Fits(y) {
		return nil, n.Errorf("output %q shape %v does not match the convolution of %v by %v", y.Name, y.Shape, x.Shape, w.Shape)
	}
	k.inPerG, k.outPerG = k.inC/k.groups, k.outC/k.groups
	k.pixelMACs = int64(k.outC) * int64(k.kH) * int64(k.kW) * int64(k.inPerG)
	if err := qBias(n, b, k.outC); err != nil {
		return nil, err
	}
	wv, err := qConstWeights(n, w)
	if err != nil {
		return nil, err
	}
	if k.rq, err = newAccRequant(n, in.scale, w.Quant, out, k.outC, a.Act, y.Quant); err != nil {
		return nil, err
	}
	k.depthwise = k.inPerG == 1
	if k.depthwise {
		// [C*M][KH][KW][1] -> [KH][KW][C*M]: one contiguous row per tap.
		k.mult = k.outPerG
		k.w = make([]int32, len(wv))
		taps := k.kH * k.kW
		for oc := range k.outC {
			for t := range taps {
				k.w[t*k.outC+oc] = wv[oc*taps+t]
			}
		}
	} else {
		k.w = wv
	}
	k.x = make([]int32, x.Len())
	k.acc = make([]int32, y.Len())
	k.taps = make([][]convTap, 1)
	k.zeroBias = make([]int32, k.outC)
	return k, nil
}

func (k *qConvKernel) setPool(p *pool) {
	k.pool = p
	k.taps = make([][]convTap, p.size())
}

// Eval loads the input once, then computes output rows (one batch index
// and output y each) in parts on the pool: every output depends only on
// its own accumulator, so the split cannot change a result.
func (k *qConvKernel) Eval(in, out []*Tensor) error {
	qLoad(k.x, in[0], k.inZP)
	k.bias = qBiasValues(in)
	if k.bias == nil {
		k.bias = k.zeroBias
	}
	k.pool.run(k, k.batch*k.outH)
	qStore(out[0], k.acc, k.rq.lo, k.rq.hi)
	return nil
}

func (k *qConvKernel) runTask(part, parts int) {
	rows := k.batch * k.outH
	r0, r1 := part*rows/parts, (part+1)*rows/parts
	switch {
	case k.depthwise:
		k.evalDepthwise(r0, r1)
	case k.kH == 1 && k.kW == 1 && k.groups == 1 && k.padT == 0 && k.padL == 0 && k.strideH == 1 && k.strideW == 1 && k.outH == k.inH && k.outW == k.inW:
		k.evalPointwise(r0*k.outW, r1*k.outW)
	default:
		k.evalRegular(r0, r1, part)
	}
}

// evalRegular computes output rows [r0, r1) of a general (grouped,
// strided, padded, dilated) convolution.
func (k *qConvKernel) evalRegular(r0, r1, part int) {
	bias := k.bias
	rowLen := k.kH * k.kW * k.inPerG
	taps := k.taps[part][:0]
	pixels := 0
	for row := r0; row < r1; row++ {
		b, outY := row/k.outH, row%k.outH
		for outX := range k.outW {
			accRow := k.acc[((b*k.outH+outY)*k.outW+outX)*k.outC:][:k.outC]
			taps = k.validTaps(taps[:0], b, outY, outX)
			for g := range k.groups {
				gx := g * k.inPerG
				first, end := g*k.outPerG, (g+1)*k.outPerG
				oc := first
				// Four output channels at a time share each input load.
				for ; oc+4 <= end; oc += 4 {
					a0, a1, a2, a3 := bias[oc], bias[oc+1], bias[oc+2], bias[oc+3]
					w0 := k.w[oc*rowLen:][:rowLen]
					w1 := k.w[(oc+1)*rowLen:][:rowLen]
					w2 := k.w[(oc+2)*rowLen:][:rowLen]
					w3 := k.w[(oc+3)*rowLen:][:rowLen]
					for _, t := range taps {
						xs := k.x[t.x+gx:][:k.inPerG]
						d0, d1, d2, d3 := dot4(xs, w0[t.w:], w1[t.w:], w2[t.w:], w3[t.w:])
						a0 += d0
						a1 += d1
						a2 += d2
						a3 += d3
					}
					accRow[oc] = k.rq.apply(a0, oc)
					accRow[oc+1] = k.rq.apply(a1, oc+1)
					accRow[oc+2] = k.rq.apply(a2, oc+2)
					accRow[oc+3] = k.rq.apply(a3, oc+3)
				}
				for ; oc < end; oc++ {
					acc := bias[oc]
					w0 := k.w[oc*rowLen:][:rowLen]
					for _, t := range taps {
						acc += dot(k.x[t.x+gx:][:k.inPerG], w0[t.w:])
					}
					accRow[oc] = k.rq.apply(acc, oc)
				}
			}
			pixels++
		}
	}
	k.taps[part] = taps
	k.addMACs(pixels, k.pixelMACs)
}

// evalPointwise is the 1x1, stride 1, unpadded, ungrouped case (most of a
// MobileNet's multiply-adds): a matrix product of pixels by weights, done
// two pixels by four output channels at a time so that each load feeds
// several multiply-adds.
func (k *qConvKernel) evalPointwise(p0, p1 int) {
	bias := k.bias
	inC, outC := k.inC, k.outC
	pixels := 0
	p := p0
	for ; p+2 <= p1; p += 2 {
		xa := k.x[p*inC:][:inC]
		xb := k.x[(p+1)*inC:][:inC]
		accA := k.acc[p*outC:][:outC]
		accB := k.acc[(p+1)*outC:][:outC]
		oc := 0
		for ; oc+4 <= outC; oc += 4 {
			w0 := k.w[oc*inC:][:inC]
			w1 := k.w[(oc+1)*inC:][:inC]
			w2 := k.w[(oc+2)*inC:][:inC]
			w3 := k.w[(oc+3)*inC:][:inC]
			var a0, a1, a2, a3, b0, b1, b2, b3 int32
			for i, va := range xa {
				vb := xb[i]
				a0 += va * w0[i]
				a1 += va * w1[i]
				a2 += va * w2[i]
				a3 += va * w3[i]
				b0 += vb * w0[i]
				b1 += vb * w1[i]
				b2 += vb * w2[i]
				b3 += vb * w3[i]
			}
			for j, v := range [4]int32{a0, a1, a2, a3} {
				accA[oc+j] = k.rq.apply(v+bias[oc+j], oc+j)
			}
			for j, v := range [4]int32{b0, b1, b2, b3} {
				accB[oc+j] = k.rq.apply(v+bias[oc+j], oc+j)
			}
		}
		for ; oc < outC; oc++ {
			w0 := k.w[oc*inC:][:inC]
			accA[oc] = k.rq.apply(dot(xa, w0)+bias[oc], oc)
			accB[oc] = k.rq.apply(dot(xb, w0)+bias[oc], oc)
		}
		pixels += 2
	}
	for ; p < p1; p++ {
		xa := k.x[p*inC:][:inC]
		for oc := range outC {
			k.acc[p*outC+oc] = k.rq.apply(dot(xa, k.w[oc*inC:])+bias[oc], oc)
		}
		pixels++
	}
	k.addMACs(pixels, k.pixelMACs)
}

// convTap locates one kernel tap of an output pixel: the offset of the
// input pixel's first channel and of the tap's row within an output
// channel's weights.
type convTap struct{ x, w int }

// validTaps appends the taps of output pixel (outY, outX) that land inside
// the input; taps in the padding are skipped (they would multiply x - xzp = 0).
func (k *qConvKernel) validTaps(taps []convTap, b, outY, outX int) []convTap {
	originY := outY*k.strideH - k.padT
	originX := outX*k.strideW - k.padL
	for ky := range k.kH {
		inY := originY + ky*k.dilH
		if inY < 0 || inY >= k.inH {
			continue
		}
		for kx := range k.kW {
			inX := originX + kx*k.dilW
			if inX < 0 || inX >= k.inW {
				continue
			}
			taps = append(taps, convTap{x: ((b*k.inH+inY)*k.inW + inX) * k.inC, w: (ky*k.kW + kx) * k.inPerG})
		}
	}
	return taps
}

// evalDepthwise computes output rows [r0, r1) of a depthwise convolution.
func (k *qConvKernel) evalDepthwise(r0, r1 int) {
	bias := k.bias
	pixels := 0
	for row := r0; row < r1; row++ {
		b, outY := row/k.outH, row%k.outH
		originY := outY*k.strideH - k.padT
		for outX := range k.outW {
			originX := outX*k.strideW - k.padL
			acc := k.acc[((b*k.outH+outY)*k.outW+outX)*k.outC:][:k.outC]
			copy(acc, bias[:k.outC])
			for ky := range k.kH {
				inY := originY + ky*k.dilH
				if inY < 0 || inY >= k.inH {
					continue
				}
				for kx := range k.kW {
					inX := originX + kx*k.dilW
					if inX < 0 || inX >= k.inW {
						continue
					}
					xs := k.x[((b*k.inH+inY)*k.inW+inX)*k.inC:][:k.inC]
					ws := k.w[(ky*k.kW+kx)*k.outC:][:k.outC]
					if k.mult == 1 {
						ws, acc := ws[:len(xs)], acc[:len(xs)]
						for c, v := range xs {
							acc[c] += v * ws[c]
						}
						continue
					}
					for c, v := range xs {
						for m := range k.mult {
							oc := c*k.mult + m
							acc[oc] += v * ws[oc]
						}
					}
				}
			}
			for oc, v := range acc {
				acc[oc] = k.rq.apply(v, oc)
			}
			pixels++
		}
	}
	k.addMACs(pixels, k.pixelMACs)
}

// qBiasValues returns the optional third input's int32 values (nil when
// the node has no bias).
func qBiasValues(in []*Tensor) []int32 {
	if len(in) > 2 && in[2] != nil {
		return in[2].I32
	}
	return nil
}

// dot is the int32 dot product of x and the first len(x) elements of w.
func dot(x, w []int32) int32 {
	w = w[:len(x)]
	var s int32
	for i, v := range x {
		s += v * w[i]
	}
	return s
}

// dot4 is four dot products of x with rows w0..w3 (each at least len(x)).
func dot4(x, w0, w1, w2, w3 []int32) (s0, s1, s2, s3 int32) {
	n := len(x)
	w0, w1, w2, w3 = w0[:n], w1[:n], w2[:n], w3[:n]
	for i, v := range x {
		s0 += v * w0[i]
		s1 += v * w1[i]
		s2 += v * w2[i]
		s3 += v * w3[i]
	}
	return
}

// qGemmKernel is a fully connected layer: y[m, o] = requant(sum_k
// (x[m,k]-xzp)(w[o,k]-wzp[o]) + bias[o]), TFLite's FULLY_CONNECTED (per-tensor
// or per-channel weights) or ONNX Runtime's QGemm-style requantization.
type qGemmKernel struct {
	m, k, n int
	transA  bool
	w       []int32 // [N][K], zero point removed
	inZP    int32
	rq      *qRequant
	x, acc  []int32
	xT      []int32 // TransA scratch
	macCount
}

func prepareQGemm(n *ir.Node) (Kernel, error) {
	a := n.Attrs.(*ir.GemmAttrs)
	x, w, c, y := n.Inputs[0], n.Inputs[1], n.In(2), n.Outputs[0]
	in, err := qPerTensor(n, x, "input")
	if err != nil {
		return nil, err
	}
	out, err := qPerTensor(n, y, "output")
	if err != nil {
		return nil, err
	}
	if x.Rank() != 2 || w.Rank() != 2 || y.Rank() != 2 {
		return nil, n.Errorf("input, weight and output have ranks %d, %d, %d; want 2", x.Rank(), w.Rank(), y.Rank())
	}
	if a.Alpha != 1 || (c != nil && a.Beta != 1) {
		return nil, n.Errorf("alpha %g and beta %g: a quantized Gemm needs alpha = beta = 1", a.Alpha, a.Beta)
	}
	k := &qGemmKernel{m: x.Shape[0], k: x.Shape[1], transA: a.TransA, inZP: in.zp}
	if a.TransA {
		k.m, k.k = k.k, k.m
	}
	wRows, wCols := w.Shape[0], w.Shape[1]
	if a.TransB {
		k.n = wRows
		if wCols != k.k {
			return nil, n.Errorf("weight %q %v does not match %d inputs", w.Name, w.Shape, k.k)
		}
	} else {
		k.n = wCols
		if wRows != k.k {
			return nil, n.Errorf("weight %q %v does not match %d inputs", w.Name, w.Shape, k.k)
		}
	}
	if !slices.Equal(y.Shape, []int{k.m, k.n}) {
		return nil, n.Errorf("output %q shape %v, want [%d %d]", y.Name, y.Shape, k.m, k.n)
	}
	if err := qBias(n, c, k.n); err != nil {
		return nil, err
	}
	// Per-channel scales run along the output dimension: axis 0 of [out,in]
	// (TransB) or axis 1 of [in,out].
	wq := w.Quant
	if wq != nil && wq.PerAxis() && !a.TransB {
		if wq.Axis != 1 {
			return nil, n.Errorf("weight %q has per-axis scales on axis %d; want axis 1 of [in,out]", w.Name, wq.Axis)
		}
	}
	var wv []int32
	if a.TransB {
		if wv, err = qConstWeights(n, w); err != nil {
			return nil, err
		}
	} else {
		if wv, err = qConstWeightsCols(n, w); err != nil {
			return nil, err
		}
	}
	k.w = wv
	if k.rq, err = newAccRequant(n, in.scale, wq, out, k.n, a.Act, y.Quant); err != nil {
		return nil, err
	}
	k.x = make([]int32, x.Len())
	if k.transA {
		k.xT = make([]int32, x.Len())
	}
	k.acc = make([]int32, y.Len())
	return k, nil
}

// qConstWeightsCols returns a constant [K,N] weight (per-axis on axis 1 or
// per-tensor) transposed to [N][K] with zero points removed.
func qConstWeightsCols(n *ir.Node, w *ir.Tensor) ([]int32, error) {
	if !w.IsConst() || !w.DType.IsQuantized() || w.Quant == nil {
		return nil, n.Errorf("weight %q must be a constant 8-bit quantized tensor", w.Name)
	}
	src := FromConst(w)
	if (w.DType == ir.Int8 && len(src.I8) != w.Len()) || (w.DType == ir.Uint8 && len(src.U8) != w.Len()) {
		return nil, n.Errorf("weight %q holds the wrong number of elements for shape %v", w.Name, w.Shape)
	}
	rows, cols := w.Shape[0], w.Shape[1]
	out := make([]int32, w.Len())
	for r := range rows {
		for c := range cols {
			ch := 0
			if w.Quant.PerAxis() {
				ch = c
			}
			out[c*rows+r] = qAt(src, r*cols+c) - int32(w.Quant.ZP(ch))
		}
	}
	return out, nil
}

func (k *qGemmKernel) Eval(in, out []*Tensor) error {
	qLoad(k.x, in[0], k.inZP)
	x := k.x
	if k.transA {
		// Stored [K][M]: transpose into [M][K] rows.
		for i := range k.k {
			for j := range k.m {
				k.xT[j*k.k+i] = x[i*k.m+j]
			}
		}
		x = k.xT
	}
	bias := qBiasValues(in)
	rows := 0
	for row := range k.m {
		xs := x[row*k.k:][:k.k]
		for o := range k.n {
			acc := dot(xs, k.w[o*k.k:])
			if bias != nil {
				acc += bias[o]
			}
			k.acc[row*k.n+o] = k.rq.apply(acc, o)
		}
		rows++
	}
	k.addMACs(rows, int64(k.k)*int64(k.n))
	qStore(out[0], k.acc, k.rq.lo, k.rq.hi)
	return nil
}

// qMatMulKernel is numpy matmul on quantized tensors: ONNX's QLinearMatMul
// (per-tensor A, per-tensor or per-column B) or, for TFLite arithmetic,
// BATCH_MATMUL's per-tensor requantization. B may be a runtime tensor.
type qMatMulKernel struct {
	m, k, n    int
	outBatch   []int   // broadcast batch dims of the output
	aStr, bStr []int   // per batch dim: element stride of a's and b's matrices (0 to broadcast)
	aZP        int32   // A's zero point
	bZP        []int32 // B's zero point per column
	rq         *qRequant
	a, b, acc  []int32
	col        []int32 // one column of B
	batchIdx   []int
	bCols      bool // B per-axis on its last axis
	aVec, bVec bool // rank-1 operands
	macCount
}

func prepareQMatMul(n *ir.Node) (Kernel, error) {
	A, B, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	in, err := qPerTensor(n, A, "input A")
	if err != nil {
		return nil, err
	}
	out, err := qPerTensor(n, y, "output")
	if err != nil {
		return nil, err
	}
	if !B.DType.IsQuantized() || B.Quant == nil || len(B.Quant.Scale) == 0 {
		return nil, n.Errorf("input B %q is %v without 8-bit quantization parameters", B.Name, B.DType)
	}
	if A.Rank() == 0 || B.Rank() == 0 {
		return nil, n.Errorf("matmul of a scalar")
	}
	as, bs := A.Shape, B.Shape
	k := &qMatMulKernel{aZP: in.zp, aVec: len(as) == 1, bVec: len(bs) == 1}
	if k.aVec {
		as = []int{1, as[0]}
	}
	if k.bVec {
		bs = []int{bs[0], 1}
	}
	k.m, k.k, k.n = as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
	if bs[len(bs)-2] != k.k {
		return nil, n.Errorf("inner dimensions differ: %v and %v", A.Shape, B.Shape)
	}
	aBatch, bBatch := as[:len(as)-2], bs[:len(bs)-2]
	k.outBatch, err = ir.BroadcastShapes(aBatch, bBatch)
	if err != nil {
		return nil, n.Errorf("batch dimensions: %v", err)
	}
	want := append(slices.Clone(k.outBatch), k.m, k.n)
	if k.aVec {
		want = append(want[:len(want)-2], want[len(want)-1])
	}
	if k.bVec {
		want = want[:len(want)-1]
	}
	if !slices.Equal(y.Shape, want) {
		return nil, n.Errorf("output %q shape %v, want %v", y.Name, y.Shape, want)
	}
	k.aStr = broadcastStrides(aBatch, k.outBatch)
	k.bStr = broadcastStrides(bBatch, k.outBatch)
	for d := range k.aStr {
		k.aStr[d] *= k.m * k.k
		k.bStr[d] *= k.k * k.n
	}
	bq := B.Quant
	if bq.PerAxis() {
		if bq.Axis != B.Rank()-1 || len(bq.Scale) != k.n {
			return nil, n.Errorf("input B %q has %d scales on axis %d; want one per column on the last axis", B.Name, len(bq.Scale), bq.Axis)
		}
		k.bCols = true
	}
	for c := range k.n {
		zp := bq.ZP(0)
		if k.bCols {
			zp = bq.ZP(c)
		}
		k.bZP = append(k.bZP, int32(zp))
	}
	if k.rq, err = newAccRequant(n, in.scale, bq, out, k.n, ir.ActNone, y.Quant); err != nil {
		return nil, err
	}
	k.a = make([]int32, A.Len())
	k.b = make([]int32, B.Len())
	k.acc = make([]int32, y.Len())
	k.col = make([]int32, k.k)
	k.batchIdx = make([]int, len(k.outBatch))
	return k, nil
}

func (k *qMatMulKernel) Eval(in, out []*Tensor) error {
	qLoad(k.a, in[0], k.aZP)
	qLoad(k.b, in[1], 0)
	for i := range k.b {
		k.b[i] -= k.bZP[i%k.n]
	}
	batches := ir.NumElements(k.outBatch)
	clear(k.batchIdx)
	col := k.col
	cols := 0
	for bi := range batches {
		aOff, bOff := 0, 0
		for d, v := range k.batchIdx {
			aOff += v * k.aStr[d]
			bOff += v * k.bStr[d]
		}
		for j := range k.n {
			for kk := range k.k {
				col[kk] = k.b[bOff+kk*k.n+j]
			}
			for i := range k.m {
				acc := dot(k.a[aOff+i*k.k:][:k.k], col)
				k.acc[(bi*k.m+i)*k.n+j] = k.rq.apply(acc, j)
			}
			cols++
		}
		for d := len(k.batchIdx) - 1; d >= 0; d-- {
			k.batchIdx[d]++
			if k.batchIdx[d] < k.outBatch[d] {
				break
			}
			k.batchIdx[d] = 0
		}
	}
	k.addMACs(cols, int64(k.m)*int64(k.k))
	qStore(out[0], k.acc, k.rq.lo, k.rq.hi)
	return nil
}
