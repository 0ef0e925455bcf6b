package eval

import (
	"fmt"

	"github.com/mnconv/mnconv/inspect"
	"github.com/mnconv/mnconv/runtime"
)

// What a model costs, as the gate weighs it: the multiply-accumulates the
// runtime executed per image (its kernels count them as they run; see
// runtime/count.go), beside inspect's static count of the same graph, and
// the bytes of its weights and biases (inspect's weight bytes: int8 weights
// are a quarter of float32 ones).

// ModelCost is one model's executed MACs and weight bytes.
type ModelCost struct {
	Model string `json:"model"`
	// Images is the number of Runs the counts cover.
	Images int `json:"images"`
	// MACsPerImage is the executed count over Images (exact: every Run of
	// a static-shape graph executes the same MACs); StaticMACs inspect's.
	MACsPerImage int64 `json:"macs_per_image"`
	StaticMACs   int64 `json:"static_macs"`
	// WeightBytes is inspect's TotalWeightBytes, by element type in
	// WeightBytesBy.
	WeightBytes   int64            `json:"weight_bytes"`
	WeightBytesBy map[string]int64 `json:"weight_bytes_by_dtype,omitempty"`
	// Uncounted names MAC nodes whose kernel kept no count (a runtime bug:
	// the executed figures miss them).
	Uncounted []string `json:"uncounted,omitempty"`
	// Layers are the MAC nodes, in graph order (only when asked for).
	Layers []LayerCost `json:"layers,omitempty"`
}

// LayerCost is one node's executed and static MACs per image.
type LayerCost struct {
	Name         string `json:"name"`
	Op           string `json:"op"` // inspect's label: Conv, DepthwiseConv, FullyConnected, ...
	MACsPerImage int64  `json:"macs_per_image"`
	StaticMACs   int64  `json:"static_macs"`
}

// Matches reports whether every executed count equals the static one.
func (m *ModelCost) Matches() bool {
	if m.MACsPerImage != m.StaticMACs || len(m.Uncounted) > 0 {
		return false
	}
	for _, l := range m.Layers {
		if l.MACsPerImage != l.StaticMACs {
			return false
		}
	}
	return true
}

// CountRuns totals the MAC counters of interpreters that ran the same
// graph (one per worker) over images Runs in all, and sets them beside
// inspect's static counts; layers adds the per-layer table.
func CountRuns(images int, layers bool, its ...*runtime.Interpreter) (*ModelCost, error) {
	if len(its) == 0 {
		return nil, fmt.Errorf("eval: no interpreter to count")
	}
	g := its[0].Graph()
	executed := make([]int64, len(g.Nodes))
	for _, it := range its {
		if it.Graph() != g {
			return nil, fmt.Errorf("eval: counting interpreters of different graphs")
		}
		for i, m := range it.NodeMACs() {
			executed[i] += m
		}
	}
	r := inspect.Analyze(g)
	c := &ModelCost{Model: modelName(g), Images: images, StaticMACs: r.TotalMACs,
		WeightBytes: r.TotalWeightBytes, WeightBytesBy: r.WeightBytes}
	for _, n := range its[0].Uncounted() {
		c.Uncounted = append(c.Uncounted, n.Name)
	}
	var total int64
	for i, n := range g.Nodes {
		total += executed[i]
		if !layers || !runtime.DoesMACs(n.Op) {
			continue
		}
		l := LayerCost{Name: n.Name, Op: r.Layers[i].Op, StaticMACs: r.Layers[i].MACs}
		if images > 0 {
			l.MACsPerImage = executed[i] / int64(images)
		}
		c.Layers = append(c.Layers, l)
	}
	if images > 0 {
		c.MACsPerImage = total / int64(images)
		if c.MACsPerImage*int64(images) != total {
			// Not the same work on every image: say so rather than round.
			return c, fmt.Errorf("eval: %s executed %d MACs over %d images, not a whole number per image", c.Model, total, images)
		}
	}
	return c, nil
}

// chainCost sums the models of a chain: MACs per image and weight bytes.
func chainCost(models []*ModelCost) (macs, static, bytes int64) {
	for _, m := range models {
		macs += m.MACsPerImage
		static += m.StaticMACs
		bytes += m.WeightBytes
	}
	return
}

// ratio is a/b, 0 when b is 0 (then the gate fails any a > 0 itself).
func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
