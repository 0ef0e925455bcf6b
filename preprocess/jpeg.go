package preprocess

import (
	"errors"
	"fmt"
)

// This file is a JPEG decoder whose output matches libjpeg-turbo's default
// decompression (the decoder behind Pillow, which made every reference input
// in shared/): integer "slow" IDCT, "fancy" triangle-filter chroma
// upsampling, and fixed-point YCbCr -> RGB tables. Go's image/jpeg uses
// another IDCT and nearest-neighbour chroma, which moves pixels by a few
// levels; for bit-exact reference inputs the decoder itself must agree.
//
// Supported: baseline and extended sequential Huffman (SOF0, SOF1) and
// progressive Huffman (SOF2), 8-bit samples, 1 or 3 components with integral
// sampling factors. Anything else returns errUnsupported so that the caller
// can fall back to image/jpeg.

var errUnsupported = errors.New("unsupported jpeg variant")

// zigzag maps the position in the coded sequence to the natural (row-major)
// position; the 16 extra entries absorb run lengths that overshoot on
// corrupt data, as libjpeg's table does.
var zigzag = [80]uint8{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
	63, 63, 63, 63, 63, 63, 63, 63,
	63, 63, 63, 63, 63, 63, 63, 63,
}

type huffTable struct {
	// lookup resolves codes of up to lookBits bits: symbol<<8 | length, or
	// 0 when the code is longer.
	lookup  [1 << lookBits]uint16
	maxcode [18]int32 // largest code of each length, -1 if none
	valptr  [17]int32 // index into vals of the first code of each length
	mincode [17]int32
	vals    []uint8
}

const lookBits = 9

type jpegComp struct {
	id     uint8
	h, v   int
	tq     int
	bw, bh int     // blocks per row / column, padded to whole MCUs
	coef   []int16 // bw*bh blocks of 64 coefficients in natural order
	dcPred int32
	td, ta int
	// dw, dh: the component's own sample size, ceil(W*h/hmax) x ceil(H*v/vmax).
	dw, dh int
}

type jpegDecoder struct {
	data          []byte
	pos           int
	width, height int
	comps         []jpegComp
	hmax, vmax    int
	mcusX, mcusY  int
	quant         [4][64]uint16 // natural order
	dc, ac        [4]*huffTable
	restart       int
	progressive   bool
	sawSOF        bool
	sawJFIF       bool
	sawAdobe      bool
	adobeXform    uint8
	eobrun        int32

	// bit reader
	acc      uint64
	nbits    uint
	hitMark  bool // a marker or the end of the file stopped the entropy data; further bits read as zeros
	fakeBits uint // zero bits appended after hitMark (the last fakeBits bits of acc)
	eof      bool // the entropy data ran into the end of the file
	// insufficient: an MCU consumed bits past a marker; as libjpeg does,
	// the MCUs after it in the segment (to the next restart) are not
	// decoded and keep zero coefficients (uniform grey in a baseline image).
	insufficient bool
	scans        int // scans decoded
	maxPixel     int
}

func jpegErr(format string, args ...any) error {
	return fmt.Errorf("jpeg: "+format, args...)
}

