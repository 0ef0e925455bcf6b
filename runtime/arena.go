package runtime

import (
	"cmp"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Activation memory planning. New gives every intermediate tensor a slice of
// one arena per dtype, chosen so that two tensors share memory only when
// their lifetimes do not overlap: a tensor lives from the node that writes it
// to the last node that reads it. Graph outputs live to the end of Run;
// graph inputs and constants are not planned (inputs keep their own buffers,
// so that a caller may fill them once and Run several times).
//
// Placement is greedy by size, largest first, each at the lowest offset that
// does not collide with an already placed tensor whose lifetime overlaps
// (the order TFLite's arena planner uses). A node's output never shares
// memory with its inputs, since both are alive at that node; kernels may
// therefore read inputs while writing outputs.

// arenaAlign is the alignment of every planned slice, in elements: 64 bytes
// for float32 and int32, whole cache lines for the 8-bit types.
const arenaAlign = 64

// lifetime is one planned tensor.
type lifetime struct {
	t          *ir.Tensor
	first, end int // first node writing it, last node reading it (inclusive)
	size       int // elements
	offset     int // planned element offset
}

// arenaPlan is the result: each dtype's arena length and every tensor's
// offset within it.
type arenaPlan struct {
	sizes   map[ir.DType]int
	tensors []*lifetime
}

// planArena plans the node outputs of g, except those skip selects (graph
// inputs, constants, everything under Options.KeepAll). A tensor in early
// lives from that node on, before its own (a fused Add's output, written by
// the conv before it: interp.go).
func planArena(g *ir.Graph, skip func(*ir.Tensor) bool, early map[*ir.Tensor]int) *arenaPlan {
	byTensor := map[*ir.Tensor]*lifetime{}
	var all []*lifetime
	for i, n := range g.Nodes {
		for _, t := range n.Inputs {
			if lt := byTensor[t]; lt != nil {
				lt.end = max(lt.end, i)
			}
		}
		for _, t := range n.Outputs {
			if t == nil || skip(t) || byTensor[t] != nil {
				continue
			}
			lt := &lifetime{t: t, first: i, end: i, size: t.Len()}
			if e, ok := early[t]; ok {
				lt.first = min(lt.first, e)
			}
			byTensor[t] = lt
			all = append(all, lt)
		}
	}
	for _, t := range g.Outputs {
		if lt := byTensor[t]; lt != nil {
			lt.end = len(g.Nodes)
		}
	}
	plan := &arenaPlan{sizes: map[ir.DType]int{}, tensors: all}
	byDType := map[ir.DType][]*lifetime{}
	for _, lt := range all {
		byDType[lt.t.DType] = append(byDType[lt.t.DType], lt)
	}
	for dt, lts := range byDType {
		plan.sizes[dt] = placeGreedy(lts)
	}
	return plan
}

// placeGreedy sets the offsets of lts and returns the arena length.
func placeGreedy(lts []*lifetime) int {
	order := slices.Clone(lts)
	slices.SortStableFunc(order, func(a, b *lifetime) int {
		if c := cmp.Compare(b.size, a.size); c != 0 {
			return c
		}
		return cmp.Compare(a.first, b.first)
	})
	var placed []*lifetime // sorted by offset
	total := 0
	for _, lt := range order {
		if lt.size == 0 {
			continue
		}
		off := 0
		for _, p := range placed {
			if p.end < lt.first || lt.end < p.first {
				continue // lifetimes do not overlap
			}
			if off+lt.size <= p.offset {
				break // fits in the gap before p
			}
			off = max(off, alignUp(p.offset+p.size, arenaAlign))
		}
		lt.offset = off
		total = max(total, alignUp(off+lt.size, arenaAlign))
		i, _ := slices.BinarySearchFunc(placed, off, func(p *lifetime, o int) int { return cmp.Compare(p.offset, o) })
		placed = slices.Insert(placed, i, lt)
	}
	return total
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// arena holds one backing slice per dtype.
type arena struct {
	f32 []float32
	i8  []int8
	u8  []uint8
	i32 []int32
	i64 []int64
}

func newArena(sizes map[ir.DType]int) *arena {
	return &arena{
		f32: make([]float32, sizes[ir.Float32]),
		i8:  make([]int8, sizes[ir.Int8]),
		u8:  make([]uint8, sizes[ir.Uint8]),
		i32: make([]int32, sizes[ir.Int32]),
		i64: make([]int64, sizes[ir.Int64]),
	}
}

// tensor returns the planned tensor's view of the arena (capacity clipped, so
// that no kernel can write past it).
func (a *arena) tensor(lt *lifetime) *Tensor {
	t := &Tensor{DType: lt.t.DType, Shape: slices.Clone(lt.t.Shape)}
	lo, hi := lt.offset, lt.offset+lt.size
	switch lt.t.DType {
	case ir.Float32:
		t.F32 = a.f32[lo:hi:hi]
	case ir.Int8:
		t.I8 = a.i8[lo:hi:hi]
	case ir.Uint8:
		t.U8 = a.u8[lo:hi:hi]
	case ir.Int32:
		t.I32 = a.i32[lo:hi:hi]
	case ir.Int64:
		t.I64 = a.i64[lo:hi:hi]
	}
	return t
}

// bytes is the arena's total size.
func (a *arena) bytes() int64 {
	return int64(len(a.f32))*4 + int64(len(a.i8)) + int64(len(a.u8)) + int64(len(a.i32))*4 + int64(len(a.i64))*8
}

// PlanArenaBytes is the activation memory New would allocate for g, per
// dtype and in total: the liveness plan of every node output (graph inputs
// and constants excluded), computed without preparing kernels or
// allocating, so it also prices graphs the runtime cannot run (inspect's
// lenient imports; an opaque node's output counts its declared shape).
func PlanArenaBytes(g *ir.Graph) (total int64, byDType map[ir.DType]int64) {
	inputs := map[*ir.Tensor]bool{}
	for _, t := range g.Inputs {
		inputs[t] = true
	}
	plan := planArena(g, func(t *ir.Tensor) bool { return inputs[t] || t.IsConst() }, addsEarly(g, fusionPairs(g)))
	byDType = map[ir.DType]int64{}
	for dt, n := range plan.sizes {
		if b := int64(n) * int64(dt.Size()); b > 0 {
			byDType[dt] = b
			total += b
		}
	}
	return total, byDType
}
