package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// evalDetJSONOut runs eval --task detection --json and decodes the report.
func evalDetJSONOut(t *testing.T, args ...string) evalDetReport {
	t.Helper()
	out, err := execCLI(t, []*cobra.Command{evalCmd}, append([]string{"eval", "--task", "detection", "--json", "--min-images", "1", "--workers", "2"}, args...)...)
	if err != nil {
		t.Fatalf("eval %v: %v", args, err)
	}
	var r evalDetReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

// The pets SSD on three COCO images, scored against annotations made from
// its own confident detections (so mAP@0.5 is 1), then the same model cut
// before its DetectionPostProcess (raw uint8 boxes and scores, anchors
// from a file) decoded with --box-coding center: the same detections and
// mAP, and the gate between the two passes with a JUnit report.
func TestEvalDetectionPets(t *testing.T) {
	model := testutil.Shared(t, "apps/models/ssd_mobilenet_v1_0.75_depth_pets_quant_detect.tflite")
	images := testutil.Shared(t, "datasets/coco-val128/images")
	dir := t.TempDir()
	// any annotations of the three first images, to get the detections
	seed := filepath.Join(dir, "seed.csv")
	os.WriteFile(seed, []byte("file,class_id,xmin,ymin,xmax,ymax\n000000000139.jpg,0,0,0,1,1\n000000000285.jpg,0,0,0,1,1\n000000000632.jpg,0,0,0,1,1\n"), 0o644)
	first := evalDetJSONOut(t, model, "--images", images, "--annotations", seed)
	var csv strings.Builder
	csv.WriteString("file,class_id,xmin,ymin,xmax,ymax\n")
	n, files := 0, map[string]bool{}
	for _, im := range first.PerImage {
		for _, d := range im.Detections {
			if d.Score >= 0.1 {
				files[im.File] = true
				fmt.Fprintf(&csv, "%s,%d,%g,%g,%g,%g\n", im.File, d.Class, d.Box.XMin, d.Box.YMin, d.Box.XMax, d.Box.YMax)
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no detection scores 0.1")
	}
	ann := filepath.Join(dir, "ann.csv")
	os.WriteFile(ann, []byte(csv.String()), 0o644)
	post := evalDetJSONOut(t, model, "--images", images, "--annotations", ann)
	if post.N != len(files) || post.MAP50 != 1 || post.Truth != n {
		t.Errorf("against its own detections: n %d (want %d) mAP@0.5 %v truth %d (want %d)", post.N, len(files), post.MAP50, post.Truth, n)
	}

	// the raw twin: convert --outputs, anchors written as a file
	raw := filepath.Join(dir, "raw.tflite")
	node, anchors := petsRawParts(t, model, dir)
	a := node.Attrs.(*ir.DetectionPostProcessAttrs)
	if _, err := execCLI(t, []*cobra.Command{convertCmd}, "convert", model, raw, "--outputs", node.Inputs[0].Name+","+node.Inputs[1].Name); err != nil {
		t.Fatal(err)
	}
	rawArgs := []string{raw, "--images", images, "--annotations", ann, "--box-coding", "center", "--anchors", anchors, "--det-background", "first",
		"--box-scales", fmt.Sprintf("%g,%g,%g,%g", a.YScale, a.XScale, a.HScale, a.WScale), "--max-detections", strconv.Itoa(a.MaxDetections)}
	center := evalDetJSONOut(t, rawArgs...)
	if center.MAP50 != post.MAP50 || center.MAP != post.MAP || len(center.PerImage) != len(post.PerImage) {
		t.Errorf("center decoding: mAP %v / %v, post-processed %v / %v", center.MAP50, center.MAP, post.MAP50, post.MAP)
	}
	for i := range center.PerImage {
		if !slices.Equal(center.PerImage[i].Detections, post.PerImage[i].Detections) {
			t.Errorf("%s: center %v\npost-processed %v", center.PerImage[i].File, center.PerImage[i].Detections, post.PerImage[i].Detections)
		}
	}

	// the gate: raw against post-processed passes; with its scales wrong
	// the raw model fails it (exit 1) and the JUnit report says why
	junit := filepath.Join(dir, "gate.xml")
	gateArgs := append(slices.Clone(rawArgs), "--baseline", model, "--max-drop", "0.5", "--junit", junit)
	out, err := execCLI(t, []*cobra.Command{evalCmd}, append([]string{"eval", "--task", "detection", "--min-images", "1"}, gateArgs...)...)
	if err != nil || !strings.Contains(out, "gate:      PASS") || !strings.Contains(out, "mAP@0.5: 1.0000") {
		t.Errorf("gate: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(junit); !strings.Contains(string(b), `failures="0"`) {
		t.Errorf("JUnit:\n%s", b)
	}
	gateArgs[slices.Index(gateArgs, "--box-scales")+1] = "1,1,1,1"
	out, err = execCLI(t, []*cobra.Command{evalCmd}, append([]string{"eval", "--task", "detection", "--min-images", "1"}, gateArgs...)...)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out, "gate:      FAIL: mAP@0.5 dropped") {
		t.Errorf("gate with wrong scales: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(junit); !strings.Contains(string(b), `failures="1"`) || !strings.Contains(string(b), "mAP@0.5 dropped") {
		t.Errorf("JUnit:\n%s", b)
	}
}

// petsRawParts finds the pets SSD's DetectionPostProcess (its inputs 0 and
// 1 are the raw box encodings and scores) and writes its constant anchors
// to dir/anchors.txt, dequantized, one ycenter,xcenter,h,w a line.
func petsRawParts(t *testing.T, model, dir string) (*ir.Node, string) {
	t.Helper()
	g, err := importers.Load(model, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var node *ir.Node
	for _, x := range g.Nodes {
		if x.Op == ir.OpDetectionPostProcess {
			node = x
		}
	}
	if node == nil {
		t.Fatalf("%s has no DetectionPostProcess", model)
	}
	anc := node.Inputs[2]
	var lines strings.Builder
	ct := runtime.FromConst(anc)
	for i := range anc.Len() {
		v := (float32(ct.Float(i)) - float32(anc.Quant.ZeroPoint[0])) * anc.Quant.Scale[0]
		lines.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 32))
		if i%4 == 3 {
			lines.WriteString("\n")
		} else {
			lines.WriteString(",")
		}
	}
	anchors := filepath.Join(dir, "anchors.txt")
	if err := os.WriteFile(anchors, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return node, anchors
}

func TestEvalDetectionUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--task", "detection"}, "--annotations"},
		{[]string{"--annotations", "x.csv"}, "--annotations needs --task detection"},
		{[]string{"--task", "detection", "--annotations", "x.csv", "--nms", "soft"}, "--nms"},
		{[]string{"--task", "detection", "--annotations", "x.csv", "--min-top1", "5"}, "--min-top1 is not supported"},
		{[]string{"--task", "detection", "--annotations", "x.csv", "--baseline", "b.tflite"}, "--max-drop"},
		{[]string{"--task", "segmentation", "--masks", dir, "--junit", "g.xml"}, "--junit needs --baseline"},
	} {
		_, err := execCLI(t, []*cobra.Command{evalCmd}, append([]string{"eval", "m.tflite", "--images", dir}, c.args...)...)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want exit 2 with %q", c.args, err, c.want)
		}
	}
}

// eval --task segmentation --junit: the gate of a model against itself
// passes and says so in the JUnit report.
func TestEvalSegmentationJUnit(t *testing.T) {
	model := testutil.Shared(t, "apps/models/deeplabv3_257_mv_gpu_float.tflite")
	images := testutil.Shared(t, "datasets/coco-val128/images")
	masks := testutil.Shared(t, "datasets/coco-val128/voc_masks")
	junit := filepath.Join(t.TempDir(), "seg.xml")
	out, err := execCLI(t, []*cobra.Command{evalCmd}, "eval", model, "--task", "segmentation", "--images", images, "--masks", masks,
		"--limit", "2", "--min-images", "1", "--preprocess", "keras", "--baseline", model, "--max-drop", "0", "--junit", junit)
	if err != nil || !strings.Contains(out, "gate:      PASS") {
		t.Fatalf("%v\n%s", err, out)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`tests="1" failures="0"`, `name="mIoU_drop &lt;= 0.00"`, "drop=0.00 points"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JUnit lacks %q:\n%s", want, b)
		}
	}
}

