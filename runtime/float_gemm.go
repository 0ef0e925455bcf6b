package runtime

import (
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Float32 reference Gemm and MatMul.
//
// Exactness contract: each output is 0 + sum over k ascending of a*b, in
// float32 with every product rounded before it is added (no FMA; see
// float_conv.go). Gemm then computes alpha*sum, adds beta*c (skipped when
// beta is 0, as ONNX's reference does) and clamps to the fused activation.
// The loops run m, k, n so the innermost loop walks a contiguous output row;
// that does not change any output's summation order.

func init() {
	Register(ir.OpGemm, Float, checked(prepareGemm))
	Register(ir.OpMatMul, Float, checked(prepareMatMul))
}

var (
	_ Kernel = (*gemmKernel)(nil)
	_ Kernel = (*matMulKernel)(nil)
)

type gemmKernel struct {
	m, k, n             int
	aStrideM, aStrideK  int // element strides of A along m and k (TransA swaps them)
	bStrideK, bStrideN  int
	cStrideM, cStrideN  int // broadcast strides of C (0 along a broadcast dim)
	alpha, beta, lo, hi float32
	hasC                bool
	macCount
}

func prepareGemm(n *ir.Node) (Kernel, error) {
	if err := checkFloat(n); err != nil {
		return nil, err
	}
	attrs := n.Attrs.(*ir.GemmAttrs)
	a, b, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if a.Rank() != 2 || b.Rank() != 2 {
		return nil, n.Errorf("inputs have shapes %v and %v, want rank 2", a.Shape, b.Shape)
	}
	k := &gemmKernel{alpha: attrs.Alpha, beta: attrs.Beta}
	k.m, k.k = a.Shape[0], a.Shape[1]
	k.aStrideM, k.aStrideK = a.Shape[1], 1
	if attrs.TransA {
		k.m, k.k = k.k, k.m
		k.aStrideM, k.aStrideK = 1, a.Shape[1]
	}
	bK, bN := b.Shape[0], b.Shape[1]
	k.bStrideK, k.bStrideN = b.Shape[1], 1
	if attrs.TransB {
		bK, bN = bN, bK
		k.bStrideK, k.bStrideN = 1, b.Shape[1]
	}
	k.n = bN
	if bK != k.k {
		return nil, n.Errorf("inner dimensions differ: A %v (transA %v), B %v (transB %v)", a.Shape, attrs.TransA, b.Shape, attrs.TransB)
	}
	if !slices.Equal(y.Shape, []int{k.m, k.n}) {
		return nil, n.Errorf("output %q has shape %v, want [%d %d]", y.Name, y.Shape, k.m, k.n)
	}
	if c := n.In(2); c != nil {
		if bs, err := ir.BroadcastShapes(c.Shape, y.Shape); err != nil || !slices.Equal(bs, y.Shape) {
			return nil, n.Errorf("C %q shape %v does not broadcast to %v", c.Name, c.Shape, y.Shape)
		}
		s := broadcastStrides(c.Shape, y.Shape)
		k.cStrideM, k.cStrideN = s[0], s[1]
		k.hasC = attrs.Beta != 0
	}
	k.lo, k.hi = attrs.Act.Bounds()
	return k, nil
}

func (k *gemmKernel) Eval(in, out []*Tensor) error {
	a, b, y := in[0].F32, in[1].F32, out[0].F32
	var c []float32
	if k.hasC {
		c = in[2].F32
	}
	rows := 0
	for m := 0; m < k.m; m++ {
		row := y[m*k.n:][:k.n]
		clear(row)
		for kk := 0; kk < k.k; kk++ {
			av := a[m*k.aStrideM+kk*k.aStrideK]
			bOff := kk * k.bStrideK
			for n := range row {
				row[n] += float32(av * b[bOff+n*k.bStrideN])
			}
		}
		for n, v := range row {
			v = float32(k.alpha * v)
			if c != nil {
				v += float32(k.beta * c[m*k.cStrideM+n*k.cStrideN])
			}
			row[n] = min(max(v, k.lo), k.hi)
		}
		rows++
	}
	k.addMACs(rows, int64(k.k)*int64(k.n))
	return nil
}

// matMulKernel is numpy matmul: a 1-D A is a row vector and a 1-D B a
// column vector (the added dim is dropped from the output), and the batch
// dims before the last two broadcast.
type matMulKernel struct {
	m, k, n int
	aOffs   []int // per output batch: offset of its A matrix
	bOffs   []int
	macCount
}

func prepareMatMul(n *ir.Node) (Kernel, error) {
	if err := checkFloat(n); err != nil {
		return nil, err
	}
	a, b, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if a.Rank() == 0 || b.Rank() == 0 {
		return nil, n.Errorf("matmul of a scalar (%v, %v)", a.Shape, b.Shape)
	}
	aShape, bShape := a.Shape, b.Shape
	if len(aShape) == 1 {
		aShape = []int{1, aShape[0]}
	}
	if len(bShape) == 1 {
		bShape = []int{bShape[0], 1}
	}
	k := &matMulKernel{m: aShape[len(aShape)-2], k: aShape[len(aShape)-1], n: bShape[len(bShape)-1]}
	if bShape[len(bShape)-2] != k.k {
		return nil, n.Errorf("inner dimensions differ: %v and %v", a.Shape, b.Shape)
	}
	aBatch, bBatch := aShape[:len(aShape)-2], bShape[:len(bShape)-2]
	batch, err := ir.BroadcastShapes(aBatch, bBatch)
	if err != nil {
		return nil, n.Errorf("batch dimensions: %v", err)
	}
	want := append(slices.Clone(batch), k.m, k.n)
	if a.Rank() == 1 {
		want = slices.Delete(want, len(want)-2, len(want)-1)
	}
	if b.Rank() == 1 {
		want = want[:len(want)-1]
	}
	if !slices.Equal(y.Shape, want) {
		return nil, n.Errorf("output %q has shape %v, want %v", y.Name, y.Shape, want)
	}
	// Walk the output batch dims in order, noting where each operand's
	// matrix starts (broadcast strides count whole matrices).
	aStrides := broadcastStrides(aBatch, batch)
	bStrides := broadcastStrides(bBatch, batch)
	idx := make([]int, len(batch))
	for range ir.NumElements(batch) {
		aOff, bOff := 0, 0
		for d, i := range idx {
			aOff += i * aStrides[d]
			bOff += i * bStrides[d]
		}
		k.aOffs = append(k.aOffs, aOff*k.m*k.k)
		k.bOffs = append(k.bOffs, bOff*k.k*k.n)
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < batch[d] {
				break
			}
			idx[d] = 0
		}
	}
	return k, nil
}

func (k *matMulKernel) Eval(in, out []*Tensor) error {
	a, b, y := in[0].F32, in[1].F32, out[0].F32
	rows := 0
	for batch := range k.aOffs {
		aMat := a[k.aOffs[batch]:][:k.m*k.k]
		bMat := b[k.bOffs[batch]:][:k.k*k.n]
		yMat := y[batch*k.m*k.n:][:k.m*k.n]
		for m := 0; m < k.m; m++ {
			row := yMat[m*k.n:][:k.n]
			clear(row)
			for kk := 0; kk < k.k; kk++ {
				av := aMat[m*k.k+kk]
				bRow := bMat[kk*k.n:][:len(row)]
				for n, bv := range bRow {
					row[n] += float32(av * bv)
				}
			}
			rows++
		}
	}
	k.addMACs(rows, int64(k.k)*int64(k.n))
	return nil
}
