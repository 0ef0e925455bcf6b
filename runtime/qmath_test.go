package runtime

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestQuantizeMultiplier(t *testing.T) {
	cases := []struct {
		name  string
		m     float64
		mult  int32
		shift int
	}{
		{"zero", 0, 0, 0},
		{"half", 0.5, 1 << 30, 0},
		{"one", 1, 1 << 30, 1},
		{"three quarters", 0.75, 1610612736, 0},
		// q*2^31 = 2^30 + 0.5 exactly: std::round goes away from zero.
		{"mantissa tie", 0.5 + 0x1p-32, 1<<30 + 1, 0},
		// The mantissa rounds up to 2^31: halve it and bump the shift.
		{"mantissa rounds to 2^31", 1 - 0x1p-33, 1 << 30, 1},
		{"large", 1e6, 2048000000, 20},
		{"smallest kept", 0x1p-32, 1 << 30, -31},
		{"flushed to zero", 0x1p-33, 0, 0},
		{"tiny", 3e-10, int32(math.Round(3e-10 * 0x1p62)), -31},
	}
	for _, c := range cases {
		mult, shift, err := quantizeMultiplier(c.m)
		if err != nil || mult != c.mult || shift != c.shift {
			t.Errorf("%s: quantizeMultiplier(%g) = %d, %d, %v; want %d, %d", c.name, c.m, mult, shift, err, c.mult, c.shift)
		}
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1)} {
		if _, _, err := quantizeMultiplier(bad); err == nil {
			t.Errorf("quantizeMultiplier(%g) succeeded", bad)
		}
	}
	if _, _, err := quantizeMultiplierSmallerThanOneExp(1); err == nil {
		t.Errorf("quantizeMultiplierSmallerThanOneExp(1) succeeded")
	}
	if _, _, err := quantizeMultiplierGreaterThanOne(0.9); err == nil {
		t.Errorf("quantizeMultiplierGreaterThanOne(0.9) succeeded")
	}
}

