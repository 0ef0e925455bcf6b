package inspect

import (
	"testing"

	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/internal/testutil"
)

// TestSharedTFLiteFigures checks Analyze against the MACs and params that
// shared/README.md counted independently for the shared TFLite models.
func TestSharedTFLiteFigures(t *testing.T) {
	cases := []struct {
		files  []string // summed: the v1 1.0 model ships as extractor + head
		macs   int64
		params int64 // 0: the README gives no figure
	}{
		{[]string{"coral_mobilenet_v1_0.25_128_quant.tflite"}, 13_570_304, 467_593},
		{[]string{"coral_mobilenet_v1_0.75_192_quant.tflite"}, 239_274_240, 2_578_121},
		{[]string{"coral_mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"}, 567_716_352, 0},
		{[]string{"coral_mobilenet_quant_v1_224_head_layers.tflite"}, 1_025_024, 0},
		{[]string{"coral_mobilenet_v1_1.0_224_quant_embedding_extractor.tflite", "coral_mobilenet_quant_v1_224_head_layers.tflite"}, 568_741_376, 0},
		{[]string{"coral_mobilenet_v2_1.0_224_quant.tflite"}, 300_775_552, 3_489_097},
		{[]string{"coral_tf2_mobilenet_v2_1.0_224_ptq.tflite"}, 300_775_552, 3_489_097},
		{[]string{"mlcommons_tiny_vww_96_float.tflite"}, 7_489_664, 210_850},
		{[]string{"mlcommons_tiny_vww_96_int8.tflite"}, 7_489_664, 210_850},
	}
	for _, c := range cases {
		name := c.files[0]
		if len(c.files) > 1 {
			name = "extractor+head"
		}
		t.Run(name, func(t *testing.T) {
			var macs, params int64
			for _, f := range c.files {
				g, err := importers.Load(testutil.Shared(t, "models/tflite/"+f), importers.Options{})
				if err != nil {
					t.Fatal(err)
				}
				r := Analyze(g)
				macs += r.TotalMACs
				params += r.TotalParams
				t.Logf("%s: %d layers, %s MACs, %s params, %s other params, weight bytes %v",
					f, len(r.Layers), Thousands(r.TotalMACs), Thousands(r.TotalParams), Thousands(r.OtherParams), r.WeightBytes)
			}
			if macs != c.macs {
				t.Errorf("MACs = %s, README says %s", Thousands(macs), Thousands(c.macs))
			}
			if c.params != 0 && params != c.params {
				t.Errorf("params = %s, README says %s", Thousands(params), Thousands(c.params))
			}
		})
	}
}
