package preprocess

import (
	"fmt"
	"math"
	"strings"
)

// Preset is a geometric preprocessing recipe: how an image of any size
// becomes the model's width x height.
type Preset uint8

// Presets. Each reproduces the reference pipeline in shared/README.md.
const (
	// Slim: central crop of 87.5% of each side (TF-slim's
	// central_crop(0.875)), then bilinear resize to the model size.
	Slim Preset = iota
	// Torch: torchvision's Resize(256) + CenterCrop(224), scaled to the
	// model size: the short side goes to size*256/224, then a central
	// size x size crop.
	Torch
	// Full: the whole image resized to the model size (aspect not kept).
	Full
)

var presetNames = [...]string{"slim", "torch", "full"}

func (p Preset) String() string {
	if int(p) < len(presetNames) {
		return presetNames[p]
	}
	return fmt.Sprintf("preset(%d)", uint8(p))
}

// ParsePreset reads a preset name.
func ParsePreset(s string) (Preset, error) {
	for i, n := range presetNames {
		if strings.EqualFold(s, n) {
			return Preset(i), nil
		}
	}
	return 0, fmt.Errorf("unknown preprocessing preset %q (want %s)", s, strings.Join(presetNames[:], ", "))
}

// roundHalfEven is Python 3's round() on a float.
func roundHalfEven(x float64) int { return int(math.RoundToEven(x)) }

// Apply maps a decoded image to w x h pixels under the preset.
func (p Preset) Apply(m *Image, w, h int) (*Image, error) {
	if w < 1 || h < 1 || w > MaxSide || h > MaxSide {
		return nil, fmt.Errorf("output size %dx%d must be 1 to %d", w, h, MaxSide)
	}
	switch p {
	case Slim:
		left, top, cw, ch := slimCrop(m.W, m.H)
		return m.Crop(left, top, cw, ch).Resize(w, h)
	case Torch:
		rw, rh := torchResize(m.W, m.H, w, h)
		if rw > MaxSide*4 || rh > MaxSide*4 {
			return nil, fmt.Errorf("torch preset: a %dx%d image would be resized to %dx%d", m.W, m.H, rw, rh)
		}
		r, err := m.Resize(rw, rh)
		if err != nil {
			return nil, err
		}
		return r.Crop((rw-w)/2, (rh-h)/2, w, h), nil
	case Full:
		return m.Resize(w, h)
	}
	return nil, fmt.Errorf("unknown preprocessing preset %v", p)
}

// slimCrop is the central 87.5% box: sides round(0.875*side) (half to
// even, as Python's round), offsets (side - cropped)//2.
func slimCrop(w, h int) (left, top, cw, ch int) {
	cw = max(roundHalfEven(float64(w)*0.875), 1)
	ch = max(roundHalfEven(float64(h)*0.875), 1)
	return (w - cw) / 2, (h - ch) / 2, cw, ch
}

// torchResize is the size the torch preset resizes a w x h image to before
// cropping outW x outH, following the reference
// (shared/tools/reference-runtimes/prep_onnx.py): s = 256/min(w,h), size
// (max(224, round(w*s)), max(224, round(h*s))). Other crop sizes scale 256
// with the crop (256/224 of the larger output side).
func torchResize(w, h, outW, outH int) (rw, rh int) {
	crop := max(outW, outH)
	s := 256.0 * float64(crop) / 224.0 / float64(min(w, h))
	return max(crop, roundHalfEven(float64(w)*s)), max(crop, roundHalfEven(float64(h)*s))
}

// LoadImage decodes an image file and applies the preset, returning
// size x size RGB pixels, row-major, 3 bytes per pixel (HWC).
func LoadImage(path string, p Preset, size int) ([]uint8, error) {
	m, err := Load(path, p, size, size)
	if err != nil {
		return nil, err
	}
	return m.Pix, nil
}

// Load decodes an image file and applies the preset for a w x h model input.
func Load(path string, p Preset, w, h int) (*Image, error) {
	m, err := DecodeFile(path)
	if err != nil {
		return nil, err
	}
	out, err := p.Apply(m, w, h)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
