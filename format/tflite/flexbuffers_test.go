package tflite

import (
	"encoding/binary"
	"math"
	"os"
	"strings"
	"testing"

	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
)

const petsSSD = "apps/models/ssd_mobilenet_v1_0.75_depth_pets_quant_detect.tflite"

// petsOptions returns the custom options of the pets SSD's
// TFLite_Detection_PostProcess (nil when the shared folder is missing).
func petsOptions(tb testing.TB) []byte {
	dir, ok := testutil.SharedDir()
	if !ok {
		return nil
	}
	data, err := os.ReadFile(dir + "/" + petsSSD)
	if err != nil {
		return nil
	}
	m := fb.GetRootAsModel(data, 0)
	var sg fb.SubGraph
	var op fb.Operator
	var oc fb.OperatorCode
	m.Subgraphs(&sg, 0)
	for i := 0; i < sg.OperatorsLength(); i++ {
		sg.Operators(&op, i)
		m.OperatorCodes(&oc, int(op.OpcodeIndex()))
		if string(oc.CustomCode()) == DetectionPostProcessCode {
			return op.CustomOptionsBytes()
		}
	}
	tb.Fatalf("%s has no %s", petsSSD, DetectionPostProcessCode)
	return nil
}

var petsAttrs = ir.DetectionPostProcessAttrs{
	MaxDetections: 10, MaxClassesPerDetection: 1, DetectionsPerClass: 100, ScoreThreshold: 1e-8,
	IoUThreshold: 0.6, NumClasses: 37, YScale: 10, XScale: 10, HScale: 5, WScale: 5,
}

func TestReadDetectionOptionsPets(t *testing.T) {
	buf := petsOptions(t)
	if buf == nil {
		t.Skip("shared folder missing")
	}
	m, err := ReadFlexMap(buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) < 11 {
		t.Errorf("map has %d keys: %v", len(m), m)
	}
	a, err := ReadDetectionPostProcessOptions(buf)
	if err != nil {
		t.Fatal(err)
	}
	if *a != petsAttrs {
		t.Errorf("got %+v\nwant %+v", *a, petsAttrs)
	}
}

func TestDetectionOptionsRoundTrip(t *testing.T) {
	for _, a := range []ir.DetectionPostProcessAttrs{petsAttrs, {
		MaxDetections: 300, MaxClassesPerDetection: 3, DetectionsPerClass: 7, UseRegularNMS: true,
		ScoreThreshold: -0.25, IoUThreshold: 1, NumClasses: 90, YScale: 0.1, XScale: 1e9, HScale: -5, WScale: 3,
	}} {
		buf, err := DetectionPostProcessOptions(&a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadDetectionPostProcessOptions(buf)
		if err != nil {
			t.Fatal(err)
		}
		if *got != a {
			t.Errorf("got %+v\nwant %+v", *got, a)
		}
	}
}

// TestFlexMapWidths reads maps written by hand at other widths: 1-byte
// values and keys, 8-byte doubles, indirect floats, a uint.
func TestFlexMapWidths(t *testing.T) {
	// Keys "a", "b", "c", "d"; the map at width 1 holds int -3, uint 200,
	// bool true and an indirect double 2.5 (8 bytes, before the keys).
	var b []byte
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(2.5)) // 0..7
	keys := []int{}
	for _, k := range "abcd" {
		keys = append(keys, len(b))
		b = append(b, byte(k), 0)
	}
	b = append(b, 4) // keys count
	kv := len(b)
	for i, k := range keys {
		b = append(b, byte(kv+i-k))
	}
	b = append(b, byte(len(b)-kv), 1, 4) // keys offset, keys width, count
	m := len(b)
	b = append(b, 0xfd, 200, 1, byte(m+3-0))
	b = append(b, byte(FlexInt)<<2, byte(FlexUint)<<2, byte(FlexBool)<<2, byte(FlexIndirectFloat)<<2|3)
	b = append(b, byte(len(b)-m), byte(FlexMap)<<2, 1)
	got, err := ReadFlexMap(b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]FlexValue{
		"a": {Type: FlexInt, I: -3}, "b": {Type: FlexUint, U: 200}, "c": {Type: FlexBool, B: true}, "d": {Type: FlexFloat, F: 2.5},
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %+v, want %+v", k, got[k], v)
		}
	}
}

