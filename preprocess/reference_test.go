package preprocess

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
)

// referenceImages lists shared/reference/imagenet16_images.txt and finds
// each image in images/imagenet/{calib,eval}; missing ones are "" (the
// shared folder holds 13 of the 16).
func referenceImages(t *testing.T) []string {
	t.Helper()
	list, path := testutil.ReferenceImageList(t)
	root := filepath.Dir(filepath.Dir(path))
	var paths []string
	for _, e := range list {
		p := ""
		for _, d := range []string{"calib", "eval"} {
			c := filepath.Join(root, "images", "imagenet", d, e.Name)
			if _, err := os.Stat(c); err == nil {
				p = c
			}
		}
		paths = append(paths, p)
	}
	return paths
}

// compareReference runs preset at size over the reference images and
// compares with the .bin file, pixel by pixel.
func compareReference(t *testing.T, bin string, preset Preset, size int) {
	paths := referenceImages(t)
	ref, err := ReadReference(testutil.Shared(t, "reference/"+bin), size)
	if err != nil {
		t.Fatal(err)
	}
	if len(ref) != len(paths) {
		t.Fatalf("%s holds %d images, the list names %d", bin, len(ref), len(paths))
	}
	var total, same, compared int
	maxDiff := 0
	for i, p := range paths {
		if p == "" {
			continue
		}
		compared++
		got, err := LoadImage(p, preset, size)
		if err != nil {
			t.Fatal(err)
		}
		imgSame, imgMax := 0, 0
		for j := range got {
			d := int(got[j]) - int(ref[i][j])
			if d < 0 {
				d = -d
			}
			if d == 0 {
				imgSame++
			}
			imgMax = max(imgMax, d)
		}
		if imgMax != 0 {
			t.Errorf("%s: %d of %d values differ, max |diff| %d", filepath.Base(p), len(got)-imgSame, len(got), imgMax)
		}
		total += len(got)
		same += imgSame
		maxDiff = max(maxDiff, imgMax)
	}
	t.Logf("%s: %d of %d images present; %d/%d values identical (%.4f%%), max |diff| %d",
		bin, compared, len(paths), same, total, 100*float64(same)/float64(total), maxDiff)
}

// TestSlimMatchesPillow checks the slim preset bit for bit against the
// uint8 inputs Pillow 9.4 made for the reference runs.
func TestSlimMatchesPillow(t *testing.T) {
	for _, s := range []int{96, 128, 160, 192, 224} {
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			compareReference(t, fmt.Sprintf("imagenet16_u8_nhwc_%d.bin", s), Slim, s)
		})
	}
}

func TestTorchCropMatchesPillow(t *testing.T) {
	compareReference(t, "imagenet16_u8_nhwc_224_torchcrop.bin", Torch, 224)
}

// TestTorchNormMatchesNumpy checks the float32 normalization against the
// reference NCHW float file, bit for bit, starting from the reference's
// own uint8 crop (so that it tests the mapping alone).
func TestTorchNormMatchesNumpy(t *testing.T) {
	crops, err := ReadReference(testutil.Shared(t, "reference/imagenet16_u8_nhwc_224_torchcrop.bin"), 224)
	if err != nil {
		t.Fatal(err)
	}
	var ref []float32
	for _, img := range testutil.TorchNormImages(t) {
		ref = append(ref, img...)
	}
	tg := Target{Mode: TorchNorm, DType: ir.Float32, Layout: NCHW, N: len(crops), H: 224, W: 224, Channels: 3}
	x, err := ToTensor(crops, tg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ref) != len(x.F32) {
		t.Fatalf("reference has %d values, want %d", len(ref), len(x.F32))
	}
	bad := 0
	for i, v := range x.F32 {
		if want := ref[i]; v != want {
			if bad < 5 {
				t.Errorf("element %d: got %v, want %v", i, v, want)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d values differ", bad, len(x.F32))
	}
}
