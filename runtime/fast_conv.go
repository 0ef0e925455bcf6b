package runtime

import (
	"unsafe"

	"github.com/mnconv/mnconv/ir"
)

// Fast float32 convolutions, three shapes of one idea (keep the weights in
// the order the inner loop wants them, computed once at Prepare):
//   - pointwise (1x1, stride 1, no padding, one group): the NHWC input is
//     already the A matrix [pixels x Cin], so the conv is one GEMM against
//     the repacked weights [Cin x Cout] (fast_gemm.go);
//   - depthwise (one input channel per output channel): channels are the
//     vector lanes, weights stored [KH*KW][C]; 3x3 runs in assembly (on
//     AVX-512 one call per output row, border pixels included:
//     fast_dw512.go), other kernel sizes in assembly per row and per border
//     pixel (fast_dwk.go);
//   - up to four input channels (the 3-channel stem): the same GEMM
//     micro-kernels reading each output pixel's taps straight from the
//     input (fast_stem.go);
//   - everything else (grouped and dilated convs): the taps of a chunk of
//     output pixels are gathered into rows (im2col), then the same GEMM.
// They decline (nil, nil) what they do not cover (non-constant weights or
// bias, unusual ranks) and the reference kernel takes the node. Work is
// split over output rows or channel panels; each part writes disjoint
// outputs, so results do not depend on the thread count. Every output is
// computed with the reference kernel's arithmetic (float_conv.go), so the
// fast kernels agree with it bit for bit.

func init() {
	Register(ir.OpConv, FastFloat, prepareFastConv)
}

var (
	_ Kernel     = (*fastConvGemm)(nil)
	_ Kernel     = (*fastDepthwise)(nil)
	_ MACCounter = (*fastConvGemm)(nil)
	_ MACCounter = (*fastDepthwise)(nil)
)

// convGeom is a checked float convolution.
type convGeom struct {
	batch, inH, inW, inC         int
	outH, outW, outC             int
	kH, kW                       int
	strideY, strideX, dilY, dilX int
	padT, padL                   int
	groups, inPerG, outPerG      int
	lo, hi                       float32
	w                            []float32 // OHWI
	bias                         []float32 // nil when absent
}

// wellFormed runs the reference kernels' structural checks (checked in
// generic_util.go: input and output counts, attribute type, dimensions,
// constant sizes). A fast kernel declines a malformed node, so that the
// reference kernel reports the error.
func wellFormed(n *ir.Node) bool {
	_, err := checked(func(*ir.Node) (Kernel, error) { return nil, nil })(n)
	return err == nil
}

// fastConvGeom checks what every fast conv needs; ok is false when the node
// is not for the fast kernels (the reference kernel reports real errors).
func fastConvGeom(n *ir.Node) (g convGeom, ok bool) {
	if n.Op != ir.OpConv || !wellFormed(n) || checkFloat(n) != nil {
		return g, false
	}
	a, isConv := n.Attrs.(*ir.ConvAttrs)
	x, w, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if !isConv || x == nil || w == nil || y == nil || x.Rank() != 4 || w.Rank() != 4 || y.Rank() != 4 || !w.IsConst() || len(w.Data.F32) != w.Len() {
		return g, false
	}
	win, err := n.Window()
	if err != nil || !win.Fits(y) {
		return g, false
	}
	g = convGeom{
		batch: x.Shape[0], inH: win.InH, inW: win.InW, inC: x.Shape[3],
		outH: win.OutH, outW: win.OutW, outC: y.Shape[3],
		kH: win.KH, kW: win.KW,
		strideY: win.StrideY, strideX: win.StrideX, dilY: win.DilY, dilX: win.DilX,
		padT: win.PadTop, padL: win.PadLeft, groups: a.Group, w: w.Data.F32,
	}
	if g.groups < 1 || g.inC%g.groups != 0 || g.outC%g.groups != 0 || w.Shape[0] != g.outC || w.Shape[3]*g.groups != g.inC {
		return g, false
	}
	if y.Shape[0] != g.batch {
		return g, false
	}
	if b := n.In(2); b != nil {
		if !b.IsConst() || b.Len() != g.outC || len(b.Data.F32) != g.outC {
			return g, false
		}
		g.bias = b.Data.F32
	}
	if ir.NumElements(x.Shape) == 0 || ir.NumElements(y.Shape) == 0 || w.Len() == 0 {
		return g, false
	}
	g.inPerG, g.outPerG = g.inC/g.groups, g.outC/g.groups
	g.lo, g.hi = a.Act.Bounds()
	return g, true
}

