package eval

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/runtime"
)

// channelModel's fully connected layer: 3 outputs x 48 inputs = 144 MACs
// per image; its weight is 3x48 float32 = 576 bytes.
func TestEvaluateCost(t *testing.T) {
	items := writeDataset(t, t.TempDir(), 9)
	cfg := cfgFull()
	cfg.CountLayers = true
	r, err := Evaluate(context.Background(), mustValidate(t, channelModel("right", 1, 3, 0)), items, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.MACsPerImage != 144 || r.StaticMACs != 144 || r.WeightBytes != 576 || len(r.Cost) != 1 {
		t.Fatalf("cost: %d MACs per image (static %d), %d weight bytes, %d models", r.MACsPerImage, r.StaticMACs, r.WeightBytes, len(r.Cost))
	}
	mc := r.Cost[0]
	if mc.Images != 9 || len(mc.Layers) != 1 || mc.Layers[0] != (LayerCost{Name: "fc", Op: "FullyConnected", MACsPerImage: 144, StaticMACs: 144}) || !mc.Matches() {
		t.Errorf("model cost %+v, layers %+v", mc, mc.Layers)
	}
	// A chain adds up; without CountLayers only the totals are kept.
	g1, g2 := channelModel("first", 1, 48, 0), channelModel("second", 1, 3, 0)
	r, err = Evaluate(context.Background(), mustValidate(t, g1, g2), items, cfgFull())
	if err != nil {
		t.Fatal(err)
	}
	if r.MACsPerImage != 48*48+144 || r.WeightBytes != 4*48*48+576 || len(r.Cost) != 2 || r.Cost[0].Layers != nil {
		t.Errorf("chain cost %d MACs, %d bytes, %+v", r.MACsPerImage, r.WeightBytes, r.Cost)
	}
}

func TestCountRuns(t *testing.T) {
	g := channelModel("m", 1, 3, 0)
	var its []*runtime.Interpreter
	for range 2 {
		it, err := runtime.New(g)
		if err != nil {
			t.Fatal(err)
		}
		its = append(its, it)
	}
	for i, runs := range []int{2, 3} {
		for range runs {
			if err := its[i].Run(); err != nil {
				t.Fatal(err)
			}
		}
	}
	mc, err := CountRuns(5, false, its...)
	if err != nil || mc.MACsPerImage != 144 || mc.StaticMACs != 144 {
		t.Errorf("5 runs over 2 interpreters: %+v, %v", mc, err)
	}
	if _, err := CountRuns(7, false, its...); err == nil || !strings.Contains(err.Error(), "not a whole number") {
		t.Errorf("5 runs counted as 7 images: %v", err)
	}
	other, _ := runtime.New(channelModel("other", 1, 3, 0))
	if _, err := CountRuns(5, false, its[0], other); err == nil {
		t.Error("interpreters of two graphs counted together")
	}
	if _, err := CountRuns(1, false); err == nil {
		t.Error("no interpreters counted")
	}
}

func TestGateCost(t *testing.T) {
	res := func(macs, bytes int64) *Result {
		return &Result{Top1: 50, N: 1, MACsPerImage: macs, WeightBytes: bytes, PerImage: []ImageResult{{File: "a", Top5: []int{1}}}}
	}
	float := res(1000, 4000)
	tests := []struct {
		name                string
		gate                Gate
		model, base         *Result
		pass                bool
		macsRatio, sizeRato float64
	}{
		{"int8 vs float, equal MACs within 1.0", Gate{MinTop1: -1, MaxMACsRatio: 1, MaxSizeRatio: 0.3}, res(1000, 1040), float, true, 1, 0.26},
		{"int8 vs float, MACs over 0.5", Gate{MinTop1: -1, MaxMACsRatio: 0.5}, res(1000, 1040), float, false, 1, 0.26},
		{"size over 0.25", Gate{MinTop1: -1, MaxSizeRatio: 0.25}, res(1000, 1040), float, false, 1, 0.26},
		{"unchecked", Gate{MinTop1: -1}, res(5000, 9000), float, true, 5, 2.25},
		{"zero baseline", Gate{MinTop1: -1, MaxMACsRatio: 2}, res(10, 0), res(0, 0), false, 0, 0},
		{"both zero", Gate{MinTop1: -1, MaxMACsRatio: 1, MaxSizeRatio: 1}, res(0, 0), res(0, 0), true, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.gate.Compare(tc.model, tc.base)
			if c.Pass != tc.pass || c.MACsRatio != tc.macsRatio || c.SizeRatio != tc.sizeRato {
				t.Errorf("pass %v, MACs ratio %v, size ratio %v (failures %q)", c.Pass, c.MACsRatio, c.SizeRatio, c.Failures)
			}
		})
	}
	g := Gate{MinTop1: -1, MaxMACsRatio: 0.5, MaxSizeRatio: 0.3}
	c := g.Compare(res(1000, 1040), float)
	path := filepath.Join(t.TempDir(), "gate.xml")
	if err := g.WriteJUnit(path, "cost", c); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Suites[0]
	if s.Tests != 3 || s.Failures != 1 || s.Cases[1].Name != "macs_ratio <= 0.500" || s.Cases[1].Failure == nil ||
		!strings.Contains(s.Cases[1].Failure.Message, "1.000x the baseline's 1000") || s.Cases[2].Failure != nil ||
		!strings.Contains(s.SystemOut, "size_ratio=0.2600") {
		t.Errorf("junit:\n%s", data)
	}
}
