package runtime

// A direct float convolution for few input channels: MobileNet's stem (3
// channels, 3x3, stride 2), whose im2col rows of 27 floats cost about as
// much to gather as to multiply. Here the GEMM micro-kernel's loop reads
// its A operand straight from the NHWC input: the taps of one kernel row
// (kW pixels of inC channels) are one contiguous run of kW*inC floats, the
// kH runs of an output pixel are one (dilated) input row apart, and the
// six output pixels of a block are strideX*inC floats apart. B is the
// im2col path's packed weights (packB, k in (fy, fx, ci) order), so each
// output is the same sum in the same order as on that path: from zero, the
// rounded products in k order, then the bias, then the clamp (no FMA).
//
// A block whose taps leave the image (the border pixels, the top and
// bottom rows) is computed from a zero-padded copy of its window, so that
// the padding taps add 0*w as the im2col path's zero border does. A row's
// last block starts at outW-6 and recomputes a few pixels of the block
// before it, storing the same values; rows narrower than six pixels and
// ragged panels go through a tile.
//
//	sconv6x32z, sconv6x16z  avx512 (fast_stem_amd64.s)
//	sconv6x16, sconv6x8     avx2 (fast_stem_amd64.s), neon (fast_stem_arm64.s)
//	microKernelGo           go, on the six windows copied into rows of k
//
// Work is split over output rows; each part writes its own rows.

var (
	_ Kernel     = (*fastStemConv)(nil)
	_ MACCounter = (*fastStemConv)(nil)
)

// stemMaxInC is the most input channels the direct path takes: beyond it
// the im2col rows are long enough to pay for their gathering.
const stemMaxInC = 4

// useStem lets benchmarks and tests time the im2col path on the same
// shapes.
var useStem = true

type fastStemConv struct {
	convGeom
	macCount
	kLen  int // kH*kW*inC: the GEMM's k
	run   int // kW*inC: the taps of one kernel row, contiguous
	lda   int // strideX*inC: floats between the windows of adjacent pixels
	rstep int // dilY*inW*inC: floats between the runs of one pixel
	span  int // floats of one window row of a block: (5*strideX+kW)*inC
	// xLo, xHi: a block of pixels [ox, ox+6) reads inside its input rows
	// when xLo <= ox and ox+6 <= xHi.
	xLo, xHi int
	b        *packedB
	simd     bool // the assembly kernels (the family at Prepare)
	pool     *pool
	scratch  []*stemScratch
	x, y     []float32
	act      *fastHardAct // an activation fused into the output (evalAct), else nil
}

type stemScratch struct {
	win  []float32 // a block's zero-padded window: kH rows of span floats
	tile []float32 // six pixels by outC (rounded up to a panel) of outputs
	rows []float32 // the go family's six rows of k taps
}

// newFastStemConv returns the direct kernel for g, or nil where the im2col
// path keeps it: more than stemMaxInC input channels, groups, horizontal
// dilation, or a pointwise conv (the GEMM reads its input in place).
func newFastStemConv(g convGeom) *fastStemConv {
	pointwise := g.kH == 1 && g.kW == 1 && g.strideY == 1 && g.strideX == 1 && g.padT == 0 && g.padL == 0
	if !useStem || g.groups != 1 || g.inC > stemMaxInC || g.dilX != 1 || pointwise {
		return nil
	}
	k := &fastStemConv{convGeom: g}
	k.kLen = g.kH * g.kW * g.inC
	k.run = g.kW * g.inC
	k.lda = g.strideX * g.inC
	k.rstep = g.dilY * g.inW * g.inC
	k.span = ((gemmMR-1)*g.strideX + g.kW) * g.inC
	// Pixel ox reads input columns ox*strideX-padL .. that+kW-1.
	k.xLo = (g.padL + g.strideX - 1) / g.strideX
	if last := g.inW - g.kW + g.padL; last >= 0 {
		k.xHi = last/g.strideX + 1
	}
	var bias func(int) float32
	if g.bias != nil {
		bias = func(j int) float32 { return g.bias[j] }
	}
	k.simd = useSIMD
	k.b = packB(k.kLen, g.outC, func(kk, j int) float32 { return g.w[j*k.kLen+kk] }, bias)
	k.setPool(nil)
	return k
}