func prepareFastConv(n *ir.Node) (Kernel, error) {
	g, ok := fastConvGeom(n)
	if !ok {
		return nil, nil
	}
	if g.inPerG == 1 && g.outPerG == 1 {
		return newFastDepthwise(g), nil
	}
	if k := newFastStemConv(g); k != nil { // few input channels: fast_stem.go
		return k, nil
	}
	return newFastConvGemm(g), nil
}

// fastConvGemm is a convolution as GEMM: pointwise directly on the input,
// anything else through im2col.
type fastConvGemm struct {
	convGeom
	macCount
	pointwise bool
	kLen      int        // taps x input channels of one group: the GEMM's k
	b         []*packedB // one per group
	pool      *pool
	scratch   []*convScratch
	// im2col reads a zero-padded copy of the input, [batch][padH][padW][C]
	// (its border is never written), made once per Eval before the parts
	// start, so that gathering needs no bounds tests.
	padH, padW int
	img        []float32
	// Eval's operands, for runTask; res is an Add fused into the output
	// (evalAdd), else empty; act a HardSwish or HardSigmoid fused into it
	// (evalAct), else nil.
	x, y []float32
	res  residualAdd
	act  *fastHardAct
}

type convScratch struct {
	gemm *gemmScratch
	col  []float32 // im2col rows of one chunk
}

func newFastConvGemm(g convGeom) *fastConvGemm {
	k := &fastConvGemm{convGeom: g}
	k.pointwise = g.kH == 1 && g.kW == 1 && g.strideY == 1 && g.strideX == 1 && g.padT == 0 && g.padL == 0 &&
		g.groups == 1 && g.outH == g.inH && g.outW == g.inW
	k.kLen = g.kH * g.kW * g.inPerG
	if !k.pointwise {
		k.padH = max(g.padT+g.inH, (g.outH-1)*g.strideY+(g.kH-1)*g.dilY+1)
		k.padW = max(g.padL+g.inW, (g.outW-1)*g.strideX+(g.kW-1)*g.dilX+1)
		k.img = make([]float32, g.batch*k.padH*k.padW*g.inC)
	}
	for grp := range g.groups {
		// OHWI row o is the GEMM's column o: k index (fy*KW+fx)*inPerG+ci.
		base := grp * g.outPerG
		at := func(kk, j int) float32 { return g.w[(base+j)*k.kLen+kk] }
		var bias func(int) float32
		if g.bias != nil {
			bias = func(j int) float32 { return g.bias[base+j] }
		}
		k.b = append(k.b, packB(k.kLen, g.outPerG, at, bias))
	}
	k.setPool(nil)
	return k
}

func (k *fastConvGemm) setPool(p *pool) {
	k.pool = p
	k.scratch = make([]*convScratch, p.size())
	for i := range k.scratch {
		s := &convScratch{gemm: newGemmScratch(k.kLen)}
		if !k.pointwise {
			s.col = make([]float32, k.colRows()*k.kLen)
		}
		k.scratch[i] = s
	}
}

// colRows is the im2col chunk: as many output pixels as fit a GEMM chunk.
func (k *fastConvGemm) colRows() int { return chunkRows(k.kLen) }

func (k *fastConvGemm) Eval(in, out []*Tensor) error {
	k.x, k.y = in[0].F32, out[0].F32
	if !k.pointwise {
		rowLen := k.inW * k.inC
		for b := range k.batch {
			for iy := range k.inH {
				copy(k.img[((b*k.padH+k.padT+iy)*k.padW+k.padL)*k.inC:][:rowLen], k.x[(b*k.inH+iy)*rowLen:][:rowLen])
			}
		}
	}
	m := k.batch * k.outH * k.outW
	k.pool.run(k, partsFor(k.pool, int64(m)*int64(k.kLen)*int64(k.outC)))
	k.x, k.y = nil, nil
	return nil
}