func TestSRDHMAndRDBPOT(t *testing.T) {
	srdhmCases := []struct{ a, b, want int32 }{
		{100, 1 << 30, 50},
		{3, 1 << 30, 2},   // 1.5 -> 2
		{-3, 1 << 30, -1}, // -1.5 -> -1: ties go toward +infinity, not away from zero
		{-1, 1 << 30, 0},  // -0.5 -> 0
		{1, 1 << 30, 1},   // 0.5 -> 1
		{-5, 1 << 29, -1}, // -1.25 -> -1
		{-7, 1 << 29, -2}, // -1.75 -> -2
		{math.MinInt32, math.MinInt32, math.MaxInt32},
		{math.MinInt32, math.MaxInt32, -math.MaxInt32},
	}
	for _, c := range srdhmCases {
		if got := srdhm(c.a, c.b); got != c.want {
			t.Errorf("srdhm(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	rdbpotCases := []struct {
		x    int32
		exp  int
		want int32
	}{
		{5, 1, 3}, {-5, 1, -3}, // ties away from zero
		{6, 2, 2}, {-6, 2, -2},
		{7, 2, 2}, {-7, 2, -2},
		{5, 2, 1}, {-5, 2, -1},
		{42, 0, 42},
		{math.MaxInt32, 31, 1}, {math.MinInt32, 31, -1}, {0, 31, 0},
		{math.MaxInt32, 32, 0}, {1 << 30, 32, 0},
	}
	for _, c := range rdbpotCases {
		if got := rdbpot(c.x, c.exp); got != c.want {
			t.Errorf("rdbpot(%d, %d) = %d, want %d", c.x, c.exp, got, c.want)
		}
	}
	if got := srdhm16(-3, 1<<14); got != -1 {
		t.Errorf("srdhm16(-3, 2^14) = %d, want -1", got)
	}
	if got := srdhm16(math.MinInt16, math.MinInt16); got != math.MaxInt16 {
		t.Errorf("srdhm16 saturation = %d", got)
	}
	if got := sdhm16(-3, 1<<14); got != -1 { // -1.5 truncates to -1
		t.Errorf("sdhm16(-3, 2^14) = %d, want -1", got)
	}
	if got := sdhm16(3, 1<<14); got != 1 {
		t.Errorf("sdhm16(3, 2^14) = %d, want 1", got)
	}
}

func TestMulByQuantizedMultiplier(t *testing.T) {
	cases := []struct {
		name  string
		x, m  int32
		shift int
		want  int32
	}{
		{"half", 100, 1 << 30, 0, 50},
		{"half tie positive", 3, 1 << 30, 0, 2},
		// The tie is decided in srdhm (toward +inf), not by the shift.
		{"half tie negative", -3, 1 << 30, 0, -1},
		// 6 * 0.25 = 1.5: srdhm is exact (3), the shift rounds away from zero.
		{"quarter tie positive", 6, 1 << 30, -1, 2},
		{"quarter tie negative", -6, 1 << 30, -1, -2},
		// -3 * 0.25 = -0.75: srdhm gives -1 (from -1.5), the shift -0.5 -> -1.
		{"double rounding", -3, 1 << 30, -1, -1},
		{"large multiplier", 1000, 1 << 30, 5, 16000},
		{"one", -77, 1 << 30, 1, -77},
		{"tiny multiplier", 1 << 30, 1 << 30, -31, 0},
		{"tiny multiplier max", math.MaxInt32, 1 << 30, -30, 1},
		{"negative accumulator", -1000000, 1518500250, -8, -2762}, // 1e6 * 0.70710678/256 = 2762.1
	}
	for _, c := range cases {
		if got := mulByQuantizedMultiplier(c.x, c.m, c.shift); got != c.want {
			t.Errorf("%s: mulByQuantizedMultiplier(%d, %d, %d) = %d, want %d", c.name, c.x, c.m, c.shift, got, c.want)
		}
	}
	// Against the real product: the double rounding stays within one unit.
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		real := math.Exp(r.Float64()*20 - 16) // about 1e-7 .. 55
		m, s, err := quantizeMultiplier(real)
		if err != nil {
			t.Fatal(err)
		}
		x := int32(r.IntN(1<<20) - 1<<19)
		got := float64(mulByQuantizedMultiplier(x, m, s))
		exact := float64(x) * float64(m) * math.Ldexp(1, s-31)
		if math.Abs(got-exact) > 1 {
			t.Fatalf("mulByQuantizedMultiplier(%d, %d, %d) = %g, real product %g", x, m, s, got, exact)
		}
	}
}

func TestFixedPointFunctions(t *testing.T) {
	// exp on Q5.26 inputs against math.Exp.
	for _, v := range []float64{0, -0.01, -0.25, -0.5, -1, -2.5, -7.9, -15, -31.9} {
		raw := int32(math.Round(v * (1 << 26)))
		got := float64(fxExpOnNegativeValues(raw, 5)) / (1 << 31)
		if want := math.Exp(v); math.Abs(got-want) > 3e-7 { // the Taylor polynomial is worst at -1/4
			t.Errorf("exp(%g) = %.9f, want %.9f", v, got, want)
		}
	}
	if got := fxExpOnNegativeValues(0, 5); got != math.MaxInt32 {
		t.Errorf("exp(0) = %d, want MaxInt32", got)
	}
	// logistic on Q4.27 inputs.
	for _, v := range []float64{-15, -4, -1, -0.001, 0.001, 1, 4, 15} {
		raw := int32(math.Round(v * (1 << 27)))
		got := float64(fxLogistic(raw, 4)) / (1 << 31)
		if want := 1 / (1 + math.Exp(-v)); math.Abs(got-want) > 2e-7 {
			t.Errorf("logistic(%g) = %.9f, want %.9f", v, got, want)
		}
	}
	if got := fxLogistic(0, 4); got != 1<<30 {
		t.Errorf("logistic(0) = %d, want 2^30", got)
	}
	// 1/(1+x) for x in [0, 1).
	for _, v := range []float64{0, 0.25, 0.5, 0.999} {
		got := float64(fxOneOverOnePlusX(int32(v*(1<<31)))) / (1 << 31)
		if want := 1 / (1 + v); math.Abs(got-want) > 2e-8 {
			t.Errorf("1/(1+%g) = %.9f, want %.9f", v, got, want)
		}
	}
	// GetReciprocal of 3.0 in Q12.19: 1/3 = (2/3) * 2^-1.
	scale, over := getReciprocal(3<<19, 12)
	if over != 1 || math.Abs(float64(scale)/(1<<31)-2.0/3) > 2e-8 {
		t.Errorf("getReciprocal(3) = %d, %d; want 2/3 and 1 bit over unit", scale, over)
	}
	if got := calculateInputRadius(5, 20, 31); got != 31*(1<<26)>>20 {
		t.Errorf("calculateInputRadius(5, 20) = %d", got)
	}
	if got := downScaleInt32ToInt16Multiplier(math.MaxInt32); got != math.MaxInt16 {
		t.Errorf("downScale(MaxInt32) = %d", got)
	}
	if got := downScaleInt32ToInt16Multiplier(1<<30 + 1<<15); got != 1<<14+1 {
		t.Errorf("downScale(2^30+2^15) = %d, want 2^14+1 (rounds half up)", got)
	}
}

func TestMLASRequantize(t *testing.T) {
	cases := []struct {
		acc    int32
		scale  float32
		zp     int32
		lo, hi int32
		want   int32
	}{
		{5, 0.5, 0, 0, 255, 2},      // 2.5 -> 2 (half to even)
		{7, 0.5, 0, 0, 255, 4},      // 3.5 -> 4
		{-5, 0.5, 0, -128, 127, -2}, // -2.5 -> -2
		{-5, 0.5, 10, 0, 255, 8},
		{1000, 1, 10, 0, 255, 255}, // clamped in float before rounding
		{-1000, 1, 10, 0, 255, 0},
		// float32(16777217) = 16777216: the int32 -> float conversion rounds.
		{16777217, 1, 0, math.MinInt32 + 1, math.MaxInt32, 16777216},
	}
	for _, c := range cases {
		if got := mlasRequantize(c.acc, c.scale, c.zp, c.lo, c.hi); got != c.want {
			t.Errorf("mlasRequantize(%d, %g, %d) = %d, want %d", c.acc, c.scale, c.zp, got, c.want)
		}
	}
}

// TestRequantApplyMatchesMultiply: qRequant.apply unpacks
// MultiplyByQuantizedMultiplier per channel; both must agree everywhere.
func TestRequantApplyMatchesMultiply(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	rq := &qRequant{zp: 3, lo: math.MinInt32, hi: math.MaxInt32}
	var reals []float64
	for range 200 {
		reals = append(reals, math.Exp(r.Float64()*30-25))
	}
	reals = append(reals, 1, 0.5, 0x1p-31, 3)
	for _, m := range reals {
		mult, shift, err := quantizeMultiplier(m)
		if err != nil {
			t.Fatal(err)
		}
		rq.addChannel(mult, shift)
	}
	for c := range reals {
		for range 500 {
			acc := int32(r.Uint32())
			if r.IntN(2) == 0 {
				acc >>= r.IntN(31)
			}
			want := mulByQuantizedMultiplier(acc, rq.mult[c], rq.shift[c]) + 3
			if got := rq.apply(acc, c); got != want {
				t.Fatalf("apply(%d) with multiplier %g = %d, mulByQuantizedMultiplier gives %d", acc, reals[c], got, want)
			}
		}
	}
}
