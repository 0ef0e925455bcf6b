package runtime

import "unsafe"

// The float32 GEMM behind the fast Conv, Gemm and MatMul kernels:
// C[m x n] = clamp(A[m x k] * B[k x n] + bias), A read in place (rows lda
// apart: an NHWC activation is already [pixels x channels]), B constant and
// packed once at Prepare into column panels of 16 (or 8 for a narrow last
// panel), each stored k-major so that the micro-kernel streams it.
//
// The micro-kernel computes a 6x16 (or 6x8) block in registers: 12 AVX2
// accumulators, each A element broadcast and multiplied by two B vectors
// (sgemm6x16 in fast_float_amd64.s). The AVX-512 families take twelve rows
// at a time (fast_float512_amd64.s): two full panels in 24 ZMM accumulators
// (sgemm12x32z), a full panel and an 8-wide one (sgemm12x24z: N = 24), a
// lone full panel (sgemm12x16z); six rows left take sgemm6x32z, and the
// last rows (fewer than six: the 49th pixel of a 7x7 layer, a fully
// connected layer's one row) go row by row across four panels at once
// (sgemv64z: four sums in flight, where one panel at a time waits on a
// single chain of additions), every four panels while those are in cache.
// Rows are taken in chunks whose A rows fit in L2 while every panel sweeps
// them. Other ragged edges (a panel wider than the columns left) go through
// small scratch tiles. Without AVX2 the same blocking runs a pure-Go
// micro-kernel. Products of fewer than six rows in all on AVX-512 (a layer
// with one output pixel) take gemvRows (fast_fc.go) instead.
//
// Results equal the reference kernels' bit for bit (float_conv.go's
// contract): every sum starts from zero and adds the products in k order,
// each product rounded to float32 (multiply then add, never FMA), then the
// bias, then the clamp. Only the order of independent outputs changes.

// useSIMD selects the assembly micro-kernels (any family but "go";
// fast_family.go keeps it in step with the family).
var useSIMD = family >= familySIMD

const (
	gemmMR = 6 // rows per micro-kernel call
	// gemmMRZ is the rows of the tall AVX-512 tiles (sgemm12x32z,
	// sgemm12x24z, sgemm12x16z).
	gemmMRZ = 12
	// gemmChunkFloats bounds a row chunk of A (about 96 KiB), which stays
	// in L2 while each panel passes over it.
	gemmChunkFloats = 24 << 10
)

type gemmPanel struct {
	col   int // first column of C
	width int // 8 or 16: the packed width
	valid int // columns of C it covers (<= width)
	off   int // offset of its k x width floats in data
}

// packedB is a constant right-hand side with its bias, panel by panel.
type packedB struct {
	k, n   int
	panels []gemmPanel
	data   []float32
	bias   []float32 // 16 floats per panel, zero-padded
	zmm    bool      // AVX-512 micro-kernels (the family at packing time)
	tall   bool      // and the 12-row tiles (set with zmm; off only in BenchmarkFloatGemmTiles)
}

// packB packs a k x n matrix given by at(kk, j), with bias(j) (nil means
// zero bias).
func packB(k, n int, at func(kk, j int) float32, bias func(j int) float32) *packedB {
	zmm := useSIMD && family >= familyAVX512
	p := &packedB{k: k, n: n, zmm: zmm, tall: zmm}
	for col := 0; col < n; {
		width := 16
		if n-col <= 8 {
			width = 8
		}
		valid := min(width, n-col)
		p.panels = append(p.panels, gemmPanel{col: col, width: width, valid: valid, off: len(p.data)})
		for kk := 0; kk < k; kk++ {
			for j := 0; j < width; j++ {
				v := float32(0)
				if j < valid {
					v = at(kk, col+j)
				}
				p.data = append(p.data, v)
			}
		}
		for j := 0; j < 16; j++ {
			v := float32(0)
			if j < valid && bias != nil {
				v = bias(col + j)
			}
			p.bias = append(p.bias, v)
		}
		col += valid
	}
	return p
}

// columns is the number of output columns panels [p0, p1) cover.
func (p *packedB) columns(p0, p1 int) int {
	n := 0
	for _, pn := range p.panels[p0:p1] {
		n += pn.valid
	}
	return n
}

// gemmScratch is one thread's tiles for ragged edges.
type gemmScratch struct {
	a []float32 // gemmMR rows of k
	c [gemmMR * 16]float32
}

