package quantize_test

import (
	"context"
	"testing"

	"github.com/mnconv/mnconv/quantize"
)

// TestFallbackSearch: the search doubles the float layers until the budget
// holds, bisects to the fewest, and returns the smallest drop when the
// budget cannot be met.
func TestFallbackSearch(t *testing.T) {
	ranked := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	for _, tc := range []struct {
		need   int // accuracy reaches the budget from this many float layers
		ok     bool
		wantK  int
		nSteps int
	}{
		{0, true, 0, 1},
		{3, true, 3, 5},    // 0 1 2 4, then 3
		{5, true, 5, 7},    // 0 1 2 4 8, then 6 5
		{11, false, 10, 6}, // 0 1 2 4 8 10, none passes: the least drop is 10
	} {
		quant := func(c quantize.Config) (*quantize.Result, error) {
			return &quantize.Result{Excluded: c.Exclude}, nil
		}
		f := quantize.Fallback{MaxDrop: 0.3, Measure: func(_ context.Context, r *quantize.Result) (float64, error) {
			k := len(r.Excluded)
			if k >= tc.need {
				return 90, nil
			}
			return 80 + float64(k)/2, nil
		}}
		steps, best, ok, err := f.Run(context.Background(), 90, ranked, quantize.Config{}, quant)
		if err != nil {
			t.Fatal(err)
		}
		if ok != tc.ok || len(best.Float) != tc.wantK || len(steps) != tc.nSteps {
			t.Errorf("need %d: ok %v, %d float, %d steps; want %v, %d, %d", tc.need, ok, len(best.Float), len(steps), tc.ok, tc.wantK, tc.nSteps)
		}
	}
}
