// Package ir is mnconv's intermediate representation: a small, typed, closed
// graph of tensors and nodes that every importer produces, every pass rewrites,
// the quantizer annotates, the runtime executes and every exporter writes.
//
// Phase: shared by all phases. It imports nothing else of mnconv.
//
// Canonical layout. Activations of rank 4 are NHWC (batch, height, width,
// channels), as in TFLite. Convolution weights are OHWI: [out channels,
// kernel height, kernel width, in channels / group]; a depthwise convolution is
// a Conv whose Group equals its input channel count, with weights
// [C*multiplier, KH, KW, 1]. Fully connected weights are [out, in]. Importers
// translate at the edge (ONNX's NCHW / OIHW, TFLite's [1,KH,KW,C*M] depthwise
// weights), so that no transpose survives into the body of a MobileNet.
//
// Shapes are static: a symbolic batch dimension is fixed at import (1 unless
// the caller asks otherwise).
//
// Quantization parameters travel with the tensor (Quant). A node is quantized
// when its tensors are int8 / uint8 with Quant set; the op stays the same op.
package ir
