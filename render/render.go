// Package render draws a model's result onto its image: a segmentation
// class map as a semi-transparent palette overlay with a legend, and
// detections as labelled boxes. Text is X11's 7x13 fixed font
// (golang.org/x/image/font/basicfont), scaled by whole pixels on large
// images.
//
// Phase: presentation, after evaluation. It takes plain values (pixels,
// class indices, boxes in pixels, strings) and imports nothing of ours, so
// any task's result can be drawn; it writes no file (EncodePNG returns the
// bytes, the caller writes them atomically).
package render

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// FromRGB wraps w x h RGB pixels (3 bytes each, rows top to bottom) as an
// opaque RGBA image.
func FromRGB(pix []uint8, w, h int) (*image.RGBA, error) {
	if w < 1 || h < 1 || len(pix) != 3*w*h {
		return nil, fmt.Errorf("render: %d bytes for a %dx%d RGB image, want %d", len(pix), w, h, 3*w*h)
	}
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		copy(m.Pix[4*i:4*i+3], pix[3*i:3*i+3])
		m.Pix[4*i+3] = 255
	}
	return m, nil
}

// EncodePNG encodes m as PNG.
func EncodePNG(m image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return buf.Bytes(), nil
}

// VOCColor is class c's colour in the PASCAL VOC palette: bit b of the
// class index goes to bit 7-b/3 of red, green or blue in turn (class 0
// black, 1 (128,0,0), 2 (0,128,0), 15 person (192,128,128), ...), which is
// the palette of the VOC masks and of DeepLab's demos.
func VOCColor(c int) color.RGBA {
	var r, g, b uint8
	for shift := 7; c > 0 && shift >= 0; shift-- {
		r |= uint8(c&1) << shift
		g |= uint8(c>>1&1) << shift
		b |= uint8(c>>2&1) << shift
		c >>= 3
	}
	return color.RGBA{r, g, b, 255}
}

// distinct are well-separated, saturated colours for boxes (Kelly's list
// without white and black, reordered so that neighbours differ in hue).
var distinct = []color.RGBA{
	{230, 25, 75, 255}, {60, 180, 75, 255}, {255, 225, 25, 255}, {0, 130, 200, 255},
	{245, 130, 48, 255}, {145, 30, 180, 255}, {70, 240, 240, 255}, {240, 50, 230, 255},
	{210, 245, 60, 255}, {0, 128, 128, 255}, {170, 110, 40, 255}, {128, 0, 0, 255},
	{170, 255, 195, 255}, {128, 128, 0, 255}, {0, 0, 128, 255}, {250, 190, 212, 255},
}

// DistinctColor is a box colour for class c: neighbouring classes get
// colours of different hue (the list repeats after 16 classes).
func DistinctColor(c int) color.RGBA {
	return distinct[((c%len(distinct))+len(distinct))%len(distinct)]
}

// Overlay blends colour(class) into every pixel of m whose class is not
// skip, at opacity alpha (0..1). classes holds one class per pixel of m,
// row-major.
func Overlay(m *image.RGBA, classes []int, colour func(int) color.RGBA, alpha float64, skip int) error {
	b := m.Bounds()
	if len(classes) != b.Dx()*b.Dy() {
		return fmt.Errorf("render: %d classes for a %dx%d image", len(classes), b.Dx(), b.Dy())
	}
	a := int(math.Round(alpha * 256))
	for i, c := range classes {
		if c == skip {
			continue
		}
		col := colour(c)
		x, y := b.Min.X+i%b.Dx(), b.Min.Y+i/b.Dx()
		p := m.Pix[m.PixOffset(x, y):]
		p[0] = blend(p[0], col.R, a)
		p[1] = blend(p[1], col.G, a)
		p[2] = blend(p[2], col.B, a)
	}
	return nil
}

