package ir

import "testing"

func TestQuantizeValue(t *testing.T) {
	tests := []struct {
		v     float64
		scale float32
		zp    int64
		dt    DType
		want  int32
	}{
		{0.5, 1, 0, Int8, 1}, {-0.5, 1, 0, Int8, -1}, {2.5, 1, 0, Int8, 3}, // half away from zero
		{1000, 1, 0, Int8, 127}, {-1000, 1, 0, Uint8, 0}, {1000, 1, 0, Uint8, 255},
		{-1, 1.0 / 128, 128, Uint8, 0}, {0, 1.0 / 128, 128, Uint8, 128},
	}
	for _, tc := range tests {
		if got := QuantizeValue(tc.v, tc.scale, tc.zp, tc.dt); got != tc.want {
			t.Errorf("QuantizeValue(%v, %v, %d, %v) = %d, want %d", tc.v, tc.scale, tc.zp, tc.dt, got, tc.want)
		}
	}
}

// TestSourceQuantText: the text form mnconv writes into files reads back to
// the same value and prints to the same bytes; anything else is refused.
func TestSourceQuantText(t *testing.T) {
	for _, s := range []string{
		"uint8 scale=0.0078125 zero_point=128",
		"int8 scale=0.00392156886 zero_point=-128",
		"int8 scale=0.100000001 zero_point=3",
		"int32 scale=9.99999975e-06 zero_point=0",
		"int8 axis=0 scales=[0.1 0.2 1e-05] zero_points=[0 1 -2]",
		"uint8 axis=3 scales=[] zero_points=[]",
	} {
		q, err := ParseSourceQuant(s)
		if err != nil {
			t.Errorf("ParseSourceQuant(%q): %v", s, err)
			continue
		}
		if got := q.String(); got != s {
			t.Errorf("ParseSourceQuant(%q).String() = %q", s, got)
		}
	}
	for _, s := range []string{
		"", "uint8", "float16 scale=1 zero_point=0", "uint8 scale=x zero_point=0",
		"uint8 scale=0.5 zero_point=1.5", "uint8 scale=0.50 zero_point=1", "uint8 scale=0.5  zero_point=1",
		"int8 axis=0 scales=[0.1 0.2 zero_points=[0]", "invalid scale=1 zero_point=0",
	} {
		if q, err := ParseSourceQuant(s); err == nil {
			t.Errorf("ParseSourceQuant(%q) = %v, want an error", s, q)
		}
	}
	q := SourceQuant{DType: Uint8, Quant: &Quant{Scale: []float32{0.5}, ZeroPoint: []int64{128}}}
	if dt, s, zp, ok := q.PerTensor(); !ok || dt != Uint8 || s != 0.5 || zp != 128 {
		t.Errorf("PerTensor() = %v %v %v %v", dt, s, zp, ok)
	}
	for _, bad := range []SourceQuant{{}, {DType: Int32, Quant: q.Quant}, {DType: Int8, Quant: &Quant{Scale: []float32{0.5, 1}}}, {DType: Int8, Quant: &Quant{Scale: []float32{0}}}} {
		if _, _, _, ok := bad.PerTensor(); ok {
			t.Errorf("PerTensor() of %v is ok", bad)
		}
	}
}

func TestGraphCloneKeepsSourceQuant(t *testing.T) {
	g := &Graph{SourceInputQuant: map[string]SourceQuant{"x": {DType: Uint8, Quant: &Quant{Scale: []float32{0.5}}}}}
	c := g.Clone()
	if c.SourceInputQuant["x"].String() != "uint8 scale=0.5 zero_point=0" || c.SourceOutputQuant != nil {
		t.Fatalf("clone facts %v %v", c.SourceInputQuant, c.SourceOutputQuant)
	}
	c.SourceInputQuant["x"].Quant.Scale[0] = 2
	if g.SourceInputQuant["x"].Quant.Scale[0] != 0.5 {
		t.Errorf("clone shares the source quantization's scales")
	}
}
