package quantize

import "testing"

// TestRowAgreement: a classifier's output is one row; a raw-output
// detector's [1,N,C] scores are compared anchor by anchor, so ties between
// anchors (the background probability is often the same on many) do not
// decide agreement as the argmax of the whole tensor would.
func TestRowAgreement(t *testing.T) {
	f := []float32{0.9, 0.1, 0.9, 0.1, 0.2, 0.8}
	q := []float32{0.8, 0.2, 0.9, 0.1, 0.6, 0.4} // anchor 2 flips
	if got := rowAgreement(f, q, 3); got != 2.0/3 {
		t.Errorf("3 anchors: %v, want 2/3", got)
	}
	// as one row the whole-tensor argmax compares index 0 against index 2
	if got := rowAgreement(f, q, 1); got != 0 {
		t.Errorf("one row: %v, want 0", got)
	}
	if got := rowAgreement(f, f, 1); got != 1 {
		t.Errorf("same scores: %v, want 1", got)
	}
}
