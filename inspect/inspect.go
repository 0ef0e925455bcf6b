// Package inspect computes the static cost of an ir.Graph, layer by layer:
// parameters, multiply-accumulates, output shapes and weight bytes.
//
// Phase: analysis. It reads graphs and never changes them.
//
// Counting convention (the one MobileNet papers use, and the one the shared
// README's figures follow):
//   - MACs are counted for Conv (depthwise and grouped too: output elements x
//     KH x KW x input channels per group), Gemm and MatMul (M x K x N, times
//     any batch). Everything else (adds, activations, pooling, softmax) costs
//     0 MACs here.
//   - Params are the weights and biases of those layers; quantized weights
//     count elements, not bytes. A weight reached through Dequantize,
//     Quantize, Identity, Reshape or Transpose of a constant (QDQ models)
//     counts as that layer's weight.
//   - Every other constant (BatchNorm scale/bias/mean/var, the constant
//     operand of an Add or Mul, ...) is an "other param", reported apart.
//   - A constant read by several nodes counts once, at its first reader.
package inspect

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// Layer is one node's cost.
type Layer struct {
	Name        string `json:"name"`
	Op          string `json:"op"` // "Conv", "DepthwiseConv", "FullyConnected", else the IR op name
	OutputShape []int  `json:"output_shape"`
	Params      int64  `json:"params"`
	MACs        int64  `json:"macs"`
	// OtherParams counts the constants this node reads that are not weights
	// or biases of a MAC layer.
	OtherParams int64  `json:"other_params"`
	DType       string `json:"dtype"` // the output's element type
	// Opaque marks a node the import kept untranslated (a lenient import):
	// Op is then the source op's name, and its MACs and params are unknown
	// (0 here, "?" in the table).
	Opaque bool `json:"opaque,omitempty"`
}

// TensorInfo describes a graph input or output.
type TensorInfo struct {
	Name   string    `json:"name"`
	DType  string    `json:"dtype"`
	Shape  []int     `json:"shape"`
	Layout string    `json:"layout,omitempty"` // the source's layout when it differed (an ONNX NCHW input)
	Scale  []float32 `json:"scale,omitempty"`
	Zero   []int64   `json:"zero_point,omitempty"`
}

// Report is a graph's cost, per layer and in total.
type Report struct {
	Model       string       `json:"model,omitempty"`
	Layers      []Layer      `json:"layers"`
	TotalParams int64        `json:"total_params"`
	TotalMACs   int64        `json:"total_macs"`
	OtherParams int64        `json:"other_params"`
	Inputs      []TensorInfo `json:"inputs"`
	Outputs     []TensorInfo `json:"outputs"`
	// WeightBytes is the storage of the params by element type
	// ("float32", "int8", "int32", ...); OtherBytes the same for other params.
	WeightBytes      map[string]int64 `json:"weight_bytes"`
	TotalWeightBytes int64            `json:"total_weight_bytes"`
	OtherBytes       map[string]int64 `json:"other_bytes"`
	// Unsupported groups the opaque nodes by source op, with counts; the
	// totals above leave them out.
	Unsupported []ir.OpaqueGroup `json:"unsupported,omitempty"`
	// Quantization lists every quantized tensor's parameters.
	Quantization []QuantInfo `json:"quantization,omitempty"`
	// Activation is the memory the runtime plans for activations.
	Activation ActivationMemory `json:"activation_memory"`
}

// QuantInfo is one quantized tensor's parameters: the scale and zero point
// when per-tensor; when per-channel, the axis, channel count, the scales'
// range and the distinct zero points.
type QuantInfo struct {
	Tensor    string   `json:"tensor"`
	DType     string   `json:"dtype"`
	Const     bool     `json:"const,omitempty"`
	Scale     *float32 `json:"scale,omitempty"`
	ZeroPoint *int64   `json:"zero_point,omitempty"`
	Axis      *int     `json:"axis,omitempty"`
	Channels  int      `json:"channels,omitempty"`
	ScaleMin  float32  `json:"scale_min,omitempty"`
	ScaleMax  float32  `json:"scale_max,omitempty"`
	// ZeroPoints are the distinct per-channel zero points, sorted.
	ZeroPoints []int64 `json:"zero_points,omitempty"`
}

// ActivationMemory is the runtime's liveness arena plan
// (runtime.PlanArenaBytes): the peak bytes of intermediate tensors, graph
// inputs and constants excluded.
type ActivationMemory struct {
	PeakArenaBytes int64            `json:"peak_arena_bytes"`
	ByDType        map[string]int64 `json:"by_dtype"`
}

