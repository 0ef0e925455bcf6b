package builder

import "fmt"

// v1Blocks is Table 1 of Howard et al. 2017 as TF-slim's
// MOBILENETV1_CONV_DEFS has it: the depthwise stride and pointwise width of
// the 13 depthwise-separable blocks. (The paper's table prints s2 for the
// second-to-last depthwise layer too; its 7x7 output and the checkpoints say
// stride 1.)
var v1Blocks = []struct{ stride, out int }{
	{1, 64}, {2, 128}, {1, 128}, {2, 256}, {1, 256}, {2, 512},
	{1, 512}, {1, 512}, {1, 512}, {1, 512}, {1, 512},
	{2, 1024}, {1, 1024},
}

func buildV1(n *net) {
	// TF-slim: depth(d) = max(int(d * depth_multiplier), min_depth=8).
	depth := func(d int) int { return max(int(float64(d)*n.cfg.Alpha), 8) }
	x := n.convBN("conv0", n.input(), depth(32), 3, 2, false, relu6)
	for i, b := range v1Blocks {
		name := fmt.Sprintf("conv%d", i+1)
		x = n.convBN(name+"_dw", x, 0, 3, b.stride, true, relu6)
		x = n.convBN(name+"_pw", x, depth(b.out), 1, 1, false, relu6)
	}
	n.classifier(n.globalAvgPool("pool", x))
}

// v2Stages is Table 2 of Sandler et al. 2018: expansion t, output channels c,
// repeats n, stride s of the first repeat.
var v2Stages = []struct{ t, c, n, s int }{
	{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
	{6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
}

func buildV2(n *net) {
	alpha := n.cfg.Alpha
	x := n.convBN("conv0", n.input(), makeDivisible(32*alpha, 8), 3, 2, false, relu6)
	block := 0
	for _, st := range v2Stages {
		out := makeDivisible(float64(st.c)*alpha, 8)
		for i := 0; i < st.n; i++ {
			stride := 1
			if i == 0 {
				stride = st.s
			}
			expanded := makeDivisible(float64(x.Shape[3]*st.t), 8)
			x = n.invertedResidual(fmt.Sprintf("block%d", block), x, expanded, out, 3, stride, false, relu6)
			block++
		}
	}
	// The paper keeps the last layer at 1280 for multipliers below one.
	last := 1280
	if alpha > 1 {
		last = makeDivisible(1280*alpha, 8)
	}
	x = n.convBN("conv_last", x, last, 1, 1, false, relu6)
	n.classifier(n.globalAvgPool("pool", x))
}

// bneck is one row of the v3 tables: expansion ratio over the block's input
// (as TF-slim's expand_input_by_factor and Keras write it, so that alpha
// scales expansions too), output channels, kernel, stride, squeeze-excite,
// nonlinearity.
type bneck struct {
	ratio  float64
	out, k int
	stride int
	se     bool
	act    activation
}

// v3Large is Table 1 of Howard et al. 2019 (expansion sizes 16, 64, 72, 72,
// 120, 120, 240, 200, 184, 184, 480, 672, 672, 960, 960 at alpha 1).
var v3Large = []bneck{
	{1, 16, 3, 1, false, relu},
	{4, 24, 3, 2, false, relu},
	{3, 24, 3, 1, false, relu},
	{3, 40, 5, 2, true, relu},
	{3, 40, 5, 1, true, relu},
	{3, 40, 5, 1, true, relu},
	{6, 80, 3, 2, false, hardSwish},
	{2.5, 80, 3, 1, false, hardSwish},
	{184.0 / 80, 80, 3, 1, false, hardSwish},
	{184.0 / 80, 80, 3, 1, false, hardSwish},
	{6, 112, 3, 1, true, hardSwish},
	{6, 112, 3, 1, true, hardSwish},
	{6, 160, 5, 2, true, hardSwish},
	{6, 160, 5, 1, true, hardSwish},
	{6, 160, 5, 1, true, hardSwish},
}

// v3Small is Table 2 (expansion sizes 16, 72, 88, 96, 240, 240, 120, 144,
// 288, 576, 576). The paper's table marks SE on the final 1x1 conv 576 row
// as well; neither reference implementation has it there, nor do we.
var v3Small = []bneck{
	{1, 16, 3, 2, true, relu},
	{72.0 / 16, 24, 3, 2, false, relu},
	{88.0 / 24, 24, 3, 1, false, relu},
	{4, 40, 5, 2, true, hardSwish},
	{6, 40, 5, 1, true, hardSwish},
	{6, 40, 5, 1, true, hardSwish},
	{3, 48, 5, 1, true, hardSwish},
	{3, 48, 5, 1, true, hardSwish},
	{6, 96, 5, 2, true, hardSwish},
	{6, 96, 5, 1, true, hardSwish},
	{6, 96, 5, 1, true, hardSwish},
}

func buildV3(n *net, large bool) {
	alpha := n.cfg.Alpha
	blocks, head := v3Small, 1024
	if large {
		blocks, head = v3Large, 1280
	}
	// Keras keeps the stem at 16 channels whatever alpha is.
	x := n.convBN("conv0", n.input(), 16, 3, 2, false, hardSwish)
	for i, b := range blocks {
		expanded := makeDivisible(float64(x.Shape[3])*b.ratio, 8)
		out := makeDivisible(float64(b.out)*alpha, 8)
		x = n.invertedResidual(fmt.Sprintf("block%d", i), x, expanded, out, b.k, b.stride, b.se, b.act)
	}
	x = n.convBN("conv_last", x, makeDivisible(float64(x.Shape[3])*6, 8), 1, 1, false, hardSwish)
	x = n.spatialMean("pool", x)
	// The head conv has a bias and no BatchNorm ("NBN" in the tables), and
	// stays at full width for alpha <= 1.
	if alpha > 1 {
		head = makeDivisible(float64(head)*alpha, 8)
	}
	x = n.conv("conv_head", x, head, 1, 1, false, true, 2)
	x = n.activate("conv_head", x, hardSwish)
	n.classifier(x)
}