func newGemmScratch(k int) *gemmScratch { return &gemmScratch{a: make([]float32, gemmMR*max(k, 1))} }

// chunkRows is how many rows of A (k floats each) make one chunk.
func chunkRows(k int) int {
	return max(gemmMRZ, gemmChunkFloats/max(k, 1)/gemmMRZ*gemmMRZ)
}

// run computes rows [0, m) of C for panels [p0, p1). a holds the m rows (lda
// apart), c the m output rows (ldc apart); c[0] is the output's column 0.
func (p *packedB) run(a []float32, lda, m int, c []float32, ldc int, p0, p1 int, lo, hi float32, s *gemmScratch) {
	if m < gemmMR && p.zmm {
		p.gemvRows(a, lda, m, c, ldc, p0, p1, lo, hi, s) // fast_fc.go
		return
	}
	mc := chunkRows(p.k)
	for r0 := 0; r0 < m; r0 += mc {
		r1 := min(m, r0+mc)
		body := r1
		if p.tall {
			// Fewer than six rows left: row by row across the panels
			// (rowsAcross), every four panels or so while they are in
			// cache; tp is the first panel whose last rows are not done.
			body = r0 + (r1-r0)/gemmMR*gemmMR
		}
		tp := p0
		for pi := p0; pi < p1; pi++ {
			// AVX-512: two full panels side by side in one 12x32 (or
			// 6x32) call.
			pair := p.zmm && pi+1 < p1 && p.panels[pi].valid == 16 && p.panels[pi+1].valid == 16
			// Or a full panel and a full 8-wide one in one 12x24 call.
			pair24 := p.tall && pi+1 < p1 && p.panels[pi].valid == 16 && p.panels[pi+1].valid == 8 && p.panels[pi+1].width == 8
			pn := &p.panels[pi]
			for r := r0; r < body; {
				rows := body - r
				switch {
				case pair && p.tall && rows >= gemmMRZ:
					ap, cp, bp := p.tile(pi, 32, a, lda, r, gemmMRZ, c, ldc)
					sgemm12x32z(p.k, ap, lda, bp, p.k*16, cp, ldc, &p.bias[pi*16], lo, hi, p.nextPair(pi, p1, r == r0))
					r += gemmMRZ
				case pair && rows >= gemmMR:
					ap, cp, bp := p.tile(pi, 32, a, lda, r, gemmMR, c, ldc)
					sgemm6x32z(p.k, ap, lda, bp, p.k*16, cp, ldc, &p.bias[pi*16], lo, hi)
					r += gemmMR
				case pair24 && rows >= gemmMRZ:
					ap, cp, bp := p.tile(pi, 24, a, lda, r, gemmMRZ, c, ldc)
					sgemm12x24z(p.k, ap, lda, bp, cp, ldc, &p.bias[pi*16], lo, hi)
					r += gemmMRZ
				case !pair && p.tall && rows >= gemmMRZ && pn.valid == 16:
					ap, cp, bp := p.tile(pi, 16, a, lda, r, gemmMRZ, c, ldc)
					sgemm12x16z(p.k, ap, lda, bp, cp, ldc, &p.bias[pi*16], lo, hi)
					r += gemmMRZ
				default:
					rows = min(rows, gemmMR)
					p.panelRows(pi, a, lda, r, rows, c, ldc, lo, hi, s)
					if pair || pair24 {
						p.panelRows(pi+1, a, lda, r, rows, c, ldc, lo, hi, s)
					}
					r += rows
				}
			}
			if pair || pair24 {
				pi++
			}
			if body < r1 && (pi+1-tp >= 4 || pi+1 == p1) {
				p.rowsAcross(a, lda, body, r1, c, ldc, tp, pi+1, lo, hi, s)
				tp = pi + 1
			}
		}
	}
}

// tile checks the operands of a rows x width tile call at row r, from panel
// pi on (width 32 is two full panels, 24 a full and an 8-wide one) and
// returns the pointers the assembly takes: A's row r, C's row r at the
// panel's column, the packed panels.
func (p *packedB) tile(pi, width int, a []float32, lda, r, rows int, c []float32, ldc int) (ap, cp, bp *float32) {
	pn := &p.panels[pi]
	b := p.data[pn.off : pn.off+p.k*width]
	_ = a[(r+rows-1)*lda+p.k-1]
	dst := c[r*ldc+pn.col:]
	_ = dst[(rows-1)*ldc+width-1]
	return &a[r*lda], &dst[0], &b[0]
}

