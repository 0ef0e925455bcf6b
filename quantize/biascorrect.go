package quantize

import (
	"context"
	"math"

	"github.com/mnconv/mnconv/ir"
	rt "github.com/mnconv/mnconv/runtime"
)

// Empirical bias correction (Nagel et al., ICCV 2019, section 4.2): the
// quantized weights shift each output channel's mean,
//
//	Conv(x, Wq) = Conv(x, W) + Conv(x, Wq - W)
//
// so the mean over the calibration images and positions of
// Conv(x, Wq - W), x the float model's input to the layer, is subtracted
// from the layer's int32 bias (in its scale, input scale x weight scale):
//
//	bias_q[c]  =>  bias_q[c] - round(mean_c(Conv(x, Wq - W)) / scale_c)

// biasLayer is one integer conv / fully connected layer being corrected.
type biasLayer struct {
	q     *ir.Node   // the integer node; its In(2) is rewritten
	in    *ir.Tensor // the float graph's input to the layer
	k     rt.Kernel  // the float layer with weights Wq - W, no bias, no activation
	node  *ir.Node
	dw    *rt.Tensor // Wq - W
	sum   []float64  // per output channel
	count int
}

// CorrectBias applies empirical bias correction to the integer Conv and
// Gemm layers of res (quantized from floatG), averaging over the first n
// readable items of src (all when n <= 0). It returns the number of layers
// corrected.
func CorrectBias(ctx context.Context, floatG *ir.Graph, res *Result, src Source, n int) (int, error) {
	prod := floatG.Producers()
	var layers []*biasLayer
	want := map[*ir.Tensor]bool{}
	for _, qn := range res.Graph.Nodes {
		if l := newBiasLayer(qn, res, prod); l != nil {
			layers = append(layers, l)
			want[l.in] = true
		}
	}
	if len(layers) == 0 {
		return 0, nil
	}
	err := observeFloat(ctx, floatG, src, n, want, func(saved map[*ir.Tensor][]float32) error {
		for _, l := range layers {
			if err := l.add(saved[l.in]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	done := 0
	for _, l := range layers {
		if l.apply() {
			done++
		}
	}
	return done, nil
}

// newBiasLayer matches an integer Conv / Gemm with constant quantized
// weights and an int32 bias to its float twin; nil when it does not apply.
func newBiasLayer(qn *ir.Node, res *Result, prod map[*ir.Tensor]*ir.Node) *biasLayer {
	if (qn.Op != ir.OpConv && qn.Op != ir.OpGemm) || len(qn.Inputs) < 3 || len(qn.Outputs) != 1 {
		return nil
	}
	qw, qb := qn.In(1), qn.In(2)
	if qw == nil || qb == nil || !qw.IsConst() || qw.Quant == nil || !qb.IsConst() || qb.DType != ir.Int32 || qb.Quant == nil {
		return nil
	}
	ft, ok := res.Twins[qn.Out()]
	if !ok {
		return nil
	}
	fn := prod[ft]
	if fn == nil || fn.Op != qn.Op || len(fn.Outputs) != 1 || fn.In(1) == nil || !fn.In(1).IsConst() ||
		fn.In(1).DType != ir.Float32 || fn.In(1).Len() != qw.Len() || fn.Inputs[0] == nil {
		return nil
	}
	if g, ok := fn.Attrs.(*ir.GemmAttrs); ok && g.TransA {
		return nil
	}
	w := fn.In(1).Data.F32
	dq := rt.FromConst(qw).Dequantized(qw.Quant)
	dw := make([]float32, len(w))
	for i := range w {
		dw[i] = dq[i] - w[i]
	}
	attrs := ir.CloneAttrs(fn.Attrs)
	switch a := attrs.(type) {
	case *ir.ConvAttrs:
		a.Act = ir.ActNone
	case *ir.GemmAttrs:
		a.Act = ir.ActNone
	}
	fo := fn.Out()
	node := &ir.Node{Op: fn.Op, Name: fn.Name + "/bias_correction", Attrs: attrs,
		Inputs:  []*ir.Tensor{fn.Inputs[0], ir.NewConstF32(fn.In(1).Name+"/delta", clone(fn.In(1).Shape), dw)},
		Outputs: []*ir.Tensor{{Name: fo.Name + "/delta", DType: ir.Float32, Shape: clone(fo.Shape)}}}
	k, err := rt.Prepare(node)
	if err != nil {
		return nil
	}
	return &biasLayer{q: qn, in: fn.Inputs[0], k: k, node: node, dw: rt.FromConst(node.In(1)), sum: make([]float64, qb.Len())}
}

// add accumulates Conv(x, Wq - W) per output channel (the last axis).
func (l *biasLayer) add(x []float32) error {
	if x == nil {
		return nil
	}
	in := &rt.Tensor{DType: ir.Float32, Shape: l.node.Inputs[0].Shape, F32: x}
	out := rt.NewTensor(ir.Float32, l.node.Out().Shape)
	if err := l.k.Eval([]*rt.Tensor{in, l.dw}, []*rt.Tensor{out}); err != nil {
		return l.node.Errorf("%v", err)
	}
	c := len(l.sum)
	if len(out.F32)%c != 0 {
		return nil
	}
	for i, v := range out.F32 {
		l.sum[i%c] += float64(v)
	}
	l.count += len(out.F32) / c
	return nil
}

// apply subtracts the mean error from the int32 bias; false when nothing
// was measured.
func (l *biasLayer) apply() bool {
	if l.count == 0 {
		return false
	}
	b := l.q.In(2)
	for c, s := range l.sum {
		scale := float64(b.Quant.S(c))
		if scale == 0 {
			continue
		}
		v := float64(b.Data.I32[c]) - math.Round(s/float64(l.count)/scale)
		b.Data.I32[c] = int32(min(max(v, math.MinInt32), math.MaxInt32))
	}
	return true
}

// observeFloat runs floatG on the first n readable items of src (all when
// n <= 0; unreadable items were reported by calibration) and calls each
// with the float values of the tensors in want (the graph input included
// when wanted) after every run.
func observeFloat(ctx context.Context, floatG *ir.Graph, src Source, n int, want map[*ir.Tensor]bool, each func(saved map[*ir.Tensor][]float32) error) error {
	fi, err := rt.New(floatG)
	if err != nil {
		return err
	}
	saved := map[*ir.Tensor][]float32{}
	fi.Observe = func(nd *ir.Node, outs []*rt.Tensor) {
		for i, t := range nd.Outputs {
			if want[t] && outs[i].DType == ir.Float32 {
				saved[t] = append(saved[t][:0], outs[i].F32...)
			}
		}
	}
	if n <= 0 {
		n = src.Len()
	}
	used := 0
	for k := 0; k < src.Len() && used < n; k++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		x, err := src.Load(k)
		if err != nil {
			continue
		}
		if err := fi.SetInput(0, x); err != nil {
			return err
		}
		if want[floatG.Inputs[0]] {
			saved[floatG.Inputs[0]] = append(saved[floatG.Inputs[0]][:0], x.F32...)
		}
		if err := fi.Run(); err != nil {
			return err
		}
		used++
		if err := each(saved); err != nil {
			return err
		}
	}
	return nil
}
