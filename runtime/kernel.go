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
//
// FastFloat and FastQuantized hold optimized kernels. They are consulted
// before the reference tables unless the caller asks for reference kernels;
// a fast PrepareFunc returns (nil, nil) when it has no fast path for that
// node, and the reference kernel is used.
const (
	Float Kind = iota
	Quantized
	Generic
	FastFloat
	FastQuantized
	numKinds
)

var tables = [numKinds]map[ir.Op]PrepareFunc{{}, {}, {}, {}, {}}

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

// Prepare finds and prepares n's kernel: a fast kernel when one applies,
// else the reference kernel (the quantized table for quantized nodes, else
// the float table), then the generic one.
func Prepare(n *ir.Node) (Kernel, error) { return prepare(n, false) }

// PrepareReference is Prepare without the fast tables: what fast kernels are
// tested against.
func PrepareReference(n *ir.Node) (Kernel, error) { return prepare(n, true) }

func prepare(n *ir.Node, reference bool) (Kernel, error) {
	order := []Kind{FastFloat, Float, Generic}
	if IsQuantizedNode(n) {
		order = []Kind{FastQuantized, Quantized, Generic}
	}
	if reference {
		order = order[1:]
	}
	for _, k := range order {
		p, ok := tables[k][n.Op]
		if !ok {
			continue
		}
		kern, err := p(n)
		if err != nil || kern != nil {
			return kern, err
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
