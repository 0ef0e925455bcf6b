package preprocess

import "fmt"

// Resampling as Pillow's Image.resize(size, BILINEAR) computes it for 8-bit
// images (Pillow >= 4; the references used 9.4):
//   - a triangle filter of support 1 that widens by the downscale factor
//     (so downscaling averages, i.e. is antialiased);
//   - per output sample: centre = in0 + (i + 0.5) * scale, taps from
//     int(centre - support + 0.5) to int(centre + support + 0.5) clamped to
//     the image, weights tri((j - centre + 0.5) / filterscale), normalized to
//     sum 1 in float64;
//   - weights to 22-bit fixed point (rounded half away from zero), sums
//     started at 1/2 for rounding, shifted back and clamped to 0..255;
//   - horizontal pass first (only over the rows the vertical pass reads),
//     stored as uint8, then the vertical pass. A pass whose size does not
//     change is skipped.

const resamplePrecision = 32 - 8 - 2

type coeffs struct {
	ksize  int
	bounds []int   // per output: first tap, tap count
	k      []int32 // per output: ksize fixed-point weights
}

func triangle(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

// precomputeCoeffs builds the taps mapping [in0, in1) of an inSize-long axis
// onto outSize samples.
func precomputeCoeffs(inSize int, in0, in1 float64, outSize int) coeffs {
	scale := (in1 - in0) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := 1.0 * filterscale
	ksize := int(ceilF(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, ksize*outSize)}
	pre := make([]float64, ksize)
	ss := 1.0 / filterscale
	for xx := 0; xx < outSize; xx++ {
		// The explicit conversions keep the compiler from fusing
		// multiply-adds, so the float64 rounding matches C's.
		center := in0 + float64(float64(xx)+0.5)*scale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			w := triangle(float64(float64(x+xmin)-center+0.5) * ss)
			pre[x] = w
			ww += w
		}
		for x := 0; x < ksize; x++ {
			v := 0.0
			if x < xmax {
				v = pre[x]
				if ww != 0 {
					v /= ww
				}
			}
			// to fixed point, rounding half away from zero as a C cast of v±0.5
			f := v * (1 << resamplePrecision)
			if v < 0 {
				c.k[xx*ksize+x] = int32(-0.5 + f)
			} else {
				c.k[xx*ksize+x] = int32(0.5 + f)
			}
		}
		c.bounds[2*xx], c.bounds[2*xx+1] = xmin, xmax
	}
	return c
}

func ceilF(x float64) float64 {
	i := float64(int64(x))
	if i < x {
		return i + 1
	}
	return i
}

func clipFixed(v int32) uint8 {
	if v >= 1<<resamplePrecision<<8 {
		return 255
	}
	if v <= 0 {
		return 0
	}
	return uint8(v >> resamplePrecision)
}

// Resize scales m to w x h with Pillow-compatible bilinear resampling.
func (m *Image) Resize(w, h int) (*Image, error) {
	return m.ResizeBox(w, h, 0, 0, float64(m.W), float64(m.H))
}

// ResizeBox scales the region [x0,x1) x [y0,y1) of m to w x h, as Pillow's
// resize(size, BILINEAR, box) does.
func (m *Image) ResizeBox(w, h int, x0, y0, x1, y1 float64) (*Image, error) {
	if w < 1 || h < 1 || w > MaxSide || h > MaxSide {
		return nil, fmt.Errorf("resize to %dx%d: size must be 1 to %d", w, h, MaxSide)
	}
	if m.W < 1 || m.H < 1 {
		return nil, fmt.Errorf("resize of an empty %dx%d image", m.W, m.H)
	}
	if !(x0 >= 0 && y0 >= 0 && x1 <= float64(m.W) && y1 <= float64(m.H) && x0 < x1 && y0 < y1) {
		return nil, fmt.Errorf("resize box (%g,%g)-(%g,%g) is outside the %dx%d image", x0, y0, x1, y1, m.W, m.H)
	}
	needH := w != m.W || x0 != 0 || x1 != float64(w)
	needV := h != m.H || y0 != 0 || y1 != float64(h)
	ch := precomputeCoeffs(m.W, x0, x1, w)
	cv := precomputeCoeffs(m.H, y0, y1, h)
	src := m
	yfirst := 0
	if needH {
		// Only the rows the vertical pass will read.
		yfirst = cv.bounds[0]
		ylast := cv.bounds[2*h-2] + cv.bounds[2*h-1]
		if !needV {
			yfirst, ylast = int(y0), int(y0)+h
		}
		src = horizontalPass(m, ch, w, yfirst, ylast)
	}
	if !needV {
		if !needH {
			return &Image{W: w, H: h, Pix: append([]uint8(nil), m.Pix[:w*h*3]...)}, nil
		}
		return src, nil
	}
	return verticalPass(src, cv, h, yfirst), nil
}

func horizontalPass(m *Image, c coeffs, w, yfirst, ylast int) *Image {
	out := &Image{W: w, H: ylast - yfirst, Pix: make([]uint8, w*(ylast-yfirst)*3)}
	for y := yfirst; y < ylast; y++ {
		in := m.Pix[y*m.W*3:]
		dst := out.Pix[(y-yfirst)*w*3:]
		for xx := 0; xx < w; xx++ {
			xmin, n := c.bounds[2*xx], c.bounds[2*xx+1]
			k := c.k[xx*c.ksize:]
			s0, s1, s2 := int32(1<<(resamplePrecision-1)), int32(1<<(resamplePrecision-1)), int32(1<<(resamplePrecision-1))
			for x := 0; x < n; x++ {
				p := in[(xmin+x)*3:]
				s0 += int32(p[0]) * k[x]
				s1 += int32(p[1]) * k[x]
				s2 += int32(p[2]) * k[x]
			}
			dst[3*xx], dst[3*xx+1], dst[3*xx+2] = clipFixed(s0), clipFixed(s1), clipFixed(s2)
		}
	}
	return out
}

// verticalPass reads src, whose row 0 is source row yoff.
func verticalPass(src *Image, c coeffs, h, yoff int) *Image {
	w := src.W
	out := &Image{W: w, H: h, Pix: make([]uint8, w*h*3)}
	stride := w * 3
	acc := make([]int32, stride)
	for yy := 0; yy < h; yy++ {
		ymin, n := c.bounds[2*yy]-yoff, c.bounds[2*yy+1]
		k := c.k[yy*c.ksize:]
		for i := range acc {
			acc[i] = 1 << (resamplePrecision - 1)
		}
		for y := 0; y < n; y++ {
			row := src.Pix[(ymin+y)*stride : (ymin+y+1)*stride]
			ky := k[y]
			for i, p := range row {
				acc[i] += int32(p) * ky
			}
		}
		dst := out.Pix[yy*stride : (yy+1)*stride]
		for i, v := range acc {
			dst[i] = clipFixed(v)
		}
	}
	return out
}
