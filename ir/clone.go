package ir

import "slices"

// CloneAttrs deep-copies an attribute struct (slices included), so that a
// rewritten graph never aliases its source. Every attrs type of the op table
// is handled; TestCloneAttrsCoversOpTable keeps it so.
func CloneAttrs(a Attrs) Attrs {
	switch v := a.(type) {
	case *ConvAttrs:
		c := *v
		return &c
	case *GemmAttrs:
		c := *v
		return &c
	case *BatchNormAttrs:
		c := *v
		return &c
	case *ClipAttrs:
		c := *v
		return &c
	case *HardSigmoidAttrs:
		c := *v
		return &c
	case *BinaryAttrs:
		c := *v
		return &c
	case *PoolAttrs:
		c := *v
		return &c
	case *ReduceAttrs:
		c := *v
		c.Axes = slices.Clone(v.Axes)
		return &c
	case *TransposeAttrs:
		c := *v
		c.Perm = slices.Clone(v.Perm)
		return &c
	case *ConcatAttrs:
		c := *v
		return &c
	case *PadAttrs:
		c := *v
		c.Pads = slices.Clone(v.Pads)
		return &c
	case *SoftmaxAttrs:
		c := *v
		return &c
	case *ArgMaxAttrs:
		c := *v
		return &c
	case *OpaqueAttrs:
		c := *v
		return &c
	}
	return nil
}

// Clone deep-copies the graph structure: new Tensor and Node values, attrs
// copied, constant data shared (constants are never mutated in place; a pass
// that changes a constant makes a new Data).
func (g *Graph) Clone() *Graph {
	m := map[*Tensor]*Tensor{}
	ct := func(t *Tensor) *Tensor {
		if t == nil {
			return nil
		}
		if c, ok := m[t]; ok {
			return c
		}
		c := *t
		c.Shape = slices.Clone(t.Shape)
		c.Quant = t.Quant.Clone()
		m[t] = &c
		return &c
	}
	out := &Graph{Name: g.Name, InputLayouts: slices.Clone(g.InputLayouts), OutputLayouts: slices.Clone(g.OutputLayouts), SymbolicBatch: g.SymbolicBatch}
	out.SourceInputQuant = cloneSourceQuant(g.SourceInputQuant)
	out.SourceOutputQuant = cloneSourceQuant(g.SourceOutputQuant)
	if g.Meta != nil {
		out.Meta = make(map[string]string, len(g.Meta))
		for k, v := range g.Meta {
			out.Meta[k] = v
		}
	}
	for _, t := range g.Inputs {
		out.Inputs = append(out.Inputs, ct(t))
	}
	for _, n := range g.Nodes {
		c := &Node{Name: n.Name, Op: n.Op, Arith: n.Arith, Origin: n.Origin, Attrs: CloneAttrs(n.Attrs)}
		for _, t := range n.Inputs {
			c.Inputs = append(c.Inputs, ct(t))
		}
		for _, t := range n.Outputs {
			c.Outputs = append(c.Outputs, ct(t))
		}
		out.Nodes = append(out.Nodes, c)
	}
	for _, t := range g.Outputs {
		out.Outputs = append(out.Outputs, ct(t))
	}
	return out
}

// cloneSourceQuant deep-copies a SourceQuant map (nil stays nil).
func cloneSourceQuant(m map[string]SourceQuant) map[string]SourceQuant {
	if m == nil {
		return nil
	}
	out := make(map[string]SourceQuant, len(m))
	for k, v := range m {
		out[k] = v.Clone()
	}
	return out
}
