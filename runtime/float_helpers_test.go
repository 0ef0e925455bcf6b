package runtime

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// Small builders for single-node test graphs. Every graph goes through
// RunSingle, which validates it before running.

// input declares a non-constant float32 tensor.
func input(name string, shape ...int) *ir.Tensor {
	return &ir.Tensor{Name: name, DType: ir.Float32, Shape: shape}
}

// typedInput declares a non-constant tensor of any dtype.
func typedInput(name string, dt ir.DType, shape ...int) *ir.Tensor {
	return &ir.Tensor{Name: name, DType: dt, Shape: shape}
}

// constant makes a float32 constant.
func constant(name string, shape []int, v ...float32) *ir.Tensor {
	return ir.NewConstF32(name, shape, v)
}

// node makes op's node reading ins, with attrs (nil keeps the op's zero
// attributes) and one output "y" whose shape comes from inference.
func node(op ir.Op, attrs ir.Attrs, ins ...*ir.Tensor) *ir.Node {
	n := ir.NewNode(strings.ToLower(op.String())+"_0", op, ins, &ir.Tensor{Name: "y"})
	if attrs != nil {
		n.Attrs = attrs
	}
	return n
}

// f32 makes a float32 runtime value.
func f32(shape []int, v ...float32) *Tensor {
	t := NewTensor(ir.Float32, shape)
	copy(t.F32, v)
	return t
}

// seq returns start, start+1, ... (n values).
func seq(n int, start float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = start + float32(i)
	}
	return v
}

// run runs n on vals and returns its only output, failing the test on error.
func run(t *testing.T, n *ir.Node, vals ...*Tensor) *Tensor {
	t.Helper()
	outs, err := RunSingle(n, vals...)
	if err != nil {
		t.Fatalf("RunSingle: %v", err)
	}
	return outs[0]
}

// checkF32 compares a float32 result with a golden within tol (absolute
// plus relative to the golden's magnitude); NaNs must match NaNs.
func checkF32(t *testing.T, got *Tensor, shape []int, want []float32, tol float64) {
	t.Helper()
	if got.DType != ir.Float32 || !slices.Equal(got.Shape, shape) {
		t.Fatalf("got %v, want float32%v", got, shape)
	}
	if len(got.F32) != len(want) {
		t.Fatalf("got %d values, want %d", len(got.F32), len(want))
	}
	bad := 0
	for i, w := range want {
		g := got.F32[i]
		if math.IsNaN(float64(w)) != math.IsNaN(float64(g)) || math.Abs(float64(g-w)) > tol*(1+math.Abs(float64(w))) {
			if bad < 10 {
				t.Errorf("element %d (%s): got %v, want %v", i, indexString(i, shape), g, w)
			}
			bad++
		}
	}
	if bad > 10 {
		t.Errorf("... %d mismatches in all", bad)
	}
}

// indexString formats flat index i of shape as [a b c].
func indexString(i int, shape []int) string {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return fmt.Sprint(idx)
}

// wantError checks that err is non-nil and mentions every fragment.
func wantError(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %q", err, f)
		}
	}
}

// lcg is a tiny deterministic generator for test data.
type lcg uint64

func (r *lcg) float() float32 {
	*r = *r*6364136223846793005 + 1442695040888963407
	return float32(int64(*r>>40)%2001-1000) / 1000
}

func (r *lcg) floats(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = r.float()
	}
	return v
}
