package eval

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/preprocess"
)

func TestSegmentationMetrics(t *testing.T) {
	s := NewSegmentation(3)
	// A 2x2 class map on a 4x4 mask: each prediction covers a 2x2 block.
	pred := []int{0, 1, 2, 7}
	mask := []uint8{
		0, 0, 1, 1,
		0, 255, 1, 2,
		2, 2, 0, 0,
		2, 2, 0, 0,
	}
	if err := s.Add(pred, 2, 2, mask, 4, 4); err != nil {
		t.Fatal(err)
	}
	m := s.Metrics()
	// class 0: TP 3, truth 7 (4 under the out-of-range 7), predicted 3 -> 3/7
	// class 1: TP 3, truth 3, predicted 4 -> 3/4; class 2: TP 4, truth 5, predicted 4 -> 4/5.
	want := []float64{3.0 / 7, 3.0 / 4, 4.0 / 5}
	for c, w := range want {
		if math.Abs(m.PerClass[c].IoU-w) > 1e-12 {
			t.Errorf("class %d IoU %v, want %v", c, m.PerClass[c].IoU, w)
		}
	}
	if m.Pixels != 15 || math.Abs(m.PixelAccuracy-10.0/15) > 1e-12 || m.ClassesScored != 3 {
		t.Errorf("pixels %d accuracy %v classes %d", m.Pixels, m.PixelAccuracy, m.ClassesScored)
	}
	if err := s.Add(pred, 2, 2, []uint8{9, 0, 0, 0}, 2, 2); err == nil {
		t.Error("mask class 9 of 3 accepted")
	}
}

// The shared references' class maps (TFLite's, at model resolution) scored
// against the 100 COCO masks give the references' own mIoU and pixel
// accuracy: the nearest-neighbour upsampling and the IoU formula are theirs.
func TestSegmentationReproducesReferences(t *testing.T) {
	dir := testutil.Shared(t, "apps/reference/coco/segmentation")
	masks := testutil.Shared(t, "datasets/coco-val128/voc_masks")
	list, err := os.ReadFile(testutil.Shared(t, "datasets/coco-val128/seg_images.txt"))
	if err != nil {
		t.Fatal(err)
	}
	images := strings.Fields(string(list))
	for _, model := range []string{"deeplabv3_257_mv_gpu_float", "st_deeplabv3_257_int8_per_tensor", "deeplabv3_mnv2_pascal_quant"} {
		if testing.Short() && model == "deeplabv3_mnv2_pascal_quant" {
			continue
		}
		t.Run(model, func(t *testing.T) {
			var ref struct {
				MIoU     float64 `json:"mIoU_gt_classes"`
				PixelAcc float64 `json:"pixel_acc"`
				Pixels   int64   `json:"pixels_scored"`
			}
			data, err := os.ReadFile(filepath.Join(dir, model+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &ref); err != nil {
				t.Fatal(err)
			}
			m := referenceScores(t, model, images, masks)
			t.Logf("%s: mIoU %.4f (reference %.4f), pixel accuracy %.4f (%.4f), %d pixels (%d), %d classes", model, m.MIoU, ref.MIoU, m.PixelAccuracy, ref.PixelAcc, m.Pixels, ref.Pixels, m.ClassesScored)
			if math.Abs(m.MIoU-ref.MIoU) > 1e-9 || math.Abs(m.PixelAccuracy-ref.PixelAcc) > 1e-9 || m.Pixels != ref.Pixels {
				t.Errorf("mIoU %v pixel accuracy %v pixels %d; reference %v %v %d", m.MIoU, m.PixelAccuracy, m.Pixels, ref.MIoU, ref.PixelAcc, ref.Pixels)
			}
		})
	}
}

// EvaluateSegmentation on the float DeepLab (whole image stretched, the
// Full preset) gives, on the first 8 masked images, exactly the scores of
// TFLite's class maps: our preprocessing and class maps match the
// reference's there.
func TestEvaluateSegmentationFloatDeepLab(t *testing.T) {
	model := testutil.Shared(t, "apps/models/deeplabv3_257_mv_gpu_float.tflite")
	items, err := SegItems(testutil.Shared(t, "datasets/coco-val128/images"), testutil.Shared(t, "datasets/coco-val128/voc_masks"))
	if err != nil {
		t.Fatal(err)
	}
	items = items[:8]
	g, err := importers.Load(model, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := EvaluateSegmentation(context.Background(), g, items, 21, Config{Preset: preprocess.Full, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	var images []string
	for _, it := range items {
		images = append(images, it.File)
	}
	want := referenceScores(t, "deeplabv3_257_mv_gpu_float", images, testutil.Shared(t, "datasets/coco-val128/voc_masks"))
	t.Logf("8 images: mIoU %.4f (TFLite's class maps %.4f), pixel accuracy %.4f (%.4f), %.2f images/s", res.MIoU, want.MIoU, res.PixelAccuracy, want.PixelAccuracy, res.ImagesPerSecond)
	if res.N != 8 || math.Abs(res.MIoU-want.MIoU) > 1e-9 || math.Abs(res.PixelAccuracy-want.PixelAccuracy) > 1e-9 {
		t.Errorf("n %d mIoU %v pixel accuracy %v, want 8, %v, %v", res.N, res.MIoU, res.PixelAccuracy, want.MIoU, want.PixelAccuracy)
	}
}

// referenceScores scores a shared reference's class maps of images against
// the masks in masks.
func referenceScores(t *testing.T, model string, images []string, masks string) SegMetrics {
	t.Helper()
	dir := testutil.Shared(t, "apps/reference/coco/segmentation")
	s := NewSegmentation(21)
	for _, img := range images {
		id := strings.TrimSuffix(img, ".jpg")
		cm, pw, ph, err := ReadClassPNG(filepath.Join(dir, model+"_classmaps", id+".png"))
		if err != nil {
			t.Fatal(err)
		}
		mask, w, h, err := ReadClassPNG(filepath.Join(masks, id+".png"))
		if err != nil {
			t.Fatal(err)
		}
		pred := make([]int, len(cm))
		for i, v := range cm {
			pred[i] = int(v)
		}
		if err := s.Add(pred, ph, pw, mask, h, w); err != nil {
			t.Fatal(err)
		}
	}
	return s.Metrics()
}
