package builder

import (
	"fmt"
	"math"
	"strconv"

	"github.com/mnconv/mnconv/ir"
)

// activation is the nonlinearity after a BatchNorm, written as its own node.
type activation uint8

const (
	linear activation = iota
	relu
	relu6
	hardSwish
	hardSigmoid
)

// net accumulates one graph. Layers infer their output shape as they are
// added, so the next layer can size itself from it.
type net struct {
	cfg    Config
	dry    bool // constants get shapes but no data
	rng    rng
	g      *ir.Graph
	params int64 // constant elements so far
	err    error
}

func newNet(cfg Config, dry bool) *net {
	in := &ir.Tensor{Name: "input", DType: ir.Float32, Shape: []int{1, cfg.Resolution, cfg.Resolution, 3}}
	g := &ir.Graph{
		Name:   cfg.Name(),
		Inputs: []*ir.Tensor{in},
		Meta: map[string]string{
			"producer":   "mnconv builder",
			"arch":       string(cfg.Arch),
			"alpha":      strconv.FormatFloat(cfg.Alpha, 'g', -1, 64),
			"resolution": strconv.Itoa(cfg.Resolution),
			"classes":    strconv.Itoa(cfg.Classes),
			"seed":       strconv.FormatUint(cfg.Seed, 10),
		},
	}
	return &net{cfg: cfg, dry: dry, rng: rng{state: cfg.Seed}, g: g}
}

func (n *net) input() *ir.Tensor { return n.g.Inputs[0] }

// add appends nd and infers its output shape. After a failure the graph is
// abandoned: later layers still get a shape (the input's) so that nothing
// indexes an empty shape, and construct returns the first error.
func (n *net) add(nd *ir.Node) *ir.Tensor {
	out := nd.Out()
	if n.err == nil {
		n.err = nd.Op.Info().Infer(nd)
	}
	if n.err != nil && out.Shape == nil {
		out.Shape = append([]int(nil), nd.Inputs[0].Shape...)
	}
	n.g.Nodes = append(n.g.Nodes, nd)
	return out
}

// tensor is a fresh activation named after its node.
func tensor(name string) *ir.Tensor { return &ir.Tensor{Name: name, DType: ir.Float32} }

// param makes a float32 constant whose elements come from gen, called in
// element order so the stream of random numbers is fixed by the layer order.
func (n *net) param(name string, shape []int, gen func() float64) *ir.Tensor {
	size := ir.NumElements(shape)
	n.params += int64(size)
	if n.dry {
		return &ir.Tensor{Name: name, DType: ir.Float32, Shape: append([]int(nil), shape...)}
	}
	v := make([]float32, size)
	for i := range v {
		v[i] = float32(gen())
	}
	return ir.NewConstF32(name, shape, v)
}

// conv adds a Conv with TF SAME padding. depthwise makes it one group per
// input channel (out is then ignored). Weights are He-normal-like:
// std = sqrt(gain / fan_in), gain 2 before a rectifier, 1 before a linear
// output, which keeps the activations' second moment roughly constant.
func (n *net) conv(name string, x *ir.Tensor, out, k, stride int, depthwise, bias bool, gain float64) *ir.Tensor {
	cin := x.Shape[3]
	group := 1
	if depthwise {
		group, out = cin, cin
	}
	fanIn := k * k * cin / group
	std := math.Sqrt(gain / float64(fanIn))
	inputs := []*ir.Tensor{x, n.param(name+"/weight", []int{out, k, k, cin / group}, func() float64 {
		return float64(n.rng.normal() * std)
	})}
	if bias {
		inputs = append(inputs, n.param(name+"/bias", []int{out}, func() float64 { return n.rng.between(-0.05, 0.05) }))
	}
	top, bottom := samePads(x.Shape[1], k, stride)
	left, right := samePads(x.Shape[2], k, stride)
	nd := ir.NewNode(name, ir.OpConv, inputs, tensor(name))
	*nd.Attrs.(*ir.ConvAttrs) = ir.ConvAttrs{
		Strides:   [2]int{stride, stride},
		Dilations: [2]int{1, 1},
		Pads:      [4]int{top, left, bottom, right},
		Group:     group,
	}
	return n.add(nd)
}

// batchNorm adds an inference-mode BatchNorm over channels with plausible
// trained statistics: gamma 1+-0.1, small beta and mean, variance 0.5..1.5.
func (n *net) batchNorm(name string, x *ir.Tensor) *ir.Tensor {
	c := []int{x.Shape[3]}
	scale := n.param(name+"/gamma", c, func() float64 { return n.rng.between(0.9, 1.1) })
	bias := n.param(name+"/beta", c, func() float64 { return n.rng.between(-0.05, 0.05) })
	mean := n.param(name+"/mean", c, func() float64 { return n.rng.between(-0.1, 0.1) })
	variance := n.param(name+"/variance", c, func() float64 { return n.rng.between(0.5, 1.5) })
	nd := ir.NewNode(name, ir.OpBatchNorm, []*ir.Tensor{x, scale, bias, mean, variance}, tensor(name))
	// TF-slim's and Keras's batch-norm epsilon.
	*nd.Attrs.(*ir.BatchNormAttrs) = ir.BatchNormAttrs{Epsilon: 1e-3, Axis: 3}
	return n.add(nd)
}

