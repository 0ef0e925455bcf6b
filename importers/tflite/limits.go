package tflite

import tfl "github.com/mnconv/mnconv/format/tflite"

// Limits of the import itself, beyond what format/tflite's Verify checks of
// the file: they bound what the importer allocates from a verified file.
const (
	// maxElements bounds one tensor's element count (checked
	// multiplication): 2^28 elements is a gigabyte of float32.
	maxElements = 1 << 28

	// maxConstBytes bounds the constant data copied out of the file in all.
	// A file gets at most constBytesPerFileByte times its own size plus
	// constSlack of it (constLimit): tensors may share a buffer, so without
	// this a small file could name one buffer from thousands of tensors.
	maxConstBytes         = 1 << 30
	constBytesPerFileByte = 2
	constSlack            = 64 << 20
)

// constLimit is the constant budget of a file of n bytes.
func constLimit(n int) int64 {
	return min(maxConstBytes, constBytesPerFileByte*int64(n)+constSlack)
}

// maxRank and maxOpTensors are the format's limits the converters check
// against.
const (
	maxRank      = tfl.MaxRank
	maxOpTensors = tfl.MaxOpTensors
)