// nextPair is what sgemm12x32z asks for ahead while it runs the pair at pi:
// on the first rows of a chunk, the two panels after the pair (when they
// are full panels before p1), else nothing.
func (p *packedB) nextPair(pi, p1 int, first bool) *float32 {
	if !first || pi+3 >= p1 || p.panels[pi+3].width != 16 {
		return nil
	}
	return &p.data[p.panels[pi+2].off]
}

// rowsAcross computes rows [r, r1) one at a time across panels [p0, p1):
// four full panels at once where they follow each other (sgemv64z, four
// independent sums), the rest through panelRows.
func (p *packedB) rowsAcross(a []float32, lda, r, r1 int, c []float32, ldc int, p0, p1 int, lo, hi float32, s *gemmScratch) {
	for i := r; i < r1; i++ {
		x := a[i*lda : i*lda+p.k]
		for pi := p0; pi < p1; {
			if pi+4 <= p1 && p.panels[pi].valid == 16 && p.panels[pi+1].valid == 16 && p.panels[pi+2].valid == 16 && p.panels[pi+3].valid == 16 {
				pn := &p.panels[pi]
				b := p.data[pn.off : pn.off+4*p.k*16]
				dst := c[i*ldc+pn.col : i*ldc+pn.col+64]
				sgemv64z(p.k, &x[0], &b[0], p.k*16, &dst[0], &p.bias[pi*16], lo, hi)
				pi += 4
				continue
			}
			p.panelRows(pi, a, lda, i, 1, c, ldc, lo, hi, s)
			pi++
		}
	}
}

// panelRows computes rows [r, r+rows) (at most six) of panel pi.
func (p *packedB) panelRows(pi int, a []float32, lda, r, rows int, c []float32, ldc int, lo, hi float32, s *gemmScratch) {
	pn := &p.panels[pi]
	b := p.data[pn.off : pn.off+p.k*pn.width]
	bias := p.bias[pi*16 : pi*16+16]
	if rows < gemmMR && useSIMD && pn.width == 16 {
		// Fewer than six rows (a fully connected layer has one): row by
		// row, without padding to six.
		for i := range rows {
			x := a[(r+i)*lda : (r+i)*lda+p.k]
			if pn.valid == 16 {
				dst := c[(r+i)*ldc+pn.col : (r+i)*ldc+pn.col+16]
				sgemv16(p.k, &x[0], &b[0], &dst[0], &bias[0], lo, hi)
				continue
			}
			sgemv16(p.k, &x[0], &b[0], &s.c[0], &bias[0], lo, hi)
			copy(c[(r+i)*ldc+pn.col:(r+i)*ldc+pn.col+pn.valid], s.c[:pn.valid])
		}
		return
	}
	ap, alda := a[r*lda:], lda
	if rows < gemmMR {
		// Copy the last rows into a zero-padded tile; the micro-kernel
		// always reads six.
		clear(s.a)
		for i := range rows {
			copy(s.a[i*p.k:(i+1)*p.k], a[(r+i)*lda:(r+i)*lda+p.k])
		}
		ap, alda = s.a, p.k
	}
	if rows == gemmMR && pn.valid == pn.width {
		microKernel(p.k, ap, alda, b, pn.width, c[r*ldc+pn.col:], ldc, bias, lo, hi, p.zmm)
		return
	}
	microKernel(p.k, ap, alda, b, pn.width, s.c[:], pn.width, bias, lo, hi, p.zmm)
	for i := range rows {
		copy(c[(r+i)*ldc+pn.col:(r+i)*ldc+pn.col+pn.valid], s.c[i*pn.width:i*pn.width+pn.valid])
	}
}

// microKernel computes six rows by one panel (width 8 or 16) of
// clamp(bias + A*B), on ZMM registers when zmm is set. The slices must hold
// every element the six rows touch.
func microKernel(k int, a []float32, lda int, b []float32, width int, c []float32, ldc int, bias []float32, lo, hi float32, zmm bool) {
	_ = a[5*lda+k-1]
	_ = c[5*ldc+width-1]
	if useSIMD {
		ap, cp := (*float32)(unsafe.Pointer(&a[0])), (*float32)(unsafe.Pointer(&c[0]))
		switch {
		case width == 16 && zmm:
			sgemm6x16z(k, ap, lda, &b[0], cp, ldc, &bias[0], lo, hi)
		case width == 16:
			sgemm6x16(k, ap, lda, &b[0], cp, ldc, &bias[0], lo, hi)
		default:
			sgemm6x8(k, ap, lda, &b[0], cp, ldc, &bias[0], lo, hi)
		}
		return
	}
	microKernelGo(k, a, lda, b, width, c, ldc, bias, lo, hi)
}

