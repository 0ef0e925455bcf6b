package testutil

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseReference(t *testing.T) {
	ort := `{"runtime":"onnxruntime","input":{"name":"x","shape":[1,3,2,2],"mode":"f32nchw","file":"in.bin"},
		"results":[{"image":0,"argmax":1,"dims":[1,2],"output":[0.5,1.5]},{"image":1,"argmax":0,"dims":[1,2],"output":[2,-1]}]}`
	r, err := parseReference([]byte(ort))
	if err != nil {
		t.Fatal(err)
	}
	if r.Runtime != "onnxruntime" || r.Input.File != "in.bin" || r.Input.Mode != "f32nchw" || !slices.Equal(r.Input.Shape, []int{1, 3, 2, 2}) {
		t.Errorf("header %+v", r)
	}
	if len(r.Results) != 2 || r.Results[1].Image != 1 || r.Results[0].Argmax != 1 || !slices.Equal(r.Results[0].Dims, []int{1, 2}) {
		t.Errorf("results %+v", r.Results)
	}
	if o := r.Outputs(); len(o) != 2 || !slices.Equal(o[1], []float64{2, -1}) {
		t.Errorf("Outputs %v", o)
	}
	if o := r.Outputs32(); len(o) != 2 || !slices.Equal(o[0], []float32{0.5, 1.5}) {
		t.Errorf("Outputs32 %v", o)
	}

	tflm := `{"runtime":"tflm","input":{"file":"x.bin","mode":"raw"},"results":[{"index":3,"output":[-5,7],"top5":[1,0]}]}`
	r, err = parseReference([]byte(tflm))
	if err != nil {
		t.Fatal(err)
	}
	if res := r.Results[0]; res.Image != 3 || res.Argmax != 1 || !slices.Equal(res.Top5, []int{1, 0}) {
		t.Errorf("tflm result %+v", res)
	}

	// argmax 0 is a value, not an absent field
	r, err = parseReference([]byte(`{"results":[{"image":0,"argmax":0,"top5":[1],"output":[1]}]}`))
	if err != nil || r.Results[0].Argmax != 0 {
		t.Errorf("argmax 0: %+v, %v", r, err)
	}

	for _, bad := range []struct{ text, err string }{
		{`{"results":[]}`, "no results"},
		{`{}`, "no results"},
		{`{"results":[{"image":0,"argmax":0,"output":[]}]}`, "no output"},
		{`{"results":[{"argmax":0,"output":[1]}]}`, `without "image"`},
		{`{"results":[{"image":2,"output":[1]}]}`, `image 2: no "argmax"`},
		{`{"results":[{"image":0,"argmax":0,"output":["x"]}]}`, "cannot unmarshal"},
		{`not json`, "invalid character"},
	} {
		if _, err := parseReference([]byte(bad.text)); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("%s: error %v, want one containing %q", bad.text, err, bad.err)
		}
	}
}

func TestSplitAndFloat32s(t *testing.T) {
	recs, err := split([]byte{1, 2, 3, 4, 5, 6}, 3)
	if err != nil || len(recs) != 2 || !slices.Equal(recs[1], []byte{4, 5, 6}) || cap(recs[0]) != 3 {
		t.Errorf("split: %v %v", recs, err)
	}
	for _, per := range []int{0, -1, 4} {
		if _, err := split([]byte{1, 2, 3, 4, 5, 6}, per); err == nil {
			t.Errorf("split by %d: no error", per)
		}
	}
	if _, err := split(nil, 3); err == nil {
		t.Error("split of nothing: no error")
	}
	// 1.0 and -2.5 little-endian
	if got := Float32s([]byte{0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0}); !slices.Equal(got, []float32{1, -2.5}) {
		t.Errorf("Float32s: %v", got)
	}
}

func TestParsePredictions(t *testing.T) {
	text := "file,class_index,pred_top1,top5,correct_top1,correct_top5\n" +
		"calib/a.JPEG,0,0,0 1 -1 2 3,1,1\n" +
		"eval/b.JPEG,5,7,7 5 1 2 3,0,1\n"
	got, err := parsePredictions(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].File != "eval/b.JPEG" || got[1].Class != 5 || got[1].Top1 != 7 || !slices.Equal(got[0].Top5, []int{0, 1, -1, 2, 3}) {
		t.Errorf("%+v", got)
	}
	for _, bad := range []string{
		"",
		"model,input_mode\nx,y\n",
		"file,class_index,pred_top1,top5,correct_top1,correct_top5\na,x,0,0,1,1\n",
		"file,class_index,pred_top1,top5,correct_top1,correct_top5\na,0,0,0 z,1,1\n",
	} {
		if _, err := parsePredictions(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestSharedReferences reads every shared reference file with the helpers:
// each parses, numbers its images in order, and its recorded top-1 is
// Argmax of its output (the files rank ties to the lower index, as Argmax).
func TestSharedReferences(t *testing.T) {
	dir := filepath.Dir(Shared(t, "reference/imagenet16_images.txt"))
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no reference files in %s (%v)", dir, err)
	}
	for _, p := range names {
		name := filepath.Base(p)
		r := ReadReference(t, name)
		for i, res := range r.Results {
			if res.Image != i {
				t.Errorf("%s: result %d is image %d", name, i, res.Image)
			}
			if a := Argmax(res.Output); a != res.Argmax {
				t.Errorf("%s image %d: Argmax %d, file says %d", name, i, a, res.Argmax)
			}
		}
		if strings.HasPrefix(r.Input.File, "imagenet16_") && len(r.Results) != 16 {
			t.Errorf("%s: %d results, want 16", name, len(r.Results))
		}
	}
	for _, size := range []int{96, 128, 160, 192, 224} {
		if imgs := ReferenceImages(t, size); len(imgs) != 16 || len(imgs[15]) != size*size*3 {
			t.Errorf("size %d: %d images", size, len(imgs))
		}
	}
	norm := TorchNormImages(t)
	if len(norm) != 16 || len(norm[0]) != 3*224*224 {
		t.Errorf("torchnorm: %d images", len(norm))
	}
	list, _ := ReferenceImageList(t)
	if len(list) != 16 || list[0] != (ImageEntry{"n01440764_tench.JPEG", 0}) {
		t.Errorf("image list %v", list)
	}
	preds := ReadPredictions(t, "coral_mobilenet_v1_0.25_128_quant")
	if len(preds) != 800 || len(preds[0].Top5) != 5 {
		t.Errorf("%d predictions", len(preds))
	}
}
