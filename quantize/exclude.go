package quantize

import (
	"fmt"
	"strings"

	"github.com/mnconv/mnconv/ir"
)

// excluder matches nodes against Config.Exclude.
type excluder struct {
	names map[string]bool // node names, name parts, output names
	ops   map[string]bool // lower-case op types
}

// newExcluder checks that every entry of list names a node or an op type of
// g, so that a typo is an error and not a silently quantized layer.
func newExcluder(g *ir.Graph, list []string) (*excluder, error) {
	e := &excluder{names: map[string]bool{}, ops: map[string]bool{}}
	if len(list) == 0 {
		return e, nil
	}
	known := map[string]bool{}
	ops := map[string]bool{}
	for _, n := range g.Nodes {
		for _, k := range nodeKeys(n) {
			known[k] = true
		}
		for _, o := range opKeys(n) {
			ops[o] = true
		}
	}
	for _, s := range list {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
		case known[s]:
			e.names[s] = true
		case ops[strings.ToLower(s)]:
			e.ops[strings.ToLower(s)] = true
		default:
			return nil, fmt.Errorf("exclude %q: no node, output or op type of the model has that name", s)
		}
	}
	return e, nil
}

// nodeKeys are the names a node answers to: its name, the ';'-separated
// parts of it and its output's name.
func nodeKeys(n *ir.Node) []string {
	keys := []string{n.Name}
	if strings.Contains(n.Name, ";") {
		keys = append(keys, strings.Split(n.Name, ";")...)
	}
	if len(n.Outputs) > 0 && n.Outputs[0] != nil {
		keys = append(keys, n.Outputs[0].Name)
	}
	return keys
}

// opKeys are the op type names a node answers to, lower case: its op and,
// for a depthwise conv, "depthwiseconv".
func opKeys(n *ir.Node) []string {
	keys := []string{strings.ToLower(n.Op.String())}
	if n.IsDepthwise() {
		keys = append(keys, "depthwiseconv")
	}
	return keys
}

func (e *excluder) match(n *ir.Node) bool {
	if e == nil || len(e.names)+len(e.ops) == 0 {
		return false
	}
	for _, k := range opKeys(n) {
		if e.ops[k] {
			return true
		}
	}
	for _, k := range nodeKeys(n) {
		if e.names[k] {
			return true
		}
	}
	return false
}

// keepFloat writes an excluded node as it is in the float graph: weights
// float, inputs dequantized from their quantized twins (once per tensor),
// the output float under its own name. A quantized reader of the output
// quantizes it (requantize); an excluded reader takes it as is.
//
//	x(int8) -> Conv -> y(int8)   =>   x(int8) -> Dequantize -> Conv(float) -> y(float)
func (q *quantizer) keepFloat(n *ir.Node) error {
	q.res.Float = append(q.res.Float, fmt.Sprintf("%s (%s): excluded", n.Name, n.Op))
	q.res.Excluded = append(q.res.Excluded, n.Name)
	ins, err := q.floatInputs(n)
	if err != nil {
		return err
	}
	out := n.Out()
	f := &ir.Tensor{Name: out.Name, DType: ir.Float32, Shape: clone(out.Shape)}
	q.qt[out] = f
	q.out.Nodes = append(q.out.Nodes, copyNode(n, ins, f))
	return nil
}

// dequantized is the float form of activation t whose twin is qt: qt itself
// when it is float, else one shared Dequantize of it.
// floatInputs are n's inputs for a float copy of n: constants as they are,
// activations through dequantized.
func (q *quantizer) floatInputs(n *ir.Node) ([]*ir.Tensor, error) {
	ins := make([]*ir.Tensor, len(n.Inputs))
	for i, t := range n.Inputs {
		if t == nil || t.IsConst() {
			ins[i] = t
			continue
		}
		qt := q.qt[t]
		if qt == nil {
			return nil, n.Errorf("input %q has no quantized form", t.Name)
		}
		ins[i] = q.dequantized(t, qt)
	}
	return ins, nil
}

func (q *quantizer) dequantized(t, qt *ir.Tensor) *ir.Tensor {
	if qt.DType == ir.Float32 {
		return qt
	}
	if f := q.deq[t]; f != nil {
		return f
	}
	f := &ir.Tensor{Name: q.unique(t.Name + "_dequant"), DType: ir.Float32, Shape: clone(t.Shape)}
	q.out.Nodes = append(q.out.Nodes, ir.NewNode(f.Name, ir.OpDequantize, []*ir.Tensor{qt}, f))
	q.deq[t] = f
	return f
}

// requantize is the quantized form of an excluded node's float output f
// (float activation t), with the parameters calibration chose for t: one
// Quantize shared by all quantized readers.
func (q *quantizer) requantize(t, f *ir.Tensor) *ir.Tensor {
	if r := q.req[t]; r != nil {
		return r
	}
	r := &ir.Tensor{Name: q.unique(t.Name + "_quant"), DType: q.cfg.Activations, Shape: clone(t.Shape), Quant: q.params[t].Clone()}
	q.out.Nodes = append(q.out.Nodes, ir.NewNode(r.Name, ir.OpQuantize, []*ir.Tensor{f}, r))
	q.res.Twins[r] = t
	q.req[t] = r
	return r
}
