package runtime

import (
	"unsafe"

	"github.com/mnconv/mnconv/ir"
)

// Fast quantized Conv and Gemm (fully connected), bit-identical to the
// reference kernels of quant_conv.go:
//   - The accumulator is the same integer: bias + sum((x - xzp)(w - wzp)),
//     in int32 with wrap-around, in another order (integer sums do not
//     care). Activations and weights are widened to int16 and multiplied
//     pairwise (VPMADDWD), which is exact: each product is at most 255*255.
//   - Requantization is the reference's qRequant (newAccRequant builds it),
//     evaluated eight channels at a time (requantQ31 for TFLite's fixed
//     point, requantF32 for ONNX Runtime's float scale; fast_quant_amd64.s).
// Pointwise and general convolutions (im2col) and Gemm share one int16
// GEMM (qgemm6x16); depthwise 3x3 has its own kernel (qdw3x3). Without
// AVX2, or for shapes the assembly does not take, the prepare functions
// decline and the reference kernels run.

func init() {
	Register(ir.OpConv, FastQuantized, prepareFastQConv)
	Register(ir.OpGemm, FastQuantized, prepareFastQGemm)
}

var (
	_ Kernel     = (*fastQGemmConv)(nil)
	_ Kernel     = (*fastQDepthwise)(nil)
	_ MACCounter = (*fastQGemmConv)(nil)
	_ MACCounter = (*fastQDepthwise)(nil)
)

// fastRequant is a qRequant laid out for the assembly: per block of eight
// channels, TFLite's multiplier, left shift, right shift, rounding mask and
// half mask ([blocks][5][8] int32), or ONNX's scales; the channels past a
// multiple of eight use the reference's apply.
type fastRequant struct {
	rq       *qRequant
	channels int
	q31      []int32
	scale    []float32
	flo, fhi float32
	unsigned int32
	// The AVX-512 kernels' parameters (the avx512 families): per block of
	// 16 channels, padded with zeros ([blocks16][5][16] and [blocks16][16]);
	// nil for the AVX2 / NEON kernels.
	q31z   []int32
	scalez []float32
}

func newFastRequant(rq *qRequant, channels int, dt ir.DType) *fastRequant {
	f := &fastRequant{rq: rq, channels: channels}
	if dt == ir.Uint8 {
		f.unsigned = 1
	}
	blocks := channels / 8
	zmm := useSIMD && family >= familyAVX512 && blocks > 0
	blocks16 := (blocks + 1) / 2
	if rq.ruy {
		return f // rows requantizes in Go (builtin.go)
	}
	if rq.onnx {
		f.scale = rq.scale[:blocks*8]
		f.flo, f.fhi = float32(rq.lo-rq.zp), float32(rq.hi-rq.zp)
		if zmm {
			f.scalez = make([]float32, blocks16*16)
			copy(f.scalez, f.scale)
		}
		return f
	}
	f.q31 = make([]int32, blocks*40)
	if zmm {
		f.q31z = make([]int32, blocks16*80)
	}
	for c := range blocks * 8 {
		left, right := max(rq.shift[c], 0), max(-rq.shift[c], 0)
		mask := int32((int64(1) << right) - 1)
		b, l := c/8, c%8
		p := f.q31[b*40:]
		p[l], p[8+l], p[16+l], p[24+l], p[32+l] = rq.mult[c], int32(left), int32(right), mask, mask>>1
		if zmm {
			b, l := c/16, c%16
			p := f.q31z[b*80:]
			p[l], p[16+l], p[32+l], p[48+l], p[64+l] = rq.mult[c], int32(left), int32(right), mask, mask>>1
		}
	}
	return f
}