func (k *fastConvGemm) runTask(part, parts int) {
	m := k.batch * k.outH * k.outW
	s := k.scratch[part]
	if k.pointwise {
		b := k.b[0]
		r0, r1, p0, p1 := gemmSplit(m, len(b.panels), part, parts)
		if r0 < r1 && p0 < p1 {
			step := r1 - r0
			if k.res.r != nil || k.act != nil {
				step = k.colRows() // the fused node takes each chunk while it is in cache
			}
			for c0 := r0; c0 < r1; c0 += step {
				rows := min(step, r1-c0)
				b.run(k.x[c0*k.inC:], k.inC, rows, k.y[c0*k.outC:], k.outC, p0, p1, k.lo, k.hi, s.gemm)
				last := b.panels[p1-1]
				if k.res.r != nil {
					k.res.apply(k.y, c0, rows, b.panels[p0].col, last.col+last.valid, k.outC)
				}
				if k.act != nil {
					k.act.apply(k.y, c0, rows, b.panels[p0].col, last.col+last.valid, k.outC)
				}
			}
			k.addMACs(r1-r0, int64(k.kLen)*int64(b.columns(p0, p1)))
		}
		return
	}
	// im2col: rows are split (the gathering is per row, so splitting panels
	// would repeat it).
	r0, r1 := split(m, part, parts, gemmMR)
	chunk := k.colRows()
	for c0 := r0; c0 < r1; c0 += chunk {
		rows := min(chunk, r1-c0)
		for grp := range k.groups {
			k.im2col(s.col, c0, rows, grp)
			b := k.b[grp]
			b.run(s.col, k.kLen, rows, k.y[c0*k.outC+grp*k.outPerG:], k.outC, 0, len(b.panels), k.lo, k.hi, s.gemm)
		}
		if k.res.r != nil {
			k.res.apply(k.y, c0, rows, 0, k.outC, k.outC)
		}
		if k.act != nil {
			k.act.apply(k.y, c0, rows, 0, k.outC, k.outC)
		}
	}
	k.addMACs(r1-r0, int64(k.kLen)*int64(k.outC))
}

// evalAdd is Eval writing y = Add(conv, res.r) (interp.go's residual
// fusion): the conv's own output is never written.
func (k *fastConvGemm) evalAdd(in []*Tensor, y *Tensor, res residualAdd) error {
	k.res = res
	err := k.Eval(in, []*Tensor{y})
	k.res = residualAdd{}
	return err
}

// evalAct is Eval writing y = act(conv) (interp.go's activation fusion):
// the conv's own output is never written.
func (k *fastConvGemm) evalAct(in []*Tensor, y *Tensor, act *fastHardAct) error {
	k.act = act
	err := k.Eval(in, []*Tensor{y})
	k.act = nil
	return err
}

// im2col writes the taps of output pixels [r0, r0+rows) for group grp, one
// row of kLen per pixel, from the padded image (padding taps read its zero
// border). With one group and no horizontal dilation a kernel row's taps
// are one contiguous run.
func (k *fastConvGemm) im2col(col []float32, r0, rows, grp int) {
	ci0 := grp * k.inPerG
	runLen := k.kW * k.inPerG
	contiguous := k.groups == 1 && k.dilX == 1
	rowStride := k.dilY * k.padW * k.inC
	ox, oy, b := r0%k.outW, (r0/k.outW)%k.outH, r0/(k.outW*k.outH)
	for i := range rows {
		dst := col[i*k.kLen : (i+1)*k.kLen]
		base := ((b*k.padH+oy*k.strideY)*k.padW+ox*k.strideX)*k.inC + ci0
		for fy := range k.kH {
			d := dst[fy*runLen : (fy+1)*runLen]
			src := k.img[base+fy*rowStride:]
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
			for fx := range k.kW {
				copy(d[fx*k.inPerG:(fx+1)*k.inPerG], src[fx*k.dilX*k.inC:])
			}
		}
		if ox++; ox == k.outW {
			ox = 0
			if oy++; oy == k.outH {
				oy = 0
				b++
			}
		}
	}
}