// microKernelGo is the portable micro-kernel: two rows at a time against
// eight columns, sixteen scalar accumulators that the compiler keeps in
// registers. Same arithmetic as the assembly (and the reference kernels):
// from zero, products rounded to float32 (the float32 conversions forbid
// fusing them into FMAs), bias last.
func microKernelGo(k int, a []float32, lda int, b []float32, width int, c []float32, ldc int, bias []float32, lo, hi float32) {
	for i := 0; i < gemmMR; i += 2 {
		a0 := a[i*lda : i*lda+k]
		a1 := a[(i+1)*lda : (i+1)*lda+k]
		for j := 0; j < width; j += 8 {
			var s00, s01, s02, s03, s04, s05, s06, s07 float32
			var s10, s11, s12, s13, s14, s15, s16, s17 float32
			off := j
			for kk, x0 := range a0 {
				x1 := a1[kk]
				w := b[off : off+8 : off+8]
				s00 += float32(x0 * w[0])
				s01 += float32(x0 * w[1])
				s02 += float32(x0 * w[2])
				s03 += float32(x0 * w[3])
				s04 += float32(x0 * w[4])
				s05 += float32(x0 * w[5])
				s06 += float32(x0 * w[6])
				s07 += float32(x0 * w[7])
				s10 += float32(x1 * w[0])
				s11 += float32(x1 * w[1])
				s12 += float32(x1 * w[2])
				s13 += float32(x1 * w[3])
				s14 += float32(x1 * w[4])
				s15 += float32(x1 * w[5])
				s16 += float32(x1 * w[6])
				s17 += float32(x1 * w[7])
				off += width
			}
			bb := bias[j : j+8]
			r0 := c[i*ldc+j : i*ldc+j+8]
			r0[0], r0[1], r0[2], r0[3] = clampF(s00+bb[0], lo, hi), clampF(s01+bb[1], lo, hi), clampF(s02+bb[2], lo, hi), clampF(s03+bb[3], lo, hi)
			r0[4], r0[5], r0[6], r0[7] = clampF(s04+bb[4], lo, hi), clampF(s05+bb[5], lo, hi), clampF(s06+bb[6], lo, hi), clampF(s07+bb[7], lo, hi)
			r1 := c[(i+1)*ldc+j : (i+1)*ldc+j+8]
			r1[0], r1[1], r1[2], r1[3] = clampF(s10+bb[0], lo, hi), clampF(s11+bb[1], lo, hi), clampF(s12+bb[2], lo, hi), clampF(s13+bb[3], lo, hi)
			r1[4], r1[5], r1[6], r1[7] = clampF(s14+bb[4], lo, hi), clampF(s15+bb[5], lo, hi), clampF(s16+bb[6], lo, hi), clampF(s17+bb[7], lo, hi)
		}
	}
}

func clampF(v, lo, hi float32) float32 { return min(max(v, lo), hi) }

// gemmSplit decides how parts share an m x (panels) product: by rows (in
// whole 12-row tiles) when there are enough six-row blocks, else by panels.
// It returns part's rows and panels.
func gemmSplit(m, panels, part, parts int) (r0, r1, p0, p1 int) {
	blocks := (m + gemmMR - 1) / gemmMR
	if parts <= 1 {
		return 0, m, 0, panels
	}
	if blocks >= 2*parts || panels < parts {
		r0, r1 = split(m, part, parts, gemmMRZ)
		return r0, r1, 0, panels
	}
	p0, p1 = split(panels, part, parts, 1)
	return 0, m, p0, p1
}

// minPartMACs is the least work worth handing to another goroutine (a
// channel round trip costs a few microseconds).
const minPartMACs = 1 << 17

// partsFor is how many parts to split macs multiply-accumulates into.
func partsFor(p *pool, macs int64) int {
	return int(max(1, min(int64(p.size()), macs/minPartMACs)))
}