// decodeJPEG decodes data into an RGB image, or returns errUnsupported.
func decodeJPEG(data []byte, maxPixels int) (*Image, error) {
	d := &jpegDecoder{data: data, maxPixel: maxPixels}
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, jpegErr("missing SOI marker")
	}
	d.pos = 2
	for {
		m, err := d.nextMarker()
		if err != nil {
			return nil, err
		}
		switch {
		case m == 0xD9: // EOI
			if !d.sawSOF {
				return nil, jpegErr("no image before EOI")
			}
			return d.output()
		case m == 0xC0 || m == 0xC1 || m == 0xC2:
			if err := d.readSOF(m); err != nil {
				return nil, err
			}
		case m == 0xC3 || (m >= 0xC5 && m <= 0xC7) || (m >= 0xC9 && m <= 0xCB) || (m >= 0xCD && m <= 0xCF):
			return nil, errUnsupported // lossless, hierarchical, arithmetic
		case m == 0xC4:
			if err := d.readDHT(); err != nil {
				return nil, err
			}
		case m == 0xDB:
			if err := d.readDQT(); err != nil {
				return nil, err
			}
		case m == 0xDD:
			seg, err := d.segment()
			if err != nil {
				return nil, err
			}
			if len(seg) < 2 {
				return nil, jpegErr("short DRI segment")
			}
			d.restart = int(seg[0])<<8 | int(seg[1])
		case m == 0xDA:
			if err := d.readScan(); err != nil {
				return nil, err
			}
		case m == 0xE0:
			seg, err := d.segment()
			if err != nil {
				return nil, err
			}
			if len(seg) >= 5 && string(seg[:5]) == "JFIF\x00" {
				d.sawJFIF = true
			}
		case m == 0xEE:
			seg, err := d.segment()
			if err != nil {
				return nil, err
			}
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.sawAdobe = true
				d.adobeXform = seg[11]
			}
		case m >= 0xD0 && m <= 0xD7:
			// a stray restart marker between segments carries no data
		default:
			if _, err := d.segment(); err != nil {
				return nil, err
			}
		}
	}
}

// nextMarker skips to the next marker and returns its code. Garbage bytes
// before a marker are tolerated, as libjpeg does with a warning.
func (d *jpegDecoder) nextMarker() (byte, error) {
	for {
		for d.pos < len(d.data) && d.data[d.pos] != 0xFF {
			d.pos++
		}
		for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
			d.pos++
		}
		if d.pos >= len(d.data) {
			if d.scans > 0 {
				// A missing EOI after complete scans is tolerated, as
				// libjpeg does with a warning.
				return 0xD9, nil
			}
			return 0, jpegErr("truncated file: no EOI marker")
		}
		m := d.data[d.pos]
		d.pos++
		if m != 0 {
			return m, nil
		}
	}
}

// segment returns the payload of a length-prefixed marker segment.
func (d *jpegDecoder) segment() ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, jpegErr("truncated marker segment")
	}
	n := int(d.data[d.pos])<<8 | int(d.data[d.pos+1])
	if n < 2 || d.pos+n > len(d.data) {
		return nil, jpegErr("marker segment length %d runs past the end of the file", n)
	}
	seg := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return seg, nil
}

