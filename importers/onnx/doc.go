// Package onnx imports ONNX model files (bytes -> ir.Graph).
//
// Phase: import. It reads a file's bytes and builds a fresh ir.Graph; it
// touches nothing else (no files are opened: external tensor data is
// refused). It registers the "onnx" format with package importers in init.
//
// What it does, in order: decode the protobuf with a bounded recursion
// (limits.go holds every limit), check opsets, sort the nodes, then
// translate node by node. Constant sub-graphs (Shape, Gather, Unsqueeze,
// Concat, Reshape, Cast, arithmetic on constants) are evaluated at import, so
// the ir only sees static shapes and constant parameters.
//
// Layout. The ir is NHWC; ONNX is NCHW. Each imported value records whether
// it is an NCHW tensor stored permuted as NHWC. Rank-4 graph inputs become
// NHWC (g.InputLayouts[i] = ir.NCHW); convolutions, pools, normalisation,
// elementwise and axis-taking ops work on the permuted tensor directly with
// remapped axes, pads and constants, so no transpose appears in the body of
// a MobileNet. An op that needs the ONNX element order gets an explicit
// Transpose (or a Reshape where the order is already the same). Outputs left
// permuted are marked g.OutputLayouts[i] = ir.NCHW.
//
// Quantized ONNX: QuantizeLinear / DequantizeLinear become Quantize /
// Dequantize; QLinearConv, QLinearMatMul and com.microsoft QGemm /
// QLinearAdd / QLinearMul / QLinearGlobalAveragePool / QLinearSigmoid /
// QLinearSoftmax become the plain ops on quantized tensors with
// Node.Arith = ir.ArithONNX. In a QDQ file, each DequantizeLinear -> op ->
// QuantizeLinear region an integer kernel covers becomes that op on the
// quantized tensors, also with ir.ArithONNX (qdq.go lists the rules);
// importers.Options.QDQSimulate keeps the regions as float ops instead.
package onnx