// Outline draws, in each class's colour at full opacity, the pixels of m
// where the class map changes (a pixel whose right or lower neighbour has
// another class, and that neighbour), thick pixels wide, except on class
// skip: regions stay readable where the overlay's tint is pale.
func Outline(m *image.RGBA, classes []int, colour func(int) color.RGBA, skip, thick int) error {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	if len(classes) != w*h {
		return fmt.Errorf("render: %d classes for a %dx%d image", len(classes), w, h)
	}
	edge := make([]bool, w*h)
	for y := range h {
		for x := range w {
			i := y*w + x
			if x+1 < w && classes[i] != classes[i+1] {
				edge[i], edge[i+1] = true, true
			}
			if y+1 < h && classes[i] != classes[i+w] {
				edge[i], edge[i+w] = true, true
			}
		}
	}
	r := thick / 2
	for i, e := range edge {
		if !e || classes[i] == skip {
			continue
		}
		x, y := b.Min.X+i%w, b.Min.Y+i/w
		fillRect(m, image.Rect(x-r, y-r, x-r+thick, y-r+thick), colour(classes[i]), 1)
	}
	return nil
}

// blend mixes src over dst at opacity a/256.
func blend(dst, src uint8, a int) uint8 {
	return uint8((int(dst)*(256-a) + int(src)*a + 128) >> 8)
}

// TextScale is the whole-pixel scale of the 7x13 font on an image of w x h:
// 1 up to about 800 pixels on the short side, then larger, so labels stay
// readable on photos.
func TextScale(w, h int) int {
	return 1 + min(w, h)/800
}

var face = basicfont.Face7x13

// lineHeight is the font's height in pixels at scale 1.
const lineHeight = 13

// TextWidth is the width in pixels of s at scale 1.
func TextWidth(s string) int {
	return font.MeasureString(face, s).Round()
}

// Text draws s with its top-left corner at (x, y), scale pixels per font
// pixel, clipped to m.
func Text(m *image.RGBA, x, y, scale int, s string, col color.RGBA) {
	w := TextWidth(s)
	if w == 0 {
		return
	}
	mask := image.NewAlpha(image.Rect(0, 0, w, lineHeight))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(s)
	for my := range lineHeight {
		for mx := range w {
			if mask.AlphaAt(mx, my).A < 128 {
				continue
			}
			r := image.Rect(x+mx*scale, y+my*scale, x+(mx+1)*scale, y+(my+1)*scale)
			draw.Draw(m, r.Intersect(m.Bounds()), image.NewUniform(col), image.Point{}, draw.Src)
		}
	}
}

// fillRect fills r (clipped to m) with col at opacity alpha.
func fillRect(m *image.RGBA, r image.Rectangle, col color.RGBA, alpha float64) {
	r = r.Intersect(m.Bounds())
	a := int(math.Round(alpha * 256))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := m.Pix[m.PixOffset(x, y):]
			p[0], p[1], p[2] = blend(p[0], col.R, a), blend(p[1], col.G, a), blend(p[2], col.B, a)
		}
	}
}

// textColor is black or white, whichever reads better on bg.
func textColor(bg color.RGBA) color.RGBA {
	if 299*int(bg.R)+587*int(bg.G)+114*int(bg.B) > 128*1000 {
		return color.RGBA{0, 0, 0, 255}
	}
	return color.RGBA{255, 255, 255, 255}
}

// LegendItem is one line of a legend: a colour swatch and its text.
type LegendItem struct {
	Color color.RGBA
	Text  string
}