func (k *fastStemConv) setPool(p *pool) {
	k.pool = p
	k.scratch = make([]*stemScratch, p.size())
	for i := range k.scratch {
		k.scratch[i] = &stemScratch{
			win:  make([]float32, k.kH*k.span),
			tile: make([]float32, gemmMR*((k.outC+15)/16*16)),
			rows: make([]float32, gemmMR*k.kLen),
		}
	}
}

func (k *fastStemConv) Eval(in, out []*Tensor) error {
	k.x, k.y = in[0].F32, out[0].F32
	m := k.batch * k.outH * k.outW
	k.pool.run(k, partsFor(k.pool, int64(m)*int64(k.kLen)*int64(k.outC)))
	k.x, k.y = nil, nil
	return nil
}

// evalAct is Eval writing y = act(conv) (interp.go's activation fusion):
// the conv's own output is never written.
func (k *fastStemConv) evalAct(in []*Tensor, y *Tensor, act *fastHardAct) error {
	k.act = act
	err := k.Eval(in, []*Tensor{y})
	k.act = nil
	return err
}

func (k *fastStemConv) runTask(part, parts int) {
	r0, r1 := split(k.batch*k.outH, part, parts, 1)
	s := k.scratch[part]
	for r := r0; r < r1; r++ {
		b, oy := r/k.outH, r%k.outH
		iy0 := oy*k.strideY - k.padT
		rowsInside := iy0 >= 0 && iy0+(k.kH-1)*k.dilY < k.inH
		yRow := k.y[r*k.outW*k.outC : (r+1)*k.outW*k.outC]
		for ox := 0; ox < k.outW; {
			ox = max(0, min(ox, k.outW-gemmMR)) // the last block overlaps the one before
			pixels := min(gemmMR, k.outW-ox)
			if n := (min(k.xHi, k.outW) - ox) / gemmMR; rowsInside && ox >= k.xLo && n > 0 {
				// n blocks inside the image, straight from the input.
				a := ((b*k.inH+iy0)*k.inW + ox*k.strideX - k.padL) * k.inC
				k.blocks(k.x[a:], k.rstep, yRow[ox*k.outC:], n, pixels, s)
				ox += n * gemmMR
				continue
			}
			k.window(s.win, b, iy0, ox*k.strideX-k.padL)
			k.blocks(s.win, k.span, yRow[ox*k.outC:], 1, pixels, s)
			ox += gemmMR
		}
		if k.act != nil { // once the row is whole: its blocks may overlap
			k.act.span(yRow)
		}
	}
	k.addMACs((r1-r0)*k.outW, int64(k.kLen)*int64(k.outC))
}

// window copies the kH input rows of a block (input columns ix0 .. ix0 +
// span/inC - 1 of rows iy0, iy0+dilY, ...) into win, zeros where they lie
// outside the image.
func (k *fastStemConv) window(win []float32, b, iy0, ix0 int) {
	clear(win)
	cols := k.span / k.inC
	lo, hi := max(0, -ix0), min(cols, k.inW-ix0)
	if lo >= hi {
		return
	}
	for fy := range k.kH {
		iy := iy0 + fy*k.dilY
		if iy < 0 || iy >= k.inH {
			continue
		}
		src := k.x[((b*k.inH+iy)*k.inW+ix0+lo)*k.inC:][:(hi-lo)*k.inC]
		copy(win[fy*k.span+lo*k.inC:], src)
	}
}