// fastDepthwise is a depthwise convolution with multiplier 1.
type fastDepthwise struct {
	convGeom
	macCount
	wT   []float32 // [KH*KW][C]
	bias []float32 // C, zeros when absent
	// Pixels ox in [xLo, xHi) have every tap inside the row (3x3 runs in
	// assembly: on AVX-512 any C, whole rows with their borders; on AVX2
	// and NEON C a multiple of 8; other shapes in dwPixel).
	xLo, xHi int
	simd     bool
	zeros    []float32  // a zero input row for taps above or below the image
	wb       []float32  // 3x3 weights and bias by blocks of 8 channels: [C/8][10][8]
	wz       []float32  // the same by blocks of 16 for dw3x3Pix2z (fast_dw512.go), or nil
	row      *dwRowPlan // 3x3 on AVX-512, one dw3x3RowZ call a row (fast_dw512.go), or nil
	dwk      *dwkPlan   // other shapes in assembly (fast_dwk.go), or nil
	pool     *pool
	acc      [][]float32 // per-thread accumulators for dwPixel
	x, y     []float32
}

func newFastDepthwise(g convGeom) *fastDepthwise {
	c := g.outC
	k := &fastDepthwise{convGeom: g, wT: make([]float32, g.kH*g.kW*c), bias: make([]float32, c)}
	for ch := range c {
		for t := range g.kH * g.kW {
			k.wT[t*c+ch] = g.w[ch*g.kH*g.kW+t]
		}
	}
	if g.bias != nil {
		copy(k.bias, g.bias)
	}
	// ox*stride - padL >= 0 and ox*stride - padL + (kW-1)*dil <= inW-1.
	k.xLo = min((g.padL+g.strideX-1)/g.strideX, g.outW)
	last := g.inW - 1 - (g.kW-1)*g.dilX + g.padL
	if last >= 0 {
		k.xHi = min(last/g.strideX+1, g.outW)
	}
	k.xHi = max(k.xHi, k.xLo)
	k.simd = g.kH == 3 && g.kW == 3 && c%8 == 0
	k.row = newDWRowPlan(k)
	if k.simd || k.row != nil {
		k.zeros = make([]float32, max(g.inW, 1)*c)
	}
	if k.simd && k.row == nil {
		k.wb = make([]float32, c/8*80)
		for blk := range c / 8 {
			for t := range 9 {
				copy(k.wb[blk*80+t*8:blk*80+t*8+8], k.wT[t*c+blk*8:])
			}
			copy(k.wb[blk*80+72:blk*80+80], k.bias[blk*8:])
		}
		if useSIMD && family >= familyAVX512 && c%16 == 0 {
			k.wz = packDW3x3Z(k.wT, k.bias, c)
		}
	}
	if !k.simd && k.row == nil {
		k.dwk = newDWKPlan(k.wT, k.bias, g.kH*g.kW, c)
	}
	k.setPool(nil)
	return k
}

func (k *fastDepthwise) setPool(p *pool) {
	k.pool = p
	k.acc = make([][]float32, p.size())
	for i := range k.acc {
		k.acc[i] = make([]float32, k.outC)
	}
}

func (k *fastDepthwise) Eval(in, out []*Tensor) error {
	k.x, k.y = in[0].F32, out[0].F32
	macs := int64(k.batch*k.outH*k.outW) * int64(k.kH*k.kW*k.outC)
	// Depthwise work per pixel is small and memory-bound: ask for more per
	// part than the GEMMs do.
	k.pool.run(k, partsFor(k.pool, macs/4))
	k.x, k.y = nil, nil
	return nil
}