// eval --task segmentation --json with --baseline runs the gate too: the
// document carries the baseline and the comparison, and a failing gate
// exits 1 (it used to print the model's result and return before the
// baseline ran).
func TestEvalSegmentationJSONGate(t *testing.T) {
	model := testutil.Shared(t, "apps/models/deeplabv3_257_mv_gpu_float.tflite")
	images := testutil.Shared(t, "datasets/coco-val128/images")
	masks := testutil.Shared(t, "datasets/coco-val128/voc_masks")
	out, err := execCLI(t, []*cobra.Command{evalCmd}, "eval", model, "--task", "segmentation", "--images", images, "--masks", masks,
		"--limit", "2", "--min-images", "1", "--preprocess", "keras", "--baseline", model, "--max-drop", "0", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var doc struct {
		MIoU     float64 `json:"miou"`
		Baseline *struct {
			MIoU float64 `json:"miou"`
		} `json:"baseline"`
		Gate *struct {
			Pass bool `json:"pass"`
		} `json:"gate"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.Baseline == nil || doc.Gate == nil || !doc.Gate.Pass || doc.Baseline.MIoU != doc.MIoU {
		t.Errorf("--json --baseline: want the baseline and a passing gate, got %s", out)
	}
}

// quantize calibrates a detector on whole images stretched, as eval and
// run feed it, when --preprocess auto would have cropped, and says so.
func TestQuantizeDetectorWholeImage(t *testing.T) {
	ssd := testutil.Shared(t, "apps/models/ssd_mobilenet_v1_0.75_depth_pets_quant_detect.tflite")
	calib := testutil.Shared(t, "images/imagenet/calib")
	dir := t.TempDir()
	float := filepath.Join(dir, "ssd_float.tflite")
	if out, err := execCLI(t, []*cobra.Command{convertCmd}, "convert", ssd, float, "--dequantize"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	_, stderr, err := execCLIStderr(t, []*cobra.Command{quantizeCmd}, "quantize", float, filepath.Join(dir, "ssd_int8.tflite"),
		"--calib", calib, "--calib-count", "2", "--no-progress", "--preprocess", "auto", "--force")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "detection outputs: calibrating on whole images stretched (--resize full)") {
		t.Errorf("quantize of an SSD: want the whole-image note, got:\n%s", stderr)
	}
}
