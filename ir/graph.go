package ir

import (
	"container/heap"
	"fmt"
	"math"
)

// Tensor is a value in the graph: a graph input, a node output, or a constant.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Quant *Quant // nil for unquantized tensors
	Data  *Data  // non-nil for constants
}

// Data holds a constant's elements: exactly the slice that matches the
// tensor's DType is set, with NumElements(Shape) entries.
type Data struct {
	F32 []float32
	I8  []int8
	U8  []uint8
	I32 []int32
	I64 []int64
}

// IsConst reports whether t holds constant data.
func (t *Tensor) IsConst() bool { return t != nil && t.Data != nil }

// Len is the number of elements of t's shape.
func (t *Tensor) Len() int { return NumElements(t.Shape) }

// Rank is len(t.Shape).
func (t *Tensor) Rank() int { return len(t.Shape) }

// Bytes is the storage size of t's elements.
func (t *Tensor) Bytes() int64 { return int64(t.Len()) * int64(t.DType.Size()) }

// NumElements is the product of shape (1 for a scalar).
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// CheckedElements multiplies shape with overflow and limit checks; it is what
// importers call on declared shapes before anything is allocated.
func CheckedElements(shape []int64, limit int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("shape %v overflows int64", shape)
		}
		n *= d
	}
	if n > limit {
		return 0, fmt.Errorf("shape %v has %d elements, more than the limit %d", shape, n, limit)
	}
	return n, nil
}

// NewConstF32 makes a float32 constant.
func NewConstF32(name string, shape []int, v []float32) *Tensor {
	return &Tensor{Name: name, DType: Float32, Shape: append([]int(nil), shape...), Data: &Data{F32: v}}
}

// NewConstI32 makes an int32 constant.
func NewConstI32(name string, shape []int, v []int32) *Tensor {
	return &Tensor{Name: name, DType: Int32, Shape: append([]int(nil), shape...), Data: &Data{I32: v}}
}

// Node is one operation.
type Node struct {
	Name    string
	Op      Op
	Inputs  []*Tensor // an absent optional input is nil
	Outputs []*Tensor
	Attrs   Attrs // the op's attribute struct (see OpInfo.Attrs); nil for ops without attributes
	// Arith says whose integer arithmetic a quantized node follows: TFLite's
	// fixed-point reference kernels (the default) or ONNX Runtime's float
	// requantization (QLinearConv and friends).
	Arith Arith
	// Origin is the source-file operator the node was made from (see
	// Origin); zero when the node stands for no operator of a file.
	Origin Origin
}

// Arith names an integer arithmetic convention for quantized kernels.
type Arith uint8

// Integer arithmetic conventions.
const (
	ArithTFLite  Arith = iota // fixed-point multiplier and shift, TFLite reference rounding
	ArithONNX                 // float32 scale multiply, round half to even (ONNX Runtime)
	ArithXNNPACK              // TFLite's default CPU path: XNNPACK delegate and optimized builtins (runtime/xnnpack.go)
	ArithBuiltin              // TFLite's optimized builtin kernels without a delegate: ruy's GEMM (runtime/builtin.go)
)

var arithNames = [...]string{ArithTFLite: "tflite", ArithONNX: "onnx", ArithXNNPACK: "xnnpack", ArithBuiltin: "builtin"}

func (a Arith) String() string {
	if int(a) < len(arithNames) {
		return arithNames[a]
	}
	return fmt.Sprintf("Arith(%d)", uint8(a))
}

// ArithByName returns the arithmetic called s ("tflite", "onnx",
// "xnnpack", "builtin").
func ArithByName(s string) (Arith, bool) {
	for i, name := range arithNames {
		if name == s {
			return Arith(i), true
		}
	}
	return 0, false
}

// SetArith gives every node that follows TFLite's reference arithmetic
// (ArithTFLite) arithmetic a instead; nodes already in another arithmetic
// (ONNX-imported quantized ops) keep theirs. It returns how many changed.
func (g *Graph) SetArith(a Arith) int {
	changed := 0
	for _, n := range g.Nodes {
		if n.Arith == ArithTFLite && n.Arith != a {
			n.Arith = a
			changed++
		}
	}
	return changed
}

// In returns input i, or nil when absent.
func (n *Node) In(i int) *Tensor {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return nil
}

// Out returns output 0.
func (n *Node) Out() *Tensor { return n.Outputs[0] }

// Errorf formats an error that names the node, as every error about a node
// should: `node "conv_3" (Conv): weight has 3 dims, want 4`.
func (n *Node) Errorf(format string, args ...any) error {
	return fmt.Errorf("node %q (%s): %s", n.Name, n.Op, fmt.Sprintf(format, args...))
}

