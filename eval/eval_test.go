package eval

import (
	"context"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/preprocess"
)

func TestTopKTies(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		scores []float64
		k      int
		want   []int
	}{
		{[]float64{1, 3, 3, 2}, 3, []int{1, 2, 3}},
		{[]float64{5, 5, 5, 5, 5, 5}, 5, []int{0, 1, 2, 3, 4}},
		{[]float64{0, 0, 7, 0}, 2, []int{2, 0}},
		{[]float64{nan, 1, nan, 2}, 4, []int{3, 1, 0, 2}},
		{[]float64{-1, -2}, 5, []int{0, 1}},
		{nil, 5, []int{}},
	}
	for _, tc := range tests {
		if got := TopK(tc.scores, tc.k); !slices.Equal(got, tc.want) {
			t.Errorf("TopK(%v, %d) = %v, want %v", tc.scores, tc.k, got, tc.want)
		}
		want := -1
		if len(tc.want) > 0 {
			want = tc.want[0]
		}
		f32 := make([]float32, len(tc.scores))
		for i, s := range tc.scores {
			f32[i] = float32(s)
		}
		if a, b := Argmax(tc.scores), Argmax(f32); a != want || b != want {
			t.Errorf("Argmax(%v) = %d (float32: %d), want %d", tc.scores, a, b, want)
		}
	}
}

func TestClassMapping(t *testing.T) {
	tests := []struct{ n, index, class int }{
		{1001, 0, -1}, {1001, 1, 0}, {1001, 1000, 999}, {1000, 0, 0}, {2, 1, 1},
	}
	for _, tc := range tests {
		if got := ClassOf(tc.n, tc.index); got != tc.class {
			t.Errorf("ClassOf(%d, %d) = %d, want %d", tc.n, tc.index, got, tc.class)
		}
	}
	names := []struct {
		n, class int
		want     string
	}{
		{1001, -1, "background"}, {1001, 0, "tench, Tinca tinca"}, {1000, 999, "toilet tissue, toilet paper, bathroom tissue"},
		{2, 0, ""}, {1000, 1000, ""}, {1000, -2, ""},
	}
	for _, tc := range names {
		if got := ClassName(tc.n, tc.class); got != tc.want {
			t.Errorf("ClassName(%d, %d) = %q, want %q", tc.n, tc.class, got, tc.want)
		}
	}
	if len(imagenetNames) != 1001 {
		t.Errorf("embedded names: %d, want 1001", len(imagenetNames))
	}
}

func TestParseLabels(t *testing.T) {
	good := "file,class_index,wnid,class_name\na.png,2,n1,x\nsub/b.png,0,n2,y\n\n"
	items, err := ParseLabels(strings.NewReader(good), "labels.csv", "/img")
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{Path: "/img/a.png", File: "a.png", Label: 2}, {Path: "/img/sub/b.png", File: "sub/b.png", Label: 0, Index: 1}}
	if !slices.Equal(items, want) {
		t.Errorf("got %v, want %v", items, want)
	}
	// columns are found by name
	items, err = ParseLabels(strings.NewReader("class_index,file\n7,c.jpg\n"), "l.csv", "d")
	if err != nil || len(items) != 1 || items[0].Label != 7 || items[0].File != "c.jpg" {
		t.Errorf("reordered columns: %v, %v", items, err)
	}
	bad := []struct{ name, text, want string }{
		{"empty", "", "l.csv: empty labels file"},
		{"no class column", "file,label\na,1\n", "l.csv:1: header"},
		{"bad index", "file,class_index\na,1\nb,x\n", `l.csv:3: class_index "x"`},
		{"negative", "file,class_index\na,-1\n", "l.csv:2: class_index"},
		{"short row", "file,class_index\na\n", "l.csv:2: 1 fields"},
		{"duplicate", "file,class_index\na,1\na,2\n", "l.csv:3: file \"a\" already listed on line 2"},
		{"absolute", "file,class_index\n/etc/passwd,1\n", "l.csv:2: file \"/etc/passwd\" must be a path inside"},
		{"parent", "file,class_index\n../x.png,1\n", "l.csv:2: file \"../x.png\""},
		{"only header", "file,class_index\n", "no images"},
		{"bad quote", "file,class_index\n\"a,1\n", "l.csv:"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLabels(strings.NewReader(tc.text), "l.csv", "d")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := LoadLabels(filepath.Join(t.TempDir(), "missing.csv"), "d"); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing file: %v", err)
	}
}

