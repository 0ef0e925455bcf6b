package runtime

import (
	"github.com/mnconv/mnconv/ir"
)

// Fast float32 Gemm (a fully connected layer) and MatMul by a constant
// matrix, on the GEMM of fast_gemm.go. Gemm is covered when it is
// A[m,k] * B (+ C), alpha = 1, no TransA, B constant, and C absent or a
// constant row of n biases with beta = 1; MatMul when B is a constant
// [k,n] matrix and A has rank 2 or more (its leading dims are rows).
// Anything else goes to the reference kernels. Here too: the one-row
// product (gemvRows) that the GEMM uses for them and for 1x1 convs on one
// pixel.

func init() {
	Register(ir.OpGemm, FastFloat, prepareFastGemm)
	Register(ir.OpMatMul, FastFloat, prepareFastMatMul)
}

var (
	_ Kernel     = (*fastMatrix)(nil)
	_ MACCounter = (*fastMatrix)(nil)
)

// fastMatrix is y[m,n] = clamp(x[m,k] * B + bias) with B packed.
type fastMatrix struct {
	macCount
	m, k, n int
	lo, hi  float32
	b       *packedB
	pool    *pool
	scratch []*gemmScratch
	x, y    []float32
}

func prepareFastGemm(n *ir.Node) (Kernel, error) {
	if !wellFormed(n) || checkFloat(n) != nil {
		return nil, nil
	}
	a, ok := n.Attrs.(*ir.GemmAttrs)
	x, w, c, y := n.Inputs[0], n.Inputs[1], n.In(2), n.Outputs[0]
	if !ok || x == nil || w == nil || y == nil || a.TransA || a.Alpha != 1 || x.Rank() != 2 || w.Rank() != 2 || y.Rank() != 2 ||
		!w.IsConst() || len(w.Data.F32) != w.Len() {
		return nil, nil
	}
	m, k := x.Shape[0], x.Shape[1]
	rows, cols := w.Shape[0], w.Shape[1]
	nOut := cols
	at := func(kk, j int) float32 { return w.Data.F32[kk*cols+j] }
	if a.TransB {
		nOut = rows
		at = func(kk, j int) float32 { return w.Data.F32[j*cols+kk] }
		if cols != k {
			return nil, nil
		}
	} else if rows != k {
		return nil, nil
	}
	if y.Shape[0] != m || y.Shape[1] != nOut {
		return nil, nil
	}
	var bias func(int) float32
	if c != nil && a.Beta != 0 {
		// A bias row: [n] or [1,n], beta 1.
		if a.Beta != 1 || !c.IsConst() || c.Len() != nOut || len(c.Data.F32) != nOut || (c.Rank() == 2 && c.Shape[0] != 1) || c.Rank() > 2 {
			return nil, nil
		}
		bias = func(j int) float32 { return c.Data.F32[j] }
	}
	return newFastMatrix(m, k, nOut, at, bias, a.Act), nil
}

func prepareFastMatMul(n *ir.Node) (Kernel, error) {
	if !wellFormed(n) || checkFloat(n) != nil {
		return nil, nil
	}
	x, w, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if x == nil || w == nil || y == nil || x.Rank() < 2 || w.Rank() != 2 || !w.IsConst() || len(w.Data.F32) != w.Len() {
		return nil, nil
	}
	k, nOut := x.Shape[x.Rank()-1], w.Shape[1]
	if w.Shape[0] != k || y.Rank() != x.Rank() || y.Shape[y.Rank()-1] != nOut {
		return nil, nil
	}
	for d := 0; d < x.Rank()-1; d++ {
		if y.Shape[d] != x.Shape[d] {
			return nil, nil
		}
	}
	m := x.Len() / max(k, 1)
	if k == 0 || m == 0 || nOut == 0 {
		return nil, nil
	}
	at := func(kk, j int) float32 { return w.Data.F32[kk*nOut+j] }
	return newFastMatrix(m, k, nOut, at, nil, ir.ActNone), nil
}

func newFastMatrix(m, k, n int, at func(kk, j int) float32, bias func(int) float32, act ir.Activation) *fastMatrix {
	f := &fastMatrix{m: m, k: k, n: n, b: packB(k, n, at, bias)}
	f.lo, f.hi = act.Bounds()
	f.setPool(nil)
	return f
}

func (f *fastMatrix) setPool(p *pool) {
	f.pool = p
	f.scratch = make([]*gemmScratch, p.size())
	for i := range f.scratch {
		f.scratch[i] = newGemmScratch(f.k)
	}
}

func (f *fastMatrix) Eval(in, out []*Tensor) error {
	if f.m == 0 || f.n == 0 {
		return nil
	}
	f.x, f.y = in[0].F32, out[0].F32
	f.pool.run(f, partsFor(f.pool, int64(f.m)*int64(f.k)*int64(f.n)))
	f.x, f.y = nil, nil
	return nil
}

func (f *fastMatrix) runTask(part, parts int) {
	r0, r1, p0, p1 := gemmSplit(f.m, len(f.b.panels), part, parts)
	if r0 < r1 && p0 < p1 {
		f.b.run(f.x[r0*f.k:], f.k, r1-r0, f.y[r0*f.n:], f.n, p0, p1, f.lo, f.hi, f.scratch[part])
		f.addMACs(r1-r0, int64(f.k)*int64(f.b.columns(p0, p1)))
	}
}

// gemvRows computes the rows [0, m) of C (fewer than six: a layer whose
// output has one pixel, a fully connected layer of one row) for panels
// [p0, p1) on AVX-512: one row against eight full panels at a time
// (sgemv8z, eight sums in flight that stream the eight panels once), the
// panels left over through panelRows (sgemv16). Every column is the same
// sum as in the 6-row kernels: from zero, rounded products in k order, then
// the bias, then the clamp.
func (p *packedB) gemvRows(a []float32, lda, m int, c []float32, ldc, p0, p1 int, lo, hi float32, s *gemmScratch) {
	const group = 8
	for i := range m {
		x := a[i*lda : i*lda+p.k]
		pi := p0
		// Only the last panel may be narrow, so eight panels ending in a
		// full one are all full and lie k*16 floats apart.
		for ; pi+group <= p1 && p.panels[pi+group-1].valid == 16; pi += group {
			pn := &p.panels[pi]
			b := p.data[pn.off : pn.off+group*p.k*16]
			dst := c[i*ldc+pn.col : i*ldc+pn.col+group*16]
			bias := p.bias[pi*16 : (pi+group)*16]
			sgemv8z(p.k, &x[0], &b[0], p.k*16, 16, &dst[0], &bias[0], lo, hi)
		}
		for ; pi < p1; pi++ {
			p.panelRows(pi, a, lda, i, 1, c, ldc, lo, hi, s)
		}
	}
}
