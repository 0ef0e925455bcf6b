package testutil

import (
	"bufio"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Reference is a shared/reference/*.json file: a reference runtime's outputs
// on the shared images. *.ort.json is ONNX Runtime, *.tfjs_tflite.json TFLite
// (WebAssembly with XNNPACK), *.tflm.json TFLite Micro.
type Reference struct {
	Runtime string `json:"runtime"`
	Model   string `json:"model"`
	Input   struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
		Mode  string `json:"mode"` // how the pixels were fed: u8, s8, f01, raw, ...
		File  string `json:"file"` // the input file in shared/reference
	} `json:"input"`
	Results []RefResult `json:"results"`
}

// RefResult is one image's outputs.
type RefResult struct {
	Image  int       // the image's place in the input file
	Argmax int       // the runtime's top-1 (ties to the lower index)
	Top5   []int     // *.tflm.json only
	Dims   []int     // *.ort.json only: the output's shape
	Output []float64 // the output vector, flattened
}

// UnmarshalJSON reads a result of either shape: *.tflm.json names the image
// "index" and gives "top5" instead of "argmax".
func (r *RefResult) UnmarshalJSON(data []byte) error {
	var raw struct {
		Image  *int      `json:"image"`
		Index  *int      `json:"index"`
		Argmax *int      `json:"argmax"`
		Top5   []int     `json:"top5"`
		Dims   []int     `json:"dims"`
		Output []float64 `json:"output"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*r = RefResult{Top5: raw.Top5, Dims: raw.Dims, Output: raw.Output}
	switch {
	case raw.Image != nil:
		r.Image = *raw.Image
	case raw.Index != nil:
		r.Image = *raw.Index
	default:
		return fmt.Errorf("result without \"image\" or \"index\"")
	}
	switch {
	case raw.Argmax != nil:
		r.Argmax = *raw.Argmax
	case len(raw.Top5) > 0:
		r.Argmax = raw.Top5[0]
	default:
		return fmt.Errorf("image %d: no \"argmax\" or \"top5\"", r.Image)
	}
	if len(r.Output) == 0 {
		return fmt.Errorf("image %d: no output", r.Image)
	}
	return nil
}

// ReadReference reads shared/reference/<name> (name like
// "stm32_tutorial_mobilenet_v2_128_0.5.ort.json"), skipping when the shared
// data is absent. It fails the test on a file that does not parse or has no
// results.
func ReadReference(t testing.TB, name string) *Reference {
	t.Helper()
	data, err := os.ReadFile(Shared(t, "reference/"+name))
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseReference(data)
	if err != nil {
		t.Fatalf("reference/%s: %v", name, err)
	}
	return r
}

func parseReference(data []byte) (*Reference, error) {
	r := &Reference{}
	if err := json.Unmarshal(data, r); err != nil {
		return nil, err
	}
	if len(r.Results) == 0 {
		return nil, fmt.Errorf("no results")
	}
	return r, nil
}

// Outputs returns each result's output vector.
func (r *Reference) Outputs() [][]float64 {
	out := make([][]float64, len(r.Results))
	for i, res := range r.Results {
		out[i] = res.Output
	}
	return out
}

// Outputs32 returns each result's output vector as float32.
func (r *Reference) Outputs32() [][]float32 {
	out := make([][]float32, len(r.Results))
	for i, res := range r.Results {
		out[i] = make([]float32, len(res.Output))
		for j, v := range res.Output {
			out[i][j] = float32(v)
		}
	}
	return out
}

// ReferenceBytes reads shared/reference/<name> and splits it into records
// of per bytes (images stored back to back), failing when the file is not a
// whole number of records.
func ReferenceBytes(t testing.TB, name string, per int) [][]byte {
	t.Helper()
	data, err := os.ReadFile(Shared(t, "reference/"+name))
	if err != nil {
		t.Fatal(err)
	}
	out, err := split(data, per)
	if err != nil {
		t.Fatalf("reference/%s: %v", name, err)
	}
	return out
}

func split(data []byte, per int) ([][]byte, error) {
	if per <= 0 || len(data) == 0 || len(data)%per != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of %d-byte records", len(data), per)
	}
	out := make([][]byte, 0, len(data)/per)
	for off := 0; off < len(data); off += per {
		out = append(out, data[off:off+per:off+per])
	}
	return out, nil
}

// ReferenceImages returns the 16 shared images at size x size as uint8 NHWC
// RGB (reference/imagenet16_u8_nhwc_<size>.bin), one slice per image.
func ReferenceImages(t testing.TB, size int) [][]byte {
	t.Helper()
	return ReferenceBytes(t, fmt.Sprintf("imagenet16_u8_nhwc_%d.bin", size), size*size*3)
}

// TorchNormImages returns the 16 shared images torch-preprocessed (224x224,
// ImageNet mean and std) as float32 NCHW [3,224,224] each
// (reference/imagenet16_f32_nchw_224_torchnorm.bin, little-endian).
func TorchNormImages(t testing.TB) [][]float32 {
	t.Helper()
	const per = 3 * 224 * 224
	recs := ReferenceBytes(t, "imagenet16_f32_nchw_224_torchnorm.bin", 4*per)
	out := make([][]float32, len(recs))
	for i, b := range recs {
		out[i] = Float32s(b)
	}
	return out
}

// Float32s decodes little-endian float32 values.
func Float32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// ImageEntry is a line of reference/imagenet16_images.txt: an image file
// name and its ImageNet class (0..999).
type ImageEntry struct {
	Name  string
	Class int
}

// ReferenceImageList reads reference/imagenet16_images.txt, the 16 images
// of the reference files in order. The second result is its path.
func ReferenceImageList(t testing.TB) ([]ImageEntry, string) {
	t.Helper()
	path := Shared(t, "reference/imagenet16_images.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []ImageEntry
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		name, class, ok := strings.Cut(text, ",")
		c, err := strconv.Atoi(class)
		if !ok || err != nil {
			t.Fatalf("%s:%d: %q is not name,class", filepath.Base(path), line, text)
		}
		out = append(out, ImageEntry{Name: name, Class: c})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out, path
}

// Prediction is a row of reference/predictions/<model>.csv: a reference
// runtime's ranking of one image of images/imagenet (File is relative to
// that folder, e.g. "eval/x.JPEG"; -1 in Top5 is the background class).
type Prediction struct {
	File  string
	Class int
	Top1  int
	Top5  []int
}

// ReadPredictions reads reference/predictions/<model>.csv.
func ReadPredictions(t testing.TB, model string) []Prediction {
	t.Helper()
	rel := "reference/predictions/" + model + ".csv"
	f, err := os.Open(Shared(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	preds, err := parsePredictions(f)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return preds
}

func parsePredictions(r io.Reader) ([]Prediction, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "file,class_index,pred_top1,top5,correct_top1,correct_top5" {
		return nil, fmt.Errorf("not a predictions file (header %q)", rows[:min(1, len(rows))])
	}
	var out []Prediction
	for i, row := range rows[1:] {
		p := Prediction{File: row[0]}
		var errs [2]error
		p.Class, errs[0] = strconv.Atoi(row[1])
		p.Top1, errs[1] = strconv.Atoi(row[2])
		for _, s := range strings.Fields(row[3]) {
			c, err := strconv.Atoi(s)
			if err != nil {
				errs[1] = err
			}
			p.Top5 = append(p.Top5, c)
		}
		if errs[0] != nil || errs[1] != nil {
			return nil, fmt.Errorf("line %d: %q", i+2, row)
		}
		out = append(out, p)
	}
	return out, nil
}
