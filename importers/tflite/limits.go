package tflite

// Limits on what a .tflite file may declare. They are checked before anything
// is allocated from a declared count or size, so that a small corrupt or
// hostile file cannot make the importer allocate or loop without bound. Each
// is far above what a MobileNet-family model needs (about 200 tensors, 100
// operators, rank 4, a few megabytes of weights).
const (
	// maxFileBytes bounds the whole file. Flatbuffer offsets are 32-bit;
	// files beyond 2 GiB keep their weights outside the flatbuffer, which
	// this bound rules out anyway.
	maxFileBytes = 1 << 30

	// maxSubgraphs, maxTensors, maxOperators, maxBuffers and maxOpcodes bound
	// the model's top-level vectors.
	maxSubgraphs = 1 << 10
	maxTensors   = 1 << 17
	maxOperators = 1 << 16
	maxBuffers   = 1 << 17
	maxOpcodes   = 1 << 12

	// maxOpTensors bounds one operator's input or output list (CONCATENATION
	// is the only variadic op mnconv reads).
	maxOpTensors = 1 << 12

	// maxRank bounds a tensor's rank.
	maxRank = 8

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

	// maxNameBytes bounds tensor names, custom op codes and the subgraph
	// name; maxDescriptionBytes the model description.
	maxNameBytes        = 1 << 12
	maxDescriptionBytes = 1 << 16

	// maxVectorLen bounds any other vector the verifier walks (quantization
	// scales, option vectors, metadata): one entry per channel at most.
	maxVectorLen = 1 << 20

	// maxDepth bounds table nesting during verification. The schema is not
	// recursive (Model > SubGraph > Operator > options is the deepest path),
	// so this only guards the verifier itself.
	maxDepth = 8

	// vectorSlack is added to twice the file size to give the bytes of
	// vectors and strings verification may reach, a shared one counted at
	// each use (vectorBudget): shared vectors would otherwise let a small
	// file make the importer read one 4096-entry inputs list for each of
	// 65536 operators.
	vectorSlack = 1 << 20

	// minTableBudget is the least number of tables verification may visit.
	// The budget grows with the file (a table takes at least 4 bytes of its
	// own), which keeps a file whose tables share children from making
	// verification quadratic.
	minTableBudget = 1 << 10
)

// constLimit is the constant budget of a file of n bytes.
func constLimit(n int) int64 {
	return min(maxConstBytes, constBytesPerFileByte*int64(n)+constSlack)
}
