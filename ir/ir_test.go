package ir

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestOpTableComplete(t *testing.T) {
	for _, op := range AllOps() {
		info := op.Info()
		if info.Name == "" || info.Infer == nil || info.Outputs < 1 || info.MinInputs > info.MaxInputs {
			t.Errorf("op %d has an incomplete table row: %+v", op, info)
		}
		if got, ok := OpByName(info.Name); !ok || got != op {
			t.Errorf("OpByName(%q) = %v, %v", info.Name, got, ok)
		}
	}
}

// TestCloneAttrsCoversOpTable clones every op's NewAttrs with every field
// set to a value other than its zero: the clone is equal, of the same type,
// and shares no slice, map or pointer with the original (a write through the
// clone leaves the original as it was).
func TestCloneAttrsCoversOpTable(t *testing.T) {
	for _, op := range AllOps() {
		f := op.Info().NewAttrs
		if f == nil {
			continue
		}
		a := f()
		v := reflect.ValueOf(a)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			t.Errorf("%v: NewAttrs gives %T, not a pointer to a struct", op, a)
			continue
		}
		st := v.Elem().Type()
		for i := range st.NumField() {
			if !st.Field(i).IsExported() {
				t.Errorf("%v: %v.%s is unexported (CloneAttrs copies exported fields)", op, st, st.Field(i).Name)
			}
		}
		fillAll(v.Elem(), 1)
		c := CloneAttrs(a)
		if c == nil || reflect.TypeOf(c) != reflect.TypeOf(a) {
			t.Errorf("%v: CloneAttrs(%T) = %T", op, a, c)
			continue
		}
		if c == a {
			t.Errorf("%v: CloneAttrs returned the same pointer", op)
		}
		if !reflect.DeepEqual(c, a) {
			t.Errorf("%v: clone %+v, original %+v", op, c, a)
		}
		before := fmt.Sprintf("%+v", a) // slice and map contents included
		fillAll(reflect.ValueOf(c).Elem(), 7)
		if after := fmt.Sprintf("%+v", a); after != before {
			t.Errorf("%v: writing the clone changed the original: %s -> %s", op, before, after)
		}
	}
	if CloneAttrs(nil) != nil {
		t.Error("CloneAttrs(nil) != nil")
	}
}

// fillAll sets every field of v to a non-zero value made from seed, writing
// into existing slices and maps in place (so that shared memory shows) and
// making them when nil.
func fillAll(v reflect.Value, seed int) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fillAll(v.Field(i), seed+i)
		}
	case reflect.Array:
		for i := range v.Len() {
			fillAll(v.Index(i), seed+i)
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 3, 3))
		}
		for i := range v.Len() {
			fillAll(v.Index(i), seed+i)
		}
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		k := reflect.New(v.Type().Key()).Elem()
		fillAll(k, 1)
		e := reflect.New(v.Type().Elem()).Elem()
		fillAll(e, seed)
		v.SetMapIndex(k, e)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fillAll(v.Elem(), seed)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(seed))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(seed))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(seed) + 0.5)
	case reflect.String:
		v.SetString(strings.Repeat("s", seed))
	}
}

func relu(name string, in *Tensor) (*Node, *Tensor) {
	out := &Tensor{Name: name + "_out"}
	return NewNode(name, OpRelu, []*Tensor{in}, out), out
}

func TestValidateAndCycles(t *testing.T) {
	x := &Tensor{Name: "x", DType: Float32, Shape: []int{1, 4}}
	n1, y := relu("a", x)
	n2, z := relu("b", y)
	g := &Graph{Inputs: []*Tensor{x}, Nodes: []*Node{n2, n1}, Outputs: []*Tensor{z}}
	if err := g.TopoSort(); err != nil {
		t.Fatal(err)
	}
	if g.Nodes[0] != n1 {
		t.Fatalf("TopoSort did not put the producer first")
	}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	// A cycle: a reads b's output.
	n1.Inputs[0] = z
	if err := g.TopoSort(); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("want a cycle error, got %v", err)
	}
	if err := g.Validate(); err == nil || !strings.Contains(err.Error(), "no earlier node produces") {
		t.Fatalf("want an unresolved-input error, got %v", err)
	}
}

