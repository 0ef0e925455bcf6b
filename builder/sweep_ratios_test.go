package builder

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// TestSweepAxisRatios reproduces the v1 paper's two rules of thumb with our
// own counts: alpha 0.75 alone saves about 40 % of the MACs (measured 42.8
// %, alpha² says 43.75 %) and 224 -> 192 px about 30 % (measured 26.5 %,
// rho² says 26.5 %).
func TestSweepAxisRatios(t *testing.T) {
	sw, err := Sweep(V1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	alphas, ress := sw.AlphaRatios(), sw.ResolutionRatios()
	if len(alphas) != 4 || len(ress) != 4 {
		t.Fatalf("%d alpha rows, %d resolution rows; want 4 and 4", len(alphas), len(ress))
	}
	for _, r := range append(alphas, ress...) {
		if math.Abs(r.MACRatio-r.Predicted) > 0.015 {
			t.Errorf("alpha %g res %d: MACs ratio %.4f, alpha²·rho² %.4f", r.Alpha, r.Resolution, r.MACRatio, r.Predicted)
		}
	}
	a, r := alphas[1], ress[1]
	if a.Alpha != 0.75 || a.Resolution != 224 || r.Resolution != 192 || r.Alpha != 1 {
		t.Fatalf("rows %+v %+v", a, r)
	}
	saveA, saveR := 100*(1-a.MACRatio), 100*(1-r.MACRatio)
	t.Logf("alpha 0.75 saves %.1f%% of MACs (alpha²: %.1f%%), %.1f%% of params; 224->192 saves %.1f%% (rho²: %.1f%%)",
		saveA, 100*(1-a.Predicted), 100*(1-a.ParamRatio), saveR, 100*(1-r.Predicted))
	if saveA < 40 || saveA > 45 || saveR < 25 || saveR > 30 {
		t.Errorf("alpha 0.75 saves %.1f%%, 224->192 %.1f%%; the paper's rules say about 40%% and 30%%", saveA, saveR)
	}
	if r.ParamRatio != 1 {
		t.Errorf("resolution changed the params: %.4f", r.ParamRatio)
	}
	var buf bytes.Buffer
	if err := sw.WriteRatios(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"claim: alpha 0.75 saves about 40 % of MACs; measured 42.8 % (alpha² predicts 43.8 %)",
		"claim: 224 -> 192 px saves about 30 % of MACs; measured 26.5 % (rho² predicts 26.5 %)",
		"   0.75     0.572   0.562       42.8%       0.611",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("ratios text lacks %q:\n%s", want, buf.String())
		}
	}
	// Without the papers' reference row there is nothing to compare with.
	sw, err = Sweep(V1, []float64{0.5, 0.25}, []int{160, 128})
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := sw.WriteRatios(&buf); err != nil || strings.Contains(buf.String(), "claim") {
		t.Errorf("ratios against 0.5/160 (%v):\n%s", err, buf.String())
	}
}