// rows requantizes pixels rows of accumulators (channels each, contiguous)
// into dst.
func (f *fastRequant) rows(dst unsafe.Pointer, acc []int32, pixels int) {
	c := f.channels
	acc = acc[:pixels*c]
	blocks := c / 8
	if f.rq.ruy {
		blocks = 0
	}
	if blocks > 0 && pixels > 0 {
		switch {
		case f.scalez != nil:
			requantF32z((*byte)(dst), &acc[0], pixels, blocks, c, &f.scalez[0], f.rq.zp, f.flo, f.fhi, f.unsigned)
		case f.q31z != nil:
			requantQ31z((*byte)(dst), &acc[0], pixels, blocks, c, &f.q31z[0], f.rq.zp, f.rq.lo, f.rq.hi, f.unsigned)
		case f.rq.onnx:
			requantF32((*byte)(dst), &acc[0], pixels, blocks, c, &f.scale[0], f.rq.zp, f.flo, f.fhi, f.unsigned)
		default:
			requantQ31((*byte)(dst), &acc[0], pixels, blocks, c, &f.q31[0], f.rq.zp, f.rq.lo, f.rq.hi, f.unsigned)
		}
	}
	if blocks*8 == c {
		return
	}
	for px := range pixels {
		for ch := blocks * 8; ch < c; ch++ {
			*(*byte)(unsafe.Add(dst, px*c+ch)) = byte(f.rq.apply(acc[px*c+ch], ch))
		}
	}
}

// fitsInt16 reports whether weights minus zero points fit the kernels'
// int16 lanes (always, for zero points inside the 8-bit range; a file may
// declare others, which the reference kernels handle in int32).
func fitsInt16(w []int32) bool {
	for _, v := range w {
		if v < -32768 || v > 32767 {
			return false
		}
	}
	return true
}

// qPanels is a constant int16 B matrix packed for qgemm6x16: panels of 16
// columns, per pair of k the 16 columns' (k, k+1) values, k padded to even.
type qPanels struct {
	k2, n int // pairs of k, columns
	data  []int16
	bias  []int32 // 16 per panel
	zmm   bool    // AVX-512 micro-kernels (the family at packing time)
}

func packQPanels(k, n int, at func(kk, j int) int32, bias func(j int) int32) *qPanels {
	p := &qPanels{k2: (k + 1) / 2, n: n, zmm: useSIMD && family >= familyAVX512}
	panels := (n + 15) / 16
	p.data = make([]int16, panels*p.k2*32)
	p.bias = make([]int32, panels*16)
	for pi := range panels {
		for j := range 16 {
			col := pi*16 + j
			if col >= n {
				continue
			}
			for kk := range k {
				p.data[(pi*p.k2+kk/2)*32+j*2+kk%2] = int16(at(kk, col))
			}
			if bias != nil {
				p.bias[pi*16+j] = bias(col)
			}
		}
	}
	return p
}

// qGemmScratch is one thread's buffers: widened A rows, int32 results and
// the tiles for ragged edges.
type qGemmScratch struct {
	a     []int16 // chunk rows of kPad
	c     []int32 // chunk rows of n
	tileC [gemmMR * 16]int32
}

// run computes c[rows][ldc] (columns [0, n) of this matrix, at c's start) =
// bias + a[rows][lda] * B for all panels.
func (p *qPanels) run(a []int16, lda, rows int, c []int32, ldc int, s *qGemmScratch) {
	kPad := 2 * p.k2
	for r := 0; r < rows; r += gemmMR {
		m := min(gemmMR, rows-r)
		if m < gemmMR {
			// Fewer than six rows (a fully connected layer has one): row
			// by row, without padding to six.
			for i := range m {
				x := a[(r+i)*lda : (r+i)*lda+kPad]
				for pi := range (p.n + 15) / 16 {
					col := pi * 16
					valid := min(16, p.n-col)
					b, bias := &p.data[pi*p.k2*32], &p.bias[pi*16]
					if valid == 16 {
						dst := c[(r+i)*ldc+col : (r+i)*ldc+col+16]
						qgemv16(p.k2, &x[0], b, &dst[0], bias)
						continue
					}
					qgemv16(p.k2, &x[0], b, &s.tileC[0], bias)
					copy(c[(r+i)*ldc+col:(r+i)*ldc+col+valid], s.tileC[:valid])
				}
			}
			continue
		}
		ap := a[r*lda:]
		_ = ap[(gemmMR-1)*lda+kPad-1]
		for pi := 0; pi < (p.n+15)/16; pi++ {
			col := pi * 16
			valid := min(16, p.n-col)
			b := &p.data[pi*p.k2*32]
			bias := &p.bias[pi*16]
			if p.zmm && p.n-col >= 32 {
				_ = c[(r+gemmMR-1)*ldc+col+31]
				qgemm6x32z(p.k2, &ap[0], lda, b, p.k2*32, &c[r*ldc+col], ldc, bias)
				pi++
				continue
			}
			if valid == 16 {
				_ = c[(r+gemmMR-1)*ldc+col+15]
				if p.zmm {
					qgemm6x16z(p.k2, &ap[0], lda, b, &c[r*ldc+col], ldc, bias)
				} else {
					qgemm6x16(p.k2, &ap[0], lda, b, &c[r*ldc+col], ldc, bias)
				}
				continue
			}
			qgemm6x16(p.k2, &ap[0], lda, b, &s.tileC[0], 16, bias)
			for i := range gemmMR {
				copy(c[(r+i)*ldc+col:(r+i)*ldc+col+valid], s.tileC[i*16:i*16+valid])
			}
		}
	}
}

