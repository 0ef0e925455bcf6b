//go:build !amd64 || purego

package runtime

// Without the amd64 assembly the generic depthwise path (fast_dwk.go) is
// off and dwPixel runs every kernel size but 3x3.
const hasDWKKernels = false

func dwkRowZ(out, in, w, bias *float32, n, blocks, rows, taps, pixStep, rowStep, tapStep, wRow, wBlock, outStep int, mask uint16, lo, hi float32) {
	panic("runtime: dwkRowZ without assembly")
}

func dwkRow(out, in, w, bias *float32, n, blocks, rows, taps, pixStep, rowStep, tapStep, wRow, wBlock, outStep int, lo, hi float32) {
	panic("runtime: dwkRow without assembly")
}

func dwkPixZ(out, in, w, bias *float32, px *dwkPx, npx, quads, rest, tapStep, wBlock int, mask uint16, lo, hi float32) {
	panic("runtime: dwkPixZ without assembly")
}

func dwkPix(out, in, w, bias *float32, px *dwkPx, npx, quads, rest, tapStep, wBlock int, lo, hi float32) {
	panic("runtime: dwkPix without assembly")
}
