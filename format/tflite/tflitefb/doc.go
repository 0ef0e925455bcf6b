// Package tflitefb is the flatc-generated Go code for mnconv's subset of the
// TFLite flatbuffer schema (schema.fbs beside this file): readers for the
// importer and builders for the exporter.
//
// Phase: import and export. The generated readers do no bounds checking and
// panic on bad offsets; importers/tflite verifies a buffer before it reads
// it with them. Do not edit the generated files: change schema.fbs and run
// `go generate ./format/tflite/tflitefb` (flatc 2.0.8 wrote the current
// ones).
package tflitefb

//go:generate flatc --go --go-namespace tflitefb -o .. schema.fbs

// FileIdentifier is the four bytes at offset 4 of every TFLite model. The Go
// generator does not emit it; writers pass it to
// flatbuffers.Builder.FinishWithFileIdentifier.
const FileIdentifier = "TFL3"

// BufferDataAlign is the alignment the schema asks for Buffer.data
// (force_align: 16). The Go generator ignores force_align; writers start the
// vector with builder.StartVector(1, n, BufferDataAlign).
const BufferDataAlign = 16