// fastQGemmConv is a quantized convolution (pointwise directly, others
// through im2col) or a fully connected layer (a 1x1 "convolution" of M
// pixels), on qgemm6x16.
type fastQGemmConv struct {
	macCount
	g          convGeom // geometry; w and bias unused
	pointwise  bool
	kLen, kPad int
	inZP       int32
	signed     int32 // input is int8
	panels     []*qPanels
	req        *fastRequant
	pool       *pool
	scratch    []*qGemmScratch
	chunk      int // rows per chunk
	// im2col reads a padded copy of the input, widened to int16 minus the
	// zero point (zeros in the padding), [batch][padH][padW][C]; it is
	// made once per Eval, before the parts start.
	padH, padW int
	img        []int16
	rows, outC int    // output pixels and channels
	v          *qVNNI // the avx512-vnni path (fast_qvnni.go), or nil
	// Eval's operands, for runTask.
	x *Tensor
	y unsafe.Pointer
}

// qConvGeom checks a quantized Conv for the fast kernels and returns its
// geometry, weights minus zero points, and requantization.
func qConvGeom(n *ir.Node) (g convGeom, w []int32, in qTensor, rq *qRequant, ok bool) {
	if !useSIMD || n.Op != ir.OpConv || !wellFormed(n) {
		return g, nil, in, nil, false
	}
	a, isConv := n.Attrs.(*ir.ConvAttrs)
	x, wt, b, y := n.Inputs[0], n.Inputs[1], n.In(2), n.Outputs[0]
	if !isConv || x == nil || wt == nil || y == nil || x.Rank() != 4 || wt.Rank() != 4 || y.Rank() != 4 || !wt.IsConst() {
		return g, nil, in, nil, false
	}
	var err error
	if in, err = qPerTensor(n, x, "input"); err != nil {
		return g, nil, in, nil, false
	}
	out, err := qPerTensor(n, y, "output")
	if err != nil || in.dt != out.dt {
		return g, nil, in, nil, false
	}
	win, err := n.Window()
	if err != nil || !win.Fits(y) {
		return g, nil, in, nil, false
	}
	g = convGeom{
		batch: x.Shape[0], inH: win.InH, inW: win.InW, inC: x.Shape[3],
		outH: win.OutH, outW: win.OutW, outC: y.Shape[3],
		kH: win.KH, kW: win.KW,
		strideY: win.StrideY, strideX: win.StrideX, dilY: win.DilY, dilX: win.DilX,
		padT: win.PadTop, padL: win.PadLeft, groups: a.Group,
	}
	if g.groups < 1 || g.inC%g.groups != 0 || g.outC%g.groups != 0 || wt.Shape[0] != g.outC || wt.Shape[3]*g.groups != g.inC ||
		y.Shape[0] != g.batch || x.Len() == 0 || y.Len() == 0 || wt.Len() == 0 {
		return g, nil, in, nil, false
	}
	if qBias(n, b, g.outC) != nil || (b != nil && (!b.IsConst() || len(b.Data.I32) != g.outC)) {
		return g, nil, in, nil, false
	}
	if w, err = qConstWeights(n, wt); err != nil || !fitsInt16(w) {
		return g, nil, in, nil, false
	}
	if rq, err = newAccRequant(n, in.scale, wt.Quant, out, g.outC, a.Act, y.Quant); err != nil {
		return g, nil, in, nil, false
	}
	g.inPerG, g.outPerG = g.inC/g.groups, g.outC/g.groups
	return g, w, in, rq, true
}

