// Package onnxpb holds the Go types generated from onnx.proto, mnconv's own
// subset of the ONNX model format (the messages of an inference graph, with
// the format's field numbers). It has no hand-written logic; importers/onnx
// reads these messages and exporters/onnx writes them.
//
// Regenerate with `go generate` (needs protoc and protoc-gen-go on PATH; the
// committed file was made with protoc 3.21.12 and protoc-gen-go v1.36.12).
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative onnx.proto