// blocks computes n blocks of six output pixels, every output channel (of
// the last block only the first pixels are stored): a holds their windows
// (pixel i's kernel row fy at i*lda + fy*rstep), dst the first pixel's
// outputs (outC apart).
func (k *fastStemConv) blocks(a []float32, rstep int, dst []float32, n, pixels int, s *stemScratch) {
	_ = a[(n*gemmMR-1)*k.lda+(k.kH-1)*rstep+k.run-1]
	_ = dst[((n-1)*gemmMR+pixels)*k.outC-1]
	if !k.simd {
		for j := range n {
			k.blockGo(a[j*gemmMR*k.lda:], rstep, dst[j*gemmMR*k.outC:], pixels, s)
		}
		return
	}
	p := k.b
	for pi := 0; pi < len(p.panels); pi++ {
		pn := &p.panels[pi]
		pair := p.zmm && pi+1 < len(p.panels) && pn.valid == 16 && p.panels[pi+1].valid == 16
		width, valid := pn.width, pn.valid
		if pair {
			width, valid = 32, 32
		}
		if pixels == gemmMR && valid == width {
			k.kernel(pi, pair, n, a, rstep, &dst[pn.col], k.outC)
		} else {
			// A ragged panel or a row narrower than a block: through the
			// tile (width apart).
			for j := range n {
				k.kernel(pi, pair, 1, a[j*gemmMR*k.lda:], rstep, &s.tile[0], width)
				for i := range pixels {
					copy(dst[(j*gemmMR+i)*k.outC+pn.col:][:valid], s.tile[i*width:][:valid])
				}
			}
		}
		if pair {
			pi++
		}
	}
}

// kernel runs the assembly for n blocks of panel pi (and pi+1 if pair):
// the callers checked a, and that c holds n*6 pixels ldc apart of the
// panels' width.
func (k *fastStemConv) kernel(pi int, pair bool, n int, a []float32, rstep int, c *float32, ldc int) {
	p := k.b
	pn := &p.panels[pi]
	b := p.data[pn.off:]
	bias := &p.bias[pi*16]
	switch {
	case pair:
		_ = b[2*p.k*16-1]
		sconv6x32z(n, k.kH, k.run, &a[0], k.lda, rstep, &b[0], p.k*16, c, ldc, bias, k.lo, k.hi)
	case pn.width == 16 && p.zmm:
		_ = b[p.k*16-1]
		sconv6x16z(n, k.kH, k.run, &a[0], k.lda, rstep, &b[0], c, ldc, bias, k.lo, k.hi)
	case pn.width == 16:
		_ = b[p.k*16-1]
		sconv6x16(n, k.kH, k.run, &a[0], k.lda, rstep, &b[0], c, ldc, bias, k.lo, k.hi)
	default:
		_ = b[p.k*8-1]
		sconv6x8(n, k.kH, k.run, &a[0], k.lda, rstep, &b[0], c, ldc, bias, k.lo, k.hi)
	}
}

// blockGo is one block on the go family: the six windows gathered into
// rows of k for the GEMM's portable micro-kernel (the copying costs little
// next to its arithmetic), panel by panel.
func (k *fastStemConv) blockGo(a []float32, rstep int, dst []float32, pixels int, s *stemScratch) {
	for i := range gemmMR {
		for fy := range k.kH {
			copy(s.rows[(i*k.kH+fy)*k.run:][:k.run], a[i*k.lda+fy*rstep:])
		}
	}
	p := k.b
	for pi := range p.panels {
		pn := &p.panels[pi]
		b, bias := p.data[pn.off:], p.bias[pi*16:]
		if pixels == gemmMR && pn.valid == pn.width {
			microKernelGo(p.k, s.rows, p.k, b, pn.width, dst[pn.col:], k.outC, bias, k.lo, k.hi)
			continue
		}
		microKernelGo(p.k, s.rows, p.k, b, pn.width, s.tile, pn.width, bias, k.lo, k.hi)
		for i := range pixels {
			copy(dst[i*k.outC+pn.col:][:pn.valid], s.tile[i*pn.width:][:pn.valid])
		}
	}
}
