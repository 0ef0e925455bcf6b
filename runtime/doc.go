// Package runtime executes an ir.Graph: float32 reference kernels, integer
// kernels that compute as TFLite's reference kernels do, and (later) faster
// kernels behind the same interface.
//
// Phase: execution. It reads ir graphs and never changes them.
//
// Every op has a PrepareFunc in a kernel table. Prepare runs once per model:
// it checks shapes and attributes and precomputes whatever does not depend on
// the input (per-channel multipliers, activation ranges, transposed weights).
// Eval runs per input and only computes. A missing table entry is a clear
// "not implemented" error naming the node.
package runtime
