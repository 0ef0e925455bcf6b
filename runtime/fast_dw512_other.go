//go:build !amd64 || purego

package runtime

func dw3x3RowZ(out, in0, in1, in2, wb *float32, c, outOff, inOff, n, xStep, tapStep int, edges *dwEdge, nEdges int, lo, hi float32) {
	panic("runtime: dw3x3RowZ without assembly")
}

func dw3x3RowZB(out, in0, in1, in2, wb *float32, c, outOff, inOff, n, xStep, tapStep int, edges *dwEdge, nEdges int, lo, hi float32) {
	panic("runtime: dw3x3RowZB without assembly")
}
