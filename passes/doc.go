// Package passes holds mnconv's graph rewrites: batch-norm folding,
// activation fusion, constant folding, identity and pad removal, transpose
// cancellation, dead code elimination, and the dequantizer that turns an
// integer graph back into a float one.
//
// Phase: optimization, between import and quantization or export. Passes
// rewrite an ir.Graph in place; they read constants, replace them with
// folded copies, and run the runtime only to evaluate nodes whose inputs are
// all constants. They never read or write files.
//
// Each pass is a package value with a name and a doc (as go/analysis declares
// analyzers) made of rules written as match-then-apply (as ONNX Runtime's
// RewriteRule): a cheap op prefilter, a condition that changes nothing, then
// the rewrite. A rule that does not apply is not an error. A graph output
// keeps its tensor and its name through every rewrite: a rule that removes
// the node producing an output makes another node write that same tensor.
//
// Run applies a list of passes to a fixpoint and reports what each changed;
// Default is the recipe mnconv uses; ByName parses a --passes list.
package passes
