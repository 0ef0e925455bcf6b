// Package onnx writes ir graphs as ONNX models (.onnx), the mirror of
// importers/onnx.
//
// Phase: export. Export reads a graph and returns the bytes of a new file; it
// never changes the graph and writes no files. The package registers the
// "onnx" format with package exporters in init (extension .onnx), so
// programs import it for that side effect. It uses the protobuf types of
// format/onnx/onnxpb and the tables of format/onnx, never the importer.
//
// The file: the default domain at opset 13, or the lowest later opset that
// says what the graph does (14 for HardSwish, which ONNX added in 14, for a
// Reshape to an empty shape and for arithmetic on plain int8; 19 for a
// dilated AveragePool or a wrapping Pad), IR version 8 (9 with opset 19),
// producer "mnconv", every constant an initializer with little-endian
// raw_data, serialized with deterministic protobuf marshaling, so the bytes
// depend only on the graph. ir names are kept (the importer's "_nhwc"
// suffix of re-laid-out constants is dropped, so that importing the file
// gives back the same graph).
//
// Layout. The ir is NHWC with OHWI weights; ONNX is NCHW with OIHW weights.
// Each ir tensor of rank 4 gets an ONNX value that is either stored
// permuted to NCHW ("perm") or in the ir's own order ("plain"); convolution,
// pooling, normalization and the ops that take axes (Concat, Mean, Softmax,
// Pad, Transpose, Reshape) are written on perm values with remapped axes,
// pads and constants, so the body of a MobileNet has no Transpose. Weights
// are transposed at export (OHWI -> OIHW; a depthwise [C*M,KH,KW,1] becomes
// [C*M,1,KH,KW] with group C), and constants that broadcast against images
// are re-laid-out ([C] -> [C,1,1]). A rank-4 graph input is presented NCHW or
// NHWC as exporters.Options.InputLayout (or else g.InputLayouts) says; an
// NHWC one gets one Transpose to NCHW. Rank-4 outputs are presented as
// g.OutputLayouts says (NHWC unless ir.NCHW), with one Transpose where the
// body's layout differs. A conversion that the body truly needs (a Reshape
// that mixes channels and pixels) is made where it is needed, with a
// Reshape when the element order allows it and a Transpose otherwise, and
// reported through Options.Warn.
//
// Quantized graphs are written in ONNX Runtime's QDQ form: every quantized
// activation is computed in float by the same ops as a float graph, then
// passes through QuantizeLinear (to its int8 / uint8 value) and
// DequantizeLinear before its readers; quantized constants are stored as
// integer initializers followed by DequantizeLinear (per axis where the ir
// has per-channel scales: axis 0 of OIHW and of Gemm's [out,in]); int32
// biases likewise, with zero point 0. Quantized graph inputs and outputs keep
// their integer type. ir Quantize and Dequantize nodes become QuantizeLinear
// and DequantizeLinear. Node.Arith is not written: ONNX Runtime fuses the
// QDQ groups into its own integer kernels.
//
// With exporters.Options.QOperator the quantized graph is written in ONNX
// Runtime's QOperator form instead: QLinearConv and the com.microsoft
// (version 1) QGemm, QLinearAdd, QLinearMul, QLinearGlobalAveragePool,
// QLinearSigmoid and QLinearSoftmax on the integers, data movement on the
// integers, and the rest as QDQ (qoperator.go lists the rules).
//
// TFLite_Detection_PostProcess (ir.OpDetectionPostProcess) is written as
// standard ops of the same opset (detection.go): box decoding in double
// (Cast, Split, Div, Mul, Add, Exp), NonMaxSuppression on each anchor's
// best class score (fast NMS, one class per detection) or per class then
// TopK (regular NMS), Gather of boxes, classes and scores, zero-padded to
// the four TFLite outputs. It gives TFLite's detections exactly, except
// that a decoded box with ymin > ymax fails TFLite's node and not the ONNX
// graph; fast NMS with several classes per detection is refused. The
// importer does not read this form back into one node.
package onnx
