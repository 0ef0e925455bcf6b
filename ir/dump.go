package ir

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"
)

// Dump writes a stable, human-readable text form of g: what snapshot tests
// compare. Constants appear by name, shape, dtype and a content hash, so two
// graphs dump the same exactly when they hold the same numbers.
func (g *Graph) Dump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %q\n", g.Name)
	for i, t := range g.Inputs {
		layout := ""
		if i < len(g.InputLayouts) && g.InputLayouts[i] != LayoutUnspecified {
			layout = " source=" + g.InputLayouts[i].String()
		}
		fmt.Fprintf(&b, "  input %s%s\n", tensorSig(t), layout)
	}
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "  %s %q", n.Op, n.Name)
		if a := attrString(n.Attrs); a != "" {
			fmt.Fprintf(&b, " {%s}", a)
		}
		b.WriteString("\n")
		for _, t := range n.Inputs {
			if t == nil {
				b.WriteString("    in  -\n")
				continue
			}
			fmt.Fprintf(&b, "    in  %s\n", tensorSig(t))
		}
		for _, t := range n.Outputs {
			fmt.Fprintf(&b, "    out %s\n", tensorSig(t))
		}
	}
	for _, t := range g.Outputs {
		fmt.Fprintf(&b, "  output %s\n", tensorSig(t))
	}
	return b.String()
}

func tensorSig(t *Tensor) string {
	s := fmt.Sprintf("%q %v%v", t.Name, t.DType, t.Shape)
	if q := t.Quant; q != nil {
		if len(q.Scale) == 1 {
			s += fmt.Sprintf(" q(s=%.9g zp=%d)", q.Scale[0], q.ZP(0))
		} else {
			s += fmt.Sprintf(" q(axis=%d n=%d hash=%08x)", q.Axis, len(q.Scale), hashQuant(q))
		}
	}
	if t.Data != nil {
		s += fmt.Sprintf(" const#%08x", t.Data.hash())
	}
	return s
}

func attrString(a Attrs) string {
	if a == nil {
		return ""
	}
	s := fmt.Sprintf("%+v", a)
	return strings.TrimSuffix(strings.TrimPrefix(s, "&{"), "}")
}

func hashQuant(q *Quant) uint32 {
	h := fnv.New32a()
	for _, s := range q.Scale {
		fmt.Fprintf(h, "%x,", math.Float32bits(s))
	}
	for _, z := range q.ZeroPoint {
		fmt.Fprintf(h, "%d,", z)
	}
	return h.Sum32()
}

func (d *Data) hash() uint32 {
	h := fnv.New32a()
	var buf [8]byte
	put := func(v uint64, n int) {
		for i := 0; i < n; i++ {
			buf[i] = byte(v >> (8 * i))
		}
		h.Write(buf[:n])
	}
	for _, v := range d.F32 {
		put(uint64(math.Float32bits(v)), 4)
	}
	for _, v := range d.I8 {
		put(uint64(uint8(v)), 1)
	}
	h.Write(d.U8)
	for _, v := range d.I32 {
		put(uint64(uint32(v)), 4)
	}
	for _, v := range d.I64 {
		put(uint64(v), 8)
	}
	return h.Sum32()
}
