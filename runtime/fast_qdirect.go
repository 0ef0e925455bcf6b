package runtime

import "unsafe"

// The avx512-vnni direct convolution for few input channels (MobileNet's
// stem: 3 channels, im2col rows of 27 bytes whose copying cost more than
// the dot products). The padded u8 image stores each pixel's channels
// padded to cPad, a multiple of four, so that a kernel row's taps are
// kW*cPad/4 whole dwords, contiguous in the image: qconv6x32v broadcasts
// them straight from there for six output pixels of an output row (lda =
// strideX*cPad bytes apart), kH segments one (dilated) input row apart.
// The same integer sums as the VNNI GEMM: the padding channels have zero
// weights, padding taps read z, and z * sum(W) is folded into the bias
// (packQPanels8). A row's last block starts at outW-6 and recomputes a
// few pixels of the block before it, storing the same values.

// qDirect is qVNNI's direct path (its field d; nil on the im2col path).
type qDirect struct {
	cPad       int       // channels per stored pixel
	k4         int       // dword groups per kernel row
	lda, rstep int       // bytes between output pixels and kernel rows
	panels     *qPanels8 // k = kH*kW*cPad
	rowC       [][]int32 // per thread: one output row of int32
	g          *convGeom
}

// useQDirect lets benchmarks time the im2col path on the same shapes.
var useQDirect = true

// newQDirect returns the direct path for k, or nil where it does not
// apply: one group, no horizontal dilation, fewer than 16 input channels,
// output rows of at least six pixels and channels a multiple of 16; and
// avx512-vnni (neon-dotprod has no qconv6x32v).
func newQDirect(k *fastQGemmConv, v *qVNNI, w, bias []int32, z int32) *qDirect {
	g := &k.g
	if !useQDirect || family < familyAVX512VNNI || k.pointwise || g.groups != 1 || g.dilX != 1 || g.inC >= 16 || g.outW < 6 || g.outC%16 != 0 {
		return nil
	}
	d := &qDirect{cPad: (g.inC + 3) / 4 * 4, g: g}
	d.k4 = g.kW * d.cPad / 4
	d.lda = g.strideX * d.cPad
	d.rstep = g.dilY * k.padW * d.cPad
	at := func(kk, j int) int32 {
		tap, ch := kk/d.cPad, kk%d.cPad
		if ch >= g.inC {
			return 0
		}
		return w[j*k.kLen+tap*g.inC+ch]
	}
	var bf func(int) int32
	if bias != nil {
		bf = func(j int) int32 { return bias[j] }
	}
	p, ok := packQPanels8(g.kH*g.kW*d.cPad, g.outC, at, bf, z)
	if !ok {
		return nil
	}
	d.panels = p
	v.img = make([]byte, g.batch*k.padH*k.padW*d.cPad)
	for i := range v.img {
		v.img[i] = v.z
	}
	return d
}

func (d *qDirect) setPool(threads int) {
	d.rowC = make([][]int32, threads)
	for i := range d.rowC {
		d.rowC[i] = make([]int32, d.g.outW*d.g.outC)
	}
}

// fillImage copies the input into the padded image, each pixel's inC
// bytes (as u8) into cPad; the padding channels and border keep z.
func (d *qDirect) fillImage(k *fastQGemmConv, v *qVNNI, x []byte) {
	g := &k.g
	var flip byte
	if v.flip {
		flip = 0x80
	}
	for b := range g.batch {
		for iy := range g.inH {
			src := x[(b*g.inH+iy)*g.inW*g.inC:][:g.inW*g.inC]
			dst := v.img[((b*k.padH+g.padT+iy)*k.padW+g.padL)*d.cPad:][:g.inW*d.cPad]
			if g.inC == 3 {
				// Four pixels at a time (reading 16 bytes of 12, kept
				// inside the row), the three channels and z.
				ix := 0
				if groups := (3*g.inW - 4) / 12; groups > 0 {
					qpad3to4(&dst[0], &src[0], groups, uint32(flip)*0x010101, uint32(v.z)<<24)
					ix = 4 * groups
				}
				for ; ix < g.inW; ix++ {
					dst[4*ix], dst[4*ix+1], dst[4*ix+2] = src[3*ix]^flip, src[3*ix+1]^flip, src[3*ix+2]^flip
				}
				continue
			}
			for ix := range g.inW {
				for c := range g.inC {
					dst[ix*d.cPad+c] = src[ix*g.inC+c] ^ flip
				}
			}
		}
	}
}

// runTask computes output rows [r0, r1) of part (rows of batch*outH).
func (d *qDirect) runTask(k *fastQGemmConv, v *qVNNI, part, parts int) {
	g := &k.g
	r0, r1 := split(g.batch*g.outH, part, parts, 1)
	c := d.rowC[part]
	p := d.panels
	panels := g.outC / 16
	for r := r0; r < r1; r++ {
		b, oy := r/g.outH, r%g.outH
		base := (b*k.padH + oy*g.strideY) * k.padW * d.cPad
		for ox := 0; ox < g.outW; ox += gemmMR {
			ox = min(ox, g.outW-gemmMR) // the last block overlaps the one before
			a := &v.img[base+ox*d.lda]
			for pi := 0; pi < panels; pi++ {
				col := pi * 16
				bp, bias := &p.data[pi*p.k4*64], &p.bias[col]
				if pi+1 < panels {
					qconv6x32v(g.kH, d.k4, a, d.lda, d.rstep, bp, p.k4*64, &c[ox*g.outC+col], g.outC, bias)
					pi++
					continue
				}
				qconv6x16v(g.kH, d.k4, a, d.lda, d.rstep, bp, &c[ox*g.outC+col], g.outC, bias)
			}
		}
		k.req.rows(unsafe.Add(k.y, r*g.outW*g.outC), c, g.outW)
	}
	k.addMACs((r1-r0)*g.outW, int64(k.kLen)*int64(k.outC))
}
