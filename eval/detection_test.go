package eval

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/internal/testutil"
)

// detReference is the part of a shared detection reference
// (apps/reference/coco/detection/MODEL.json) the tests read.
type detReference struct {
	MAP50     float64 `json:"mAP50_voc_allpoint"`
	MAP50COCO float64 `json:"mAP50_coco101"`
	Classes   int     `json:"classes_evaluated"`
	PerClass  map[string]struct {
		Name   string  `json:"name"`
		GT     int     `json:"gt"`
		Dets   int     `json:"dets"`
		TP     int     `json:"tp"`
		APVOC  float64 `json:"ap_voc"`
		APCOCO float64 `json:"ap_coco101"`
	} `json:"per_class"`
	Images []struct {
		File       string `json:"file"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
		Detections []struct {
			Anchor  int        `json:"anchor"`
			Class   int        `json:"class_id"`
			Score   float64    `json:"score"`
			BoxNorm [4]float64 `json:"box_norm_xyxy"`
		} `json:"detections"`
	} `json:"images"`
}

func readDetReference(t *testing.T, model string) *detReference {
	t.Helper()
	b, err := os.ReadFile(testutil.Shared(t, "apps/reference/coco/detection/"+model+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var r detReference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TFLite's own detections of the ST SSD (the shared reference), scored
// here, give the reference's mAP@0.5 (VOC all-point and COCO 101-point)
// and per-class APs: the matching, tie and AP rules are the reference's.
func TestScoreDetectionsReproducesReference(t *testing.T) {
	ref := readDetReference(t, "st_ssd_mobilenet_v2_fpnlite_100_256_coco80_int8")
	ann, err := ReadAnnotations(testutil.Shared(t, "datasets/coco-val128/detection_labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string]GroundTruth{}
	for _, g := range ann.Images {
		byFile[g.File] = g
	}
	var gt []GroundTruth
	var dets [][]Detection
	for _, im := range ref.Images {
		g, ok := byFile[im.File]
		if !ok {
			g = GroundTruth{File: im.File}
		}
		gt = append(gt, g)
		var ds []Detection
		for _, d := range im.Detections {
			w, h := float64(im.Width), float64(im.Height)
			b := d.BoxNorm
			ds = append(ds, Detection{Class: d.Class, Score: d.Score, Box: Box{b[0] * w, b[1] * h, b[2] * w, b[3] * h}})
		}
		dets = append(dets, ds)
	}
	m, err := ScoreDetections(gt, dets, ann.Names)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(m.MAP50-ref.MAP50) > 1e-4 || math.Abs(m.MAP50COCO-ref.MAP50COCO) > 1e-4 {
		t.Errorf("mAP@0.5 %.6f (VOC) %.6f (COCO 101), want %.6f %.6f", m.MAP50, m.MAP50COCO, ref.MAP50, ref.MAP50COCO)
	}
	if math.Abs(m.MAP50-0.2878) > 1e-4 || math.Abs(m.MAP50COCO-0.2894) > 1e-4 {
		t.Errorf("mAP@0.5 %.6f / %.6f, REFERENCE.md says 0.2878 / 0.2894", m.MAP50, m.MAP50COCO)
	}
	if len(m.PerClass) != ref.Classes || m.Truth != 898 {
		t.Errorf("%d classes, %d boxes; want %d, 898", len(m.PerClass), m.Truth, ref.Classes)
	}
	for _, c := range m.PerClass {
		r, ok := ref.PerClass[strconv.Itoa(c.Class)]
		if !ok {
			t.Errorf("class %d scored, not in the reference", c.Class)
			continue
		}
		if c.Name != r.Name || c.Truth != r.GT || c.Detections != r.Dets || c.TP != r.TP ||
			math.Abs(c.AP50-r.APVOC) > 1e-6 || math.Abs(c.AP50COCO-r.APCOCO) > 1e-6 {
			t.Errorf("class %d %q: gt %d dets %d tp %d AP %.6f / %.6f; reference %q gt %d dets %d tp %d AP %.6f / %.6f",
				c.Class, c.Name, c.Truth, c.Detections, c.TP, c.AP50, c.AP50COCO, r.Name, r.GT, r.Dets, r.TP, r.APVOC, r.APCOCO)
		}
		if c.AP > c.AP50COCO+1e-12 {
			t.Errorf("class %d: AP@[.5:.95] %.4f above AP@0.5 %.4f", c.Class, c.AP, c.AP50COCO)
		}
	}
	t.Logf("mAP@0.5 %.4f (VOC) %.4f (COCO 101), mAP@[.5:.95] %.4f", m.MAP50, m.MAP50COCO, m.MAP)
}

// Small cases with the answers worked by hand.
func TestAveragePrecision(t *testing.T) {
	for _, c := range []struct {
		tp        string
		npos      int
		voc, coco float64
	}{
		{"", 2, 0, 0},
		{"1", 1, 1, 1},
		{"11", 2, 1, 1},
		{"01", 1, 0.5, 0.5},
		// recall 0.5 at precision 1, then 1.0 at 2/3: VOC 0.5*1 + 0.5*2/3;
		// COCO: recalls 0..0.5 (51 points) at 1, 0.51..1 (50) at 2/3
		{"101", 2, 0.5 + 1.0/3, (51 + 50*2.0/3) / 101},
		// half the boxes never found
		{"10", 2, 0.5, 51.0 / 101},
	} {
		var tp []bool
		for _, r := range c.tp {
			tp = append(tp, r == '1')
		}
		voc, coco := averagePrecision(tp, c.npos)
		if math.Abs(voc-c.voc) > 1e-12 || math.Abs(coco-c.coco) > 1e-12 {
			t.Errorf("%q of %d: AP %v / %v, want %v / %v", c.tp, c.npos, voc, coco, c.voc, c.coco)
		}
	}
}

// Matching: the highest-IoU unmatched box of the class, a second
// detection of a matched box is a false positive, another class's box is
// never matched, and the IoU threshold decides COCO's AP over 0.5:0.95.
func TestScoreDetectionsMatching(t *testing.T) {
	gt := []GroundTruth{{File: "a", Boxes: []Box{{0, 0, 10, 10}, {20, 0, 30, 10}, {0, 0, 10, 10}}, Class: []int{0, 0, 1}}}
	dets := [][]Detection{{
		{Class: 0, Score: 0.9, Box: Box{0, 0, 10, 10}},   // exact: TP at every threshold
		{Class: 0, Score: 0.8, Box: Box{0, 0, 10, 10}},   // the same box again: FP
		{Class: 0, Score: 0.7, Box: Box{20, 0, 30, 7.5}}, // IoU 0.75 with box 2
		{Class: 2, Score: 0.6, Box: Box{0, 0, 10, 10}},   // a class without truth: not scored
	}}
	m, err := ScoreDetections(gt, dets, []string{"cat", "dog"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.PerClass) != 2 || m.Truth != 3 || m.Detections != 4 {
		t.Fatalf("%+v", m)
	}
	c0 := m.PerClass[0]
	if c0.Name != "cat" || c0.TP != 2 || c0.Detections != 3 {
		t.Errorf("class 0: %+v", c0)
	}
	// VOC: recall 0.5 at 1, recall 1 at 2/3
	if want := 0.5 + 1.0/3; math.Abs(c0.AP50-want) > 1e-12 {
		t.Errorf("class 0 AP50 %v, want %v", c0.AP50, want)
	}
	// thresholds 0.5..0.75 (6 of 10) as at 0.5, 0.8..0.95 with one hit
	at50 := (51 + 50*2.0/3) / 101
	if want := (6*at50 + 4*51.0/101) / 10; math.Abs(c0.AP-want) > 1e-12 {
		t.Errorf("class 0 AP@[.5:.95] %v, want %v", c0.AP, want)
	}
	if c1 := m.PerClass[1]; c1.AP50 != 0 || c1.Detections != 0 {
		t.Errorf("class 1: %+v", c1)
	}
	if want := c0.AP50 / 2; math.Abs(m.MAP50-want) > 1e-12 {
		t.Errorf("mAP50 %v, want %v", m.MAP50, want)
	}
}

func TestParseAnnotations(t *testing.T) {
	a, err := parseAnnotations(strings.NewReader("file,class_id,class_name,xmin,ymin,xmax,ymax\nb.jpg,2,car,1,2,3,4\na.jpg,0,person,0,0,1,1\nb.jpg,0,person,5,5,6,6\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Images) != 2 || a.Images[0].File != "b.jpg" || len(a.Images[0].Boxes) != 2 || a.Images[0].Boxes[0] != (Box{1, 2, 3, 4}) ||
		len(a.Names) != 3 || a.Names[0] != "person" || a.Names[2] != "car" {
		t.Errorf("%+v", a)
	}
	for _, c := range []struct{ name, csv, want string }{
		{"no header", "", "header"},
		{"missing column", "file,class_id,xmin,ymin,xmax\n", "no column ymax"},
		{"bad class", "file,class_id,xmin,ymin,xmax,ymax\na,-1,0,0,1,1\n", "class_id"},
		{"bad number", "file,class_id,xmin,ymin,xmax,ymax\na,1,0,0,NaN,1\n", "xmax"},
		{"no rows", "file,class_id,xmin,ymin,xmax,ymax\n", "no boxes"},
	} {
		if _, err := parseAnnotations(strings.NewReader(c.csv)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one with %q", c.name, err, c.want)
		}
	}
}

func TestMetricGate(t *testing.T) {
	g := MetricGate{Metric: "mAP@0.5", MaxDrop: 0.5}
	if c := g.Compare(0.2828, 0.2878); !c.Pass || math.Abs(c.Drop-0.5) > 1e-9 {
		t.Errorf("a drop of the limit: %+v", c)
	}
	c := g.Compare(0.28, 0.2878)
	if c.Pass || !strings.Contains(c.Failure, "mAP@0.5 dropped 0.78 points (28.78 -> 28.00)") {
		t.Errorf("%+v", c)
	}
	path := t.TempDir() + "/gate.xml"
	if err := c.WriteJUnit(path, "mnconv eval gate", "model: x\n", 1.5); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`tests="1" failures="1" time="1.500"`, `<testcase name="mAP@0.5_drop &lt;= 0.50" classname="mnconv.eval.gate">`, `<failure message="mAP@0.5 dropped 0.78`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JUnit lacks %q:\n%s", want, b)
		}
	}
}