func prepareFastQConv(n *ir.Node) (Kernel, error) {
	g, w, in, rq, ok := qConvGeom(n)
	if !ok {
		return nil, nil
	}
	var bias []int32
	if b := n.In(2); b != nil {
		bias = b.Data.I32
	}
	dt := n.Outputs[0].DType
	if g.inPerG == 1 && g.outPerG == 1 {
		if g.kH != 3 || g.kW != 3 || g.inC%16 != 0 {
			return nil, nil
		}
		return newFastQDepthwise(g, w, bias, in, newFastRequant(rq, g.outC, dt)), nil
	}
	k := &fastQGemmConv{g: g, inZP: in.zp, req: newFastRequant(rq, g.outC, dt), outC: g.outC}
	if in.dt == ir.Int8 {
		k.signed = 1
	}
	k.pointwise = g.kH == 1 && g.kW == 1 && g.strideY == 1 && g.strideX == 1 && g.padT == 0 && g.padL == 0 &&
		g.groups == 1 && g.outH == g.inH && g.outW == g.inW
	k.kLen = g.kH * g.kW * g.inPerG
	k.kPad = (k.kLen + 1) / 2 * 2
	k.rows = g.batch * g.outH * g.outW
	if !k.pointwise {
		k.padH = max(g.padT+g.inH, (g.outH-1)*g.strideY+(g.kH-1)*g.dilY+1)
		k.padW = max(g.padL+g.inW, (g.outW-1)*g.strideX+(g.kW-1)*g.dilX+1)
		k.img = make([]int16, g.batch*k.padH*k.padW*g.inC)
	}
	for grp := range g.groups {
		base := grp * g.outPerG
		at := func(kk, j int) int32 { return w[(base+j)*k.kLen+kk] }
		var bf func(int) int32
		if bias != nil {
			bf = func(j int) int32 { return bias[base+j] }
		}
		k.panels = append(k.panels, packQPanels(k.kLen, g.outPerG, at, bf))
	}
	k.setPool(nil)
	k.v = newQVNNI(k, w, bias)
	return k, nil
}

// prepareFastQGemm covers a quantized fully connected layer: A[m,k] without
// TransA, constant weights ([n,k] with TransB or [k,n]), a constant int32
// bias, as the reference qGemmKernel computes it.
func prepareFastQGemm(n *ir.Node) (Kernel, error) {
	if !useSIMD || !wellFormed(n) {
		return nil, nil
	}
	a, ok := n.Attrs.(*ir.GemmAttrs)
	x, w, c, y := n.Inputs[0], n.Inputs[1], n.In(2), n.Outputs[0]
	if !ok || x == nil || w == nil || y == nil || a.TransA || a.Alpha != 1 || (c != nil && a.Beta != 1) ||
		x.Rank() != 2 || w.Rank() != 2 || y.Rank() != 2 || !w.IsConst() {
		return nil, nil
	}
	in, err := qPerTensor(n, x, "input")
	if err != nil {
		return nil, nil
	}
	out, err := qPerTensor(n, y, "output")
	if err != nil || in.dt != out.dt {
		return nil, nil
	}
	m, k := x.Shape[0], x.Shape[1]
	nOut := w.Shape[1]
	var wv []int32
	if a.TransB {
		nOut = w.Shape[0]
		if w.Shape[1] != k {
			return nil, nil
		}
		wv, err = qConstWeights(n, w)
	} else {
		if w.Shape[0] != k || (w.Quant != nil && w.Quant.PerAxis() && w.Quant.Axis != 1) {
			return nil, nil
		}
		wv, err = qConstWeightsCols(n, w)
	}
	if err != nil || !fitsInt16(wv) || y.Shape[0] != m || y.Shape[1] != nOut || qBias(n, c, nOut) != nil || (c != nil && (!c.IsConst() || len(c.Data.I32) != nOut)) {
		return nil, nil
	}
	rq, err := newAccRequant(n, in.scale, w.Quant, out, nOut, a.Act, y.Quant)
	if err != nil {
		return nil, nil
	}
	g := convGeom{batch: 1, inH: 1, inW: m, inC: k, outH: 1, outW: m, outC: nOut, kH: 1, kW: 1,
		strideY: 1, strideX: 1, dilY: 1, dilX: 1, groups: 1, inPerG: k, outPerG: nOut}
	f := &fastQGemmConv{g: g, pointwise: true, kLen: k, kPad: (k + 1) / 2 * 2, inZP: in.zp, rows: m, outC: nOut,
		req: newFastRequant(rq, nOut, y.DType)}
	if in.dt == ir.Int8 {
		f.signed = 1
	}
	at := func(kk, j int) int32 { return wv[j*k+kk] }
	var bf func(int) int32
	if c != nil {
		bf = func(j int) int32 { return c.Data.I32[j] }
	}
	f.panels = []*qPanels{packQPanels(k, nOut, at, bf)}
	f.setPool(nil)
	var bias []int32
	if c != nil {
		bias = c.Data.I32
	}
	f.v = newQVNNI(f, wv, bias)
	return f, nil
}

