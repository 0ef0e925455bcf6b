package preprocess

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/bmp"

	"github.com/mnconv/mnconv/ir"
)

// grayRow makes a w x 1 image whose three channels all hold v.
func grayRow(v ...uint8) *Image {
	m := &Image{W: len(v), H: 1, Pix: make([]uint8, 3*len(v))}
	for i, x := range v {
		m.Pix[3*i], m.Pix[3*i+1], m.Pix[3*i+2] = x, x, x
	}
	return m
}

func channel0(m *Image) []uint8 {
	out := make([]uint8, m.W*m.H)
	for i := range out {
		out[i] = m.Pix[3*i]
	}
	return out
}

// TestResizeGoldens are worked by hand from Pillow's resampling rules.
func TestResizeGoldens(t *testing.T) {
	tests := []struct {
		name string
		in   []uint8
		outW int
		want []uint8
	}{
		// scale 2, support 2: taps {0,1,2} weights 3/7,3/7,1/7 -> 500/7;
		// taps {1,2,3} weights 1/7,3/7,3/7 -> 1465/7
		{"down2", []uint8{0, 100, 200, 255}, 2, []uint8{71, 209}},
		// scale 1/2, support 1: centres 0.25, 0.75, 1.25, 1.75
		{"up2", []uint8{0, 200}, 4, []uint8{0, 50, 150, 200}},
		{"same", []uint8{1, 2, 3}, 3, []uint8{1, 2, 3}},
		{"to1", []uint8{10, 20, 30, 40}, 1, []uint8{25}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := grayRow(tc.in...).Resize(tc.outW, 1)
			if err != nil {
				t.Fatal(err)
			}
			if c := channel0(got); !slices.Equal(c, tc.want) {
				t.Errorf("got %v, want %v", c, tc.want)
			}
		})
	}
}

// TestResizeSeparable: a vertical resize is the horizontal one transposed.
func TestResizeSeparable(t *testing.T) {
	in := []uint8{0, 100, 200, 255}
	col := &Image{W: 1, H: 4, Pix: grayRow(in...).Pix}
	got, err := col.Resize(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if c := channel0(got); !slices.Equal(c, []uint8{71, 209}) {
		t.Errorf("got %v, want [71 209]", c)
	}
}

func TestResizeErrors(t *testing.T) {
	m := grayRow(1, 2)
	for _, size := range [][2]int{{0, 1}, {1, 0}, {MaxSide + 1, 1}} {
		if _, err := m.Resize(size[0], size[1]); err == nil {
			t.Errorf("Resize(%v) succeeded", size)
		}
	}
	if _, err := m.ResizeBox(1, 1, 0, 0, 3, 1); err == nil {
		t.Error("box outside the image accepted")
	}
}

func TestSlimCrop(t *testing.T) {
	tests := []struct{ w, h, l, t, cw, ch int }{
		{500, 375, 31, 23, 438, 328}, // 437.5 rounds to even 438
		{12, 8, 1, 0, 10, 7},         // 10.5 -> 10
		{1, 1, 0, 0, 1, 1},
	}
	for _, tc := range tests {
		l, tp, cw, ch := slimCrop(tc.w, tc.h)
		if l != tc.l || tp != tc.t || cw != tc.cw || ch != tc.ch {
			t.Errorf("slimCrop(%d,%d) = %d,%d %dx%d, want %d,%d %dx%d", tc.w, tc.h, l, tp, cw, ch, tc.l, tc.t, tc.cw, tc.ch)
		}
	}
}

func TestTorchResize(t *testing.T) {
	tests := []struct{ w, h, rw, rh int }{
		{500, 375, 341, 256}, // 341.33
		{375, 500, 256, 341},
		{256, 256, 256, 256},
		{100, 10000, 256, 25600},
	}
	for _, tc := range tests {
		if rw, rh := torchResize(tc.w, tc.h, 224, 224); rw != tc.rw || rh != tc.rh {
			t.Errorf("torchResize(%d,%d) = %dx%d, want %dx%d", tc.w, tc.h, rw, rh, tc.rw, tc.rh)
		}
	}
}

func TestPresetsShape(t *testing.T) {
	m := &Image{W: 37, H: 23, Pix: make([]uint8, 37*23*3)}
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 7)
	}
	for _, p := range []Preset{Slim, Torch, Full} {
		out, err := p.Apply(m, 16, 12)
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		if out.W != 16 || out.H != 12 || len(out.Pix) != 16*12*3 {
			t.Errorf("%v: got %dx%d (%d bytes)", p, out.W, out.H, len(out.Pix))
		}
	}
	// Full of an image already at the size is the identity.
	out, err := Full.Apply(m, 37, 23)
	if err != nil || !bytes.Equal(out.Pix, m.Pix) {
		t.Errorf("Full at the same size changed the image (err %v)", err)
	}
	if _, err := ParsePreset("nope"); err == nil {
		t.Error("ParsePreset accepted nope")
	}
	if p, err := ParsePreset("Torch"); err != nil || p != Torch {
		t.Errorf("ParsePreset(Torch) = %v, %v", p, err)
	}
}

