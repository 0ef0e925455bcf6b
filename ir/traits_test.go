package ir

import (
	"strings"
	"testing"
)

// TestOpTraitsConsistent checks every row's traits against its other facts,
// so that a new op's row cannot claim a trait its attributes or arity
// contradict.
func TestOpTraitsConsistent(t *testing.T) {
	for _, op := range AllOps() {
		info := op.Info()
		tr := info.Traits
		if tr>>numTraits != 0 {
			t.Errorf("%v: unknown trait bits %b", op, tr)
		}
		var attrs Attrs
		if info.NewAttrs != nil {
			attrs = info.NewAttrs()
		}
		_, carriesAct := attrs.(actAttrs)
		if tr.Has(FusedActivation) != carriesAct {
			t.Errorf("%v: FusedActivation is %v but attributes %T carry an Act: %v", op, tr.Has(FusedActivation), attrs, carriesAct)
		}
		if (info.MACs != nil) != tr.Has(Weighted) {
			t.Errorf("%v: has a MACs formula %v but Weighted %v", op, info.MACs != nil, tr.Has(Weighted))
		}
		if tr.Has(Weighted) && info.MaxInputs < 2 {
			t.Errorf("%v: Weighted with at most %d inputs", op, info.MaxInputs)
		}
		if tr.Has(Windowed) {
			switch attrs.(type) {
			case *ConvAttrs, *PoolAttrs:
			default:
				t.Errorf("%v: Windowed with attributes %T", op, attrs)
			}
		}
		if tr.Has(Broadcasting) && (!tr.Has(Elementwise) || info.MinInputs != 2 || info.MaxInputs != 2) {
			t.Errorf("%v: Broadcasting must be a binary Elementwise op", op)
		}
		if tr.Has(Elementwise) && !tr.Has(Broadcasting) && info.MaxInputs != 1 {
			t.Errorf("%v: unary Elementwise with %d inputs", op, info.MaxInputs)
		}
		if tr.Has(Arithmetic) && !tr.Has(Elementwise|Broadcasting) {
			t.Errorf("%v: Arithmetic must be binary Elementwise", op)
		}
		if tr.Has(PerChannel) && tr.Has(Elementwise) {
			t.Errorf("%v: PerChannel and Elementwise", op)
		}
		if tr.Has(QuantPassThrough) && (!tr.Has(QuantPlain) || info.MaxInputs != 1) {
			t.Errorf("%v: QuantPassThrough must be a single-input QuantPlain op", op)
		}
		if tr.Has(QuantPlain) && tr.Has(Weighted) {
			t.Errorf("%v: QuantPlain has no weights to quantize", op)
		}
		if tr.Has(FixedOutputRange) {
			if info.Bounds == nil {
				t.Errorf("%v: FixedOutputRange without Bounds", op)
			} else if lo, hi := info.Bounds(NewNode("n", op, nil)); lo < 0 || hi > 1 {
				t.Errorf("%v: FixedOutputRange but bounds [%v, %v]", op, lo, hi)
			}
		}
		if tr.Has(IndexOutput) && tr&(Elementwise|QuantPassThrough|QuantPlain|FixedOutputRange|ValuePreserving|Weighted|FusedActivation) != 0 {
			t.Errorf("%v: IndexOutput (integer indices) with value traits %v", op, tr)
		}
		if tr.Has(ValuePreserving) && info.MaxInputs != 1 {
			t.Errorf("%v: ValuePreserving with %d inputs", op, info.MaxInputs)
		}
	}
	if got := (Elementwise | Weighted).String(); got != "Elementwise|Weighted" {
		t.Errorf("Traits.String = %q", got)
	}
}

func TestFusedActFromTable(t *testing.T) {
	for _, op := range AllOps() {
		n := NewNode("n", op, nil)
		ok := n.SetFusedAct(ActRelu6)
		if ok != op.Has(FusedActivation) {
			t.Errorf("%v: SetFusedAct = %v, FusedActivation %v", op, ok, op.Has(FusedActivation))
		}
		if want := map[bool]Activation{true: ActRelu6, false: ActNone}[ok]; n.FusedAct() != want {
			t.Errorf("%v: FusedAct = %v after SetFusedAct, want %v", op, n.FusedAct(), want)
		}
	}
	n := NewNode("clip", OpClip, nil)
	n.Attrs.(*ClipAttrs).Min, n.Attrs.(*ClipAttrs).Max = -1, 3
	if lo, hi := n.OutputBounds(); lo != -1 || hi != 3 {
		t.Errorf("Clip bounds [%v, %v]", lo, hi)
	}
	c := NewNode("conv", OpConv, nil)
	c.SetFusedAct(ActRelu6)
	if lo, hi := c.OutputBounds(); lo != 0 || hi != 6 {
		t.Errorf("Conv+ReLU6 bounds [%v, %v]", lo, hi)
	}
}