func (k *fastQGemmConv) setPool(p *pool) {
	k.pool = p
	// A chunk's widened rows and results stay within about 128 KiB.
	k.chunk = max(gemmMR, (128<<10)/(2*k.kPad+4*k.outC)/gemmMR*gemmMR)
	k.chunk = min(k.chunk, (k.rows+gemmMR-1)/gemmMR*gemmMR)
	k.scratch = make([]*qGemmScratch, p.size())
	for i := range k.scratch {
		k.scratch[i] = &qGemmScratch{
			a: make([]int16, k.chunk*k.kPad),
			c: make([]int32, k.chunk*k.outC),
		}
	}
	if k.v != nil {
		k.v.setPool(k)
	}
}

func (k *fastQGemmConv) Eval(in, out []*Tensor) error {
	k.x, k.y = in[0], bytesOf(out[0])
	switch {
	case k.v != nil && !k.pointwise:
		k.v.fillImage(k, inBytes(in[0]))
	case k.v == nil && !k.pointwise:
		k.widenImage(inBytes(in[0]))
	}
	k.pool.run(k, partsFor(k.pool, int64(k.rows)*int64(k.kLen)*int64(k.outC)))
	k.x, k.y = nil, nil
	return nil
}

// bytesOf is the address of an 8-bit tensor's first element.
func bytesOf(t *Tensor) unsafe.Pointer {
	if t.DType == ir.Int8 {
		return unsafe.Pointer(unsafe.SliceData(t.I8))
	}
	return unsafe.Pointer(unsafe.SliceData(t.U8))
}

// inBytes returns the input's elements as bytes.
func inBytes(t *Tensor) []byte {
	if t.DType == ir.Int8 {
		return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(t.I8))), len(t.I8))
	}
	return t.U8
}

func (k *fastQGemmConv) runTask(part, parts int) {
	if k.v != nil {
		k.v.runTask(k, part, parts)
		return
	}
	r0, r1 := split(k.rows, part, parts, gemmMR)
	s := k.scratch[part]
	x := inBytes(k.x)
	g := &k.g
	for c0 := r0; c0 < r1; c0 += k.chunk {
		rows := min(k.chunk, r1-c0)
		for grp := range g.groups {
			if k.pointwise {
				k.widenRows(s.a, x, c0, rows)
			} else {
				k.im2col(s.a, c0, rows, grp)
			}
			k.panels[grp].run(s.a, k.kPad, rows, s.c[grp*g.outPerG:], k.outC, s)
		}
		k.req.rows(unsafe.Add(k.y, c0*k.outC), s.c, rows)
	}
	k.addMACs(r1-r0, int64(k.kLen)*int64(k.outC))
}

// widenRows writes input rows [r0, r0+rows) minus the zero point as int16,
// kPad per row (the padding column zero).
func (k *fastQGemmConv) widenRows(a []int16, x []byte, r0, rows int) {
	kk := k.kLen
	if kk == k.kPad && kk%16 == 0 {
		qwiden(&a[0], &x[r0*kk], rows*kk, k.inZP, k.signed)
		return
	}
	for i := range rows {
		src := x[(r0+i)*kk : (r0+i+1)*kk]
		dst := a[i*k.kPad : (i+1)*k.kPad]
		n16 := kk / 16 * 16
		if n16 > 0 {
			qwiden(&dst[0], &src[0], n16, k.inZP, k.signed)
		}
		k.widenRun(dst[n16:kk], src[n16:])
		if k.kPad > kk {
			dst[kk] = 0
		}
	}
}

