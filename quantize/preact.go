package quantize

import (
	"context"

	"github.com/mnconv/mnconv/ir"
	rt "github.com/mnconv/mnconv/runtime"
)

// PreActivationMax runs the float graph g over the first n readable items
// of src (all when n <= 0) and returns, for every conv with a fused ReLU6,
// the largest value each output channel (last axis) reaches before the
// activation: what Equalize needs to rescale a pair after a ReLU6 without
// changing the function on those images.
func PreActivationMax(ctx context.Context, g *ir.Graph, src Source, n int) (map[*ir.Node][]float64, error) {
	type target struct {
		n *ir.Node
		k rt.Kernel
		w []*rt.Tensor // constant inputs after the first
		o *ir.Tensor
	}
	var targets []target
	want := map[*ir.Tensor]bool{}
	for _, nd := range g.Nodes {
		a, ok := nd.Attrs.(*ir.ConvAttrs)
		if nd.Op != ir.OpConv || !ok || a.Act != ir.ActRelu6 || len(nd.Outputs) != 1 || nd.Inputs[0] == nil {
			continue
		}
		attrs := ir.CloneAttrs(a).(*ir.ConvAttrs)
		attrs.Act = ir.ActNone
		o := &ir.Tensor{Name: nd.Out().Name + "/pre_activation", DType: ir.Float32, Shape: clone(nd.Out().Shape)}
		twin := &ir.Node{Op: nd.Op, Name: nd.Name + "/pre_activation", Attrs: attrs, Inputs: nd.Inputs, Outputs: []*ir.Tensor{o}}
		k, err := rt.Prepare(twin)
		if err != nil {
			return nil, err
		}
		t := target{n: nd, k: k, o: o}
		ok = true
		for _, in := range nd.Inputs[1:] {
			if in != nil && !in.IsConst() {
				ok = false
				break
			}
			var v *rt.Tensor
			if in != nil {
				v = rt.FromConst(in)
			}
			t.w = append(t.w, v)
		}
		if ok {
			targets = append(targets, t)
			want[nd.Inputs[0]] = true
		}
	}
	out := map[*ir.Node][]float64{}
	if len(targets) == 0 {
		return out, nil
	}
	it, err := rt.New(g)
	if err != nil {
		return nil, err
	}
	saved := map[*ir.Tensor]*rt.Tensor{}
	it.Observe = func(nd *ir.Node, outs []*rt.Tensor) {
		for i, t := range nd.Outputs {
			if want[t] && outs[i].DType == ir.Float32 {
				saved[t] = &rt.Tensor{DType: ir.Float32, Shape: t.Shape, F32: append([]float32(nil), outs[i].F32...)}
			}
		}
	}
	if n <= 0 {
		n = src.Len()
	}
	used := 0
	for k := 0; k < src.Len() && used < n; k++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		x, err := src.Load(k)
		if err != nil {
			continue // unreadable items are reported by calibration
		}
		if err := it.SetInput(0, x); err != nil {
			return nil, err
		}
		saved[g.Inputs[0]] = x
		if err := it.Run(); err != nil {
			return nil, err
		}
		used++
		for _, t := range targets {
			x := saved[t.n.Inputs[0]]
			if x == nil {
				continue
			}
			res := rt.NewTensor(ir.Float32, t.o.Shape)
			if err := t.k.Eval(append([]*rt.Tensor{x}, t.w...), []*rt.Tensor{res}); err != nil {
				return nil, t.n.Errorf("%v", err)
			}
			m := out[t.n]
			c := t.o.Shape[len(t.o.Shape)-1]
			if m == nil {
				m = make([]float64, c)
				for i := range m {
					m[i] = -1e300
				}
				out[t.n] = m
			}
			for i, v := range res.F32 {
				m[i%c] = max(m[i%c], float64(v))
			}
		}
	}
	return out, nil
}
