package testutil

// Argmax returns the index of the largest value in v: ties go to the lower
// index (the ranking of the shared reference predictions: quantized outputs
// tie often) and NaN ranks below every number. It returns -1 for an empty v.
// eval.Argmax is the same ranking for production code; tests use this one
// so that they need not import eval (which imports the runtime).
func Argmax[T ~float32 | ~float64 | ~int8 | ~uint8 | ~int32 | ~int](v []T) int {
	best := -1
	for i, x := range v {
		// x != x only for NaN: any number beats a NaN best.
		if best < 0 || x > v[best] || (v[best] != v[best] && x == x) {
			best = i
		}
	}
	return best
}
