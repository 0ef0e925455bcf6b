package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
)

// A test-only model format: a ".evaltest" file holding "right" or "wrong"
// imports as a tiny hand-made graph (Reshape + fully connected over a 4x4
// RGB image) that predicts the brightest channel (always right on the
// synthetic images below) or the darkest (always wrong).
func init() {
	importers.Register(importers.Format{
		Name: "evaltest",
		Exts: []string{".evaltest"},
		Import: func(name string, data []byte, _ importers.Options) (*ir.Graph, error) {
			switch strings.TrimSpace(string(data)) {
			case "right":
				return evalTestModel(1), nil
			case "wrong":
				return evalTestModel(-1), nil
			}
			return nil, fmt.Errorf("%s: not an evaltest model", name)
		},
	})
}

func evalTestModel(sign float32) *ir.Graph {
	x := &ir.Tensor{Name: "image", DType: ir.Float32, Shape: []int{1, 4, 4, 3}}
	flat := &ir.Tensor{Name: "flat", DType: ir.Float32, Shape: []int{1, 48}}
	w := make([]float32, 3*48)
	for i := range 48 {
		w[(i%3)*48+i] = sign
	}
	y := &ir.Tensor{Name: "scores", DType: ir.Float32, Shape: []int{1, 3}}
	fc := ir.NewNode("fc", ir.OpGemm, []*ir.Tensor{flat, ir.NewConstF32("w", []int{3, 48}, w)}, y)
	a := fc.Attrs.(*ir.GemmAttrs)
	a.TransB, a.Alpha, a.Beta = true, 1, 1
	return &ir.Graph{
		Nodes:  []*ir.Node{ir.NewNode("flatten", ir.OpReshape, []*ir.Tensor{x}, flat), fc},
		Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{y},
	}
}

// evalDataset writes 6 single-colour images (class = brightest channel),
// labels.csv, and the two models; it returns the folder.
func evalDataset(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var rows bytes.Buffer
	cw := csv.NewWriter(&rows)
	cw.Write([]string{"file", "class_index", "wnid", "class_name"})
	for i := range 6 {
		c := i % 3
		m := image.NewRGBA(image.Rect(0, 0, 5, 7))
		for p := 0; p < len(m.Pix); p += 4 {
			m.Pix[p], m.Pix[p+1], m.Pix[p+2], m.Pix[p+3] = 30, 60, 90, 255
			m.Pix[p+c] = 250
		}
		name := fmt.Sprintf("im%d.png", i)
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, m)
		f.Close()
		cw.Write([]string{name, fmt.Sprint(c), "n0", "colour"})
	}
	cw.Flush()
	os.WriteFile(filepath.Join(dir, "labels.csv"), rows.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "right.evaltest"), []byte("right"), 0o644)
	os.WriteFile(filepath.Join(dir, "wrong.evaltest"), []byte("wrong"), 0o644)
	return dir
}

// evalCLI runs mnconv with args after putting every eval flag back to its
// default (flags keep their values between Execute calls). The test folders
// are small: an eval without --min-images gets --min-images 1 (the default,
// 50, is for real folders).
func evalCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if len(args) > 0 && args[0] == "eval" && !slices.Contains(args, "--min-images") {
		args = append(slices.Clone(args), "--min-images", "1")
	}
	return execCLI(t, []*cobra.Command{evalCmd}, args...)
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 2 // what main does with any other error
}

