//go:build amd64 && !purego

package runtime

// dw3x3RowZ computes one output row of a 3x3 depthwise convolution with c
// channels on ZMM registers (fast_fdw512_amd64.s). in0, in1 and in2 point
// at column 0 of the three input rows (a row above or below the image is a
// row of zeros); wb is packDW3x3Z's [ceil(c/16)][10][16]. The n interior
// pixels (a multiple of 4) start outOff bytes into out and inOff bytes into each input row and
// step xStep bytes along it; tapStep bytes separate the tap columns. The
// nEdges border pixels are listed in edges. Offsets and steps are in bytes.
//
//go:noescape
func dw3x3RowZ(out, in0, in1, in2, wb *float32, c, outOff, inOff, n, xStep, tapStep int, edges *dwEdge, nEdges int, lo, hi float32)

// dw3x3RowZB is dw3x3RowZ with the channel blocks as the outer loop.
//
//go:noescape
func dw3x3RowZB(out, in0, in1, in2, wb *float32, c, outOff, inOff, n, xStep, tapStep int, edges *dwEdge, nEdges int, lo, hi float32)