// The synthetic task: 4x4 images of one strong colour; class c is the
// brightest channel c (0 red, 1 green, 2 blue).
var colours = []color.NRGBA{{220, 30, 10, 255}, {20, 200, 40, 255}, {5, 50, 240, 255}}

// writeDataset writes one PNG per colour (twice: n images) plus
// labels.csv, and returns the items.
func writeDataset(t *testing.T, dir string, n int) []Item {
	t.Helper()
	csv := "file,class_index,wnid,class_name\n"
	for i := 0; i < n; i++ {
		c := i % 3
		name := fmt.Sprintf("img%02d.png", i)
		m := image.NewNRGBA(image.Rect(0, 0, 6, 5))
		for p := 0; p < len(m.Pix); p += 4 {
			col := colours[c]
			// a little texture, so that resizing has something to do
			m.Pix[p], m.Pix[p+1], m.Pix[p+2], m.Pix[p+3] = col.R-uint8(p%5), col.G-uint8(p%3), col.B-uint8(p%4), 255
		}
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, m); err != nil {
			t.Fatal(err)
		}
		f.Close()
		csv += fmt.Sprintf("%s,%d,n%d,colour%d\n", name, c, c, c)
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	items, err := LoadLabels(filepath.Join(dir, "labels.csv"), dir)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// channelModel is Reshape([1,4,4,3] -> [1,48]) then a fully connected layer
// whose output o sums channel ch(o) times sign: with sign +1 it predicts
// the brightest channel (always right), with -1 the darkest (always wrong).
// classes > 3 pads outputs that are always 0 (put the channels at offset).
func channelModel(name string, sign float32, classes, offset int) *ir.Graph {
	x := &ir.Tensor{Name: "image", DType: ir.Float32, Shape: []int{1, 4, 4, 3}}
	flat := &ir.Tensor{Name: "flat", DType: ir.Float32, Shape: []int{1, 48}}
	w := make([]float32, classes*48)
	for c := 0; c < 3; c++ {
		for i := c; i < 48; i += 3 {
			w[(offset+c)*48+i] = sign
		}
	}
	wt := ir.NewConstF32("w", []int{classes, 48}, w)
	y := &ir.Tensor{Name: "scores", DType: ir.Float32, Shape: []int{1, classes}}
	reshape := ir.NewNode("flatten", ir.OpReshape, []*ir.Tensor{x}, flat)
	fc := ir.NewNode("fc", ir.OpGemm, []*ir.Tensor{flat, wt}, y)
	a := fc.Attrs.(*ir.GemmAttrs)
	a.TransB, a.Alpha, a.Beta = true, 1, 1
	return &ir.Graph{Name: name, Nodes: []*ir.Node{reshape, fc}, Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{y}}
}

func mustValidate(t *testing.T, gs ...*ir.Graph) []*ir.Graph {
	t.Helper()
	for _, g := range gs {
		if err := g.Validate(); err != nil {
			t.Fatalf("%s: %v", g.Name, err)
		}
	}
	return gs
}

func cfgFull() Config { return Config{Preset: preprocess.Full, Workers: 2} }

func TestEvaluateRightAndWrong(t *testing.T) {
	items := writeDataset(t, t.TempDir(), 9)
	right, err := Evaluate(context.Background(), mustValidate(t, channelModel("right", 1, 3, 0)), items, cfgFull())
	if err != nil {
		t.Fatal(err)
	}
	if right.N != 9 || right.Top1 != 100 || right.Top5 != 100 || right.Classes != 3 || right.Unreadable != 0 {
		t.Errorf("right model: %+v", right)
	}
	p := right.PerImage[4]
	// green (20,200,40): tf values G > B > R
	if p.File != "img04.png" || p.Label != 1 || !slices.Equal(p.Top5, []int{1, 2, 0}) || !p.CorrectTop1 || !p.CorrectTop5 {
		t.Errorf("per-image result %+v", p)
	}
	wrong, err := Evaluate(context.Background(), mustValidate(t, channelModel("wrong", -1, 3, 0)), items, cfgFull())
	if err != nil {
		t.Fatal(err)
	}
	if wrong.Top1 != 0 || wrong.Top5 != 100 {
		t.Errorf("wrong model: top1 %v top5 %v", wrong.Top1, wrong.Top5)
	}
	if right.ImagesPerSecond <= 0 || right.DecodeSeconds <= 0 || right.InferenceSeconds <= 0 {
		t.Errorf("timings not measured: %+v", right)
	}
}

// TestEvaluate1001 checks the background-first mapping: output index i is
// class i-1, so the right answers sit at indices 1..3.
func TestEvaluate1001(t *testing.T) {
	items := writeDataset(t, t.TempDir(), 3)
	r, err := Evaluate(context.Background(), mustValidate(t, channelModel("bg", 1, 1001, 1)), items, cfgFull())
	if err != nil {
		t.Fatal(err)
	}
	if r.Top1 != 100 || r.Classes != 1001 {
		t.Fatalf("top1 %v classes %d", r.Top1, r.Classes)
	}
	// image 0 (red): index 1 (red) is positive, indices 2 and 3 (green,
	// blue) negative, every other index 0: the zeros tie and rank from
	// index 0 (background, -1) upwards.
	if got := r.PerImage[0].Top5; !slices.Equal(got, []int{0, -1, 3, 4, 5}) {
		t.Errorf("top5 %v, want [0 -1 3 4 5]", got)
	}
}

func TestEvaluateUnreadable(t *testing.T) {
	dir := t.TempDir()
	items := writeDataset(t, dir, 6)
	os.WriteFile(items[2].Path, []byte("not an image"), 0o644)
	os.Remove(items[4].Path)
	var warnings []string
	cfg := cfgFull()
	cfg.Warn = func(m string) { warnings = append(warnings, m) }
	r, err := Evaluate(context.Background(), []*ir.Graph{channelModel("right", 1, 3, 0)}, items, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.N != 4 || r.Unreadable != 2 || r.Top1 != 100 {
		t.Errorf("n %d unreadable %d top1 %v", r.N, r.Unreadable, r.Top1)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "img02.png") || !strings.Contains(warnings[1], "img04.png") {
		t.Errorf("warnings %q", warnings)
	}
	if r.Skipped[0].File != "img02.png" || r.Skipped[0].Error == "" {
		t.Errorf("skipped %+v", r.Skipped)
	}
	cfg.MinImages = 5
	if _, err := Evaluate(context.Background(), []*ir.Graph{channelModel("right", 1, 3, 0)}, items, cfg); err == nil || !strings.Contains(err.Error(), "only 4 of 6") {
		t.Errorf("minimum not enforced: %v", err)
	}
	for _, it := range items {
		os.Remove(it.Path)
	}
	cfg.MinImages = 0
	if _, err := Evaluate(context.Background(), []*ir.Graph{channelModel("right", 1, 3, 0)}, items, cfg); err == nil || !strings.Contains(err.Error(), "only 0 of 6") {
		t.Errorf("no readable image: %v", err)
	}
}

func TestEvaluateChain(t *testing.T) {
	items := writeDataset(t, t.TempDir(), 6)
	// float chain: scores -> softmax
	sm := func() *ir.Graph {
		x := &ir.Tensor{Name: "logits", DType: ir.Float32, Shape: []int{1, 3}}
		y := &ir.Tensor{Name: "prob", DType: ir.Float32, Shape: []int{1, 3}}
		n := ir.NewNode("softmax", ir.OpSoftmax, []*ir.Tensor{x}, y)
		n.Attrs.(*ir.SoftmaxAttrs).Axis, n.Attrs.(*ir.SoftmaxAttrs).Beta = 1, 1
		return &ir.Graph{Name: "head", Nodes: []*ir.Node{n}, Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{y}}
	}
	r, err := Evaluate(context.Background(), mustValidate(t, channelModel("body", 1, 3, 0), sm()), items, cfgFull())
	if err != nil {
		t.Fatal(err)
	}
	if r.Top1 != 100 {
		t.Errorf("float chain top1 %v", r.Top1)
	}

	// quantized seam: body ends in Quantize to uint8, head starts from a
	// uint8 input with the same parameters (passed as is) and dequantizes.
	// scores lie in [-16, 16]: scale 1/4 keeps them apart
	q := &ir.Quant{Scale: []float32{0.25}, ZeroPoint: []int64{128}}
	body := channelModel("qbody", 1, 3, 0)
	scores := body.Outputs[0]
	qout := &ir.Tensor{Name: "qscores", DType: ir.Uint8, Shape: []int{1, 3}, Quant: q}
	body.Nodes = append(body.Nodes, ir.NewNode("quant", ir.OpQuantize, []*ir.Tensor{scores}, qout))
	body.Outputs = []*ir.Tensor{qout}
	qin := &ir.Tensor{Name: "qin", DType: ir.Uint8, Shape: []int{1, 1, 1, 3}, Quant: q.Clone()}
	deq := &ir.Tensor{Name: "deq", DType: ir.Float32, Shape: []int{1, 1, 1, 3}}
	head := &ir.Graph{Name: "qhead", Nodes: []*ir.Node{ir.NewNode("dq", ir.OpDequantize, []*ir.Tensor{qin}, deq)},
		Inputs: []*ir.Tensor{qin}, Outputs: []*ir.Tensor{deq}}
	r, err = Evaluate(context.Background(), mustValidate(t, body, head), items, cfgFull())
	if err != nil {
		t.Fatal(err)
	}
	if r.Top1 != 100 {
		t.Errorf("quantized chain top1 %v", r.Top1)
	}
	// a seam whose sizes differ is refused up front
	_, err = Evaluate(context.Background(), []*ir.Graph{channelModel("a", 1, 3, 0), channelModel("b", 1, 3, 0)}, items, cfgFull())
	if err == nil || !strings.Contains(err.Error(), "takes 48") {
		t.Errorf("mismatched chain: %v", err)
	}
}

func TestHandoffConverts(t *testing.T) {
	body := channelModel("qbody", 1.0/64, 3, 0)
	// float output into a quantized input: quantized with the input's
	// parameters
	qin := &ir.Tensor{Name: "qin", DType: ir.Int8, Shape: []int{1, 3}, Quant: &ir.Quant{Scale: []float32{0.25}, ZeroPoint: []int64{-10}}}
	if err := checkHandoff(body.Outputs[0], qin); err != nil {
		t.Fatal(err)
	}
	unq := &ir.Tensor{Name: "raw", DType: ir.Int8, Shape: []int{1, 3}}
	if err := checkHandoff(body.Outputs[0], unq); err == nil {
		t.Error("float into an unquantized int8 input accepted")
	}
}

func TestEvaluateLabelOutOfRange(t *testing.T) {
	items := writeDataset(t, t.TempDir(), 3)
	items[1].Label = 3
	_, err := Evaluate(context.Background(), []*ir.Graph{channelModel("right", 1, 3, 0)}, items, cfgFull())
	if err == nil || !strings.Contains(err.Error(), "img01.png has label 3") {
		t.Errorf("err = %v", err)
	}
}

func TestEvaluateWorkersAgree(t *testing.T) {
	items := writeDataset(t, t.TempDir(), 12)
	g := channelModel("right", 1, 3, 0)
	one := cfgFull()
	one.Workers = 1
	a, err := Evaluate(context.Background(), []*ir.Graph{g}, items, one)
	if err != nil {
		t.Fatal(err)
	}
	many := cfgFull()
	many.Workers = 5
	var bar strings.Builder
	many.Progress = &bar
	b, err := Evaluate(context.Background(), []*ir.Graph{g}, items, many)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(a.PerImage, b.PerImage, func(x, y ImageResult) bool {
		return x.File == y.File && slices.Equal(x.Top5, y.Top5)
	}) {
		t.Error("1 and 5 workers disagree")
	}
	if !strings.Contains(bar.String(), "eval") {
		t.Errorf("progress output %q", bar.String())
	}
}

func TestEvaluateCancelled(t *testing.T) {
	items := writeDataset(t, t.TempDir(), 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Evaluate(ctx, []*ir.Graph{channelModel("right", 1, 3, 0)}, items, cfgFull()); err == nil {
		t.Error("cancelled evaluation succeeded")
	}
}

func TestGate(t *testing.T) {
	res := func(top1 float64, preds ...int) *Result {
		r := &Result{Top1: top1, N: len(preds)}
		for i, p := range preds {
			r.PerImage = append(r.PerImage, ImageResult{File: fmt.Sprint(i), Top5: []int{p}})
		}
		return r
	}
	base := res(80, 1, 2, 3, 4)
	tests := []struct {
		name      string
		gate      Gate
		model     *Result
		pass      bool
		agreement float64
	}{
		{"equal", Gate{MaxDrop: 0, MinTop1: -1}, res(80, 1, 2, 3, 4), true, 100},
		{"drop at limit", Gate{MaxDrop: 1, MinTop1: -1}, res(79, 1, 2, 3, 0), true, 75},
		{"drop over", Gate{MaxDrop: 1, MinTop1: -1}, res(78.75, 0, 0, 3, 4), false, 50},
		{"below min", Gate{MaxDrop: 5, MinTop1: 79.5}, res(79, 1, 2, 3, 4), false, 100},
		{"better", Gate{MaxDrop: 0, MinTop1: 50}, res(90, 1, 2, 3, 4), true, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.gate.Compare(tc.model, base)
			if c.Pass != tc.pass || c.Agreement != tc.agreement || c.Common != 4 {
				t.Errorf("pass %v agreement %v common %d (failures %q)", c.Pass, c.Agreement, c.Common, c.Failures)
			}
		})
	}
}

func TestWriteJUnit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gate.xml")
	g := Gate{MaxDrop: 1, MinTop1: 70}
	model := &Result{N: 4, Top1: 60, PerImage: []ImageResult{{File: "a", Top5: []int{1}}}}
	base := &Result{N: 4, Top1: 75, PerImage: []ImageResult{{File: "a", Top5: []int{1}}}}
	c := g.Compare(model, base)
	if err := g.WriteJUnit(path, "mnconv eval", c); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("unparsable XML: %v\n%s", err, data)
	}
	s := doc.Suites[0]
	if s.Tests != 2 || s.Failures != 2 || s.Cases[0].Failure == nil || !strings.Contains(s.Cases[1].Failure.Message, "below the minimum") {
		t.Errorf("suite %+v", s)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := g.WriteJUnit(filepath.Join(dir, "no", "such", "dir.xml"), "x", c); err == nil {
		t.Error("write into a missing folder succeeded")
	}
}

// TestEvaluateCache evaluates twice through one ImageCache with the image
// files deleted in between: the second run reads them from the cache and
// gives the same result.
func TestEvaluateCache(t *testing.T) {
	dir := t.TempDir()
	items := writeDataset(t, dir, 6)
	cfg := cfgFull()
	cfg.Cache = &ImageCache{}
	first, err := Evaluate(context.Background(), mustValidate(t, channelModel("right", 1, 3, 0)), items, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := os.Remove(it.Path); err != nil {
			t.Fatal(err)
		}
	}
	again, err := Evaluate(context.Background(), mustValidate(t, channelModel("wrong", -1, 3, 0)), items, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if first.N != 6 || first.Top1 != 100 || again.N != 6 || again.Top1 != 0 || again.Unreadable != 0 {
		t.Errorf("with the cache: first %v%% on %d, again %v%% on %d (%d unreadable)", first.Top1, first.N, again.Top1, again.N, again.Unreadable)
	}
	// a bound of two 4x4 RGB images keeps two: the other four are gone
	items = writeDataset(t, t.TempDir(), 6)
	cfg.Cache = &ImageCache{MaxBytes: 2 * 4 * 4 * 3}
	if _, err := Evaluate(context.Background(), mustValidate(t, channelModel("right", 1, 3, 0)), items, cfg); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		os.Remove(it.Path)
	}
	cfg.MinImages = 1
	bounded, err := Evaluate(context.Background(), mustValidate(t, channelModel("right", 1, 3, 0)), items, cfg)
	if err != nil || bounded.N != 2 || bounded.Unreadable != 4 {
		t.Errorf("bounded cache: %v, %+v", err, bounded)
	}
}
