package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/eval"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/render"
)

type runTaskLine struct {
	Index      int    `json:"index"`
	Image      string `json:"image"`
	Task       string `json:"task"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	Classes    []runClassJSON
	Detections []runDetectionJSON
	Outputs    []struct {
		Name   string    `json:"name"`
		Shape  []int     `json:"shape"`
		DType  string    `json:"dtype"`
		Values []float64 `json:"values"`
	}
}

func parseTaskLine(t *testing.T, out string) runTaskLine {
	t.Helper()
	var l runTaskLine
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &l); err != nil {
		t.Fatalf("%.300s: %v", out, err)
	}
	return l
}

func readPNG(t *testing.T, path string) *image.RGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(m.Bounds())
	for y := m.Bounds().Min.Y; y < m.Bounds().Max.Y; y++ {
		for x := m.Bounds().Min.X; x < m.Bounds().Max.X; x++ {
			rgba.Set(x, y, m.At(x, y))
		}
	}
	return rgba
}

// TestRunDetection runs the pets SSD (it ends in TFLite_Detection_PostProcess)
// on the apps' cat input: TFLite gives Abyssinian 0.832 first
// (shared/apps/README.md). The summary, --json and --draw must agree.
func TestRunDetection(t *testing.T) {
	model := testutil.Shared(t, "apps/models/ssd_mobilenet_v1_0.75_depth_pets_quant_detect.tflite")
	pixels := testutil.Shared(t, "apps/inputs/ssd300_cat_bilinear.bin")
	labels := testutil.Shared(t, "apps/labels/pets_labels_derived.txt")
	out, err := inspRunCLI(t, "run", model, "--pixels", pixels, "--labels", labels)
	skipIfKernelMissing(t, err)
	if !strings.Contains(out, "1 detection with score >= 0.5 on 300x300 pixels") || !strings.Contains(out, "0     0.832  ") || !strings.Contains(out, "Abyssinian") {
		t.Errorf("summary:\n%s", out)
	}

	draw := filepath.Join(t.TempDir(), "boxes.png")
	out, err = inspRunCLI(t, "run", model, "--pixels", pixels, "--labels", labels, "--json", "--min-score", "0.1", "--draw", draw)
	if err != nil {
		t.Fatal(err)
	}
	l := parseTaskLine(t, out)
	if l.Task != "detection" || l.Width != 300 || l.Height != 300 || len(l.Detections) < 2 {
		t.Fatalf("line: %+v", l)
	}
	d := l.Detections[0]
	if d.Class != 0 || d.Label != "Abyssinian" || d.Score < 0.8 || d.Score > 0.85 {
		t.Errorf("first detection %+v, want Abyssinian 0.832", d)
	}
	for _, d := range l.Detections {
		if d.Score < 0.1 {
			t.Errorf("detection %+v under --min-score 0.1", d)
		}
	}
	wantShapes := [][]int{{1, 10, 4}, {1, 10}, {1, 10}, {1}}
	if len(l.Outputs) != 4 {
		t.Fatalf("%d outputs, want 4", len(l.Outputs))
	}
	for i, o := range l.Outputs {
		if o.Name == "" || o.DType != "float32" || len(o.Values) != ir.NumElements(wantShapes[i]) || !slices.Equal(o.Shape, wantShapes[i]) {
			t.Errorf("output %d: %s %v %s with %d values, want shape %v", i, o.Name, o.Shape, o.DType, len(o.Values), wantShapes[i])
		}
	}
	// The box's outline in its class's colour, where the JSON puts it.
	m := readPNG(t, draw)
	if m.Bounds().Dx() != 300 || m.Bounds().Dy() != 300 {
		t.Fatalf("--draw is %v, want 300x300", m.Bounds())
	}
	x0, y1 := int(d.Box[0]+0.5), int(d.Box[3]+0.5)
	if got, want := m.RGBAAt(x0, (int(d.Box[1])+y1)/2), render.DistinctColor(0); got != want {
		t.Errorf("left edge of the box at x=%d: %v, want %v", x0, got, want)
	}
}

// TestRunSegmentation runs DeepLab 513 (ArgMax output) on a 640x480 COCO
// photo of people: the class map comes back at the photo's size, and
// --draw tints exactly the pixels of each class.
func TestRunSegmentation(t *testing.T) {
	model := testutil.Shared(t, "apps/models/deeplabv3_mnv2_pascal_quant.tflite")
	photo := testutil.Shared(t, "datasets/coco-val128/images/000000001000.jpg")
	labels := testutil.Shared(t, "datasets/coco-val128/voc_labels.txt")
	draw := filepath.Join(t.TempDir(), "seg.png")
	out, err := inspRunCLI(t, "run", model, "--image", photo, "--labels", labels, "--json", "--draw", draw)
	skipIfKernelMissing(t, err)
	l := parseTaskLine(t, out)
	if l.Task != "segmentation" || l.Width != 640 || l.Height != 480 || len(l.Outputs) != 1 || !slices.Equal(l.Outputs[0].Shape, []int{1, 513, 513}) {
		t.Fatalf("line: task %s %dx%d, %d outputs", l.Task, l.Width, l.Height, len(l.Outputs))
	}
	total := 0
	person := false
	for _, c := range l.Classes {
		total += c.Pixels
		person = person || c.Class == 15 && c.Label == "person" && c.Share > 0.2
	}
	if total != 640*480 || !person {
		t.Errorf("classes %+v: %d pixels, want 640x480 with person over 20%%", l.Classes, total)
	}

	pred := make([]int, len(l.Outputs[0].Values))
	for i, v := range l.Outputs[0].Values {
		pred[i] = int(v)
	}
	classes := eval.ResizeClassMap(pred, 513, 513, 480, 640)
	orig, err := preprocess.DecodeFile(photo)
	if err != nil {
		t.Fatal(err)
	}
	m := readPNG(t, draw)
	if m.Bounds() != image.Rect(0, 0, 640, 480) {
		t.Fatalf("--draw is %v, want 640x480", m.Bounds())
	}
	// Away from the legend (top-left) and from class borders (outlined),
	// class 0 keeps the photo's pixel and every other class is the blend
	// of the photo with its VOC colour.
	same := func(i int) bool {
		x, y := i%640, i/640
		if x < 2 || y < 2 || x > 636 || y > 476 {
			return false
		}
		// A 2-pixel outline reaches a pixel from the edge pixels right of
		// and below it, which are edges when their own neighbours differ.
		for dy := -1; dy <= 2; dy++ {
			for dx := -1; dx <= 2; dx++ {
				if classes[i+dy*640+dx] != classes[i] {
					return false
				}
			}
		}
		return true
	}
	want := image.NewRGBA(m.Bounds())
	copy(want.Pix, mustRGBA(t, orig).Pix)
	if err := render.Overlay(want, classes, render.VOCColor, runSegAlpha, 0); err != nil {
		t.Fatal(err)
	}
	checked, tinted := 0, 0
	for i := range classes {
		if i%640 < 200 && i/640 < 60 || !same(i) {
			continue
		}
		x, y := i%640, i/640
		if got, w := m.RGBAAt(x, y), want.RGBAAt(x, y); got != w {
			t.Fatalf("pixel (%d, %d) of class %d is %v, want %v", x, y, classes[i], got, w)
		}
		checked++
		if classes[i] != 0 {
			tinted++
		}
	}
	if tinted < 50000 || checked < 200000 {
		t.Errorf("%d pixels checked, %d tinted: too few", checked, tinted)
	}
	// The legend's person swatch.
	if n := countColor(m, render.VOCColor(15)); n < 13*13 {
		t.Errorf("%d pixels of the person colour, want at least the legend's swatch", n)
	}
}

// TestRunSegmentationCut: cut at the [1,33,33,21] scores before the
// resize, auto keeps the top-5 (a cut may end in any feature map) and
// --task segmentation reads the scores as a class map; the bird input
// is about one fifth bird (TFLite's class map agrees with coral's mask).
func TestRunSegmentationCut(t *testing.T) {
	model := testutil.Shared(t, "apps/models/deeplabv3_mnv2_pascal_quant.tflite")
	pixels := testutil.Shared(t, "apps/inputs/seg513_bird_segmentation.bin")
	out, err := inspRunCLI(t, "run", model, "--pixels", pixels, "--outputs", "ResizeBilinear_1")
	skipIfKernelMissing(t, err)
	if !strings.Contains(out, "  1. ") {
		t.Errorf("auto on a cut graph: want the top-5, got\n%s", out)
	}
	out, err = inspRunCLI(t, "run", model, "--pixels", pixels, "--outputs", "ResizeBilinear_1", "--task", "segmentation", "--json")
	if err != nil {
		t.Fatal(err)
	}
	l := parseTaskLine(t, out)
	if l.Width != 513 || l.Height != 513 || len(l.Classes) != 2 || l.Classes[1].Class != 3 || l.Classes[1].Share < 0.15 || l.Classes[1].Share > 0.25 {
		t.Errorf("classes %+v on %dx%d, want background and about 20%% bird on 513x513", l.Classes, l.Width, l.Height)
	}
}

// mustPNG is a small valid PNG.
func mustPNG(t *testing.T) []byte {
	t.Helper()
	m, err := render.FromRGB(make([]uint8, 3*8*8), 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	data, err := render.EncodePNG(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustRGBA(t *testing.T, m *preprocess.Image) *image.RGBA {
	t.Helper()
	r, err := render.FromRGB(m.Pix, m.W, m.H)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func countColor(m *image.RGBA, c interface{ RGBA() (r, g, b, a uint32) }) int {
	n := 0
	r0, g0, b0, _ := c.RGBA()
	for i := 0; i < len(m.Pix); i += 4 {
		if uint32(m.Pix[i])*0x101 == r0 && uint32(m.Pix[i+1])*0x101 == g0 && uint32(m.Pix[i+2])*0x101 == b0 {
			n++
		}
	}
	return n
}

// TestRunTaskRefusals: bad --task values and --draw misuse are refused
// before any work (exit 2), and a refused run writes nothing.
func TestRunTaskRefusals(t *testing.T) {
	seg := testutil.Shared(t, "apps/models/deeplabv3_mnv2_pascal_quant.tflite")
	cls := testutil.Shared(t, "models/tflite/mlcommons_tiny_vww_96_int8.tflite")
	photo := testutil.Shared(t, "datasets/coco-val128/images/000000001000.jpg")
	dir := t.TempDir()
	png := filepath.Join(dir, "out.png")
	inDir := t.TempDir()
	inPNG := filepath.Join(inDir, "in.png")
	if err := os.WriteFile(inPNG, mustPNG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad task", []string{"run", seg, "--image", photo, "--task", "pose"}, `--task "pose"`},
		{"draw folder missing", []string{"run", seg, "--image", photo, "--draw", filepath.Join(dir, "nope", "out.png")}, "does not exist"},
		{"draw not png", []string{"run", seg, "--image", photo, "--draw", filepath.Join(dir, "out.jpg")}, "want a .png file"},
		{"draw classification", []string{"run", cls, "--image", photo, "--draw", png}, "classification"},
		{"draw two images", []string{"run", seg, "--image", photo, "--image", photo, "--draw", png}, "one image; 2 were given"},
		{"detection without post-processing", []string{"run", seg, "--image", photo, "--task", "detection"}, "DetectionPostProcess"},
		{"decoding flag on a classifier", []string{"run", cls, "--image", photo, "--box-coding", "center"}, "--box-coding decodes detections"},
		{"segmentation of a classifier", []string{"run", cls, "--image", photo, "--task", "segmentation"}, "class map"},
		{"crop", []string{"run", seg, "--image", photo, "--resize", "slim"}, "use --resize full"},
		{"draw over the input", []string{"run", seg, "--image", inPNG, "--draw", inPNG}, "is the input image"},
		{"min-score NaN", []string{"run", seg, "--image", photo, "--min-score", "NaN"}, "--min-score"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := inspRunCLI(t, c.args...)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want exit 2 with %q", err, c.want)
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("refused runs left %d files in %s", len(ents), dir)
	}
}

// TestRunDetectionRaw runs the pets SSD cut before its
// TFLite_Detection_PostProcess (run --outputs: raw uint8 box encodings and
// scores; the constant anchors, which a cut cannot make an output, from a
// file) and decodes it with eval's decoder (--box-coding center and the
// node's scales): the same printout and the same picture as the whole
// model. Without --box-coding, auto still sees a detector and asks for it.
func TestRunDetectionRaw(t *testing.T) {
	model := testutil.Shared(t, "apps/models/ssd_mobilenet_v1_0.75_depth_pets_quant_detect.tflite")
	pixels := testutil.Shared(t, "apps/inputs/ssd300_cat_bilinear.bin")
	labels := testutil.Shared(t, "apps/labels/pets_labels_derived.txt")
	dir := t.TempDir()
	node, anchors := petsRawParts(t, model, dir)
	a := node.Attrs.(*ir.DetectionPostProcessAttrs)
	postPNG, rawPNG := filepath.Join(dir, "post.png"), filepath.Join(dir, "raw.png")
	post, err := inspRunCLI(t, "run", model, "--pixels", pixels, "--labels", labels, "--min-score", "0.1", "--draw", postPNG)
	skipIfKernelMissing(t, err)
	cut := []string{"run", model, "--pixels", pixels, "--labels", labels, "--min-score", "0.1",
		"--outputs", node.Inputs[0].Name + "," + node.Inputs[1].Name, "--anchors", anchors}
	raw, err := inspRunCLI(t, append(slices.Clone(cut), "--box-coding", "center", "--draw", rawPNG,
		"--box-scales", fmt.Sprintf("%g,%g,%g,%g", a.YScale, a.XScale, a.HScale, a.WScale), "--max-detections", fmt.Sprint(a.MaxDetections))...)
	if err != nil {
		t.Fatal(err)
	}
	if raw != post || !strings.Contains(raw, "Abyssinian") {
		t.Errorf("raw decoding printed\n%s\nthe post-processed model\n%s", raw, post)
	}
	pb, _ := os.ReadFile(postPNG)
	rb, _ := os.ReadFile(rawPNG)
	if len(rb) == 0 || !bytes.Equal(pb, rb) {
		t.Errorf("--draw: raw decoding's PNG (%d bytes) differs from the post-processed model's (%d bytes)", len(rb), len(pb))
	}
	_, err = inspRunCLI(t, cut...)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "--box-coding") {
		t.Errorf("auto without --box-coding: %v, want exit 2 asking for --box-coding", err)
	}
}

// TestRunDetectionST runs ST's SSD MobileNetV2-FPNLite (raw outputs:
// scores [1,6820,81], box encodings and anchors [1,6820,4], corner
// offsets) on COCO image 139: the shared reference's best detection there
// is tv 0.891, chairs after (apps/reference/coco), and --draw writes a PNG
// of the photo.
func TestRunDetectionST(t *testing.T) {
	model := testutil.Shared(t, "apps/models/st_ssd_mobilenet_v2_fpnlite_100_256_coco80_int8.tflite")
	photo := testutil.Shared(t, "datasets/coco-val128/images/000000000139.jpg")
	labels := testutil.Shared(t, "datasets/coco-val128/coco80_names.txt")
	if _, err := loadModel(model, io.Discard); err != nil {
		t.Skipf("skipping: the ST SSD does not import yet (its output shapes are computed at run time): %v", err)
	}
	draw := filepath.Join(t.TempDir(), "st.png")
	// the outputs found from their shapes, as eval finds them
	out, err := inspRunCLI(t, "run", model, "--image", photo, "--labels", labels, "--box-coding", "corners", "--min-score", "0.3", "--draw", draw)
	skipIfKernelMissing(t, err)
	lines := strings.Split(out, "\n")
	if len(lines) < 4 || !strings.HasSuffix(strings.TrimSpace(lines[2]), " tv") || !strings.Contains(lines[2], "0.89") || !strings.HasSuffix(strings.TrimSpace(lines[3]), " chair") {
		t.Errorf("want tv 0.89 first, a chair second:\n%s", out)
	}
	m := readPNG(t, draw)
	if m.Bounds().Dx() != 640 || m.Bounds().Dy() != 426 {
		t.Errorf("--draw is %v, want the photo's 640x426", m.Bounds())
	}
}