// Analyze computes g's report. It needs shapes set (importers infer them).
func Analyze(g *ir.Graph) *Report {
	r := &Report{
		Model:       g.Name,
		Layers:      []Layer{},
		WeightBytes: map[string]int64{},
		OtherBytes:  map[string]int64{},
	}
	prod := g.Producers()
	weights := weightConsts(g, prod)
	counted := map[*ir.Tensor]bool{}
	for _, n := range g.Nodes {
		l := Layer{Name: n.Name, Op: opLabel(n, prod), MACs: n.MACs()}
		if a := n.Opaque(); a != nil {
			l.Op, l.Opaque = a.Op, true
		}
		if len(n.Outputs) > 0 && n.Outputs[0] != nil {
			l.OutputShape = append([]int{}, n.Outputs[0].Shape...)
			l.DType = n.Outputs[0].DType.String()
		}
		if n.Op.Has(ir.Weighted) {
			for _, t := range n.Inputs {
				c := constSource(t, prod)
				if c == nil || counted[c] {
					continue
				}
				counted[c] = true
				l.Params += int64(c.Len())
				r.WeightBytes[c.DType.String()] += c.Bytes()
			}
		}
		for _, t := range n.Inputs {
			if t == nil || !t.IsConst() || weights[t] || counted[t] {
				continue
			}
			counted[t] = true
			l.OtherParams += int64(t.Len())
			r.OtherBytes[t.DType.String()] += t.Bytes()
		}
		r.TotalParams += l.Params
		r.TotalMACs += l.MACs
		r.OtherParams += l.OtherParams
		r.Layers = append(r.Layers, l)
	}
	for _, b := range r.WeightBytes {
		r.TotalWeightBytes += b
	}
	r.Inputs = describe(g.Inputs, g.InputLayouts)
	r.Outputs = describe(g.Outputs, g.OutputLayouts)
	r.Unsupported = g.OpaqueOps()
	r.Quantization = quantInfos(g)
	total, byDType := runtime.PlanArenaBytes(g)
	r.Activation = ActivationMemory{PeakArenaBytes: total, ByDType: map[string]int64{}}
	for dt, b := range byDType {
		r.Activation.ByDType[dt.String()] = b
	}
	return r
}

// quantInfos describes every quantized tensor of g, in Tensors order.
func quantInfos(g *ir.Graph) []QuantInfo {
	var out []QuantInfo
	for _, t := range g.Tensors() {
		q := t.Quant
		if q == nil || len(q.Scale) == 0 {
			continue
		}
		qi := QuantInfo{Tensor: t.Name, DType: t.DType.String(), Const: t.IsConst()}
		if len(q.Scale) == 1 {
			s, z := q.Scale[0], q.ZP(0)
			qi.Scale, qi.ZeroPoint = &s, &z
		} else {
			axis := q.Axis
			qi.Axis, qi.Channels = &axis, len(q.Scale)
			qi.ScaleMin, qi.ScaleMax = slices.Min(q.Scale), slices.Max(q.Scale)
			zps := map[int64]bool{}
			for i := range q.Scale {
				zps[q.ZP(i)] = true
			}
			for z := range zps {
				qi.ZeroPoints = append(qi.ZeroPoints, z)
			}
			slices.Sort(qi.ZeroPoints)
		}
		out = append(out, qi)
	}
	return out
}

// constSource follows t back to a constant through the single-input
// ValuePreserving nodes through which a constant still counts as the weight
// it feeds (a QDQ model dequantizes its int8 weights; an ONNX export may
// reshape or transpose them); nil when t is computed from the graph's inputs.
func constSource(t *ir.Tensor, prod map[*ir.Tensor]*ir.Node) *ir.Tensor {
	for depth := 0; t != nil && depth < 8; depth++ {
		if t.IsConst() {
			return t
		}
		p := prod[t]
		if p == nil || !p.Op.Has(ir.ValuePreserving) || len(p.Inputs) != 1 {
			return nil
		}
		t = p.Inputs[0]
	}
	return nil
}

// weightConsts marks the constants that are (or feed, through pass-through
// nodes) a weight or bias of a MAC layer, so that the pass-through nodes'
// own constant inputs are not reported again as other params.
func weightConsts(g *ir.Graph, prod map[*ir.Tensor]*ir.Node) map[*ir.Tensor]bool {
	m := map[*ir.Tensor]bool{}
	for _, n := range g.Nodes {
		if !n.Op.Has(ir.Weighted) {
			continue
		}
		for _, t := range n.Inputs {
			if c := constSource(t, prod); c != nil {
				m[c] = true
			}
		}
	}
	return m
}

func opLabel(n *ir.Node, prod map[*ir.Tensor]*ir.Node) string {
	switch n.Op {
	case ir.OpConv:
		if n.IsDepthwise() {
			return "DepthwiseConv"
		}
		return "Conv"
	case ir.OpGemm:
		if a, ok := n.Attrs.(*ir.GemmAttrs); ok && a.TransB && constSource(n.In(1), prod) != nil {
			return "FullyConnected"
		}
	}
	return n.Op.String()
}

func describe(ts []*ir.Tensor, layouts []ir.Layout) []TensorInfo {
	out := []TensorInfo{}
	for i, t := range ts {
		if t == nil {
			continue
		}
		ti := TensorInfo{Name: t.Name, DType: t.DType.String(), Shape: append([]int{}, t.Shape...)}
		if i < len(layouts) {
			ti.Layout = layouts[i].String()
		}
		if t.Quant != nil {
			ti.Scale = append([]float32(nil), t.Quant.Scale...)
			ti.Zero = append([]int64(nil), t.Quant.ZeroPoint...)
		}
		out = append(out, ti)
	}
	return out
}

// DTypes returns the keys of a bytes-by-dtype map in a stable order.
func DTypes(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Thousands formats n with commas between groups of three digits
// (13570304 -> "13,570,304").
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
