package runtime

import "unsafe"

// The 8-bit dot-product int8 GEMM behind fastQGemmConv (pointwise, im2col
// and fully connected): avx512-vnni's VPDPBUSD (u8 x s8) on amd64,
// neon-dotprod's SDOT (s8 x s8) on arm64, with the same functions and data
// layouts. Bit-identical to the reference's int32 accumulators:
//
//	bias + sum((x - xzp) * W)  =  (bias - z * sum(W)) + sum(u * W)
//
// where W = w - wzp must fit int8 (the signed operand), u = x + off is the
// activation as the byte the instruction reads and z = xzp + off. VNNI
// reads u8: off = 128 for int8 inputs (an XOR with 0x80), 0 for uint8,
// read in place. SDOT reads s8: off = -128 for uint8 inputs (the same XOR),
// 0 for int8, read in place. Both sides are
// int32 sums with wrap-around, equal as integers mod 2^32, so the folded
// bias is exact. Padding taps of im2col read z (u - z = 0) and the k
// columns padded to a multiple of four have zero weights. The accumulators
// then take the same requantization as the int16 path.

// qPanels8 is a constant B packed for qdot6x32v: panels of 16 columns, per
// group of four k the 16 columns' four bytes ([panel][k4][16][4]).
type qPanels8 struct {
	k4, n int
	data  []int8
	bias  []int32 // 16 per panel, z * sum(W) folded in
}

// packQPanels8 packs B given by at(kk, j); ok is false when a weight does
// not fit int8.
func packQPanels8(k, n int, at func(kk, j int) int32, bias func(j int) int32, z int32) (p *qPanels8, ok bool) {
	p = &qPanels8{k4: (k + 3) / 4, n: n}
	panels := (n + 15) / 16
	p.data = make([]int8, panels*p.k4*64)
	p.bias = make([]int32, panels*16)
	for j := range n {
		pi, l := j/16, j%16
		sum := int32(0)
		for kk := range k {
			v := at(kk, j)
			if v < -128 || v > 127 {
				return nil, false
			}
			sum += v
			p.data[(pi*p.k4+kk/4)*64+l*4+kk%4] = int8(v)
		}
		if bias != nil {
			p.bias[j] = bias(j)
		}
		p.bias[j] -= z * sum
	}
	return p, true
}

// run computes c[rows][ldc] (columns [0, n) at c's start) = bias + a * B,
// a's rows lda bytes apart, each at least 4*k4 long.
func (p *qPanels8) run(a []byte, lda, rows int, c []int32, ldc int, tile *[gemmMR * 16]int32) {
	panels := (p.n + 15) / 16
	kb := p.k4 * 4
	for r := 0; r < rows; r += gemmMR {
		m := min(gemmMR, rows-r)
		if m < gemmMR {
			for i := range m {
				x := a[(r+i)*lda : (r+i)*lda+kb]
				for pi := range panels {
					col := pi * 16
					valid := min(16, p.n-col)
					b, bias := &p.data[pi*p.k4*64], &p.bias[pi*16]
					if valid == 16 {
						dst := c[(r+i)*ldc+col : (r+i)*ldc+col+16]
						qdot1x16v(p.k4, &x[0], b, &dst[0], bias)
						continue
					}
					qdot1x16v(p.k4, &x[0], b, &tile[0], bias)
					copy(c[(r+i)*ldc+col:(r+i)*ldc+col+valid], tile[:valid])
				}
			}
			continue
		}
		ap := a[r*lda:]
		_ = ap[(gemmMR-1)*lda+kb-1]
		for pi := 0; pi < panels; pi++ {
			col := pi * 16
			valid := min(16, p.n-col)
			b, bias := &p.data[pi*p.k4*64], &p.bias[pi*16]
			if valid == 16 && p.n-col >= 32 {
				_ = c[(r+gemmMR-1)*ldc+col+31]
				qdot6x32v(p.k4, &ap[0], lda, b, p.k4*64, &c[r*ldc+col], ldc, bias)
				pi++
				continue
			}
			if valid == 16 {
				_ = c[(r+gemmMR-1)*ldc+col+15]
				qdot6x16v(p.k4, &ap[0], lda, b, &c[r*ldc+col], ldc, bias)
				continue
			}
			qdot6x16v(p.k4, &ap[0], lda, b, &tile[0], 16, bias)
			for i := range gemmMR {
				copy(c[(r+i)*ldc+col:(r+i)*ldc+col+valid], tile[i*16:i*16+valid])
			}
		}
	}
}

// qVNNI is fastQGemmConv's VNNI path (its field v; nil on the int16 path).
type qVNNI struct {
	panels  []*qPanels8 // one per group
	z       byte        // the input zero point as u8
	flip    bool        // u = x ^ 0x80 (int8 input on VNNI, uint8 on SDOT)
	kPad    int         // k rounded up to a multiple of four
	inPlace bool        // pointwise, no flip, k a multiple of four: A is the input
	img     []byte      // im2col's padded u8 image, border z
	a       [][]byte    // per thread: chunk rows of kPad
	d       *qDirect    // the direct convolution (fast_qdirect.go), or nil
}

