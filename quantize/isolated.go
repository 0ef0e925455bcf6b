package quantize

import (
	"math"

	"github.com/mnconv/mnconv/ir"
	rt "github.com/mnconv/mnconv/runtime"
)

func (a *acc) add(f, q []float32) {
	for i, v := range f {
		x, d := float64(v), float64(q[i])
		a.ff += x * x
		a.ee += (x - d) * (x - d)
		a.fq += x * d
		a.qq += d * d
	}
}

// sqnr is 10 log10(sum f^2 / sum (f - q)^2), +Inf when exact.
func (a *acc) sqnr() float64 {
	if a.ee == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(a.ff/a.ee)
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// isolatedNodes are the integer nodes of res whose output stands for a float
// activation and whose inputs are constants or quantized activations: the
// layers whose error can be measured alone.
func isolatedNodes(res *Result) []*ir.Node {
	var out []*ir.Node
	for _, n := range res.Graph.Nodes {
		if n.Op == ir.OpQuantize || n.Op == ir.OpDequantize || len(n.Outputs) != 1 {
			continue
		}
		if _, ok := res.Twins[n.Out()]; !ok || n.Out().Quant == nil {
			continue
		}
		ok := true
		for _, t := range n.Inputs {
			if t == nil || t.IsConst() {
				continue
			}
			if _, tw := res.Twins[t]; !tw || t.Quant == nil {
				ok = false
			}
		}
		if ok {
			out = append(out, n)
		}
	}
	return out
}

// isolate runs each node of nodes alone on its float inputs (saved, from
// the float model on one image) quantized with its inputs' parameters, and
// adds the error of its dequantized output against the float output to iso:
// each layer quantized alone, the rest of the model float.
func isolate(nodes []*ir.Node, res *Result, saved map[*ir.Tensor][]float32, iso map[*ir.Tensor]*acc) error {
	for _, n := range nodes {
		ft := res.Twins[n.Out()]
		want := saved[ft]
		if want == nil {
			continue
		}
		in := make([]*rt.Tensor, len(n.Inputs))
		missing := false
		for i, t := range n.Inputs {
			switch {
			case t == nil:
			case t.IsConst():
				in[i] = rt.FromConst(t)
			default:
				f := saved[res.Twins[t]]
				if f == nil {
					missing = true
					break
				}
				in[i] = QuantizeTensor(&rt.Tensor{DType: ir.Float32, Shape: t.Shape, F32: f}, t.DType, t.Quant)
			}
		}
		if missing {
			continue
		}
		outs, err := rt.EvalNode(n, in)
		if err != nil {
			return err
		}
		got := outs[0].Dequantized(n.Out().Quant)
		if len(got) != len(want) {
			continue
		}
		a := iso[n.Out()]
		if a == nil {
			a = &acc{}
			iso[n.Out()] = a
		}
		a.add(want, got)
	}
	return nil
}