func TestEvalAccuracy(t *testing.T) {
	dir := evalDataset(t)
	out, err := evalCLI(t, "eval", filepath.Join(dir, "right.evaltest"), "--images", dir, "--preprocess", "full")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "top-1:   100.00%") || !strings.Contains(out, "images:  6,") {
		t.Errorf("output:\n%s", out)
	}
	out, err = evalCLI(t, "eval", filepath.Join(dir, "wrong.evaltest"), "--images", dir, "--preprocess", "full", "--json", "--limit", "4")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		N        int     `json:"n"`
		Top1     float64 `json:"top1"`
		Top5     float64 `json:"top5"`
		PerImage []struct {
			File        string `json:"file"`
			Label       int    `json:"label"`
			Top5        []int  `json:"top5"`
			CorrectTop1 bool   `json:"correct_top1"`
		} `json:"per_image"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.N != 4 || r.Top1 != 0 || r.Top5 != 100 || len(r.PerImage) != 4 || r.PerImage[1].File != "im1.png" || r.PerImage[1].Label != 1 || r.PerImage[1].CorrectTop1 {
		t.Errorf("json result %+v", r)
	}
}

func TestEvalGateExitCodes(t *testing.T) {
	dir := evalDataset(t)
	right, wrong := filepath.Join(dir, "right.evaltest"), filepath.Join(dir, "wrong.evaltest")
	junit := filepath.Join(dir, "gate.xml")
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout
	}{
		{"pass", []string{right, "--baseline", wrong, "--max-drop", "0"}, 0, "gate:      PASS"},
		{"fail drop", []string{wrong, "--baseline", right, "--max-drop", "5", "--junit", junit}, 1, "gate:      FAIL: top-1 dropped 100.00 points"},
		{"fail min", []string{right, "--baseline", right, "--max-drop", "0", "--min-top1", "100.5"}, 1, "below the minimum"},
		{"pass same", []string{right, "--baseline", right, "--max-drop", "0", "--min-top1", "100"}, 0, "agreement 100.00% of 6 images"},
		{"no images flag", []string{right}, 2, ""},
		{"gate flag without baseline", []string{right, "--images", dir, "--max-drop", "1"}, 2, ""},
		{"baseline without max-drop", []string{right, "--images", dir, "--baseline", wrong}, 2, ""},
		{"bad preprocess", []string{right, "--preprocess", "zoom"}, 2, ""},
		{"bad input mode", []string{right, "--input-mode", "bgr"}, 2, ""},
		{"missing model", []string{filepath.Join(dir, "nope.tflite")}, 2, ""},
		{"missing labels", []string{right, "--labels", filepath.Join(dir, "nope.csv")}, 2, ""},
		{"too few images", []string{right, "--min-images", "7"}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"eval"}, tc.args...)
			if tc.name != "no images flag" && !strings.Contains(strings.Join(tc.args, " "), "--images") {
				args = append(args, "--images", dir)
			}
			if !strings.Contains(strings.Join(tc.args, " "), "--preprocess") {
				args = append(args, "--preprocess", "full")
			}
			out, err := evalCLI(t, args...)
			if got := exitCode(err); got != tc.code {
				t.Fatalf("exit %d (err %v), want %d\n%s", got, err, tc.code, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("stdout lacks %q:\n%s", tc.want, out)
			}
		})
	}
	data, err := os.ReadFile(junit)
	if err != nil || !bytes.Contains(data, []byte(`failures="1"`)) || !bytes.Contains(data, []byte("<testsuites>")) {
		t.Errorf("junit report (%v):\n%s", err, data)
	}
}

func TestEvalGateJSON(t *testing.T) {
	dir := evalDataset(t)
	out, err := evalCLI(t, "eval", filepath.Join(dir, "wrong.evaltest"), "--images", dir, "--preprocess", "full",
		"--baseline", filepath.Join(dir, "right.evaltest"), "--max-drop", "1", "--json")
	if exitCode(err) != 1 {
		t.Fatalf("exit %d (%v)", exitCode(err), err)
	}
	var r struct {
		Top1     float64 `json:"top1"`
		Baseline struct {
			Top1 float64 `json:"top1"`
			N    int     `json:"n"`
		} `json:"baseline"`
		Gate struct {
			Drop      float64  `json:"drop"`
			Agreement float64  `json:"top1_agreement"`
			Pass      bool     `json:"pass"`
			Failures  []string `json:"failures"`
		} `json:"gate"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Top1 != 0 || r.Baseline.Top1 != 100 || r.Baseline.N != 6 || r.Gate.Drop != 100 || r.Gate.Agreement != 0 || r.Gate.Pass || len(r.Gate.Failures) != 1 {
		t.Errorf("gate json %+v", r)
	}
}

// TestEvalRealModel runs the real v1 0.25/128 quantized model on the first
// 40 eval images and checks that its top-1 agrees with the TFLite reference
// predictions on nearly all of them (the preprocessing is bit-exact; the
// runtime's integer arithmetic is TFLite's reference kernels, not XNNPACK,
// so an output can differ by a few quanta and flip a close call).
func TestEvalRealModel(t *testing.T) {
	model := testutil.Shared(t, "models/tflite/coral_mobilenet_v1_0.25_128_quant.tflite")
	images := testutil.Shared(t, "images/imagenet/eval")
	out, err := evalCLI(t, "eval", model, "--images", images, "--limit", "40", "--json")
	if err != nil {
		t.Skipf("model does not run yet: %v", err)
	}
	var r struct {
		N        int `json:"n"`
		PerImage []struct {
			File string `json:"file"`
			Top5 []int  `json:"top5"`
		} `json:"per_image"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	ref := map[string]int{}
	for _, p := range testutil.ReadPredictions(t, "coral_mobilenet_v1_0.25_128_quant") {
		if name, ok := strings.CutPrefix(p.File, "eval/"); ok {
			ref[name] = p.Top1
		}
	}
	agree := 0
	for _, p := range r.PerImage {
		if top, ok := ref[p.File]; ok && top == p.Top5[0] {
			agree++
		}
	}
	t.Logf("top-1 agrees with TFLite on %d of %d images", agree, r.N)
	if r.N != 40 || agree < 36 {
		t.Errorf("top-1 agrees with TFLite on only %d of %d images", agree, r.N)
	}
}
