// Package quantize turns a float ir.Graph into an integer one by
// post-training quantization: observers collect the range of every
// activation while the float model runs over calibration images, a method
// (minmax, percentile, entropy, mse) picks each range, and a rewrite gives
// every tensor int8 (or uint8) quantization parameters following TFLite's
// int8 specification.
//
// Phase: after passes, before export. It reads float graphs, runs them with
// the runtime, and returns a new graph; it never changes its input graph.
package quantize
