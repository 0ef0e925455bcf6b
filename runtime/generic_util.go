package runtime

import (
	"fmt"
	"math"
	"slices"

	"github.com/mnconv/mnconv/ir"
)

// Helpers shared by the reference kernels (float_*.go, generic_*.go): element
// access by dtype, broadcasting strides, a strided row walker, activation
// bounds and quantization-parameter comparison. Plus RunSingle, for tests in
// other packages.

// RunSingle runs one node on its own: the node's inputs that are neither
// absent nor constant become the graph inputs, in the order they first
// appear, and inputs supplies their values (dtype and shape must match).
// Outputs whose Shape is nil get their shape (and dtype, when unset) from
// shape inference, which writes them into n's output tensors; the graph is
// validated before it runs. It returns the node's outputs, which the caller
// owns. Kernels come from the usual tables, as in a full graph.
func RunSingle(n *ir.Node, inputs ...*Tensor) ([]*Tensor, error) {
	g := &ir.Graph{Name: n.Name, Nodes: []*ir.Node{n}, Outputs: n.Outputs}
	seen := map[*ir.Tensor]bool{}
	for _, t := range n.Inputs {
		if t != nil && !t.IsConst() && !seen[t] {
			seen[t] = true
			g.Inputs = append(g.Inputs, t)
		}
	}
	if len(inputs) != len(g.Inputs) {
		return nil, n.Errorf("got %d input values for %d non-constant inputs", len(inputs), len(g.Inputs))
	}
	for _, t := range n.Outputs {
		if t != nil && t.Shape == nil && n.Op != ir.OpReshape {
			if err := g.InferShapes(); err != nil {
				return nil, err
			}
			break
		}
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	it, err := New(g)
	if err != nil {
		return nil, err
	}
	for i, v := range inputs {
		if v == nil {
			return nil, n.Errorf("input value %d is nil", i)
		}
		if err := it.SetInput(i, v); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	if err := it.Run(); err != nil {
		return nil, err
	}
	outs := make([]*Tensor, len(n.Outputs))
	for i := range outs {
		outs[i] = it.Output(i)
	}
	return outs, nil
}

// number is every element type a runtime Tensor stores.
type number interface {
	float32 | int8 | uint8 | int32 | int64
}

// elems returns t's element slice as []T; T must match t.DType (Prepare
// picks T from the dtype, so a mismatch is a bug in this package).
func elems[T number](t *Tensor) []T {
	var s any
	switch any(*new(T)).(type) {
	case float32:
		s = t.F32
	case int8:
		s = t.I8
	case uint8:
		s = t.U8
	case int32:
		s = t.I32
	case int64:
		s = t.I64
	}
	return s.([]T)
}

// isFloat reports whether T is float32.
func isFloat[T number]() bool {
	_, ok := any(*new(T)).(float32)
	return ok
}

// limits returns the smallest and largest values of T (±Inf for float32).
func limits[T number]() (lo, hi T) {
	switch any(*new(T)).(type) {
	case float32:
		return any(float32(math.Inf(-1))).(T), any(float32(math.Inf(1))).(T)
	case int8:
		return any(int8(math.MinInt8)).(T), any(int8(math.MaxInt8)).(T)
	case uint8:
		return any(uint8(0)).(T), any(uint8(math.MaxUint8)).(T)
	case int32:
		return any(int32(math.MinInt32)).(T), any(int32(math.MaxInt32)).(T)
	default:
		return any(int64(math.MinInt64)).(T), any(int64(math.MaxInt64)).(T)
	}
}

// saturate converts v to T, clamping to T's range; integer types round v to
// the nearest integer (ties away from zero) and map NaN to 0. Go leaves
// out-of-range float-to-int conversions implementation-defined, hence the
// explicit clamp.
func saturate[T number](v float64) T {
	lo, hi := limits[T]()
	if isFloat[T]() {
		return T(v)
	}
	switch {
	case math.IsNaN(v):
		return 0
	case v <= float64(lo):
		return lo
	case v >= float64(hi):
		return hi
	}
	return T(math.Round(v))
}

// actBounds converts an activation's real clamp range to T. For integer T
// the bounds round inward (a lower bound of 0.5 becomes 1).
func actBounds[T number](act ir.Activation) (lo, hi T) {
	flo, fhi := act.Bounds()
	if isFloat[T]() {
		return T(flo), T(fhi)
	}
	return saturate[T](math.Ceil(float64(flo))), saturate[T](math.Floor(float64(fhi)))
}

// contiguousStrides returns the row-major element strides of shape.
func contiguousStrides(shape []int) []int {
	strides := make([]int, len(shape))
	s := 1
	for d := len(shape) - 1; d >= 0; d-- {
		strides[d] = s
		s *= shape[d]
	}
	return strides
}

// broadcastStrides returns the strides, one per dimension of out, with which
// a contiguous tensor of shape s is read when numpy-broadcast to out: the
// dims of s align to the right, and a dim of size 1 (or a missing one) gets
// stride 0. The caller has checked that s broadcasts to out.
func broadcastStrides(s, out []int) []int {
	own := contiguousStrides(s)
	strides := make([]int, len(out))
	for d := range out {
		j := d - (len(out) - len(s))
		if j >= 0 && s[j] != 1 {
			strides[d] = own[j]
		}
	}
	return strides
}

// stridedLoop walks every element of shape in row-major order for several
// operands at once, each with its own per-dimension strides (0 to broadcast).
// Kernels call rows and run the innermost dimension themselves, so the hot
// loop is a plain loop over one row.
type stridedLoop struct {
	shape   []int   // dims after coalescing; at least one
	strides [][]int // [operand][dim]
	idx     []int   // odometer scratch
	offs    []int   // per-operand offset scratch
}

// newStridedLoop builds the walker. Dimensions of size 1 are dropped and
// neighbours that every operand steps through contiguously are merged, so a
// same-shape elementwise op becomes a single long row.
func newStridedLoop(shape []int, strides ...[]int) *stridedLoop {
	l := &stridedLoop{strides: make([][]int, len(strides))}
	for d, size := range shape {
		if size == 1 {
			continue
		}
		if last := len(l.shape) - 1; last >= 0 && size != 0 && l.shape[last] != 0 {
			mergeable := true
			for k, s := range strides {
				if l.strides[k][last] != s[d]*size {
					mergeable = false
					break
				}
			}
			if mergeable {
				l.shape[last] *= size
				for k, s := range strides {
					l.strides[k][last] = s[d]
				}
				continue
			}
		}
		l.shape = append(l.shape, size)
		for k, s := range strides {
			l.strides[k] = append(l.strides[k], s[d])
		}
	}
	if len(l.shape) == 0 {
		l.shape = []int{1}
		for k := range l.strides {
			l.strides[k] = []int{0}
		}
	}
	l.idx = make([]int, len(l.shape))
	l.offs = make([]int, len(strides))
	return l
}

// rowLen is the length of the innermost dimension, and step(k) is operand
// k's stride along it.
func (l *stridedLoop) rowLen() int    { return l.shape[len(l.shape)-1] }
func (l *stridedLoop) step(k int) int { return l.strides[k][len(l.shape)-1] }

// rows calls fn once per row with each operand's offset of the row's first
// element. fn must not keep offs.
func (l *stridedLoop) rows(fn func(offs []int)) {
	if slices.Contains(l.shape, 0) {
		return
	}
	clear(l.idx)
	clear(l.offs)
	outer := len(l.shape) - 1
	for {
		fn(l.offs)
		d := outer - 1
		for ; d >= 0; d-- {
			l.idx[d]++
			for k := range l.offs {
				l.offs[k] += l.strides[k][d]
			}
			if l.idx[d] < l.shape[d] {
				break
			}
			for k := range l.offs {
				l.offs[k] -= l.strides[k][d] * l.shape[d]
			}
			l.idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// checkDTypes checks that every present input and every output of n has
// dtype dt.
func checkDTypes(n *ir.Node, dt ir.DType) error {
	for i, t := range n.Inputs {
		if t != nil && t.DType != dt {
			return n.Errorf("input %d %q is %v, want %v", i, t.Name, t.DType, dt)
		}
	}
	for i, t := range n.Outputs {
		if t.DType != dt {
			return n.Errorf("output %d %q is %v, want %v", i, t.Name, t.DType, dt)
		}
	}
	return nil
}

// checkFloat checks that n reads and writes only float32 tensors.
func checkFloat(n *ir.Node) error { return checkDTypes(n, ir.Float32) }

// describeQuant formats q for error messages.
func describeQuant(q *ir.Quant) string {
	if q == nil {
		return "no quantization"
	}
	if !q.PerAxis() {
		return fmt.Sprintf("scale %g zero point %d", q.S(0), q.ZP(0))
	}
	return fmt.Sprintf("%d scales on axis %d", len(q.Scale), q.Axis)
}

// checked wraps a PrepareFunc with the structural checks every reference
// kernel relies on, so that a graph that skipped Validate gets an error
// rather than a panic: input and output counts, required inputs present,
// the op's attribute struct type, no negative dimensions, and constants
// holding as many elements as their shape says.
func checked(prepare PrepareFunc) PrepareFunc {
	return func(n *ir.Node) (Kernel, error) {
		info := n.Op.Info()
		if len(n.Inputs) < info.MinInputs || len(n.Inputs) > info.MaxInputs {
			return nil, n.Errorf("has %d inputs, want %d to %d", len(n.Inputs), info.MinInputs, info.MaxInputs)
		}
		for i := 0; i < info.MinInputs; i++ {
			if n.Inputs[i] == nil {
				return nil, n.Errorf("required input %d is missing", i)
			}
		}
		if len(n.Outputs) != info.Outputs || slices.Contains(n.Outputs, nil) {
			return nil, n.Errorf("has %d outputs (or a nil one), want %d", len(n.Outputs), info.Outputs)
		}
		if !info.AttrsOK(n.Attrs) {
			return nil, n.Errorf("has attributes %T, want %T", n.Attrs, info.NewAttrs())
		}
		for _, t := range slices.Concat(n.Inputs, n.Outputs) {
			if t != nil && slices.ContainsFunc(t.Shape, func(d int) bool { return d < 0 }) {
				return nil, n.Errorf("tensor %q has a negative dimension in %v", t.Name, t.Shape)
			}
		}
		for _, t := range n.Inputs {
			if t.IsConst() {
				if got := storedLen(FromConst(t)); got != t.Len() {
					return nil, n.Errorf("constant %q holds %d %v elements, shape %v needs %d", t.Name, got, t.DType, t.Shape, t.Len())
				}
			}
		}
		return prepare(n)
	}
}

// storedLen is the length of the element slice that t's dtype selects.
func storedLen(t *Tensor) int {
	switch t.DType {
	case ir.Float32:
		return len(t.F32)
	case ir.Int8:
		return len(t.I8)
	case ir.Uint8:
		return len(t.U8)
	case ir.Int32:
		return len(t.I32)
	case ir.Int64:
		return len(t.I64)
	}
	return -1
}
