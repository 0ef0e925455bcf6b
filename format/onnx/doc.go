// Package onnx is what mnconv knows of the ONNX format, once, for both
// directions: element type codes <-> ir.DType, the op_types that are one IR
// op each way (UnaryOps, BinaryOps), Pad's mode names, and the layout
// permutations between ONNX's NCHW / OIHW and the IR's NHWC / OHWI, with the
// constant transpose they need. The generated protobuf types are in onnxpb;
// test models are built with onnxtest.
//
// Phase: format facts. importers/onnx (bytes -> ir.Graph) and exporters/onnx
// (ir.Graph -> bytes) use it; it imports ir and onnxpb, nothing else of
// mnconv.
package onnx