// widenImage fills img from the input: interior rows widened, the padding
// left as zeros (it is never written).
func (k *fastQGemmConv) widenImage(x []byte) {
	g := &k.g
	rowLen := g.inW * g.inC
	for b := range g.batch {
		for iy := range g.inH {
			dst := k.img[((b*k.padH+g.padT+iy)*k.padW+g.padL)*g.inC:][:rowLen]
			src := x[(b*g.inH+iy)*rowLen:][:rowLen]
			n16 := rowLen / 16 * 16
			if n16 > 0 {
				qwiden(&dst[0], &src[0], n16, k.inZP, k.signed)
			}
			k.widenRun(dst[n16:], src[n16:])
		}
	}
}

// im2col writes the taps of output pixels [r0, r0+rows) of group grp, from
// the padded int16 image: one run per kernel row when a row's taps are
// contiguous (one group, no horizontal dilation), else one per tap.
func (k *fastQGemmConv) im2col(a []int16, r0, rows, grp int) {
	g := &k.g
	ci0 := grp * g.inPerG
	runLen := g.kW * g.inPerG
	contiguous := g.groups == 1 && g.dilX == 1
	ox, oy, b := r0%g.outW, (r0/g.outW)%g.outH, r0/(g.outW*g.outH)
	for i := range rows {
		dst := a[i*k.kPad : (i+1)*k.kPad]
		if k.kPad > k.kLen {
			dst[k.kLen] = 0
		}
		base := ((b*k.padH+oy*g.strideY)*k.padW+ox*g.strideX)*g.inC + ci0
		for fy := range g.kH {
			d := dst[fy*runLen : (fy+1)*runLen]
			src := k.img[base+fy*g.dilY*k.padW*g.inC:]
			if contiguous {
				if runLen <= 16 { // a call to memmove costs more than these
					for j, v := range src[:runLen] {
						d[j] = v
					}
				} else {
					copy(d, src[:runLen])
				}
				continue
			}
			for fx := range g.kW {
				copy(d[fx*g.inPerG:(fx+1)*g.inPerG], src[fx*g.dilX*g.inC:])
			}
		}
		if ox++; ox == g.outW {
			ox = 0
			if oy++; oy == g.outH {
				oy = 0
				b++
			}
		}
	}
}

// widenRun writes src minus the zero point into d (same length).
func (k *fastQGemmConv) widenRun(d []int16, src []byte) {
	d = d[:len(src)]
	zp := k.inZP
	if k.signed != 0 {
		for j, v := range src {
			d[j] = int16(int32(int8(v)) - zp)
		}
		return
	}
	for j, v := range src {
		d[j] = int16(int32(v) - zp)
	}
}

// fastQDepthwise is a quantized 3x3 depthwise convolution with multiplier 1
// and a multiple of 16 channels. The interior pixels of each output row
// (every tap inside the row) run in qdw3x3 from three input row pointers (a
// row above or below the image points at stored zero points); the border
// pixels run in qdw3x3Taps from nine tap pointers.
type fastQDepthwise struct {
	macCount
	g        convGeom
	w        []int16 // [C/16][5 tap pairs][2][16]
	wz       []int16 // the AVX-512 kernels' weights (packQDW3x3Z), or nil
	bias     []int32 // bias - xzp * sum of the channel's weights
	signed   int32
	req      *fastRequant
	zpRow    []byte // stored zero points, one input row long
	xLo, xHi int    // interior output pixels of a row
	pool     *pool
	acc      [][]int32 // per thread: one output row of int32
	x        []byte
	y        unsafe.Pointer
}