func (k *fastDepthwise) runTask(part, parts int) {
	r0, r1 := split(k.batch*k.outH, part, parts, 1)
	acc := k.acc[part]
	c := k.outC
	for r := r0; r < r1; r++ {
		b, oy := r/k.outH, r%k.outH
		yRow := k.y[r*k.outW*c : (r+1)*k.outW*c]
		if k.row != nil && useSIMD {
			k.rowZ(b, oy, yRow)
			continue
		}
		if k.dwk != nil {
			k.dwkOutRow(b, oy, yRow)
			continue
		}
		if !k.simd || !useSIMD {
			for ox := range k.outW {
				k.dwPixel(acc, b, oy, ox, yRow[ox*c:(ox+1)*c])
			}
			continue
		}
		// Interior pixels in pairs from three row pointers (a row above or
		// below the image reads zeros); border pixels and an odd one out
		// from nine tap pointers.
		xLo, xHi := k.xLo, k.xLo+(k.xHi-k.xLo)/2*2
		if xHi > xLo {
			var rows [3]*float32
			ix := xLo*k.strideX - k.padL
			for fy := range 3 {
				iy := oy*k.strideY - k.padT + fy*k.dilY
				if iy < 0 || iy >= k.inH {
					rows[fy] = &k.zeros[ix*c]
				} else {
					rows[fy] = &k.x[((b*k.inH+iy)*k.inW+ix)*c]
				}
			}
			_ = yRow[xHi*c-1]
			if k.wz != nil {
				dw3x3Pix2z((*float32)(unsafe.Pointer(&yRow[xLo*c])), rows[0], rows[1], rows[2], &k.wz[0],
					(xHi-xLo)/2, c/16, k.strideX*c, k.dilX*c, k.lo, k.hi)
			} else {
				dw3x3Pix2((*float32)(unsafe.Pointer(&yRow[xLo*c])), rows[0], rows[1], rows[2], &k.wb[0],
					(xHi-xLo)/2, c/8, k.strideX*c, k.dilX*c, k.lo, k.hi)
			}
		}
		for ox := range k.outW {
			if ox >= xLo && ox < xHi {
				continue
			}
			var taps [9]*float32
			for fy := range 3 {
				iy := oy*k.strideY - k.padT + fy*k.dilY
				for fx := range 3 {
					ix := ox*k.strideX - k.padL + fx*k.dilX
					if iy < 0 || iy >= k.inH || ix < 0 || ix >= k.inW {
						taps[fy*3+fx] = &k.zeros[0]
					} else {
						taps[fy*3+fx] = &k.x[((b*k.inH+iy)*k.inW+ix)*c]
					}
				}
			}
			if k.wz != nil {
				dw3x3TapsZ(&yRow[ox*c], &taps, &k.wz[0], c/16, k.lo, k.hi)
			} else {
				dw3x3Taps(&yRow[ox*c], &taps, &k.wb[0], c/8, k.lo, k.hi)
			}
		}
	}
	k.addMACs((r1-r0)*k.outW, int64(k.kH*k.kW*c))
}

// dwPixel computes one output pixel, skipping taps in the padding, with the
// reference kernel's arithmetic: from zero, rounded products in tap order,
// then the bias.
func (k *fastDepthwise) dwPixel(acc []float32, b, oy, ox int, dst []float32) {
	c := k.outC
	clear(acc)
	iy0, ix0 := oy*k.strideY-k.padT, ox*k.strideX-k.padL
	for fy := range k.kH {
		iy := iy0 + fy*k.dilY
		if iy < 0 || iy >= k.inH {
			continue
		}
		for fx := range k.kW {
			ix := ix0 + fx*k.dilX
			if ix < 0 || ix >= k.inW {
				continue
			}
			xs := k.x[((b*k.inH+iy)*k.inW+ix)*c:][:c]
			ws := k.wT[(fy*k.kW+fx)*c:][:c]
			for ch, v := range xs {
				acc[ch] += float32(v * ws[ch])
			}
		}
	}
	for ch, v := range acc {
		dst[ch] = min(max(v+k.bias[ch], k.lo), k.hi)
	}
}