func TestModesReal(t *testing.T) {
	tests := []struct {
		m    Mode
		p    uint8
		c    int
		want float32
	}{
		{TF, 0, 0, -1}, {TF, 255, 0, 1}, {Unit, 255, 1, 1}, {Unit, 0, 2, 0},
		{Raw, 77, 0, 77},
		{TorchNorm, 0, 0, (0 - float32(0.485)) / float32(0.229)},
	}
	for _, tc := range tests {
		if got := tc.m.Real(tc.p, tc.c); got != tc.want {
			t.Errorf("%v.Real(%d, %d) = %v, want %v", tc.m, tc.p, tc.c, got, tc.want)
		}
	}
}

func TestToTensorQuantized(t *testing.T) {
	pix := [][]uint8{{0, 128, 255}} // one 1x1 RGB image
	coral := &ir.Quant{Scale: []float32{1.0 / 128}, ZeroPoint: []int64{128}}
	tests := []struct {
		name string
		tg   Target
		want []int32
	}{
		{"u8 raw", Target{Mode: Raw, DType: ir.Uint8, Quant: coral}, []int32{0, 128, 255}},
		{"i8 raw", Target{Mode: Raw, DType: ir.Int8, Quant: &ir.Quant{Scale: []float32{1.0 / 255}, ZeroPoint: []int64{-128}}}, []int32{-128, 0, 127}},
		// tf quantized exactly: 128 -> 0.50196/2^-7 + 128 = 128.502 -> 129
		{"u8 tf", Target{Mode: TF, DType: ir.Uint8, Quant: coral}, []int32{0, 129, 255}},
		{"i8 unit", Target{Mode: Unit, DType: ir.Int8, Quant: &ir.Quant{Scale: []float32{1.0 / 255}, ZeroPoint: []int64{-128}}}, []int32{-128, 0, 127}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.tg.N, tc.tg.H, tc.tg.W, tc.tg.Channels = 1, 1, 1, 3
			x, err := ToTensor(pix, tc.tg)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]int32, 3)
			for i := range got {
				got[i] = int32(x.Float(i))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestToTensorLayoutAndGray(t *testing.T) {
	// 2x1 image: pixel0 = (1,2,3), pixel1 = (4,5,6)
	pix := [][]uint8{{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}}
	tg := Target{Mode: Raw, DType: ir.Float32, Layout: NCHW, N: 2, H: 1, W: 2, Channels: 3}
	x, err := ToTensor(pix, tg)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12}
	if !slices.Equal(x.F32, want) || !slices.Equal(x.Shape, []int{2, 3, 1, 2}) {
		t.Errorf("NCHW: got %v %v, want %v", x.Shape, x.F32, want)
	}
	tg.Layout = NHWC
	x, _ = ToTensor(pix, tg)
	if !slices.Equal(x.F32[:6], []float32{1, 2, 3, 4, 5, 6}) || !slices.Equal(x.Shape, []int{2, 1, 2, 3}) {
		t.Errorf("NHWC: got %v %v", x.Shape, x.F32)
	}
	// grayscale model: Pillow's L = (19595 R + 38470 G + 7471 B + 2^15) >> 16
	g := Target{Mode: Raw, DType: ir.Uint8, N: 1, H: 1, W: 2, Channels: 1}
	x, err = ToTensor([][]uint8{{255, 0, 0, 9, 9, 9}}, g)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.U8, []uint8{76, 9}) {
		t.Errorf("gray: got %v, want [76 9]", x.U8)
	}
	if _, err := ToTensor([][]uint8{{1, 2}}, tg); err == nil {
		t.Error("wrong-sized image accepted")
	}
}