func newFastQDepthwise(g convGeom, w []int32, bias []int32, in qTensor, req *fastRequant) *fastQDepthwise {
	c := g.outC
	k := &fastQDepthwise{g: g, req: req, bias: make([]int32, c), w: make([]int16, c/16*320)}
	if in.dt == ir.Int8 {
		k.signed = 1
	}
	// Lane order within a pair's two YMM words: the first holds channels
	// 0-3 and 8-11 of the block, the second 4-7 and 12-15 (what unpacking
	// within 128-bit lanes produces; the assembly restores the order).
	lane := func(word, l int) int {
		if l < 4 {
			return word*4 + l
		}
		return 8 + word*4 + l - 4
	}
	for blk := range c / 16 {
		for pair := range 5 {
			for word := range 2 {
				for l := range 8 {
					ch := blk*16 + lane(word, l)
					base := ((blk*5+pair)*2+word)*16 + l*2
					k.w[base] = int16(w[ch*9+2*pair])
					if 2*pair+1 < 9 {
						k.w[base+1] = int16(w[ch*9+2*pair+1])
					}
				}
			}
		}
	}
	// sum((x - zp) w) = sum(x w) - zp sum(w): the kernel reads stored
	// values and padding taps read the zero point. int32 wraps as the
	// reference's sums do.
	for ch := range c {
		sum := int32(0)
		for t := range 9 {
			sum += w[ch*9+t]
		}
		if bias != nil {
			k.bias[ch] = bias[ch]
		}
		k.bias[ch] -= in.zp * sum
	}
	k.wz = packQDW3x3Z(w, c)
	k.zpRow = make([]byte, max(g.inW, 1)*c)
	for i := range k.zpRow {
		k.zpRow[i] = byte(in.zp)
	}
	// ox*stride - padL >= 0 and ox*stride - padL + 2*dil <= inW-1.
	k.xLo = min((g.padL+g.strideX-1)/g.strideX, g.outW)
	if last := g.inW - 1 - 2*g.dilX + g.padL; last >= 0 {
		k.xHi = min(last/g.strideX+1, g.outW)
	}
	k.xHi = max(k.xHi, k.xLo)
	k.setPool(nil)
	return k
}

func (k *fastQDepthwise) setPool(p *pool) {
	k.pool = p
	k.acc = make([][]int32, p.size())
	for i := range k.acc {
		k.acc[i] = make([]int32, k.g.outW*k.g.outC)
	}
}

func (k *fastQDepthwise) Eval(in, out []*Tensor) error {
	k.x, k.y = inBytes(in[0]), bytesOf(out[0])
	g := &k.g
	macs := int64(g.batch*g.outH*g.outW) * int64(9*g.outC)
	k.pool.run(k, partsFor(k.pool, macs/4))
	k.x, k.y = nil, nil
	return nil
}

func (k *fastQDepthwise) runTask(part, parts int) {
	g := &k.g
	c := g.inC
	r0, r1 := split(g.batch*g.outH, part, parts, 1)
	acc := k.acc[part]
	for r := r0; r < r1; r++ {
		b, oy := r/g.outH, r%g.outH
		if k.xHi > k.xLo {
			var rows [3]*byte
			ix := k.xLo*g.strideX - g.padL
			for fy := range 3 {
				iy := oy*g.strideY - g.padT + fy*g.dilY
				if iy < 0 || iy >= g.inH {
					rows[fy] = &k.zpRow[ix*c]
				} else {
					rows[fy] = &k.x[((b*g.inH+iy)*g.inW+ix)*c]
				}
			}
			if k.wz != nil {
				qdw3x3z(&acc[k.xLo*c], rows[0], rows[1], rows[2], &k.wz[0], &k.bias[0], k.xHi-k.xLo, c, g.strideX*c, g.dilX*c, k.signed)
			} else {
				qdw3x3(&acc[k.xLo*c], rows[0], rows[1], rows[2], &k.w[0], &k.bias[0], k.xHi-k.xLo, c/16, g.strideX*c, g.dilX*c, k.signed)
			}
		}
		for ox := range g.outW {
			if ox >= k.xLo && ox < k.xHi {
				continue
			}
			var taps [9]*byte
			for fy := range 3 {
				iy := oy*g.strideY - g.padT + fy*g.dilY
				for fx := range 3 {
					ix := ox*g.strideX - g.padL + fx*g.dilX
					if iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW {
						taps[fy*3+fx] = &k.zpRow[0]
					} else {
						taps[fy*3+fx] = &k.x[((b*g.inH+iy)*g.inW+ix)*c]
					}
				}
			}
			if k.wz != nil {
				qdw3x3TapsZ(&acc[ox*c], &taps, &k.wz[0], &k.bias[0], c, k.signed)
			} else {
				qdw3x3Taps(&acc[ox*c], &taps, &k.w[0], &k.bias[0], c/16, k.signed)
			}
		}
		k.req.rows(unsafe.Add(k.y, r*g.outW*c), acc, g.outW)
	}
	k.addMACs((r1-r0)*g.outW, int64(9*c))
}
