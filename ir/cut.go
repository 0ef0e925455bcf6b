package ir

import (
	"fmt"
	"slices"
	"strings"
)

// Cut returns the subgraph of g between the tensors named in inputs and
// outputs: the nodes needed to compute the outputs from the inputs, with
// each named input becoming a graph input of the same name, dtype, shape and
// quantization. An empty inputs keeps g's own inputs (those the outputs
// need); an empty outputs keeps g's outputs. g is not changed: the result is
// a deep copy (constant data shared, as Clone does).
//
// It refuses, naming the tensors: a name no tensor has, a constant as an
// input, an output that needs a non-constant tensor neither among the
// inputs nor computed from them, and an input that no output needs.
func (g *Graph) Cut(inputs, outputs []string) (*Graph, error) {
	c := g.Clone()
	byName := map[string]*Tensor{}
	for _, t := range c.Tensors() {
		byName[t.Name] = t
	}
	find := func(what string, names []string) ([]*Tensor, error) {
		var ts []*Tensor
		var unknown []string
		for _, name := range names {
			t, ok := byName[name]
			if !ok {
				unknown = append(unknown, fmt.Sprintf("%q", name))
				continue
			}
			if slices.Contains(ts, t) {
				return nil, fmt.Errorf("cut: %s %q is named twice", what, name)
			}
			ts = append(ts, t)
		}
		if len(unknown) > 0 {
			return nil, fmt.Errorf("cut: no tensor is named %s (%s)", strings.Join(unknown, ", "), what)
		}
		return ts, nil
	}
	ins, err := find("input", inputs)
	if err != nil {
		return nil, err
	}
	outs, err := find("output", outputs)
	if err != nil {
		return nil, err
	}
	for _, t := range ins {
		if t.IsConst() {
			return nil, fmt.Errorf("cut: input %q is a constant", t.Name)
		}
	}
	if len(outs) == 0 {
		outs = c.Outputs
	}
	if len(ins) == 0 {
		ins = c.Inputs
	}
	isIn := map[*Tensor]bool{}
	for _, t := range ins {
		isIn[t] = true
	}

	// Walk back from the outputs, stopping at the inputs and constants.
	prod := c.Producers()
	keep := map[*Node]bool{}
	used := map[*Tensor]bool{}
	for _, o := range outs {
		stack := []*Tensor{o}
		for len(stack) > 0 {
			t := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if t == nil || used[t] {
				continue
			}
			used[t] = true
			if isIn[t] || t.IsConst() {
				continue
			}
			p := prod[t]
			if p == nil {
				return nil, fmt.Errorf("cut: output %q needs %q, which is neither among the inputs nor computed from them", o.Name, t.Name)
			}
			if !keep[p] {
				keep[p] = true
				stack = append(stack, p.Inputs...)
			}
		}
	}
	var newIns []*Tensor
	var inLayouts []Layout
	for _, t := range ins {
		if !used[t] {
			if slices.Contains(inputs, t.Name) {
				return nil, fmt.Errorf("cut: input %q is not needed by any output (unreachable from %s)", t.Name, names(outs))
			}
			continue // one of g's inputs that the outputs do not need
		}
		newIns = append(newIns, t)
		inLayouts = append(inLayouts, layoutOf(c.Inputs, c.InputLayouts, t))
	}
	var nodes []*Node
	for _, n := range c.Nodes {
		if keep[n] {
			nodes = append(nodes, n)
		}
	}
	var outLayouts []Layout
	for _, t := range outs {
		outLayouts = append(outLayouts, layoutOf(c.Outputs, c.OutputLayouts, t))
	}
	c.Nodes, c.Inputs, c.Outputs = nodes, newIns, slices.Clone(outs)
	c.InputLayouts, c.OutputLayouts = inLayouts, outLayouts
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("cut: %v", err)
	}
	return c, nil
}

// layoutOf is t's entry in layouts when t is one of ts, else unspecified.
func layoutOf(ts []*Tensor, layouts []Layout, t *Tensor) Layout {
	if i := slices.Index(ts, t); i >= 0 && i < len(layouts) {
		return layouts[i]
	}
	return LayoutUnspecified
}

func names(ts []*Tensor) string {
	q := make([]string, len(ts))
	for i, t := range ts {
		q[i] = fmt.Sprintf("%q", t.Name)
	}
	return strings.Join(q, ", ")
}