func TestNodeMACs(t *testing.T) {
	x := &Tensor{Name: "x", DType: Float32, Shape: []int{1, 8, 8, 4}}
	dw := &Tensor{Name: "dw", DType: Float32, Shape: []int{4, 3, 3, 1}}
	y := &Tensor{Name: "y"}
	conv := NewNode("dw", OpConv, []*Tensor{x, dw}, y)
	a := conv.Attrs.(*ConvAttrs)
	a.Group, a.Strides, a.Pads = 4, [2]int{2, 2}, [4]int{0, 0, 1, 1}
	v := &Tensor{Name: "v", DType: Float32, Shape: []int{2, 6}}
	w := &Tensor{Name: "w", DType: Float32, Shape: []int{3, 6}}
	fc := NewNode("fc", OpGemm, []*Tensor{v, w}, &Tensor{Name: "fc_out"})
	fc.Attrs.(*GemmAttrs).TransB = true
	mm := NewNode("mm", OpMatMul, []*Tensor{v, &Tensor{Name: "m", DType: Float32, Shape: []int{6, 5}}}, &Tensor{Name: "mm_out"})
	relu := NewNode("relu", OpRelu, []*Tensor{y}, &Tensor{Name: "r"})
	g := &Graph{Inputs: []*Tensor{x, v}, Nodes: []*Node{conv, fc, mm, relu}}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	// Padded taps count: 4x4 outputs x 4 channels x 3x3 taps x 1 input channel.
	for _, c := range []struct {
		n    *Node
		want int64
	}{{conv, 4 * 4 * 4 * 9}, {fc, 2 * 3 * 6}, {mm, 2 * 5 * 6}, {relu, 0}} {
		if got := c.n.MACs(); got != c.want {
			t.Errorf("%s: MACs = %d, want %d", c.n.Name, got, c.want)
		}
		if c.n.Op.DoesMACs() != (c.want != 0) {
			t.Errorf("%s: DoesMACs = %v", c.n.Name, c.n.Op.DoesMACs())
		}
	}
}

func TestWindow(t *testing.T) {
	pool := func(in int, mut func(*PoolAttrs)) *Node {
		x := &Tensor{Name: "x", DType: Float32, Shape: []int{1, in, in, 2}}
		n := NewNode("p", OpMaxPool, []*Tensor{x}, &Tensor{Name: "y"})
		a := n.Attrs.(*PoolAttrs)
		a.Kernel, a.Strides = [2]int{3, 3}, [2]int{2, 2}
		mut(a)
		return n
	}
	// ONNX test_maxpool_2d_ceil: 4x4, kernel 3, stride 2, ceil -> 2x2.
	n := pool(4, func(a *PoolAttrs) { a.CeilMode = true; a.Dilations = [2]int{} })
	w, err := n.Window()
	if err != nil || w.OutH != 2 || w.OutW != 2 || w.DilY != 1 || w.KH != 3 || w.StrideX != 2 {
		t.Errorf("ceil pool window %+v, %v", w, err)
	}
	for _, c := range []struct {
		mut  func(*PoolAttrs)
		want string
	}{
		{func(a *PoolAttrs) { a.Strides[1] = 0 }, "strides [2 0] and dilations [1 1] must be >= 1"},
		{func(a *PoolAttrs) { a.Pads[3] = -1 }, "negative padding [0 0 0 -1]"},
		{func(a *PoolAttrs) { a.Kernel[0] = 0 }, "kernel [0 3] must be >= 1"},
		{func(a *PoolAttrs) { a.Kernel = [2]int{5, 5} }, "kernel [5 5] is larger than the padded input"},
	} {
		if _, err := pool(4, c.mut).Window(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("pool window error %v, want %q", err, c.want)
		}
	}
	x := &Tensor{Name: "x", DType: Float32, Shape: []int{1, 8, 8, 1}}
	k := &Tensor{Name: "k", DType: Float32, Shape: []int{1, 9, 9, 1}}
	conv := NewNode("c", OpConv, []*Tensor{x, k}, &Tensor{Name: "y"})
	if _, err := conv.Window(); err == nil || !strings.Contains(err.Error(), "kernel 9x9 is larger than the padded input 8x8") {
		t.Errorf("conv window error %v", err)
	}
	conv.Attrs.(*ConvAttrs).Pads = [4]int{1, 1, 1, 1}
	w, err = conv.Window()
	if err != nil || w.OutH != 2 || w.OutW != 2 || !w.Fits(&Tensor{Shape: []int{1, 2, 2, 1}}) || w.Fits(&Tensor{Shape: []int{1, 3, 2, 1}}) {
		t.Errorf("padded conv window %+v, %v", w, err)
	}
	if _, err := NewNode("r", OpRelu, []*Tensor{x}, &Tensor{Name: "r"}).Window(); err == nil {
		t.Errorf("Relu has a window")
	}
}
