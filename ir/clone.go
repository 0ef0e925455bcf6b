package ir

import (
	"reflect"
	"slices"
)

// CloneAttrs deep-copies an attribute struct, so that a rewritten graph
// never aliases its source: the struct is copied and every slice, map and
// pointer in it (at any depth) gets its own copy. It works on the struct's
// fields by reflection, so a new attrs type needs nothing here;
// TestCloneAttrsCoversOpTable checks it on every op's NewAttrs with all fields set.
// Attrs structs have exported fields only.
func CloneAttrs(a Attrs) Attrs {
	if a == nil {
		return nil
	}
	v := reflect.ValueOf(a)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return a
	}
	c := reflect.New(v.Elem().Type())
	c.Elem().Set(v.Elem())
	deepen(c.Elem())
	return c.Interface().(Attrs)
}

// deepen replaces the slices, maps and pointers reachable from v (settable)
// by copies, so that v shares no memory with what it was copied from.
func deepen(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			deepen(v.Field(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			deepen(v.Index(i))
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			deepen(c.Index(i))
		}
		v.Set(c)
	case reflect.Map:
		if v.IsNil() {
			return
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(it.Value())
			deepen(e)
			c.SetMapIndex(it.Key(), e)
		}
		v.Set(c)
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(v.Elem())
		deepen(c.Elem())
		v.Set(c)
	}
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
