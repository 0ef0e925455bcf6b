// Package eval measures classification accuracy: it reads a labelled image
// folder, runs a model (or a chain of models) over it in parallel and
// scores top-1 / top-5, and it compares a model with a baseline (the
// accuracy gate, with a JUnit report).
//
// Phase: evaluation. It reads images through preprocess (the same path as
// calibration), runs graphs with runtime, and never changes a graph. The
// only file it writes is the JUnit report, atomically.
//
// Ranking is by descending score, ties to the lower output index, on the
// raw output values (for a per-tensor quantized output that ranks as the
// dequantized values do). A 1001-way output is ImageNet with background
// first: output index i is class i-1, and background is -1.
package eval
