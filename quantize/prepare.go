package quantize

import (
	"fmt"
	"math"

	"github.com/mnconv/mnconv/ir"
)

// PrepareGraph rewrites float ops that have no integer kernel in TFLite into
// equivalent ones that do. Call it on the float graph before Calibrate, so
// that every tensor the quantized graph holds is observed.
//
//	HardSigmoid(x; a, b)  =>  Mul(Add(x, b/a) with fused ReLU6, a)   when 1/a == 6
//	HardSigmoid(x; a, b)  =>  Mul(Clip(Add(x, b/a), 0, 1/a), a)      otherwise
//
// since max(0, min(1, a*x + b)) = a * clamp(x + b/a, 0, 1/a) for a > 0. This
// is how TFLite's converter writes MobileNetV3's hard-sigmoid (ADD, RELU6, MUL).
func PrepareGraph(g *ir.Graph) error {
	var nodes []*ir.Node
	for _, n := range g.Nodes {
		if n.Op != ir.OpHardSigmoid {
			nodes = append(nodes, n)
			continue
		}
		a := n.Attrs.(*ir.HardSigmoidAttrs)
		if !(a.Alpha > 0) {
			return n.Errorf("hard-sigmoid alpha %g must be positive to quantize", a.Alpha)
		}
		x, y := n.Inputs[0], n.Out()
		shift := ir.NewConstF32(n.Name+"/shift", nil, []float32{a.Beta / a.Alpha})
		scale := ir.NewConstF32(n.Name+"/scale", nil, []float32{a.Alpha})
		added := &ir.Tensor{Name: n.Name + "/shifted", DType: ir.Float32, Shape: append([]int(nil), x.Shape...)}
		add := ir.NewNode(n.Name+"/add", ir.OpAdd, []*ir.Tensor{x, shift}, added)
		nodes = append(nodes, add)
		clipped := added
		if math.Abs(float64(1/a.Alpha)-6) < 1e-5 {
			add.Attrs.(*ir.BinaryAttrs).Act = ir.ActRelu6
		} else {
			clipped = &ir.Tensor{Name: n.Name + "/clipped", DType: ir.Float32, Shape: append([]int(nil), x.Shape...)}
			clip := ir.NewNode(n.Name+"/clip", ir.OpClip, []*ir.Tensor{added}, clipped)
			*clip.Attrs.(*ir.ClipAttrs) = ir.ClipAttrs{Min: 0, Max: 1 / a.Alpha}
			nodes = append(nodes, clip)
		}
		nodes = append(nodes, ir.NewNode(n.Name, ir.OpMul, []*ir.Tensor{clipped, scale}, y))
	}
	g.Nodes = nodes
	if err := g.InferShapes(); err != nil {
		return fmt.Errorf("quantize: preparing the graph: %v", err)
	}
	return g.Validate()
}
