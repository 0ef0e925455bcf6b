package runtime

import (
	"sync/atomic"

	"github.com/mnconv/mnconv/ir"
)

// Executed multiply-accumulates, counted by the kernels themselves.
//
// Every kernel of a MAC op (Conv, depthwise included, Gemm, MatMul; float
// and integer, reference and fast) implements MACCounter. It adds to its
// counter as it finishes each output pixel or output row: one addition per
// output pixel or row (kept in a local variable, published with one atomic
// add per Eval or per pool part), never one per multiply-add, so counting
// costs nothing measurable. The counts therefore prove what ran: a kernel
// that skipped rows, or ran a batch twice, shows it.
//
// Convention: a kernel counts the taps it nominally computes, padded taps
// included, i.e. KH x KW x (input channels per group) per output element of
// a Conv and K per output element of a Gemm or MatMul: the op table's MACs
// formulas (ir/macs.go, Node.MACs). The kernels skip
// padded taps (they multiply by zero), but the papers and package inspect
// count them, and a count that moved with the padding would not compare
// with either. So one Run of a model executes exactly inspect's static MACs,
// layer by layer (TestExecutedMACsMatchInspect).

// MACCounter is implemented by kernels that count the multiply-accumulates
// they execute.
type MACCounter interface {
	// MACs is the number of multiply-accumulates executed since the kernel
	// was prepared or last reset, summed over every Eval.
	MACs() int64
	// ResetMACs sets the count back to zero.
	ResetMACs()
}

// macCount is the counter a kernel embeds to implement MACCounter. Parts of
// one Eval may run on several pool goroutines, hence the atomic.
type macCount struct{ n atomic.Int64 }

func (c *macCount) MACs() int64 { return c.n.Load() }
func (c *macCount) ResetMACs()  { c.n.Store(0) }

// addMACs publishes work done: units output pixels or rows of per MACs each.
func (c *macCount) addMACs(units int, per int64) {
	if units > 0 {
		c.n.Add(int64(units) * per)
	}
}

var (
	_ MACCounter = (*convKernel)(nil)
	_ MACCounter = (*gemmKernel)(nil)
	_ MACCounter = (*matMulKernel)(nil)
	_ MACCounter = (*qConvKernel)(nil)
	_ MACCounter = (*qGemmKernel)(nil)
	_ MACCounter = (*qMatMulKernel)(nil)
)

// DoesMACs reports whether op multiplies and accumulates, by the op table
// (ir.Op.DoesMACs: Conv, Gemm, MatMul): the ops whose kernels must count.
func DoesMACs(op ir.Op) bool { return op.DoesMACs() }

// NodeMACs returns, per node of the graph (in g.Nodes order), the
// multiply-accumulates its kernel executed since New or the last ResetMACs,
// summed over every Run: divide by the number of Runs for one input's
// count. A node whose kernel does not count reads 0; Uncounted lists the
// MAC nodes among those.
func (it *Interpreter) NodeMACs() []int64 {
	out := make([]int64, len(it.g.Nodes))
	for i := range it.g.Nodes {
		if c, ok := it.Kernel(i).(MACCounter); ok {
			out[i] = c.MACs()
		}
	}
	return out
}

// TotalMACs is the sum of NodeMACs.
func (it *Interpreter) TotalMACs() int64 {
	var s int64
	for _, m := range it.NodeMACs() {
		s += m
	}
	return s
}

// ResetMACs sets every kernel's count back to zero.
func (it *Interpreter) ResetMACs() {
	for i := range it.g.Nodes {
		if c, ok := it.Kernel(i).(MACCounter); ok {
			c.ResetMACs()
		}
	}
}

// Uncounted lists the nodes that do multiply-accumulates but whose kernel
// does not count them (empty when the counts are complete).
func (it *Interpreter) Uncounted() []*ir.Node {
	var out []*ir.Node
	for i, n := range it.g.Nodes {
		if _, ok := it.Kernel(i).(MACCounter); DoesMACs(n.Op) && !ok {
			out = append(out, n)
		}
	}
	return out
}
