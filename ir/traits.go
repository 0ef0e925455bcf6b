package ir

import "strings"

// Traits are the facts about an op that packages ask about groups of ops:
// a pass, the quantizer or a report reads the op's row (op.Info().Has)
// instead of keeping its own list, so a new op is described once.
type Traits uint16

// The traits. Each names the question it answers; the op table sets them
// and TestOpTraitsConsistent checks them against the ops' attributes.
const (
	// Elementwise: each output element depends only on the input elements
	// at the same position (after numpy broadcasting of a second operand),
	// so the op commutes with any permutation of the dimensions: Relu, Clip,
	// Sigmoid, HardSigmoid, HardSwish, Identity, Quantize, Dequantize, and
	// the binary Add, Sub, Mul, Div, Max, Min.
	Elementwise Traits = 1 << iota
	// Broadcasting: two operands under numpy broadcasting (the binary
	// elementwise ops).
	Broadcasting
	// Arithmetic: Add, Sub, Mul, Div. With one constant operand, an affine
	// map of the other, which is what an exporter's unfused BatchNorm
	// becomes.
	Arithmetic
	// PerChannel: an affine map of input 0 by per-channel constants, the
	// output shaped as the input (BatchNorm).
	PerChannel
	// QuantPassThrough: the output holds a subset of the input's values, or
	// the same values moved, so it keeps the input's quantization (pools,
	// Mean, Reshape, Transpose, Pad, Identity).
	QuantPassThrough
	// QuantPlain: the integer kernel takes per-tensor quantized inputs and
	// outputs as they are, so quantization rewrites the node in place (no
	// weights to quantize, no float island).
	QuantPlain
	// FixedOutputRange: the output lies in [0, 1), which TFLite's int8 spec
	// quantizes with the fixed scale 1/256 whatever was observed (Softmax,
	// Sigmoid).
	FixedOutputRange
	// ValuePreserving: a single-input op whose output holds its input's
	// values moved or re-encoded, none computed, so a constant behind it
	// still counts as that constant (Identity, Reshape, Transpose,
	// Quantize, Dequantize).
	ValuePreserving
	// FusedActivation: the attributes carry an Activation applied to the
	// output (Node.FusedAct, Node.SetFusedAct).
	FusedActivation
	// Weighted: input 1 is a weight and input 2, when present, a bias: the
	// layers whose parameters the papers count (Conv, Gemm, MatMul).
	Weighted
	// Windowed: a sliding window over H and W of an NHWC input, whose
	// output geometry is Node.Window's (Conv, AvgPool, MaxPool).
	Windowed
	// IndexOutput: the output holds integer indices into the input, not
	// values (ArgMax). It carries no quantization: the quantizer feeds the
	// node its input's quantized twin and keeps the output's integer dtype,
	// which gives the same indices because dequantization with a positive
	// scale is monotonic.
	IndexOutput
	// Opaque: an op whose semantics mnconv does not know (OpOpaque, kept by
	// a lenient import): no kernel, no format binding, no MACs; its output
	// shapes are the source file's.
	Opaque

	numTraits = iota
)

var traitNames = [numTraits]string{
	"Elementwise", "Broadcasting", "Arithmetic", "PerChannel", "QuantPassThrough", "QuantPlain",
	"FixedOutputRange", "ValuePreserving", "FusedActivation", "Weighted", "Windowed", "IndexOutput", "Opaque",
}

// Has reports whether every trait of want is set.
func (t Traits) Has(want Traits) bool { return t&want == want }

func (t Traits) String() string {
	var names []string
	for i, name := range traitNames {
		if t&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return strings.Join(names, "|")
}

// Has reports whether op has every trait of want.
func (op Op) Has(want Traits) bool { return op.Info().Traits.Has(want) }

// actAttrs is implemented by the attribute structs that carry a fused
// activation (the FusedActivation ops' attributes).
type actAttrs interface {
	Attrs
	fusedAct() *Activation
}

func (a *ConvAttrs) fusedAct() *Activation   { return &a.Act }
func (a *GemmAttrs) fusedAct() *Activation   { return &a.Act }
func (a *BinaryAttrs) fusedAct() *Activation { return &a.Act }
func (a *PoolAttrs) fusedAct() *Activation   { return &a.Act }
func (a *ConcatAttrs) fusedAct() *Activation { return &a.Act }

// FusedAct returns the activation fused into n's attributes, if the op has
// one (its attributes carry it: the FusedActivation ops').
func (n *Node) FusedAct() Activation {
	if a, ok := n.Attrs.(actAttrs); ok {
		return *a.fusedAct()
	}
	return ActNone
}

// SetFusedAct sets the fused activation; it reports false when the op has none.
func (n *Node) SetFusedAct(act Activation) bool {
	a, ok := n.Attrs.(actAttrs)
	if !ok {
		return false
	}
	*a.fusedAct() = act
	return true
}

// OutputBounds returns the interval n's output always lies in, by the op's
// own definition and its fused activation: [0, +Inf) for Relu, Clip's
// bounds, [0, 1] for HardSigmoid, Sigmoid and Softmax, a fused ReLU6's
// [0, 6]; ±Inf where nothing bounds it.
func (n *Node) OutputBounds() (lo, hi float32) {
	lo, hi = n.FusedAct().Bounds()
	if f := n.Op.Info().Bounds; f != nil {
		l, h := f(n)
		lo, hi = max(lo, l), min(hi, h)
	}
	return lo, hi
}

func boundsRelu(*Node) (float32, float32) { return 0, inf }
func boundsUnit(*Node) (float32, float32) { return 0, 1 }

func boundsClip(n *Node) (float32, float32) {
	if a, ok := n.Attrs.(*ClipAttrs); ok {
		return a.Min, a.Max
	}
	return -inf, inf
}