// newQVNNI builds the dot-product path for k from its weights minus zero
// points (w[(o*kLen + kk)], o the output channel) and bias, or returns nil
// when the family is neither avx512-vnni nor neon-dotprod or a weight does
// not fit int8.
func newQVNNI(k *fastQGemmConv, w, bias []int32) *qVNNI {
	if !useSIMD || (family < familyAVX512VNNI && family != familyDotProd) {
		return nil
	}
	g := &k.g
	z := k.inZP
	var v *qVNNI
	if family == familyDotProd {
		v = &qVNNI{flip: k.signed == 0} // s8 operands: uint8 inputs flip
		if v.flip {
			z -= 128
		}
	} else {
		v = &qVNNI{flip: k.signed != 0} // u8 operands: int8 inputs flip
		if v.flip {
			z += 128
		}
	}
	v.kPad = (k.kLen + 3) / 4 * 4
	v.z = byte(z)
	if v.d = newQDirect(k, v, w, bias, z); v.d != nil {
		k.img = nil // neither image of the im2col paths is used
		v.setPool(k)
		return v
	}
	for grp := range g.groups {
		base := grp * g.outPerG
		at := func(kk, j int) int32 { return w[(base+j)*k.kLen+kk] }
		var bf func(int) int32
		if bias != nil {
			bf = func(j int) int32 { return bias[base+j] }
		}
		p, ok := packQPanels8(k.kLen, g.outPerG, at, bf, z)
		if !ok {
			return nil
		}
		v.panels = append(v.panels, p)
	}
	v.inPlace = k.pointwise && !v.flip && k.kLen == v.kPad
	if !k.pointwise {
		v.img = make([]byte, len(k.img))
		for i := range v.img {
			v.img[i] = v.z
		}
		k.img = nil // the int16 image is not used
	}
	v.setPool(k)
	return v
}

func (v *qVNNI) setPool(k *fastQGemmConv) {
	v.a = make([][]byte, len(k.scratch))
	if v.d != nil {
		v.d.setPool(len(k.scratch))
		return
	}
	if v.inPlace {
		return
	}
	for i := range v.a {
		v.a[i] = make([]byte, k.chunk*v.kPad)
	}
}

// flipCopy writes src as the operand bytes into dst: XOR 0x80 when flip.
func (v *qVNNI) flipCopy(dst, src []byte) {
	dst = dst[:len(src)]
	if !v.flip {
		copy(dst, src)
		return
	}
	n64 := len(src) / 64 * 64
	if n64 > 0 {
		qflip(&dst[0], &src[0], n64)
	}
	for i := n64; i < len(src); i++ {
		dst[i] = src[i] ^ 0x80
	}
}

// fillImage copies the input into the padded image (the border keeps z).
func (v *qVNNI) fillImage(k *fastQGemmConv, x []byte) {
	if v.d != nil {
		v.d.fillImage(k, v, x)
		return
	}
	g := &k.g
	rowLen := g.inW * g.inC
	for b := range g.batch {
		for iy := range g.inH {
			v.flipCopy(v.img[((b*k.padH+g.padT+iy)*k.padW+g.padL)*g.inC:], x[(b*g.inH+iy)*rowLen:][:rowLen])
		}
	}
}

// runTask is fastQGemmConv.runTask on the VNNI path.
func (v *qVNNI) runTask(k *fastQGemmConv, part, parts int) {
	if v.d != nil {
		v.d.runTask(k, v, part, parts)
		return
	}
	r0, r1 := split(k.rows, part, parts, gemmMR)
	s := k.scratch[part]
	x := inBytes(k.x)
	g := &k.g
	for c0 := r0; c0 < r1; c0 += k.chunk {
		rows := min(k.chunk, r1-c0)
		for grp := range g.groups {
			a, lda := v.a[part], v.kPad
			switch {
			case v.inPlace:
				a, lda = x[c0*k.kLen:(c0+rows)*k.kLen], k.kLen
			case k.pointwise:
				v.rowsU8(a, x, k.kLen, c0, rows)
			default:
				v.im2col(k, a, c0, rows, grp)
			}
			v.panels[grp].run(a, lda, rows, s.c[grp*g.outPerG:], k.outC, &s.tileC)
		}
		k.req.rows(unsafe.Add(k.y, c0*k.outC), s.c, rows)
	}
	k.addMACs(r1-r0, int64(k.kLen)*int64(k.outC))
}

// rowsU8 writes input rows [r0, r0+rows) as u8, kPad per row (padding
// columns zero: their weights are zero).
func (v *qVNNI) rowsU8(a, x []byte, kLen, r0, rows int) {
	if kLen == v.kPad {
		v.flipCopy(a, x[r0*kLen:(r0+rows)*kLen])
		return
	}
	for i := range rows {
		dst := a[i*v.kPad : (i+1)*v.kPad]
		v.flipCopy(dst, x[(r0+i)*kLen:(r0+i+1)*kLen])
		clear(dst[kLen:])
	}
}

// im2col is fastQGemmConv.im2col on the u8 image.
func (v *qVNNI) im2col(k *fastQGemmConv, a []byte, r0, rows, grp int) {
	g := &k.g
	ci0 := grp * g.inPerG
	runLen := g.kW * g.inPerG
	contiguous := g.groups == 1 && g.dilX == 1
	ox, oy, b := r0%g.outW, (r0/g.outW)%g.outH, r0/(g.outW*g.outH)
	for i := range rows {
		dst := a[i*v.kPad : (i+1)*v.kPad]
		clear(dst[k.kLen:])
		base := ((b*k.padH+oy*g.strideY)*k.padW+ox*g.strideX)*g.inC + ci0
		for fy := range g.kH {
			d := dst[fy*runLen : (fy+1)*runLen]
			src := v.img[base+fy*g.dilY*k.padW*g.inC:]
			if contiguous {
				if runLen <= 16 {
					for j, b := range src[:runLen] {
						d[j] = b
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
