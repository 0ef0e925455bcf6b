// Package e2e holds end-to-end tests that cross the pipeline's packages on
// the real shared models: every pass on every float model, conversions run
// in ONNX Runtime and TFLite, dequantized and re-quantized models in the
// reference runtimes. It has no code of its own.
package e2e