func (d *jpegDecoder) readSOF(m byte) error {
	seg, err := d.segment()
	if err != nil {
		return err
	}
	if d.sawSOF {
		return jpegErr("more than one frame header")
	}
	if len(seg) < 6 {
		return jpegErr("short SOF segment")
	}
	if seg[0] != 8 {
		return errUnsupported // 12-bit samples
	}
	d.height = int(seg[1])<<8 | int(seg[2])
	d.width = int(seg[3])<<8 | int(seg[4])
	nc := int(seg[5])
	if d.width == 0 || d.height == 0 {
		return jpegErr("image size %dx%d (a height defined by DNL is not supported)", d.width, d.height)
	}
	if d.width*d.height > d.maxPixel {
		return fmt.Errorf("jpeg: image is %dx%d, more than the %d-pixel limit", d.width, d.height, d.maxPixel)
	}
	if nc != 1 && nc != 3 {
		return errUnsupported // CMYK / YCCK go to image/jpeg
	}
	if len(seg) < 6+3*nc {
		return jpegErr("short SOF segment")
	}
	d.progressive = m == 0xC2
	d.comps = make([]jpegComp, nc)
	d.hmax, d.vmax = 1, 1
	for i := range d.comps {
		c := &d.comps[i]
		c.id = seg[6+3*i]
		c.h, c.v = int(seg[7+3*i]>>4), int(seg[7+3*i]&15)
		c.tq = int(seg[8+3*i])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return jpegErr("component %d has sampling %dx%d, quant table %d", i, c.h, c.v, c.tq)
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	if nc == 1 {
		// A single component is always one block per MCU, whatever it declares.
		d.comps[0].h, d.comps[0].v, d.hmax, d.vmax = 1, 1, 1, 1
	}
	d.mcusX = ceilDiv(d.width, 8*d.hmax)
	d.mcusY = ceilDiv(d.height, 8*d.vmax)
	blocks := 0
	for i := range d.comps {
		c := &d.comps[i]
		if d.hmax%c.h != 0 || d.vmax%c.v != 0 {
			return errUnsupported // fractional sampling
		}
		c.bw, c.bh = d.mcusX*c.h, d.mcusY*c.v
		c.dw = ceilDiv(d.width*c.h, d.hmax)
		c.dh = ceilDiv(d.height*c.v, d.vmax)
		blocks += c.bw * c.bh
	}
	// Every block costs at least one bit of entropy-coded data (its DC
	// code), so a file declaring far more blocks than it has bits is
	// truncated or hostile; refuse it before allocating for it.
	if blocks > 8*len(d.data)+1024 {
		return jpegErr("%dx%d image needs %d blocks, but the file has only %d bytes", d.width, d.height, blocks, len(d.data))
	}
	for i := range d.comps {
		c := &d.comps[i]
		c.coef = make([]int16, c.bw*c.bh*64)
	}
	d.sawSOF = true
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func (d *jpegDecoder) readDQT() error {
	seg, err := d.segment()
	if err != nil {
		return err
	}
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&15
		if tq > 3 || pq > 1 {
			return jpegErr("bad DQT table %d precision %d", tq, pq)
		}
		n := 64 * (1 + int(pq))
		if len(seg) < 1+n {
			return jpegErr("short DQT segment")
		}
		for k := 0; k < 64; k++ {
			var q uint16
			if pq == 0 {
				q = uint16(seg[1+k])
			} else {
				q = uint16(seg[1+2*k])<<8 | uint16(seg[2+2*k])
			}
			d.quant[tq][zigzag[k]] = q
		}
		seg = seg[1+n:]
	}
	return nil
}

func (d *jpegDecoder) readDHT() error {
	seg, err := d.segment()
	if err != nil {
		return err
	}
	for len(seg) > 0 {
		if len(seg) < 17 {
			return jpegErr("short DHT segment")
		}
		tc, th := seg[0]>>4, seg[0]&15
		if tc > 1 || th > 3 {
			return jpegErr("bad DHT class %d table %d", tc, th)
		}
		var counts [17]int
		total := 0
		for l := 1; l <= 16; l++ {
			counts[l] = int(seg[l])
			total += counts[l]
		}
		if total > 256 || len(seg) < 17+total {
			return jpegErr("bad DHT segment: %d symbols", total)
		}
		t, err := buildHuff(counts, seg[17:17+total])
		if err != nil {
			return err
		}
		if tc == 0 {
			d.dc[th] = t
		} else {
			d.ac[th] = t
		}
		seg = seg[17+total:]
	}
	return nil
}

func buildHuff(counts [17]int, vals []uint8) (*huffTable, error) {
	t := &huffTable{vals: append([]uint8(nil), vals...)}
	code := int32(0)
	k := int32(0)
	for l := 1; l <= 16; l++ {
		t.valptr[l] = k
		t.mincode[l] = code
		if counts[l] == 0 {
			t.maxcode[l] = -1
		} else {
			for i := 0; i < counts[l]; i++ {
				if code >= 1<<l {
					return nil, jpegErr("bad Huffman table: code lengths overflow")
				}
				if l <= lookBits {
					shift := lookBits - l
					base := int(code) << shift
					for j := 0; j < 1<<shift; j++ {
						t.lookup[base+j] = uint16(t.vals[k])<<8 | uint16(l)
					}
				}
				code++
				k++
			}
			t.maxcode[l] = code - 1
		}
		code <<= 1
	}
	t.maxcode[17] = 1<<31 - 1 // sentinel: a 17-bit code never matches
	return t, nil
}

// fill tops up the bit accumulator. At a marker (or the end of data) it
// feeds zeros, as libjpeg does; reaching the end of the file is an error
// reported by the caller through d.pos.
func (d *jpegDecoder) fill() {
	for d.nbits <= 56 {
		var b byte
		if !d.hitMark && d.pos < len(d.data) {
			b = d.data[d.pos]
			if b == 0xFF {
				if d.pos+1 >= len(d.data) {
					d.hitMark, d.eof = true, true
					b = 0
				} else if nb := d.data[d.pos+1]; nb == 0 {
					d.pos += 2
				} else if nb == 0xFF {
					// fill bytes before a marker: skip one and look again
					d.pos++
					continue
				} else {
					d.hitMark = true
					b = 0
				}
			} else {
				d.pos++
			}
		} else {
			d.hitMark = true
			if d.pos >= len(d.data) {
				d.eof = true
			}
		}
		if d.hitMark {
			d.fakeBits += 8
		}
		d.acc |= uint64(b) << (56 - d.nbits)
		d.nbits += 8
	}
}

// checkData runs after each MCU. Zeros stand in for data cut short by a
// marker (libjpeg warns and goes on, and so does Pillow), but data cut
// short by the end of the file is an error (Pillow: "image file is
// truncated").
func (d *jpegDecoder) checkData() error {
	if d.nbits < d.fakeBits {
		if d.eof {
			return jpegErr("truncated file: entropy-coded data ends early")
		}
		d.insufficient = true
	}
	return nil
}

func (d *jpegDecoder) bits(n uint) int32 {
	if n == 0 {
		return 0
	}
	if d.nbits < n {
		d.fill()
	}
	v := int32(d.acc >> (64 - n))
	d.acc <<= n
	d.nbits -= n
	return v
}

func (d *jpegDecoder) decodeHuff(t *huffTable) (uint8, error) {
	if d.nbits < 16 {
		d.fill()
	}
	if e := t.lookup[d.acc>>(64-lookBits)]; e != 0 {
		l := uint(e & 0xFF)
		d.acc <<= l
		d.nbits -= l
		return uint8(e >> 8), nil
	}
	var code int32
	l := lookBits + 1
	for ; l <= 16; l++ {
		code = int32(d.acc >> (64 - uint(l)))
		if code <= t.maxcode[l] {
			break
		}
	}
	if l > 16 {
		// libjpeg warns and returns symbol 0 on a corrupt code.
		d.acc <<= 16
		d.nbits -= 16
		return 0, nil
	}
	d.acc <<= uint(l)
	d.nbits -= uint(l)
	idx := t.valptr[l] + code - t.mincode[l]
	if int(idx) >= len(t.vals) {
		return 0, jpegErr("corrupt Huffman code")
	}
	return t.vals[idx], nil
}

// extend turns an s-bit magnitude category value into a signed coefficient
// (values below 1<<(s-1) are negative: v - 2^s + 1), without a branch.
func extend(v int32, s uint) int32 {
	return v + ((v-int32(1<<s>>1))>>31)&(1-int32(1<<s))
}

func (d *jpegDecoder) receiveExtend(s uint) int32 { return extend(d.bits(s), s) }

func (d *jpegDecoder) readScan() error {
	if !d.sawSOF {
		return jpegErr("scan before frame header")
	}
	seg, err := d.segment()
	if err != nil {
		return err
	}
	if len(seg) < 1 {
		return jpegErr("short SOS segment")
	}
	ns := int(seg[0])
	if ns < 1 || ns > 4 || len(seg) < 1+2*ns+3 {
		return jpegErr("bad SOS segment with %d components", ns)
	}
	var comps []*jpegComp
	for i := 0; i < ns; i++ {
		id := seg[1+2*i]
		var c *jpegComp
		for j := range d.comps {
			if d.comps[j].id == id {
				c = &d.comps[j]
			}
		}
		if c == nil {
			return jpegErr("scan names unknown component %d", id)
		}
		c.td, c.ta = int(seg[2+2*i]>>4), int(seg[2+2*i]&15)
		if c.td > 3 || c.ta > 3 {
			return jpegErr("bad Huffman table selector")
		}
		comps = append(comps, c)
	}
	p := seg[1+2*ns:]
	ss, se, ah, al := int(p[0]), int(p[1]), uint(p[2]>>4), uint(p[2]&15)
	if d.progressive {
		if ss > 63 || se > 63 || ss > se || al > 13 || ah > 13 || (ss == 0 && se != 0) || (ss != 0 && ns != 1) {
			return jpegErr("bad progressive scan parameters Ss=%d Se=%d Ah=%d Al=%d", ss, se, ah, al)
		}
	} else {
		ss, se, ah, al = 0, 63, 0, 0
	}
	for _, c := range comps {
		if (ss == 0 && ah == 0) && d.dc[c.td] == nil {
			return jpegErr("scan uses undefined DC table %d", c.td)
		}
		if se > 0 && !(d.progressive && ah > 0) && d.ac[c.ta] == nil {
			return jpegErr("scan uses undefined AC table %d", c.ta)
		}
		c.dcPred = 0
	}
	d.acc, d.nbits, d.hitMark, d.eobrun, d.fakeBits, d.eof, d.insufficient = 0, 0, false, 0, 0, false, false

	// MCU geometry: interleaved scans walk whole MCUs; a single-component
	// scan walks that component's own blocks, one per MCU.
	var mx, my int
	if len(comps) == 1 {
		c := comps[0]
		mx, my = ceilDiv(c.dw, 8), ceilDiv(c.dh, 8)
	} else {
		mx, my = d.mcusX, d.mcusY
	}
	total := mx * my
	mcu := 0
	for mcu < total {
		if d.restart > 0 && mcu > 0 && mcu%d.restart == 0 {
			if err := d.handleRestart(comps); err != nil {
				return err
			}
		}
		x, y := mcu%mx, mcu/mx
		if d.insufficient {
			mcu++
			continue
		}
		if len(comps) == 1 {
			c := comps[0]
			if err := d.decodeBlock(c, c.coef[(y*c.bw+x)*64:][:64], ss, se, ah, al); err != nil {
				return err
			}
		} else {
			for _, c := range comps {
				for v := 0; v < c.v; v++ {
					for h := 0; h < c.h; h++ {
						bx, by := x*c.h+h, y*c.v+v
						if err := d.decodeBlock(c, c.coef[(by*c.bw+bx)*64:][:64], ss, se, ah, al); err != nil {
							return err
						}
					}
				}
			}
		}
		if err := d.checkData(); err != nil {
			return err
		}
		mcu++
	}
	d.scans++
	return nil
}

// handleRestart discards the partial byte, expects RSTn and resets the
// predictors. A missing marker is tolerated (libjpeg resyncs with a warning).
func (d *jpegDecoder) handleRestart(comps []*jpegComp) error {
	d.acc, d.nbits, d.fakeBits = 0, 0, 0
	if !d.hitMark {
		// skip to the next marker
		for d.pos+1 < len(d.data) && !(d.data[d.pos] == 0xFF && d.data[d.pos+1] != 0 && d.data[d.pos+1] != 0xFF) {
			d.pos++
		}
	}
	if d.pos+1 < len(d.data) && d.data[d.pos] == 0xFF && d.data[d.pos+1] >= 0xD0 && d.data[d.pos+1] <= 0xD7 {
		d.pos += 2
	} else if d.pos+1 >= len(d.data) {
		return jpegErr("truncated file: missing restart marker")
	}
	d.hitMark, d.eof, d.insufficient = false, false, false
	for _, c := range comps {
		c.dcPred = 0
	}
	d.eobrun = 0
	return nil
}

func (d *jpegDecoder) decodeBlock(c *jpegComp, blk []int16, ss, se int, ah, al uint) error {
	if !d.progressive {
		return d.decodeBaseline(c, blk)
	}
	if ss == 0 {
		if ah == 0 {
			s, err := d.decodeHuff(d.dc[c.td])
			if err != nil {
				return err
			}
			if s > 16 {
				return jpegErr("bad DC magnitude %d", s)
			}
			c.dcPred += d.receiveExtend(uint(s))
			blk[0] = int16(c.dcPred << al)
		} else if d.bits(1) != 0 {
			blk[0] |= int16(1 << al)
		}
		return nil
	}
	if ah == 0 {
		return d.acFirst(d.ac[c.ta], blk, ss, se, al)
	}
	return d.acRefine(d.ac[c.ta], blk, ss, se, al)
}

func (d *jpegDecoder) decodeBaseline(c *jpegComp, blk []int16) error {
	s, err := d.decodeHuff(d.dc[c.td])
	if err != nil {
		return err
	}
	if s > 16 {
		return jpegErr("bad DC magnitude %d", s)
	}
	c.dcPred += d.receiveExtend(uint(s))
	b := (*[64]int16)(blk)
	b[0] = int16(c.dcPred)
	ac := d.ac[c.ta]
	for k := 1; k < 64; k++ {
		// A code (up to 16 bits) and its value (up to 15) fit 31 bits,
		// so one refill serves both (filling early changes nothing: at a
		// marker fill adds zeros, counted in fakeBits).
		if d.nbits < 32 {
			d.fill()
		}
		var rs uint8
		if e := ac.lookup[d.acc>>(64-lookBits)]; e != 0 {
			l := uint(e & 0xFF)
			d.acc <<= l
			d.nbits -= l
			rs = uint8(e >> 8)
		} else if rs, err = d.decodeHuff(ac); err != nil {
			return err
		}
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r != 15 {
				break
			}
			k += 15
			continue
		}
		k += r
		v := int32(d.acc >> (64 - s))
		d.acc <<= s
		d.nbits -= s
		b[zigzag[k]&63] = int16(extend(v, s))
	}
	return nil
}