func TestTargetFor(t *testing.T) {
	mk := func(dt ir.DType, shape []int, q *ir.Quant) *ir.Graph {
		return &ir.Graph{Inputs: []*ir.Tensor{{Name: "x", DType: dt, Shape: shape, Quant: q}}}
	}
	q := &ir.Quant{Scale: []float32{1.0 / 128}, ZeroPoint: []int64{128}}
	tests := []struct {
		name   string
		g      *ir.Graph
		preset Preset
		mode   Mode
		want   Target
		err    string
	}{
		{"float nhwc", mk(ir.Float32, []int{1, 96, 80, 3}, nil), Slim, Auto, Target{Mode: TF, DType: ir.Float32, Layout: NHWC, N: 1, H: 96, W: 80, Channels: 3}, ""},
		{"float nchw torch", mk(ir.Float32, []int{1, 3, 224, 224}, nil), Torch, Auto, Target{Mode: TorchNorm, DType: ir.Float32, Layout: NCHW, N: 1, H: 224, W: 224, Channels: 3}, ""},
		{"quant", mk(ir.Uint8, []int{1, 128, 128, 3}, q), Slim, Auto, Target{Mode: Raw, DType: ir.Uint8, Quant: q, Layout: NHWC, N: 1, H: 128, W: 128, Channels: 3}, ""},
		{"gray", mk(ir.Int8, []int{1, 96, 96, 1}, q), Full, Unit, Target{Mode: Unit, DType: ir.Int8, Quant: q, Layout: NHWC, N: 1, H: 96, W: 96, Channels: 1}, ""},
		{"rank2", mk(ir.Float32, []int{1, 1024}, nil), Slim, Auto, Target{}, "want an image"},
		{"channels", mk(ir.Float32, []int{1, 5, 5, 5}, nil), Slim, Auto, Target{}, "no channel dimension"},
		{"int32", mk(ir.Int32, []int{1, 4, 4, 3}, nil), Slim, Auto, Target{}, "dtype int32"},
		{"unquantized u8 tf", mk(ir.Uint8, []int{1, 4, 4, 3}, nil), Slim, TF, Target{}, "only raw pixels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := TargetFor(tc.g, 0, tc.preset, tc.mode)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func encode(t *testing.T, m image.Image, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := enc(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeFormats(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 16, 8))
	nrgba := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 2)
	}
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(40 * i)
	}
	nrgba.Pix[3] = 10 // translucent: the colour survives, alpha goes
	pngEnc := func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) }
	bmpEnc := func(b *bytes.Buffer, m image.Image) error { return bmp.Encode(b, m) }
	jpgEnc := func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, &jpeg.Options{Quality: 100}) }

	tests := []struct {
		name string
		data []byte
		w, h int
		px   [3]uint8 // pixel (1,0)
	}{
		{"png gray", encode(t, gray, pngEnc), 16, 8, [3]uint8{2, 2, 2}},
		{"png nrgba", encode(t, nrgba, pngEnc), 3, 2, [3]uint8{160, 200, 240}},
		{"bmp gray", encode(t, gray, bmpEnc), 16, 8, [3]uint8{2, 2, 2}},
		{"jpeg gray", encode(t, gray, jpgEnc), 16, 8, [3]uint8{2, 2, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if m.W != tc.w || m.H != tc.h {
				t.Fatalf("size %dx%d, want %dx%d", m.W, m.H, tc.w, tc.h)
			}
			if got := [3]uint8(m.Pix[3:6]); got != tc.px {
				t.Errorf("pixel (1,0) = %v, want %v", got, tc.px)
			}
		})
	}
	// a colour JPEG (Go encodes 4:2:0) decodes close to its source
	rgb := image.NewRGBA(image.Rect(0, 0, 24, 17))
	for i := range rgb.Pix {
		rgb.Pix[i] = 128
	}
	m, err := Decode(encode(t, rgb, jpgEnc))
	if err != nil || m.W != 24 || m.H != 17 {
		t.Fatalf("colour jpeg: %v", err)
	}
	for _, v := range m.Pix {
		if v < 126 || v > 130 {
			t.Fatalf("flat grey decoded to %d", v)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	noise := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(i * i * 31)
	}
	good := encode(t, noise, func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) })
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"text", []byte("hello"), "unknown image format"},
		{"truncated jpeg", good[:len(good)/2], "truncated"},
		{"soi only", []byte{0xFF, 0xD8}, "truncated"},
		{"huge jpeg", []byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0xFF, 0xFF, 0xFF, 0xFF, 1, 1, 0x11, 0}, "limit"},
		{"jpeg larger than its data", []byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0x10, 0, 0x10, 0, 1, 1, 0x11, 0}, "only 15 bytes"},
		{"png garbage", []byte("\x89PNG\r\n\x1a\nxxxx"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	// A missing EOI after complete data is accepted (libjpeg warns); data
	// cut short by a marker decodes with zeros in the rest (grey).
	full, err := Decode(good)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := Decode(good[:len(good)-2]); err != nil || !bytes.Equal(m.Pix, full.Pix) {
		t.Errorf("without EOI: %v", err)
	}
	cut := append(append([]byte{}, good[:len(good)/2]...), 0xFF, 0xD9)
	if m, err := Decode(cut); err != nil || m.Pix[len(m.Pix)-1] != 128 {
		t.Errorf("cut by EOI: err %v", err)
	}
	dir := t.TempDir()
	// LoadBatch stacks what Load gives
	pa, pb := filepath.Join(dir, "a.jpg"), filepath.Join(dir, "b.jpg")
	os.WriteFile(pa, good, 0o644)
	os.WriteFile(pb, cut, 0o644)
	tg := Target{Mode: Unit, DType: ir.Float32, N: 2, H: 8, W: 6, Channels: 3}
	x, err := LoadBatch([]string{pa, pb}, Slim, tg)
	if err != nil || !slices.Equal(x.Shape, []int{2, 8, 6, 3}) {
		t.Fatalf("LoadBatch: %v %v", x, err)
	}
	ma, _ := Load(pa, Slim, 6, 8)
	if x.F32[5] != float32(ma.Pix[5])/255 {
		t.Errorf("LoadBatch element 5 = %v, Load gives %d", x.F32[5], ma.Pix[5])
	}
	p := filepath.Join(dir, "broken.jpg")
	os.WriteFile(p, good[:40], 0o644)
	if _, err := LoadImage(p, Slim, 8); err == nil || !strings.Contains(err.Error(), "broken.jpg") {
		t.Errorf("LoadImage error %v does not name the file", err)
	}
}

// FuzzDecode: decoding never panics, and whatever decodes has a consistent
// buffer.
func FuzzDecode(f *testing.F) {
	f.Add(encodeSeed(image.NewGray(image.Rect(0, 0, 9, 9))))
	rgb := image.NewRGBA(image.Rect(0, 0, 17, 9))
	for i := range rgb.Pix {
		rgb.Pix[i] = uint8(i)
	}
	f.Add(encodeSeed(rgb))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err == nil && len(m.Pix) != m.W*m.H*3 {
			t.Fatalf("%dx%d image with %d bytes", m.W, m.H, len(m.Pix))
		}
	})
}

func encodeSeed(m image.Image) []byte {
	var b bytes.Buffer
	jpeg.Encode(&b, m, &jpeg.Options{Quality: 90})
	return b.Bytes()
}
