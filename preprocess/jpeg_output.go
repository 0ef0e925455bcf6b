package preprocess

// Reconstruction: dequantize + inverse DCT per block, chroma upsampling and
// colour conversion, each following libjpeg-turbo's default (JDCT_ISLOW,
// do_fancy_upsampling) integer arithmetic.

// Fixed-point constants of the islow IDCT: round(x * 2^13).
const (
	idctConstBits = 13
	idctPass1Bits = 2

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

func descale(x int32, n uint) int32 { return (x + 1<<(n-1)) >> n }

// Overflow behaviour. On valid data every intermediate fits in 16 bits and
// all libjpeg-turbo builds agree. On corrupt data (huge coefficients) the
// x86 SIMD IDCT that Pillow's wheels run differs from libjpeg's C code: it
// dequantizes with a 16-bit multiply, keeps the column pass in saturated
// 16-bit lanes and saturates the output (the C code wraps through its
// range-limit table). We follow the SIMD build, checked against djpeg.
func sat16(x int32) int32 { return min(max(x, -32768), 32767) }

func outSample(x int32) uint8 { return uint8(min(max(x, -128), 127) + 128) }

// idctBlock writes the 8x8 samples of one block to dst (row stride stride).
// It is the Loeffler-Ligtenberg-Moschytz factorization in 13-bit fixed
// point, columns first with 2 extra bits of precision, then rows. Operands
// are arrays so that the loops carry no bounds checks.
func idctBlock(coef *[64]int16, q *[64]uint16, dst []uint8, stride int) {
	var ws [64]int32
	for col := 0; col < 8; col++ {
		c := coef[col:]
		if c[8]|c[16]|c[24]|c[32]|c[40]|c[48]|c[56] == 0 {
			dc := dequant(c[0], q[col]) << idctPass1Bits
			ws[col], ws[8+col], ws[16+col], ws[24+col] = dc, dc, dc, dc
			ws[32+col], ws[40+col], ws[48+col], ws[56+col] = dc, dc, dc, dc
			continue
		}
		qc := q[col:]
		e0, e1, e2, e3 := idctEven(dequant(c[0], qc[0]), dequant(c[16], qc[16]), dequant(c[32], qc[32]), dequant(c[48], qc[48]))
		o0, o1, o2, o3 := idctOdd(dequant(c[56], qc[56]), dequant(c[40], qc[40]), dequant(c[24], qc[24]), dequant(c[8], qc[8]))
		const sh = idctConstBits - idctPass1Bits
		w := ws[col:]
		w[0*8] = sat16(descale(e0+o3, sh))
		w[7*8] = sat16(descale(e0-o3, sh))
		w[1*8] = sat16(descale(e1+o2, sh))
		w[6*8] = sat16(descale(e1-o2, sh))
		w[2*8] = sat16(descale(e2+o1, sh))
		w[5*8] = sat16(descale(e2-o1, sh))
		w[3*8] = sat16(descale(e3+o0, sh))
		w[4*8] = sat16(descale(e3-o0, sh))
	}
	for row := 0; row < 8; row++ {
		w := (*[8]int32)(ws[row*8:])
		out := (*[8]uint8)(dst[row*stride:])
		if w[1]|w[2]|w[3]|w[4]|w[5]|w[6]|w[7] == 0 {
			v := outSample(descale(w[0], idctPass1Bits+3))
			*out = [8]uint8{v, v, v, v, v, v, v, v}
			continue
		}
		e0, e1, e2, e3 := idctEven(w[0], w[2], w[4], w[6])
		o0, o1, o2, o3 := idctOdd(w[7], w[5], w[3], w[1])
		const sh = idctConstBits + idctPass1Bits + 3
		out[0] = outSample(descale(e0+o3, sh))
		out[7] = outSample(descale(e0-o3, sh))
		out[1] = outSample(descale(e1+o2, sh))
		out[6] = outSample(descale(e1-o2, sh))
		out[2] = outSample(descale(e2+o1, sh))
		out[5] = outSample(descale(e2-o1, sh))
		out[3] = outSample(descale(e3+o0, sh))
		out[4] = outSample(descale(e3-o0, sh))
	}
}

// dequant multiplies a coefficient by its quantizer in a 16-bit lane (see
// sat16).
func dequant(c int16, q uint16) int32 { return int32(int16(int32(c) * int32(q))) }

// idctEven returns tmp10, tmp11, tmp12, tmp13 from inputs 0, 2, 4, 6.
func idctEven(x0, x2, x4, x6 int32) (t10, t11, t12, t13 int32) {
	z1 := (x2 + x6) * fix0_541196100
	t2 := z1 + x6*(-fix1_847759065)
	t3 := z1 + x2*fix0_765366865
	t0 := (x0 + x4) << idctConstBits
	t1 := (x0 - x4) << idctConstBits
	return t0 + t3, t1 + t2, t1 - t2, t0 - t3
}

// idctOdd returns the odd-part terms tmp0..tmp3 from inputs 7, 5, 3, 1.
func idctOdd(x7, x5, x3, x1 int32) (t0, t1, t2, t3 int32) {
	z1 := x7 + x1
	z2 := x5 + x3
	z3 := x7 + x3
	z4 := x5 + x1
	z5 := (z3 + z4) * fix1_175875602
	t0 = x7 * fix0_298631336
	t1 = x5 * fix2_053119869
	t2 = x3 * fix3_072711026
	t3 = x1 * fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 = z3*(-fix1_961570560) + z5
	z4 = z4*(-fix0_390180644) + z5
	t0 += z1 + z3
	t1 += z2 + z4
	t2 += z2 + z3
	t3 += z1 + z4
	return
}

// plane is one component's samples after the IDCT.
type plane struct {
	pix    []uint8
	stride int
	w, h   int // valid samples (the component's downsampled size)
}

func (p *plane) at(x, y int) int32 { return int32(p.pix[y*p.stride+x]) }

// output reconstructs the image from the decoded coefficients.
func (d *jpegDecoder) output() (*Image, error) {
	planes := make([]*plane, len(d.comps))
	for i := range d.comps {
		c := &d.comps[i]
		p := &plane{stride: c.bw * 8, w: c.dw, h: c.dh}
		p.pix = make([]uint8, c.bw*8*c.bh*8)
		q := &d.quant[c.tq]
		for by := 0; by < c.bh; by++ {
			for bx := 0; bx < c.bw; bx++ {
				idctBlock((*[64]int16)(c.coef[(by*c.bw+bx)*64:]), q, p.pix[by*8*p.stride+bx*8:], p.stride)
			}
		}
		c.coef = nil
		planes[i] = p
	}
	img := &Image{W: d.width, H: d.height, Pix: make([]uint8, d.width*d.height*3)}
	if len(d.comps) == 1 {
		p := planes[0]
		for y := 0; y < d.height; y++ {
			row := p.pix[y*p.stride:]
			out := img.Pix[y*d.width*3:]
			for x := 0; x < d.width; x++ {
				v := row[x]
				out[3*x], out[3*x+1], out[3*x+2] = v, v, v
			}
		}
		return img, nil
	}
	// Upsample and convert row by row: no full-size chroma planes.
	rgb := d.isRGB()
	var rows [3][]uint8
	var lines [3][]uint8
	for i := range lines {
		lines[i] = make([]uint8, max(d.width, 2*planes[i].w))
	}
	w := d.width
	for y := 0; y < d.height; y++ {
		for i := range rows {
			rows[i] = upsampleRow(planes[i], d.hmax/d.comps[i].h, d.vmax/d.comps[i].v, y, w, lines[i])
		}
		out := img.Pix[y*w*3 : (y+1)*w*3]
		if rgb {
			r, g, b := rows[0], rows[1], rows[2]
			for x := range w {
				out[3*x], out[3*x+1], out[3*x+2] = r[x], g[x], b[x]
			}
			continue
		}
		yccToRGB(rows[0], rows[1], rows[2], out)
	}
	return img, nil
}

// isRGB applies libjpeg's colour-space guess for 3-component files: JFIF
// means YCbCr; an Adobe marker with transform 0 means RGB; otherwise
// component ids 'R','G','B' mean RGB.
func (d *jpegDecoder) isRGB() bool {
	if d.sawJFIF {
		return false
	}
	if d.sawAdobe {
		return d.adobeXform == 0
	}
	return d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B'
}

// upsampleRow returns output row y (w samples) of a component expanded by
// integer factors fh x fv, using line (at least max(w, 2*p.w) long) as
// room when it cannot return the plane's own row. 2x1, 2x2 and 1x2 use
// libjpeg-turbo's "fancy" triangle filters (3/4 of the nearer sample plus
// 1/4 of the further one, with alternating rounding biases so that errors
// do not accumulate in one direction); other ratios replicate samples.
func upsampleRow(p *plane, fh, fv, y, w int, line []uint8) []uint8 {
	switch {
	case fh == 1 && fv == 1:
		return p.pix[y*p.stride:][:w]
	case fh == 2 && fv == 1 && p.w > 2:
		fancyRow(p, y, line)
	case fh == 2 && fv == 2 && p.w > 2:
		fancyRow2(p, y, line)
	case fh == 1 && fv == 2:
		r := y / 2
		nr, bias := r-1, int32(1)
		if y%2 == 1 {
			nr, bias = r+1, 2
		}
		nr = min(max(nr, 0), p.h-1)
		a, b := p.pix[r*p.stride:][:w], p.pix[nr*p.stride:][:w]
		for x := range line[:w] {
			line[x] = uint8((3*int32(a[x]) + int32(b[x]) + bias) >> 2)
		}
	default:
		src := p.pix[(y/fv)*p.stride:]
		for x := range line[:w] {
			line[x] = src[x/fh]
		}
	}
	return line[:w]
}

// fancyRow is h2v1 fancy upsampling of input row y into line.
func fancyRow(p *plane, y int, line []uint8) {
	in := p.pix[y*p.stride:]
	n := p.w
	line[0] = in[0]
	line[1] = uint8((3*int32(in[0]) + int32(in[1]) + 2) >> 2)
	for x := 1; x < n-1; x++ {
		v := 3 * int32(in[x])
		line[2*x] = uint8((v + int32(in[x-1]) + 1) >> 2)
		line[2*x+1] = uint8((v + int32(in[x+1]) + 2) >> 2)
	}
	line[2*n-2] = uint8((3*int32(in[n-1]) + int32(in[n-2]) + 1) >> 2)
	line[2*n-1] = in[n-1]
}

// fancyRow2 is h2v2 fancy upsampling for output row oy: the input row
// nearest to it weighted 3/4 against its other vertical neighbour (the edge
// rows repeat beyond the component), then the same 3:1 filter horizontally.
func fancyRow2(p *plane, oy int, line []uint8) {
	r := oy / 2
	nr := r - 1
	if oy%2 == 1 {
		nr = r + 1
	}
	nr = min(max(nr, 0), p.h-1)
	a := p.pix[r*p.stride:]
	b := p.pix[nr*p.stride:]
	n := p.w
	col := func(x int) int32 { return 3*int32(a[x]) + int32(b[x]) }
	this, next := col(0), col(1)
	line[0] = uint8((this*4 + 8) >> 4)
	line[1] = uint8((this*3 + next + 7) >> 4)
	last := this
	this = next
	for x := 1; x < n-1; x++ {
		next = col(x + 1)
		line[2*x] = uint8((this*3 + last + 8) >> 4)
		line[2*x+1] = uint8((this*3 + next + 7) >> 4)
		last, this = this, next
	}
	line[2*n-2] = uint8((this*3 + last + 8) >> 4)
	line[2*n-1] = uint8((this*4 + 7) >> 4)
}

// YCbCr -> RGB tables in 16-bit fixed point, rounded as libjpeg builds them.
var crR, cbB, crG, cbG [256]int32

func init() {
	const scale = 1 << 16
	fix := func(x float64) int32 { return int32(x*scale + 0.5) }
	for i := 0; i < 256; i++ {
		x := int32(i - 128)
		crR[i] = (fix(1.40200)*x + scale/2) >> 16
		cbB[i] = (fix(1.77200)*x + scale/2) >> 16
		crG[i] = -fix(0.71414) * x
		cbG[i] = -fix(0.34414)*x + scale/2
	}
}

func clamp8(v int32) uint8 { return uint8(min(max(v, 0), 255)) }

func yccToRGB(y, cb, cr, dst []uint8) {
	n := len(y)
	cb, cr, dst = cb[:n], cr[:n], dst[:3*n]
	for i, yv := range y {
		yy := int32(yv)
		b, r := cb[i], cr[i]
		o := dst[3*i : 3*i+3 : 3*i+3]
		o[0] = clamp8(yy + crR[r])
		o[1] = clamp8(yy + (cbG[b]+crG[r])>>16)
		o[2] = clamp8(yy + cbB[b])
	}
}
