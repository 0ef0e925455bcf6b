package inspect

import (
	"testing"

	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/onnx"
	"github.com/mnconv/mnconv/internal/testutil"
)

// TestSharedONNXMatchesProtobufCount imports the STM32 tutorial MobileNetV2
// and checks Analyze's totals against onnxCount, made from the raw protobuf
// in the file's NCHW shapes. MACs must agree exactly. Params may move
// between "params" and "other" if the importer turns MatMul+Add into a
// fully connected layer, so their sum is compared.
func TestSharedONNXMatchesProtobufCount(t *testing.T) {
	path := testutil.Shared(t, "models/onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx")
	macs, params, other, err := onnxCount(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := importers.Load(path, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := Analyze(g)
	t.Logf("Analyze: %d layers, %s MACs, %s params, %s other; protobuf count: %s MACs, %s params, %s other",
		len(r.Layers), Thousands(r.TotalMACs), Thousands(r.TotalParams), Thousands(r.OtherParams),
		Thousands(macs), Thousands(params), Thousands(other))
	if r.TotalMACs != macs {
		t.Errorf("total MACs %s, the protobuf count says %s", Thousands(r.TotalMACs), Thousands(macs))
	}
	if r.TotalParams+r.OtherParams != params+other {
		t.Errorf("params + other = %s, the protobuf count says %s", Thousands(r.TotalParams+r.OtherParams), Thousands(params+other))
	}
	if r.TotalParams < params {
		t.Errorf("params %s, fewer than the conv and matmul weights the protobuf holds (%s)", Thousands(r.TotalParams), Thousands(params))
	}
	depthwise := 0
	for _, l := range r.Layers {
		if l.Op == "DepthwiseConv" {
			depthwise++
		}
	}
	// MobileNetV2 has one depthwise conv per inverted residual block: 17.
	if depthwise != 17 {
		t.Errorf("%d DepthwiseConv layers, want 17", depthwise)
	}
}
