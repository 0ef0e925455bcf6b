package preprocess

import (
	"testing"

	"github.com/mnconv/mnconv/ir"
)

func TestParseRecipe(t *testing.T) {
	for name, want := range map[string]string{"slim": "inception", "Inception": "inception", "torch": "torchvision", "keras": "keras", "vww": "vww"} {
		r, err := ParseRecipe(name)
		if err != nil || r.Name != want {
			t.Errorf("%s: %v %v, want %s", name, r.Name, err, want)
		}
	}
	if _, err := ParseRecipe("full"); err == nil {
		t.Error("full is a geometry, not a preset")
	}
}

func TestDetect(t *testing.T) {
	cases := []struct {
		name string
		meta map[string]string
		want string
		sure bool
	}{
		{"torch-jit-export", map[string]string{"producer": "onnx.quantize 0.1.0"}, "torchvision", true},
		{"x", map[string]string{"producer": "pytorch 2.1"}, "torchvision", true},
		{"tf2onnx", map[string]string{"producer": "tf2onnx 1.12.0"}, "inception", true},
		{"m", map[string]string{"format": "tflite", "description": "MLIR Converted."}, "inception", true},
		{"m", map[string]string{"producer": "onnx.quantize", "onnx.preprocessing": "torchvision ImageNet"}, "torchvision", true},
		{"m", map[string]string{"producer": "mnconv"}, "inception", false},
		{"m", nil, "inception", false},
	}
	for _, c := range cases {
		r, reason, sure := Detect(&ir.Graph{Name: c.name, Meta: c.meta})
		if r.Name != c.want || sure != c.sure || reason == "" {
			t.Errorf("%s %v: %s (sure %v, %q), want %s (sure %v)", c.name, c.meta, r.Name, sure, reason, c.want, c.sure)
		}
	}
}

func TestRecipeModeFor(t *testing.T) {
	f := &ir.Graph{Inputs: []*ir.Tensor{{Name: "x", DType: ir.Float32, Shape: []int{1, 8, 8, 3}}}}
	q := &ir.Graph{Inputs: []*ir.Tensor{{Name: "x", DType: ir.Uint8, Shape: []int{1, 8, 8, 3}}}}
	vww, _ := ParseRecipe("vww")
	if m := vww.ModeFor(f, 0); m != Unit {
		t.Errorf("float input: %v, want unit", m)
	}
	if m := vww.ModeFor(q, 0); m != Auto {
		t.Errorf("quantized input: %v, want auto (raw)", m)
	}
}
