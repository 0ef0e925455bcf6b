package render

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

func TestVOCColor(t *testing.T) {
	// The VOC masks' palette: background, aeroplane, bicycle, bird, person,
	// tvmonitor.
	for c, want := range map[int]color.RGBA{
		0: {0, 0, 0, 255}, 1: {128, 0, 0, 255}, 2: {0, 128, 0, 255}, 3: {128, 128, 0, 255},
		15: {192, 128, 128, 255}, 20: {0, 64, 128, 255}, 255: {224, 224, 192, 255},
	} {
		if got := VOCColor(c); got != want {
			t.Errorf("VOCColor(%d) = %v, want %v", c, got, want)
		}
	}
}

func gray(w, h int, v uint8) *image.RGBA {
	pix := bytes.Repeat([]byte{v}, 3*w*h)
	m, err := FromRGB(pix, w, h)
	if err != nil {
		panic(err)
	}
	return m
}

func TestOverlay(t *testing.T) {
	m := gray(4, 2, 100)
	classes := []int{0, 1, 2, 0, 0, 0, 15, 0}
	if err := Overlay(m, classes, VOCColor, 0.5, 0); err != nil {
		t.Fatal(err)
	}
	// Half of 100 and half of the class colour, rounded.
	for i, want := range map[int]color.RGBA{
		0: {100, 100, 100, 255}, 1: {114, 50, 50, 255}, 2: {50, 114, 50, 255}, 6: {146, 114, 114, 255},
	} {
		if got := m.RGBAAt(i%4, i/4); got != want {
			t.Errorf("pixel %d = %v, want %v", i, got, want)
		}
	}
	if err := Overlay(m, classes[:3], VOCColor, 0.5, 0); err == nil {
		t.Error("3 classes for 8 pixels: no error")
	}
	if _, err := FromRGB(make([]uint8, 5), 2, 2); err == nil {
		t.Error("FromRGB: 5 bytes for 2x2: no error")
	}
}

// count returns how many pixels of m have colour c.
func count(m *image.RGBA, c color.RGBA) int {
	n := 0
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if m.RGBAAt(x, y) == c {
				n++
			}
		}
	}
	return n
}

func TestBoxesAndText(t *testing.T) {
	m := gray(100, 80, 128)
	red := color.RGBA{230, 25, 75, 255}
	Boxes(m, []LabelledBox{{X0: 10, Y0: 30, X1: 60, Y1: 70, Color: red, Label: "cat 0.83"}})
	// The outline, 2 pixels thick, on all four sides.
	for _, p := range []image.Point{{10, 50}, {11, 50}, {59, 50}, {30, 30}, {30, 69}} {
		if got := m.RGBAAt(p.X, p.Y); got != red {
			t.Errorf("outline pixel %v = %v, want %v", p, got, red)
		}
	}
	if got := m.RGBAAt(12, 50); got != (color.RGBA{128, 128, 128, 255}) {
		t.Errorf("inside pixel = %v, want untouched", got)
	}
	// The tag above the box holds white text on red.
	if n := count(m, color.RGBA{255, 255, 255, 255}); n < 20 {
		t.Errorf("%d white text pixels, want a label", n)
	}
	if w := TextWidth("cat 0.83"); w != 8*7 {
		t.Errorf("TextWidth = %d, want 56", w)
	}
	// A box outside the image draws nothing and does not panic; one at the
	// top edge puts its tag inside.
	before := count(m, red)
	Boxes(m, []LabelledBox{{X0: 200, Y0: 200, X1: 300, Y1: 300, Color: red, Label: "x"}})
	if count(m, red) != before {
		t.Error("a box outside the image changed pixels")
	}
	Boxes(m, []LabelledBox{{X0: -5, Y0: -5, X1: 50, Y1: 20, Color: red, Label: "top"}})
}

func TestLegendAndPNG(t *testing.T) {
	m := gray(200, 150, 200)
	Legend(m, []LegendItem{{VOCColor(15), "person 40.1%"}, {VOCColor(8), "cat 3.2%"}})
	for _, c := range []int{15, 8} {
		if count(m, VOCColor(c)) < 13*13 {
			t.Errorf("swatch of class %d missing", c)
		}
	}
	if got := m.RGBAAt(199, 149); got != (color.RGBA{200, 200, 200, 255}) {
		t.Errorf("far corner = %v, want untouched", got)
	}
	data, err := EncodePNG(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if back.Bounds() != m.Bounds() {
		t.Errorf("decoded %v, want %v", back.Bounds(), m.Bounds())
	}
	// On a large image the legend and its text grow by whole pixels.
	big := gray(2000, 1700, 200)
	Legend(big, []LegendItem{{VOCColor(15), "person"}})
	if n, s := count(big, VOCColor(15)), TextScale(2000, 1700); s != 3 || n != 13*s*13*s {
		t.Errorf("scale %d: swatch of %d pixels, want %d", s, n, 13*s*13*s)
	}
	if n := count(big, color.RGBA{255, 255, 255, 255}); n < 9*20 {
		t.Errorf("%d white pixels of text and swatch border at scale 3", n)
	}
	if TextScale(640, 480) != 1 || TextScale(3000, 2000) != 3 {
		t.Errorf("TextScale: %d, %d", TextScale(640, 480), TextScale(3000, 2000))
	}
}