// Graph is a model: tensors, nodes in topological order, inputs and outputs.
type Graph struct {
	Name    string
	Nodes   []*Node
	Inputs  []*Tensor
	Outputs []*Tensor
	// InputLayouts records, per graph input, the layout the source format
	// declared (NCHW for an ONNX image input translated to NHWC,
	// LayoutUnspecified when the tensor is stored as the source had it).
	// Exporters use it to restore the source's interface.
	InputLayouts  []Layout
	OutputLayouts []Layout
	// SourceInputQuant and SourceOutputQuant record, by tensor name, the
	// quantization the graph's inputs and outputs had in the model
	// passes.Dequantize made this float graph from (nil maps otherwise).
	SourceInputQuant  map[string]SourceQuant
	SourceOutputQuant map[string]SourceQuant
	// Meta carries free-form facts from the source file (producer, opset).
	Meta map[string]string
	// SymbolicBatch names the symbolic first dimension (ONNX dim_param) the
	// source declared for the graph inputs, "" when they were static. Inside
	// the graph every shape stays concrete (the batch the import chose,
	// normally 1); exporters write the symbol back on the inputs and on the
	// outputs whose first dimension is that batch.
	SymbolicBatch string
}

// Tensors lists every tensor the graph references once, in a stable order:
// inputs, then each node's inputs and outputs in node order.
func (g *Graph) Tensors() []*Tensor {
	seen := map[*Tensor]bool{}
	var out []*Tensor
	add := func(t *Tensor) {
		if t != nil && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, t := range g.Inputs {
		add(t)
	}
	for _, n := range g.Nodes {
		for _, t := range n.Inputs {
			add(t)
		}
		for _, t := range n.Outputs {
			add(t)
		}
	}
	for _, t := range g.Outputs {
		add(t)
	}
	return out
}

// Producers maps each node output to its node.
func (g *Graph) Producers() map[*Tensor]*Node {
	m := make(map[*Tensor]*Node, len(g.Nodes))
	for _, n := range g.Nodes {
		for _, t := range n.Outputs {
			m[t] = n
		}
	}
	return m
}

// Consumers maps each tensor to the nodes that read it, in node order.
func (g *Graph) Consumers() map[*Tensor][]*Node {
	m := make(map[*Tensor][]*Node, len(g.Nodes))
	for _, n := range g.Nodes {
		for _, t := range n.Inputs {
			if t != nil {
				m[t] = append(m[t], n)
			}
		}
	}
	return m
}

// IsOutput reports whether t is a graph output.
func (g *Graph) IsOutput(t *Tensor) bool {
	for _, o := range g.Outputs {
		if o == t {
			return true
		}
	}
	return false
}

// Replace makes every reader of old (nodes and graph outputs) read new instead.
// A graph output keeps its name: new takes old's name when old was an output.
func (g *Graph) Replace(old, new *Tensor) {
	for _, n := range g.Nodes {
		for i, t := range n.Inputs {
			if t == old {
				n.Inputs[i] = new
			}
		}
	}
	for i, t := range g.Outputs {
		if t == old {
			g.Outputs[i] = new
			new.Name = old.Name
		}
	}
}

// TopoSort orders g.Nodes so that every node follows the producers of its
// inputs. It is iterative (Kahn's algorithm), keeps the existing order where
// it can, and returns an error naming a node on a cycle.
func (g *Graph) TopoSort() error {
	prod := g.Producers()
	index := make(map[*Node]int, len(g.Nodes))
	for i, n := range g.Nodes {
		index[n] = i
	}
	pending := make([]int, len(g.Nodes))
	users := make([][]int, len(g.Nodes))
	for i, n := range g.Nodes {
		seen := map[*Node]bool{}
		for _, t := range n.Inputs {
			if p := prod[t]; p != nil && !seen[p] {
				seen[p] = true
				pending[i]++
				users[index[p]] = append(users[index[p]], i)
			}
		}
	}
	// A min-heap of ready node indices keeps source order for independent
	// nodes and costs O(n log n) on graphs of any shape.
	ready := &intHeap{}
	for i := range g.Nodes {
		if pending[i] == 0 {
			heap.Push(ready, i)
		}
	}
	order := make([]*Node, 0, len(g.Nodes))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, g.Nodes[i])
		for _, u := range users[i] {
			pending[u]--
			if pending[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	if len(order) != len(g.Nodes) {
		for i, n := range g.Nodes {
			if pending[i] > 0 {
				return n.Errorf("is part of a cycle")
			}
		}
	}
	g.Nodes = order
	return nil
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
