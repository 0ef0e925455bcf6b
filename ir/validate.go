package ir

import (
	"fmt"
	"math"
	"slices"
)

// Validate checks the graph's invariants: nodes in topological order, every
// tensor reference resolved, one producer per tensor, known dtypes,
// non-negative shapes that agree with shape inference, constant data of the
// declared size, and sane quantization parameters. It returns the first
// problem, naming the node or tensor. It walks iteratively.
func (g *Graph) Validate() error {
	defined := map[*Tensor]bool{}
	names := map[string]*Tensor{}
	checkTensor := func(t *Tensor) error {
		if t.DType == Invalid || t.DType.Size() == 0 {
			return fmt.Errorf("tensor %q has unknown dtype %v", t.Name, t.DType)
		}
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("tensor %q has negative dimension in shape %v", t.Name, t.Shape)
			}
		}
		if o, ok := names[t.Name]; ok && o != t {
			return fmt.Errorf("two tensors are named %q", t.Name)
		}
		names[t.Name] = t
		if t.Data != nil {
			if got, want := t.Data.len(t.DType), t.Len(); got != want {
				return fmt.Errorf("constant %q holds %d %v elements, shape %v needs %d", t.Name, got, t.DType, t.Shape, want)
			}
		}
		return ValidateQuant(t)
	}
	for i, t := range g.Inputs {
		if t == nil {
			return fmt.Errorf("graph input %d is nil", i)
		}
		if t.IsConst() {
			return fmt.Errorf("graph input %q is a constant", t.Name)
		}
		if err := checkTensor(t); err != nil {
			return err
		}
		defined[t] = true
	}
	for _, n := range g.Nodes {
		if err := checkArity(n); err != nil {
			return err
		}
		if info := n.Op.Info(); !info.AttrsOK(n.Attrs) {
			return n.Errorf("has attributes %T, want %T", n.Attrs, info.NewAttrs())
		}
		for _, t := range n.Inputs {
			if t == nil {
				continue
			}
			if !defined[t] {
				if !t.IsConst() {
					return n.Errorf("reads %q, which no earlier node produces (missing tensor or cycle)", t.Name)
				}
				if err := checkTensor(t); err != nil {
					return err
				}
				defined[t] = true
			}
		}
		for _, t := range n.Outputs {
			if defined[t] {
				return n.Errorf("writes %q, which already has a producer", t.Name)
			}
			if t.IsConst() {
				return n.Errorf("writes constant %q", t.Name)
			}
			if err := checkTensor(t); err != nil {
				return n.Errorf("%v", err)
			}
			defined[t] = true
		}
		if err := checkInferred(n); err != nil {
			return err
		}
	}
	for i, t := range g.Outputs {
		if t == nil || !defined[t] {
			return fmt.Errorf("graph output %d is not produced by any node or input", i)
		}
	}
	return nil
}

// checkInferred re-runs shape inference on shadow outputs and compares.
func checkInferred(n *Node) error {
	shadow := *n
	shadow.Outputs = make([]*Tensor, len(n.Outputs))
	for i, t := range n.Outputs {
		c := *t
		c.Shape = slices.Clone(t.Shape)
		shadow.Outputs[i] = &c
	}
	if err := n.Op.Info().Infer(&shadow); err != nil {
		return err
	}
	for i, t := range n.Outputs {
		if !slices.Equal(t.Shape, shadow.Outputs[i].Shape) {
			return n.Errorf("output %q has shape %v, inference gives %v", t.Name, t.Shape, shadow.Outputs[i].Shape)
		}
	}
	return nil
}

// ValidateQuant checks a tensor's quantization parameters: scales finite and
// positive, zero points inside the dtype's range, and per-axis counts that
// match the axis' length.
func ValidateQuant(t *Tensor) error {
	q := t.Quant
	if q == nil {
		return nil
	}
	if len(q.Scale) == 0 {
		return fmt.Errorf("tensor %q: quantization has no scale", t.Name)
	}
	for _, s := range q.Scale {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("tensor %q: quantization scale %g is not finite and positive", t.Name, s)
		}
	}
	if len(q.ZeroPoint) != 0 && len(q.ZeroPoint) != len(q.Scale) && len(q.ZeroPoint) != 1 {
		return fmt.Errorf("tensor %q: %d zero points for %d scales", t.Name, len(q.ZeroPoint), len(q.Scale))
	}
	if lo, hi := t.DType.Range(); t.DType.IsQuantized() || t.DType == Int32 {
		for _, z := range q.ZeroPoint {
			if z < lo || z > hi {
				return fmt.Errorf("tensor %q: zero point %d outside %v range", t.Name, z, t.DType)
			}
		}
	}
	if len(q.Scale) > 1 {
		if q.Axis < 0 || q.Axis >= t.Rank() {
			return fmt.Errorf("tensor %q: quantized axis %d outside rank %d", t.Name, q.Axis, t.Rank())
		}
		if t.Shape[q.Axis] != len(q.Scale) {
			return fmt.Errorf("tensor %q: %d scales for %d channels on axis %d", t.Name, len(q.Scale), t.Shape[q.Axis], q.Axis)
		}
	}
	return nil
}

func (d *Data) len(dt DType) int {
	switch dt {
	case Float32:
		return len(d.F32)
	case Int8:
		return len(d.I8)
	case Uint8:
		return len(d.U8)
	case Int32:
		return len(d.I32)
	case Int64:
		return len(d.I64)
	}
	return -1
}
