package runtime

import (
	"math"

	"github.com/mnconv/mnconv/ir"
)

// Fast float32 Mul and Mean for MobileNetV3's squeeze-excite blocks: Mean
// over the spatial dims (global average pooling, [1,H,W,C] -> [1,1,1,C])
// and the broadcast Mul of [1,H,W,C] by the [1,1,1,C] gate (fastBinary in
// fast_elementwise.go calls mulClamp). Both keep the reference kernels'
// arithmetic: one rounded product per element; the Mean's float64 sums
// from +0 in the reference's order (rows of the reduced dims in turn),
// one division, one rounding to float32.

func init() {
	Register(ir.OpMean, FastFloat, prepareFastMean)
}

var _ Kernel = (*fastMean)(nil)

// mulClamp is the float Mul: y[i] = clamp(a[i] * b[i], lo, hi). Without an
// activation the clamp changes nothing (NaN and -0 included) and the
// products run in mulF32.
func mulClamp(y, a, b []float32, lo, hi float32) {
	if math.IsInf(float64(lo), -1) && math.IsInf(float64(hi), 1) {
		mulF32(y, a, b)
		return
	}
	a, b = a[:len(y)], b[:len(y)]
	for i := range y {
		y[i] = min(max(a[i]*b[i], lo), hi)
	}
}

// mulF32 writes y[i] = a[i] * b[i]: eight at a time in assembly (VMULPS)
// on amd64's assembly families, the rest in Go. y may be a or b.
func mulF32(y, a, b []float32) {
	a, b = a[:len(y)], b[:len(y)]
	if n := len(y) &^ 7; n > 0 && useSIMD && hasSEAsm {
		vmulF32(&y[0], &a[0], &b[0], n)
		y, a, b = y[n:], a[n:], b[n:]
	}
	for i := range y {
		y[i] = a[i] * b[i]
	}
}

// fastMean is a float Mean whose reduced axes are adjacent: the input is
// [outer, rows, inner] and the output [outer, inner], each output the mean
// of rows inputs inner floats apart.
type fastMean struct {
	outer, rows, inner int
	count              float64
	acc                []float64 // inner sums for the Go loop
	fam                kernelFamily
}

func prepareFastMean(n *ir.Node) (Kernel, error) {
	if !wellFormed(n) || checkFloat(n) != nil {
		return nil, nil
	}
	if _, err := prepareReduce(n); err != nil { // the reference reports it
		return nil, nil
	}
	x := n.Inputs[0]
	a := n.Attrs.(*ir.ReduceAttrs)
	if len(a.Axes) == 0 {
		return nil, nil
	}
	reduced := make([]bool, x.Rank())
	for _, ax := range a.Axes {
		d, _ := ir.NormAxis(ax, x.Rank())
		reduced[d] = true
	}
	first, last := -1, -1
	for d, r := range reduced {
		if r {
			if first < 0 {
				first = d
			} else if last != d-1 {
				return nil, nil // not adjacent
			}
			last = d
		}
	}
	k := &fastMean{
		outer: ir.NumElements(x.Shape[:first]),
		rows:  ir.NumElements(x.Shape[first : last+1]),
		inner: ir.NumElements(x.Shape[last+1:]),
		fam:   family,
	}
	if k.rows == 0 || k.inner == 0 {
		return nil, nil
	}
	k.count = float64(k.rows)
	k.acc = make([]float64, k.inner)
	return k, nil
}

func (k *fastMean) Eval(in, out []*Tensor) error {
	x, y := in[0].F32, out[0].F32
	plane := k.rows * k.inner
	for o := 0; o < k.outer; o++ {
		k.mean(y[o*k.inner:][:k.inner], x[o*plane:][:plane])
	}
	return nil
}

// mean writes y[c] = mean of x[r*inner+c] over r.
func (k *fastMean) mean(y, x []float32) {
	c := 0
	if hasSEAsm && k.fam >= familyAVX512 && len(y) >= 32 {
		meanF32z(&y[0], &x[0], k.rows, k.inner, len(y)/32, k.count)
		c = len(y) &^ 31
	}
	if hasSEAsm && k.fam >= familySIMD && len(y)-c >= 8 {
		meanF32(&y[c], &x[c], k.rows, k.inner, (len(y)-c)/8, k.count)
		c += (len(y) - c) &^ 7
	}
	if c == len(y) {
		return
	}
	acc := k.acc[c:len(y)]
	clear(acc)
	for r := 0; r < k.rows; r++ {
		row := x[r*k.inner+c:][:len(acc)]
		for i, v := range row {
			acc[i] += float64(v)
		}
	}
	for i, sum := range acc {
		y[c+i] = float32(sum / k.count)
	}
}