// activate adds act as its own node (linear adds nothing).
func (n *net) activate(name string, x *ir.Tensor, act activation) *ir.Tensor {
	var nd *ir.Node
	switch act {
	case linear:
		return x
	case relu:
		nd = ir.NewNode(name+"_relu", ir.OpRelu, []*ir.Tensor{x}, tensor(name+"_relu"))
	case relu6:
		nd = ir.NewNode(name+"_relu6", ir.OpClip, []*ir.Tensor{x}, tensor(name+"_relu6"))
		*nd.Attrs.(*ir.ClipAttrs) = ir.ClipAttrs{Min: 0, Max: 6}
	case hardSwish:
		nd = ir.NewNode(name+"_hswish", ir.OpHardSwish, []*ir.Tensor{x}, tensor(name+"_hswish"))
	case hardSigmoid:
		// relu6(x+3)/6, the papers' hard sigmoid (not ONNX's default 0.2x+0.5).
		nd = ir.NewNode(name+"_hsigmoid", ir.OpHardSigmoid, []*ir.Tensor{x}, tensor(name+"_hsigmoid"))
		*nd.Attrs.(*ir.HardSigmoidAttrs) = ir.HardSigmoidAttrs{Alpha: 1.0 / 6, Beta: 0.5}
	default:
		n.err = fmt.Errorf("unknown activation %d", act)
		return x
	}
	return n.add(nd)
}

// convBN is the standard layer of all three papers: a bias-less Conv, a
// BatchNorm, then the activation.
func (n *net) convBN(name string, x *ir.Tensor, out, k, stride int, depthwise bool, act activation) *ir.Tensor {
	gain := 2.0
	if act == linear {
		gain = 1
	}
	x = n.conv(name, x, out, k, stride, depthwise, false, gain)
	x = n.batchNorm(name+"_bn", x)
	return n.activate(name, x, act)
}

func (n *net) binary(name string, op ir.Op, a, b *ir.Tensor) *ir.Tensor {
	return n.add(ir.NewNode(name, op, []*ir.Tensor{a, b}, tensor(name)))
}

// globalAvgPool is an AvgPool whose window is the whole feature map, as
// TF-slim's v1 and v2 heads (and the Coral models) have it. (Slim caps the
// window at 7x7, which is the whole map up to 224 px; above that a capped
// window would leave more than one pixel, so we keep it global.)
func (n *net) globalAvgPool(name string, x *ir.Tensor) *ir.Tensor {
	nd := ir.NewNode(name, ir.OpAvgPool, []*ir.Tensor{x}, tensor(name))
	*nd.Attrs.(*ir.PoolAttrs) = ir.PoolAttrs{
		Kernel:    [2]int{x.Shape[1], x.Shape[2]},
		Strides:   [2]int{1, 1},
		Dilations: [2]int{1, 1},
	}
	return n.add(nd)
}

// spatialMean is a Mean over H and W keeping them: Keras's
// GlobalAveragePooling2D(keepdims=True), used by v3 and its squeeze-excite.
func (n *net) spatialMean(name string, x *ir.Tensor) *ir.Tensor {
	nd := ir.NewNode(name, ir.OpMean, []*ir.Tensor{x}, tensor(name))
	*nd.Attrs.(*ir.ReduceAttrs) = ir.ReduceAttrs{Axes: []int{1, 2}, KeepDims: true}
	return n.add(nd)
}

// invertedResidual is the v2 block, and with se the v3 bneck: expand 1x1
// (only when it widens), depthwise kxk, optional squeeze-excite, linear
// project 1x1, and a residual add when the shape is kept.
func (n *net) invertedResidual(name string, x *ir.Tensor, expanded, out, k, stride int, se bool, act activation) *ir.Tensor {
	h := x
	if expanded > x.Shape[3] {
		h = n.convBN(name+"_expand", h, expanded, 1, 1, false, act)
	}
	h = n.convBN(name+"_dw", h, 0, k, stride, true, act)
	if se {
		h = n.squeezeExcite(name+"_se", h)
	}
	h = n.convBN(name+"_project", h, out, 1, 1, false, linear)
	if stride == 1 && x.Shape[3] == out {
		h = n.binary(name+"_add", ir.OpAdd, x, h)
	}
	return h
}

// squeezeExcite: pool, 1x1 conv to makeDivisible(C/4, 8) + ReLU, 1x1 conv
// back to C + hard sigmoid, and the gate multiplied into x. The two convs
// have biases and no BatchNorm, as in TF-slim and Keras.
func (n *net) squeezeExcite(name string, x *ir.Tensor) *ir.Tensor {
	c := x.Shape[3]
	h := n.spatialMean(name+"_pool", x)
	h = n.conv(name+"_reduce", h, makeDivisible(float64(c)/4, 8), 1, 1, false, true, 2)
	h = n.activate(name+"_reduce", h, relu)
	h = n.conv(name+"_expand", h, c, 1, 1, false, true, 1)
	h = n.activate(name+"_expand", h, hardSigmoid)
	return n.binary(name+"_mul", ir.OpMul, x, h)
}

// classifier ends every model as TF-slim does: a 1x1 Conv with bias on the
// pooled [1,1,1,C] tensor (the "fully connected" layer), a Reshape to
// [1,classes] and a Softmax. The Coral models have exactly these three ops.
func (n *net) classifier(x *ir.Tensor) {
	logits := n.conv("logits", x, n.cfg.Classes, 1, 1, false, true, 1)
	flat := tensor("logits_flat")
	flat.Shape = []int{1, n.cfg.Classes}
	logits = n.add(ir.NewNode("logits_flat", ir.OpReshape, []*ir.Tensor{logits}, flat))
	sm := ir.NewNode("softmax", ir.OpSoftmax, []*ir.Tensor{logits}, tensor("softmax"))
	*sm.Attrs.(*ir.SoftmaxAttrs) = ir.SoftmaxAttrs{Axis: 1, Beta: 1}
	n.g.Outputs = []*ir.Tensor{n.add(sm)}
}
