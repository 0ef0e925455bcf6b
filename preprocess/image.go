package preprocess

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/bmp"
)

// Image is an 8-bit RGB image, rows top to bottom, 3 bytes per pixel.
type Image struct {
	W, H int
	Pix  []uint8
}

// Limits checked before anything is allocated.
const (
	// MaxFileSize bounds an image file read into memory.
	MaxFileSize = 256 << 20
	// MaxPixels bounds a decoded image (a 33-megapixel photo fits).
	MaxPixels = 1 << 25
	// MaxSide bounds the width or height of an output tensor.
	MaxSide = 1 << 13
)

// DecodeFile reads and decodes an image file (JPEG, PNG or BMP) into RGB.
// Errors name the file.
func DecodeFile(path string) (*Image, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, want an image", path)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: file is %d bytes, more than the %d-byte limit", path, st.Size(), MaxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// Decode decodes JPEG, PNG or BMP bytes into RGB, as Pillow's
// Image.open(...).convert('RGB') does: grayscale is replicated into the
// three channels, alpha is dropped without compositing, 16-bit samples keep
// their high byte. JPEGs go through the libjpeg-turbo-compatible decoder in
// this package (bit-exact with Pillow for the baseline and progressive files
// it supports) and fall back to image/jpeg for the rest (CMYK, 12-bit).
func Decode(data []byte) (*Image, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8}):
		img, err := decodeJPEG(data, MaxPixels)
		if err == nil {
			return img, nil
		}
		if !errors.Is(err, errUnsupported) {
			return nil, err
		}
		return decodeStd(data, jpeg.DecodeConfig, jpeg.Decode)
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return decodeStd(data, png.DecodeConfig, png.Decode)
	case bytes.HasPrefix(data, []byte("BM")):
		return decodeStd(data, bmp.DecodeConfig, bmp.Decode)
	}
	if len(data) == 0 {
		return nil, errors.New("empty file")
	}
	return nil, errors.New("unknown image format (want JPEG, PNG or BMP)")
}

func decodeStd(data []byte, config func(io.Reader) (image.Config, error), decode func(io.Reader) (image.Image, error)) (*Image, error) {
	cfg, err := config(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxPixels/cfg.Height {
		return nil, fmt.Errorf("image is %dx%d, outside the %d-pixel limit", cfg.Width, cfg.Height, MaxPixels)
	}
	m, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return fromImage(m), nil
}

// fromImage converts any decoded image to RGB.
func fromImage(m image.Image) *Image {
	b := m.Bounds()
	img := &Image{W: b.Dx(), H: b.Dy(), Pix: make([]uint8, b.Dx()*b.Dy()*3)}
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			var r, g, bl uint8
			switch c := m.At(x, y).(type) {
			case color.Gray:
				r, g, bl = c.Y, c.Y, c.Y
			case color.Gray16:
				v := uint8(c.Y >> 8)
				r, g, bl = v, v, v
			case color.NRGBA:
				r, g, bl = c.R, c.G, c.B
			case color.NRGBA64:
				r, g, bl = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
			case color.RGBA:
				if c.A == 255 || c.A == 0 {
					r, g, bl = c.R, c.G, c.B
				} else {
					n := color.NRGBAModel.Convert(c).(color.NRGBA)
					r, g, bl = n.R, n.G, n.B
				}
			default:
				n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
				r, g, bl = uint8(n.R>>8), uint8(n.G>>8), uint8(n.B>>8)
			}
			img.Pix[i], img.Pix[i+1], img.Pix[i+2] = r, g, bl
			i += 3
		}
	}
	return img
}

// Crop returns the w x h region at (left, top), which must lie inside m.
func (m *Image) Crop(left, top, w, h int) *Image {
	out := &Image{W: w, H: h, Pix: make([]uint8, w*h*3)}
	for y := 0; y < h; y++ {
		copy(out.Pix[y*w*3:(y+1)*w*3], m.Pix[((top+y)*m.W+left)*3:])
	}
	return out
}

// Gray converts to one channel with Pillow's convert('L') weights
// (ITU-R 601-2 luma in 16-bit fixed point, rounded), which leaves a
// grayscale source's values unchanged.
func (m *Image) Gray() []uint8 {
	out := make([]uint8, m.W*m.H)
	for i := range out {
		r, g, b := uint32(m.Pix[3*i]), uint32(m.Pix[3*i+1]), uint32(m.Pix[3*i+2])
		out[i] = uint8((r*19595 + g*38470 + b*7471 + 0x8000) >> 16)
	}
	return out
}