func TestTopoSortLongChain(t *testing.T) {
	x := &Tensor{Name: "x", DType: Float32, Shape: []int{1}}
	g := &Graph{Inputs: []*Tensor{x}}
	cur := x
	for i := 0; i < 10000; i++ {
		n, out := relu("r"+itoa(i), cur)
		g.Nodes = append(g.Nodes, n)
		cur = out
	}
	g.Outputs = []*Tensor{cur}
	// reverse the order to make the sort work
	for i, j := 0, len(g.Nodes)-1; i < j; i, j = i+1, j-1 {
		g.Nodes[i], g.Nodes[j] = g.Nodes[j], g.Nodes[i]
	}
	if err := g.TopoSort(); err != nil {
		t.Fatal(err)
	}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

func TestCheckedElements(t *testing.T) {
	if _, err := CheckedElements([]int64{1 << 20, 1 << 20}, 1<<30); err == nil {
		t.Error("2^40 elements accepted")
	}
	if _, err := CheckedElements([]int64{1 << 40, 1 << 40}, 1<<62); err == nil || !strings.Contains(err.Error(), "overflow") {
		t.Errorf("overflow not detected: %v", err)
	}
	if n, err := CheckedElements([]int64{2, 3, 4}, 100); err != nil || n != 24 {
		t.Errorf("got %d, %v", n, err)
	}
}

func TestConvOutSize(t *testing.T) {
	cases := []struct {
		in, k, s, d, p0, p1 int
		ceil                bool
		want                int
	}{
		{224, 3, 2, 1, 0, 1, false, 112},
		{5, 3, 1, 1, 1, 1, false, 5},
		{5, 3, 2, 1, 0, 0, false, 2},
		{6, 3, 2, 1, 0, 0, true, 3},
		{32, 2, 2, 1, 0, 0, true, 16},
	}
	for _, c := range cases {
		if got := ConvOutSize(c.in, c.k, c.s, c.d, c.p0, c.p1, c.ceil); got != c.want {
			t.Errorf("%+v: got %d", c, got)
		}
	}
}

func TestInferArgMax(t *testing.T) {
	mk := func(a ArgMaxAttrs, out DType) (*Node, error) {
		x := &Tensor{Name: "x", DType: Uint8, Shape: []int{1, 33, 33, 21}}
		n := NewNode("am", OpArgMax, []*Tensor{x}, &Tensor{Name: "y", DType: out})
		*n.Attrs.(*ArgMaxAttrs) = a
		return n, n.Op.Info().Infer(n)
	}
	n, err := mk(ArgMaxAttrs{Axis: -1, OutputType: Int32}, Invalid)
	if y := n.Out(); err != nil || y.DType != Int32 || !reflect.DeepEqual(y.Shape, []int{1, 33, 33}) || n.Attrs.(*ArgMaxAttrs).Axis != 3 {
		t.Errorf("deeplab form: %v %v, %v", y.DType, y.Shape, err)
	}
	if n, err = mk(ArgMaxAttrs{Axis: 1, KeepDims: true, OutputType: Int64}, Int64); err != nil || !reflect.DeepEqual(n.Out().Shape, []int{1, 1, 33, 21}) {
		t.Errorf("keepdims: %v, %v", n.Out().Shape, err)
	}
	for _, c := range []struct {
		a    ArgMaxAttrs
		out  DType
		want string
	}{
		{ArgMaxAttrs{Axis: 4, OutputType: Int64}, Invalid, "axis 4 out of range for rank 4"},
		{ArgMaxAttrs{OutputType: Float32}, Invalid, "output type float32, want int32 or int64"},
		{ArgMaxAttrs{OutputType: Int64}, Int32, `output "y" is int32, the attributes say int64`},
	} {
		if _, err := mk(c.a, c.out); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.a, err, c.want)
		}
	}
}

func TestArithNamesAndSetArith(t *testing.T) {
	for _, a := range []Arith{ArithTFLite, ArithONNX, ArithXNNPACK} {
		if got, ok := ArithByName(a.String()); !ok || got != a {
			t.Errorf("ArithByName(%q) = %v, %v", a.String(), got, ok)
		}
	}
	if _, ok := ArithByName("reference"); ok {
		t.Error(`ArithByName("reference") succeeded`)
	}
	g := &Graph{Nodes: []*Node{{Name: "a"}, {Name: "b", Arith: ArithONNX}, {Name: "c"}}}
	if n := g.SetArith(ArithXNNPACK); n != 2 {
		t.Errorf("SetArith changed %d nodes, want 2", n)
	}
	if g.Nodes[0].Arith != ArithXNNPACK || g.Nodes[1].Arith != ArithONNX || g.Nodes[2].Arith != ArithXNNPACK {
		t.Errorf("arithmetics %v %v %v, want xnnpack onnx xnnpack", g.Nodes[0].Arith, g.Nodes[1].Arith, g.Nodes[2].Arith)
	}
}
