package runtime

import (
	"fmt"

	"github.com/mnconv/mnconv/ir"
)

// Kernel is a prepared node. Eval reads in (nil for an absent optional input)
// and writes into out, whose buffers the interpreter allocated from the
// output tensors' shapes and dtypes.
type Kernel interface {
	Eval(in, out []*Tensor) error
}

// PrepareFunc checks a node and returns its kernel. It runs once per model.
type PrepareFunc func(n *ir.Node) (Kernel, error)

// Kind selects a kernel table.
type Kind uint8

// Kernel tables: float kernels for float32 nodes, quantized kernels for nodes
// that touch int8 / uint8 tensors, and dtype-generic kernels (data movement).
const (
	Float Kind = iota
	Quantized
	Generic
)

var tables = [3]map[ir.Op]PrepareFunc{{}, {}, {}}

// Register adds a kernel to a table; each kernel file calls it from init.
func Register(op ir.Op, kind Kind, prepare PrepareFunc) {
	if _, dup := tables[kind][op]; dup {
		panic(fmt.Sprintf("runtime: kernel for %v registered twice in table %d", op, kind))
	}
	tables[kind][op] = prepare
}

// IsQuantizedNode reports whether n reads or writes an 8-bit tensor that
// carries quantization parameters, which routes it to the Quantized table.
// Plain integer tensors (no Quant) go to the Float and Generic tables.
func IsQuantizedNode(n *ir.Node) bool {
	for _, t := range n.Inputs {
		if t != nil && t.DType.IsQuantized() && t.Quant != nil {
			return true
		}
	}
	for _, t := range n.Outputs {
		if t.DType.IsQuantized() && t.Quant != nil {
			return true
		}
	}
	return false
}

// Prepare finds and prepares n's kernel: the quantized table for quantized
// nodes, else the float table, then the generic one.
func Prepare(n *ir.Node) (Kernel, error) {
	order := []Kind{Float, Generic}
	if IsQuantizedNode(n) {
		order = []Kind{Quantized, Generic}
	}
	for _, k := range order {
		if p, ok := tables[k][n.Op]; ok {
			return p(n)
		}
	}
	var dts []string
	for _, t := range n.Inputs {
		if t != nil {
			dts = append(dts, t.DType.String())
		}
	}
	return nil, n.Errorf("not implemented in the runtime for input dtypes %v", dts)
}