func (d *jpegDecoder) acFirst(t *huffTable, blk []int16, ss, se int, al uint) error {
	if t == nil {
		return jpegErr("scan uses an undefined AC table")
	}
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	for k := ss; k <= se; k++ {
		rs, err := d.decodeHuff(t)
		if err != nil {
			return err
		}
		r, s := int(rs>>4), uint(rs&15)
		if s != 0 {
			k += r
			blk[zigzag[k]] = int16(uint32(d.receiveExtend(s)) << al)
			continue
		}
		if r != 15 {
			d.eobrun = 1 << r
			if r > 0 {
				d.eobrun += d.bits(uint(r))
			}
			d.eobrun--
			break
		}
		k += 15
	}
	return nil
}

// acRefine is the successive-approximation pass for AC coefficients
// (ITU T.81 G.1.2.3): new coefficients of magnitude 1<<al, and one
// correction bit for every coefficient that is already non-zero.
func (d *jpegDecoder) acRefine(t *huffTable, blk []int16, ss, se int, al uint) error {
	p1 := int16(1 << al)
	m1 := -p1
	k := ss
	if d.eobrun == 0 {
		if t == nil {
			return jpegErr("scan uses an undefined AC table")
		}
		for ; k <= se; k++ {
			rs, err := d.decodeHuff(t)
			if err != nil {
				return err
			}
			r, s := int(rs>>4), int16(rs&15)
			if s != 0 {
				// s must be 1; libjpeg warns on other values and carries on.
				if d.bits(1) != 0 {
					s = p1
				} else {
					s = m1
				}
			} else if r != 15 {
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += d.bits(uint(r))
				}
				break
			}
			for k <= se {
				z := &blk[zigzag[k]]
				if *z != 0 {
					if d.bits(1) != 0 && *z&p1 == 0 {
						if *z >= 0 {
							*z += p1
						} else {
							*z += m1
						}
					}
				} else {
					r--
					if r < 0 {
						break
					}
				}
				k++
			}
			if s != 0 && k < 64 {
				blk[zigzag[k]] = s
			}
		}
	}
	if d.eobrun > 0 {
		for ; k <= se; k++ {
			z := &blk[zigzag[k]]
			if *z != 0 && d.bits(1) != 0 && *z&p1 == 0 {
				if *z >= 0 {
					*z += p1
				} else {
					*z += m1
				}
			}
		}
		d.eobrun--
	}
	return nil
}
