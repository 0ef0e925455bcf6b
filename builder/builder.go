// Package builder constructs MobileNet v1, v2, v3-large and v3-small as
// ir.Graphs from their papers' layer tables, with a width multiplier (alpha),
// an input resolution, a class count and a seed for deterministic random
// weights. The graphs look like a training export: every Conv is bias-less
// and followed by an unfolded BatchNorm, activations are separate nodes
// (Clip for ReLU6, Relu, HardSwish, HardSigmoid), so that the passes, the
// quantizer, the runtime and the exporters have realistic float models of any
// size to work on without a download.
//
// Phase: model construction. It creates new graphs; it reads no files and
// changes nothing it did not create.
//
// Layout follows the ir: activations NHWC, weights OHWI, depthwise Conv with
// Group equal to the channel count. The input is float32 [1,R,R,3], the output
// a softmax [1,classes]. TF's SAME padding is written out explicitly, which
// for a stride-2 layer on an even input puts the extra row and column at the
// bottom and right ([0,0,1,1] for a 3x3 kernel), as the TF-trained models
// (Coral's included) have it.
//
// Channel arithmetic follows the reference implementations:
//   - v1 (TF-slim mobilenet_v1): depth(d) = max(int(d*alpha), 8).
//   - v2 (TF-slim mobilenet_v2 / Keras MobileNetV2): makeDivisible(c*alpha, 8),
//     expansion t*in, the last 1x1 conv kept at 1280 for alpha <= 1.
//   - v3 (Keras MobileNetV3, whose channel counts equal TF-slim's at the
//     published multipliers): stem 16, makeDivisible for outputs, expansions
//     and squeeze-excite widths (expansion/4), last conv 6*in, head conv
//     1280 (large) / 1024 (small) kept for alpha <= 1.
package builder

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mnconv/mnconv/ir"
)

// Arch names a MobileNet architecture.
type Arch string

// The architectures Build knows.
const (
	V1      Arch = "mobilenet-v1"
	V2      Arch = "mobilenet-v2"
	V3Large Arch = "mobilenet-v3-large"
	V3Small Arch = "mobilenet-v3-small"
)

// Archs lists every architecture, in paper order.
func Archs() []Arch { return []Arch{V1, V2, V3Large, V3Small} }

// ParseArch accepts an architecture name (case-insensitive, "_" for "-").
func ParseArch(s string) (Arch, error) {
	norm := Arch(strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-"))
	for _, a := range Archs() {
		if a == norm {
			return a, nil
		}
	}
	names := make([]string, 0, 4)
	for _, a := range Archs() {
		names = append(names, string(a))
	}
	return "", fmt.Errorf("builder: unknown architecture %q (want one of %s)", s, strings.Join(names, ", "))
}

// Config selects a model. Zero fields take the defaults: Alpha 1.0,
// Resolution 224, Classes 1001 (TF's ImageNet head, index 0 = background).
type Config struct {
	Arch       Arch
	Alpha      float64
	Resolution int
	Classes    int
	Seed       uint64
}

// Limits on a Config, checked before anything is allocated.
const (
	MaxAlpha      = 4.0
	MinResolution = 32
	MaxResolution = 2048
	MaxClasses    = 100000
	// MaxParams bounds the float32 constant elements of one built graph
	// (weights, biases and BatchNorm vectors): 64 Mi elements, 256 MiB.
	MaxParams = 64 << 20
)

// withDefaults fills zero fields and checks the ranges.
func (c Config) withDefaults() (Config, error) {
	if c.Alpha == 0 {
		c.Alpha = 1
	}
	if c.Resolution == 0 {
		c.Resolution = 224
	}
	if c.Classes == 0 {
		c.Classes = 1001
	}
	arch, err := ParseArch(string(c.Arch))
	if err != nil {
		return c, err
	}
	c.Arch = arch
	if math.IsNaN(c.Alpha) || c.Alpha <= 0 || c.Alpha > MaxAlpha {
		return c, fmt.Errorf("builder: alpha %v out of range (0, %v]", c.Alpha, MaxAlpha)
	}
	if c.Resolution < MinResolution || c.Resolution > MaxResolution {
		return c, fmt.Errorf("builder: resolution %d out of range [%d, %d]", c.Resolution, MinResolution, MaxResolution)
	}
	// v1 and v2 downsample five times and end in a pool whose kernel is the
	// final feature map; the papers and checkpoints use multiples of 32.
	if (c.Arch == V1 || c.Arch == V2) && c.Resolution%32 != 0 {
		return c, fmt.Errorf("builder: %s resolution %d is not a multiple of 32", c.Arch, c.Resolution)
	}
	if c.Classes < 1 || c.Classes > MaxClasses {
		return c, fmt.Errorf("builder: class count %d out of range [1, %d]", c.Classes, MaxClasses)
	}
	return c, nil
}

// Name is the conventional model name, e.g. "mobilenet_v2_1.0_224".
func (c Config) Name() string {
	a := strconv.FormatFloat(c.Alpha, 'f', -1, 64)
	if !strings.Contains(a, ".") {
		a += ".0"
	}
	return fmt.Sprintf("%s_%s_%d", strings.ReplaceAll(string(c.Arch), "-", "_"), a, c.Resolution)
}

// Build constructs the model cfg describes, with shapes inferred and the graph
// validated.
func Build(cfg Config) (*ir.Graph, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// A dry run (shapes only) sizes the constants before any is allocated.
	_, size, err := construct(cfg, true)
	if err != nil {
		return nil, err
	}
	if size > MaxParams {
		return nil, fmt.Errorf("builder: %s needs %d constant elements, more than the limit %d", cfg.Name(), size, MaxParams)
	}
	g, _, err := construct(cfg, false)
	if err != nil {
		return nil, err
	}
	if err := g.InferShapes(); err != nil {
		return nil, fmt.Errorf("builder: %s: %w", cfg.Name(), err)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("builder: %s: %w", cfg.Name(), err)
	}
	return g, nil
}

// construct runs the architecture's layer table and returns the graph and
// its number of constant elements. With dry set, constants get their shapes
// but no data: Measure works on the result, Validate does not.
func construct(cfg Config, dry bool) (*ir.Graph, int64, error) {
	n := newNet(cfg, dry)
	switch cfg.Arch {
	case V1:
		buildV1(n)
	case V2:
		buildV2(n)
	case V3Large, V3Small:
		buildV3(n, cfg.Arch == V3Large)
	}
	if n.err != nil {
		return nil, 0, fmt.Errorf("builder: %s: %w", cfg.Name(), n.err)
	}
	return n.g, n.params, nil
}

// makeDivisible rounds v to the nearest multiple of divisor, at least
// divisor, and never more than 10% below v: the reference implementations'
// _make_divisible (with min_value = divisor).
func makeDivisible(v float64, divisor int) int {
	d := float64(divisor)
	nv := max(divisor, int(v+d/2)/divisor*divisor)
	if float64(nv) < 0.9*v {
		nv += divisor
	}
	return nv
}

// samePads returns TF's SAME padding along one axis: the total is whatever
// makes the output ceil(in/stride), and the odd pixel goes after.
func samePads(in, k, stride int) (before, after int) {
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+k-in, 0)
	return total / 2, total - total/2
}