// Legend draws items as a column of swatches with their texts in the
// top-left corner of m, on a dark translucent panel.
func Legend(m *image.RGBA, items []LegendItem) {
	if len(items) == 0 {
		return
	}
	b := m.Bounds()
	s := TextScale(b.Dx(), b.Dy())
	pad, sw, line := 4*s, lineHeight*s, (lineHeight+3)*s
	width := 0
	for _, it := range items {
		width = max(width, TextWidth(it.Text)*s)
	}
	panel := image.Rect(0, 0, pad+sw+pad+width+pad, pad+len(items)*line-3*s+pad).Add(b.Min)
	fillRect(m, panel, color.RGBA{0, 0, 0, 255}, 0.6)
	for i, it := range items {
		y := panel.Min.Y + pad + i*line
		sq := image.Rect(panel.Min.X+pad, y, panel.Min.X+pad+sw, y+sw)
		fillRect(m, sq.Inset(-1), color.RGBA{255, 255, 255, 255}, 1)
		fillRect(m, sq, it.Color, 1)
		Text(m, sq.Max.X+pad, y, s, it.Text, color.RGBA{255, 255, 255, 255})
	}
}

// LabelledBox is a box in pixels of the image, with its colour and label.
type LabelledBox struct {
	X0, Y0, X1, Y1 float64
	Color          color.RGBA
	Label          string
}

// Boxes draws each box's outline and a tag in its colour with its label.
// The first box (the most confident, for a detector's list) is drawn on
// top, and its tag placed first: above the box's top-left corner, else
// inside it, else at its bottom, whichever does not cover a tag already
// placed and fits in the image. Outlines go under all tags.
func Boxes(m *image.RGBA, boxes []LabelledBox) {
	b := m.Bounds()
	s := TextScale(b.Dx(), b.Dy())
	thick := 2 * s
	rects := make([]image.Rectangle, len(boxes))
	for i, bx := range boxes {
		r := image.Rect(int(math.Round(bx.X0)), int(math.Round(bx.Y0)), int(math.Round(bx.X1)), int(math.Round(bx.Y1))).Canon()
		rects[i] = r.Intersect(b)
	}
	for i := len(boxes) - 1; i >= 0; i-- {
		r := rects[i]
		if r.Empty() {
			continue
		}
		for _, edge := range []image.Rectangle{
			{r.Min, image.Pt(r.Max.X, r.Min.Y+thick)}, {image.Pt(r.Min.X, r.Max.Y-thick), r.Max},
			{r.Min, image.Pt(r.Min.X+thick, r.Max.Y)}, {image.Pt(r.Max.X-thick, r.Min.Y), r.Max},
		} {
			fillRect(m, edge, boxes[i].Color, 1)
		}
	}
	tags := make([]image.Rectangle, len(boxes))
	var placed []image.Rectangle
	for i, bx := range boxes {
		r := rects[i]
		if r.Empty() || bx.Label == "" {
			continue
		}
		tags[i] = placeTag(r, image.Pt(TextWidth(bx.Label)*s+4*s, lineHeight*s+2*s), b, placed)
		placed = append(placed, tags[i])
	}
	for i := len(boxes) - 1; i >= 0; i-- {
		if tags[i].Empty() {
			continue
		}
		fillRect(m, tags[i], boxes[i].Color, 1)
		Text(m, tags[i].Min.X+2*s, tags[i].Min.Y+s, s, boxes[i].Label, textColor(boxes[i].Color))
	}
}

// placeTag picks where a tag of size sz goes for box r in image b: the
// first of above, inside top, inside bottom and below the box's left edge
// that lies in b and overlaps no placed tag; else the first that lies in b.
func placeTag(r image.Rectangle, sz image.Point, b image.Rectangle, placed []image.Rectangle) image.Rectangle {
	x := max(b.Min.X, min(r.Min.X, b.Max.X-sz.X))
	var cands []image.Rectangle
	for _, y := range []int{r.Min.Y - sz.Y, r.Min.Y, r.Max.Y - sz.Y, r.Max.Y} {
		c := image.Rect(x, y, x+sz.X, y+sz.Y)
		if c.In(b) {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return image.Rect(x, r.Min.Y, x+sz.X, r.Min.Y+sz.Y)
	}
	for _, c := range cands {
		free := true
		for _, p := range placed {
			if c.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			return c
		}
	}
	return cands[0]
}
