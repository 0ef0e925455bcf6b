package eval

import "math"

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
			if taken[i] {
				continue
			}
			// strictly greater, scanning upwards: ties keep the lower index
			if best < 0 || s > scores[best] || (math.IsNaN(scores[best]) && !math.IsNaN(s)) {
				best = i
			}
		}
		taken[best] = true
		out = append(out, best)
	}
	return out
}