func TestDetectionOptionsRefused(t *testing.T) {
	good, err := DetectionPostProcessOptions(&petsAttrs)
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(a *ir.DetectionPostProcessAttrs)) []byte {
		a := petsAttrs
		f(&a)
		// Written without Check: the reader must refuse it.
		i := func(k string, v int) FlexEntry { return FlexEntry{k, FlexValue{Type: FlexInt, I: int64(v)}} }
		fl := func(k string, v float32) FlexEntry { return FlexEntry{k, FlexValue{Type: FlexFloat, F: float64(v)}} }
		buf, err := WriteFlexMap([]FlexEntry{
			i("max_detections", a.MaxDetections), i("max_classes_per_detection", a.MaxClassesPerDetection),
			i("detections_per_class", a.DetectionsPerClass), fl("nms_score_threshold", a.ScoreThreshold),
			fl("nms_iou_threshold", a.IoUThreshold), i("num_classes", a.NumClasses),
			fl("y_scale", a.YScale), fl("x_scale", a.XScale), fl("h_scale", a.HScale), fl("w_scale", a.WScale),
		})
		if err != nil {
			t.Fatal(err)
		}
		return buf
	}
	nan := float32(math.NaN())
	cases := []struct {
		name string
		buf  []byte
		want string
	}{
		{"empty", nil, "at least 3"},
		{"huge max_detections", with(func(a *ir.DetectionPostProcessAttrs) { a.MaxDetections = 1 << 30 }), "max_detections"},
		{"negative max_detections", with(func(a *ir.DetectionPostProcessAttrs) { a.MaxDetections = -1 }), "max_detections"},
		{"NaN y_scale", with(func(a *ir.DetectionPostProcessAttrs) { a.YScale = nan }), "y_scale NaN"},
		{"zero w_scale", with(func(a *ir.DetectionPostProcessAttrs) { a.WScale = 0 }), "w_scale 0"},
		{"NaN score threshold", with(func(a *ir.DetectionPostProcessAttrs) { a.ScoreThreshold = nan }), "nms_score_threshold"},
		{"iou 0", with(func(a *ir.DetectionPostProcessAttrs) { a.IoUThreshold = 0 }), "nms_iou_threshold"},
		{"no classes", with(func(a *ir.DetectionPostProcessAttrs) { a.NumClasses = 0 }), "num_classes"},
		{"root width 3", append(good[:len(good)-1:len(good)-1], 3), "root byte width 3"},
		{"root not a map", append(good[:len(good)-2:len(good)-2], byte(FlexInt)<<2, 4), "want a map"},
		{"offset before the buffer", append([]byte{0xff, 0xff, 0xff, 0x7f}, byte(FlexMap)<<2|2, 4), "before the buffer"},
	}
	for _, c := range cases {
		_, err := ReadDetectionPostProcessOptions(c.buf)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.want)
		}
	}
	// Every truncation of real options is refused, never a panic.
	for _, buf := range [][]byte{good, petsOptions(t)} {
		for n := range len(buf) {
			if _, err := ReadDetectionPostProcessOptions(buf[:n]); err == nil {
				t.Errorf("truncated to %d of %d bytes: no error", n, len(buf))
			}
		}
	}
	// A missing required key.
	buf, _ := WriteFlexMap([]FlexEntry{{"max_detections", FlexValue{Type: FlexInt, I: 10}}})
	if _, err := ReadDetectionPostProcessOptions(buf); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing keys: %v", err)
	}
}

// FuzzFlexMap feeds arbitrary bytes to the FlexBuffer reader and the
// options reader: an error or a map, never a panic; what reads as options
// writes and reads back the same.
//
//	go test ./format/tflite -run '^$' -fuzz FuzzFlexMap -fuzztime 1m
func FuzzFlexMap(f *testing.F) {
	if buf := petsOptions(f); buf != nil {
		f.Add(buf)
	}
	good, _ := DetectionPostProcessOptions(&petsAttrs)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0, byte(FlexMap)<<2 | 2, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ReadFlexMap(data)
		a, err := ReadDetectionPostProcessOptions(data)
		if err != nil {
			return
		}
		buf, err := DetectionPostProcessOptions(a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ReadDetectionPostProcessOptions(buf)
		if err != nil || *b != *a {
			t.Fatalf("re-read %+v, %v; want %+v", b, err, a)
		}
	})
}
