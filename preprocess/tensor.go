package preprocess

import (
	"fmt"
	"os"
	"strings"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// Mode maps a pixel value p in 0..255 to a model's real-valued input.
type Mode uint8

// Modes.
const (
	// Auto: raw for quantized inputs, Torch after the torch preset, else TF.
	Auto Mode = iota
	// TF: (p - 127.5) / 127.5, in [-1, 1] (TF-slim / Keras MobileNets).
	TF
	// Unit: p / 255, in [0, 1].
	Unit
	// TorchNorm: (p/255 - mean[c]) / std[c] with ImageNet's mean and std.
	TorchNorm
	// Raw: the pixel itself. For a quantized input this means the stored
	// integer is the pixel (uint8) or the pixel - 128 (int8), whatever the
	// input's scale says: the convention of the Coral and TFLite Micro
	// models, whose input quantization was designed so that it holds.
	Raw
	// Source: for a float model made by dequantizing a quantized one, the
	// quantized model's own mapping: the raw stored integer q (the pixel,
	// or pixel-128 for an int8 source) read as scale * (q - zero point).
	// Auto picks it when the graph records its source's input quantization.
	Source
)

var modeNames = [...]string{"auto", "tf", "unit", "torch", "raw", "source"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// ParseMode reads a mode name ("" is Auto).
func ParseMode(s string) (Mode, error) {
	if s == "" {
		return Auto, nil
	}
	for i, n := range modeNames {
		if strings.EqualFold(s, n) {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown input mode %q (want %s)", s, strings.Join(modeNames[1:], ", "))
}

// ImageNet channel statistics used by torchvision, as float32 (the reference
// normalizes in float32 numpy arrays).
var (
	torchMean = [3]float32{0.485, 0.456, 0.406}
	torchStd  = [3]float32{0.229, 0.224, 0.225}
)

// Real returns the real-valued input for pixel p of channel c under m
// (Auto and Raw give p). The arithmetic is float32, in the order numpy
// evaluates the reference pipelines, so TorchNorm reproduces the float
// reference bit for bit.
func (m Mode) Real(p uint8, c int) float32 {
	v := float32(p)
	switch m {
	case TF:
		return (v - 127.5) / 127.5
	case Unit:
		return v / 255
	case TorchNorm:
		return (v/255 - torchMean[c%3]) / torchStd[c%3]
	}
	return v
}

// Layout is the order of a 4-D image tensor: the ir's layout type.
type Layout = ir.Layout

// Layouts a target can have; TargetFor always sets one of them.
const (
	NHWC = ir.NHWC
	NCHW = ir.NCHW
)

// Target describes a model's image input: what the tensor looks like and
// how pixels map onto it.
type Target struct {
	Mode Mode // never Auto once resolved by TargetFor
	// SourceDType, SourceScale and SourceZP describe the quantized input a
	// dequantized model came from (Mode Source).
	SourceDType ir.DType
	SourceScale float32
	SourceZP    int64
	DType       ir.DType
	Quant       *ir.Quant // for int8 / uint8 inputs
	Layout      Layout
	N           int
	H, W        int
	Channels    int // 3, or 1 for grayscale models
}

// TargetFor reads the image geometry of graph input i and resolves mode
// (Auto: raw for quantized inputs, TorchNorm for the Torch preset, else TF).
func TargetFor(g *ir.Graph, i int, preset Preset, mode Mode) (Target, error) {
	if i < 0 || i >= len(g.Inputs) {
		return Target{}, fmt.Errorf("model has %d inputs, no input %d", len(g.Inputs), i)
	}
	in := g.Inputs[i]
	t := Target{DType: in.DType, Quant: in.Quant, Mode: mode}
	if in.Rank() != 4 {
		return Target{}, fmt.Errorf("input %q has shape %v, want an image [N,H,W,C] or [N,C,H,W]", in.Name, in.Shape)
	}
	s := in.Shape
	switch {
	case s[3] == 3 || s[3] == 1:
		t.N, t.H, t.W, t.Channels, t.Layout = s[0], s[1], s[2], s[3], NHWC
	case s[1] == 3 || s[1] == 1:
		t.N, t.Channels, t.H, t.W, t.Layout = s[0], s[1], s[2], s[3], NCHW
	default:
		return Target{}, fmt.Errorf("input %q has shape %v: no channel dimension of 1 or 3", in.Name, in.Shape)
	}
	if t.N < 1 || t.H < 1 || t.W < 1 || t.H > MaxSide || t.W > MaxSide {
		return Target{}, fmt.Errorf("input %q has shape %v, outside the limits", in.Name, in.Shape)
	}
	switch in.DType {
	case ir.Float32:
	case ir.Int8, ir.Uint8:
		if in.Quant == nil || len(in.Quant.Scale) != 1 {
			if mode != Auto && mode != Raw {
				return Target{}, fmt.Errorf("input %q is %v without per-tensor quantization; only raw pixels can feed it", in.Name, in.DType)
			}
		}
	default:
		return Target{}, fmt.Errorf("input %q has dtype %v, want float32, int8 or uint8", in.Name, in.DType)
	}
	if t.Mode == Auto || t.Mode == Source {
		if dt, s, zp, ok := g.SourceInputQuant[in.Name].PerTensor(); ok && in.DType == ir.Float32 {
			t.Mode, t.SourceDType, t.SourceScale, t.SourceZP = Source, dt, s, zp
		} else if t.Mode == Source {
			return Target{}, fmt.Errorf("input %q: the model records no source quantization (it was not made by convert --dequantize)", in.Name)
		}
	}
	if t.Mode == Auto {
		switch {
		case in.DType.IsQuantized():
			t.Mode = Raw
		case preset == Torch:
			t.Mode = TorchNorm
		default:
			t.Mode = TF
		}
	}
	return t, nil
}

// Fill writes one image's pixels (h x w x 3 RGB, row-major) into batch
// slot n of dst, a tensor of the target's shape and dtype.
func (t Target) Fill(dst *runtime.Tensor, n int, pix []uint8) error {
	hw := t.H * t.W
	if len(pix) != hw*3 {
		return fmt.Errorf("image has %d bytes, want %dx%dx3", len(pix), t.H, t.W)
	}
	per := hw * t.Channels
	if dst.DType != t.DType || dst.Len() < (n+1)*per || n < 0 {
		return fmt.Errorf("tensor %v cannot hold image %d of a %v %dx%dx%d batch", dst, n, t.DType, t.H, t.W, t.Channels)
	}
	src := pix
	if t.Channels == 1 {
		src = (&Image{W: t.W, H: t.H, Pix: pix}).Gray()
	}
	// table of the 256 possible values per channel: every mode is a pure
	// function of (pixel, channel)
	var lutF [3][256]float32
	var lutI [3][256]int32
	for c := 0; c < t.Channels; c++ {
		for p := 0; p < 256; p++ {
			lutF[c][p] = t.real(uint8(p), c)
			lutI[c][p] = t.quantize(uint8(p), c)
		}
	}
	base := n * per
	for i := 0; i < hw; i++ {
		for c := 0; c < t.Channels; c++ {
			p := src[i*t.Channels+c]
			j := base + i*t.Channels + c
			if t.Layout == NCHW {
				j = base + c*hw + i
			}
			switch t.DType {
			case ir.Float32:
				dst.F32[j] = lutF[c][p]
			case ir.Uint8:
				dst.U8[j] = uint8(lutI[c][p])
			case ir.Int8:
				dst.I8[j] = int8(lutI[c][p])
			}
		}
	}
	return nil
}

// quantize is the stored integer for pixel p on a quantized input: raw
// pixels (shifted by -128 for int8) in Raw mode, otherwise the mode's real
// value quantized with the input's scale and zero point, rounded half away
// from zero and clamped to the type's range.
func (t Target) quantize(p uint8, c int) int32 {
	if !t.DType.IsQuantized() {
		return 0
	}
	if t.Mode == Raw || t.Mode == Auto || t.Quant == nil || len(t.Quant.Scale) == 0 {
		if t.DType == ir.Int8 {
			return int32(p) - 128
		}
		return int32(p)
	}
	return ir.QuantizeValue(float64(t.Mode.Real(p, c)), t.Quant.S(0), t.Quant.ZP(0), t.DType)
}

// ToTensor stacks images (each h x w x 3 RGB) into one tensor of the
// target's dtype and layout, batch len(pixels).
func ToTensor(pixels [][]uint8, t Target) (*runtime.Tensor, error) {
	n := len(pixels)
	if n < 1 {
		return nil, fmt.Errorf("no images")
	}
	shape := []int{n, t.H, t.W, t.Channels}
	if t.Layout == NCHW {
		shape = []int{n, t.Channels, t.H, t.W}
	}
	dst := runtime.NewTensor(t.DType, shape)
	for i, p := range pixels {
		if err := t.Fill(dst, i, p); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// LoadBatch loads image files with the preset at the target's size and
// stacks them into one tensor (batch len(paths)): what calibration and
// evaluation both use, so that they prepare images identically.
func LoadBatch(paths []string, p Preset, t Target) (*runtime.Tensor, error) {
	pix := make([][]uint8, len(paths))
	for i, path := range paths {
		m, err := Load(path, p, t.W, t.H)
		if err != nil {
			return nil, err
		}
		pix[i] = m.Pix
	}
	return ToTensor(pix, t)
}

// MaxReferenceBytes bounds a reference .bin file read into memory.
const MaxReferenceBytes = 1 << 30

// ReadReference reads a file of images of size x size x 3 uint8 stored back
// to back (shared/reference/imagenet16_u8_nhwc_*.bin) and splits it.
func ReadReference(path string, size int) ([][]uint8, error) {
	if size < 1 || size > MaxSide {
		return nil, fmt.Errorf("%s: image size %d outside 1..%d", path, size, MaxSide)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	per := int64(size) * int64(size) * 3
	if st.Size() > MaxReferenceBytes || st.Size()%per != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of %dx%dx3 images (or over the limit)", path, st.Size(), size, size)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out [][]uint8
	for off := int64(0); off+per <= int64(len(data)); off += per {
		out = append(out, data[off:off+per:off+per])
	}
	return out, nil
}

// real is the real value of pixel p of channel c for this target.
func (t Target) real(p uint8, c int) float32 {
	if t.Mode != Source {
		return t.Mode.Real(p, c)
	}
	q := int64(p)
	if t.SourceDType == ir.Int8 {
		q -= 128
	}
	return t.SourceScale * float32(q-t.SourceZP)
}
