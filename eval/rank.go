package eval

// TopK returns the indices of the k largest scores, best first. Equal
// scores rank the lower index first (the convention of the shared
// reference predictions; quantized outputs tie often) and NaN ranks last.
func TopK(scores []float64, k int) []int {
	k = min(k, len(scores))
	out := make([]int, 0, k)
	taken := make([]bool, len(scores))
	for len(out) < k {
		best := -1
		for i, s := range scores {
			if !taken[i] && (best < 0 || outranks(s, scores[best])) {
				best = i
			}
		}
		taken[best] = true
		out = append(out, best)
	}
	return out
}

// Argmax is TopK(scores, 1)[0] without the allocations, for float32 or
// float64 scores: the index of the largest, ties to the lower index, NaN
// last; -1 when scores is empty.
func Argmax[S ~float32 | ~float64](scores []S) int {
	best := -1
	for i, s := range scores {
		if best < 0 || outranks(float64(s), float64(scores[best])) {
			best = i
		}
	}
	return best
}

// outranks reports whether score s ranks above the best so far when it
// comes later (at a higher index): strictly greater, or any number over NaN.
func outranks(s, best float64) bool {
	return s > best || (best != best && s == s)
}
