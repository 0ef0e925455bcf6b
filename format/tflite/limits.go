package tflite

// Limits on what a .tflite file may declare, checked by Verify before a
// reader allocates from a declared count or size, so that a small corrupt or
// hostile file cannot make it allocate or loop without bound. Each is far
// above what a MobileNet-family model needs (about 200 tensors, 100
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

	// MaxOpTensors bounds one operator's input or output list (CONCATENATION
	// is the only variadic op mnconv reads).
	MaxOpTensors = 1 << 12

	// MaxRank bounds a tensor's rank.
	MaxRank = 8

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

// SchemaVersion is Model.version of every TFLite file since schema 3, the
// only version TFLite itself reads.
const SchemaVersion = 3
