package tflite

import (
	"slices"

	tfl "github.com/mnconv/mnconv/format/tflite"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/ir"
)

// customConverters maps the custom codes mnconv translates to their
// converters; a custom converter checks its own output count.
var customConverters = map[string]func(*opCtx) error{
	tfl.DetectionPostProcessCode: convertDetectionPostProcess,
}

// convertDetectionPostProcess reads TFLite_Detection_PostProcess: inputs
// box encodings, class scores, anchors; four float32 outputs whose shapes
// TFLite sets at run time (files declare them empty, so only a non-empty
// declaration is compared with inference); options in a FlexBuffer.
func convertDetectionPostProcess(c *opCtx) error {
	if err := c.arity(3, 3); err != nil {
		return err
	}
	if n := c.op.OutputsLength(); n != 4 {
		return c.errorf("has %d outputs, want 4", n)
	}
	if f := c.op.CustomOptionsFormat(); f != fb.CustomOptionsFormatFLEXBUFFERS {
		return c.errorf("custom options format %v, want FLEXBUFFERS", f)
	}
	if c.op.LargeCustomOptionsSize() != 0 {
		return c.errorf("custom options outside the flatbuffer (large_custom_options) are not supported")
	}
	a, err := tfl.ReadDetectionPostProcessOptions(c.op.CustomOptionsBytes())
	if err != nil {
		return c.errorf("options: %v", err)
	}
	ins, err := c.ins(3)
	if err != nil {
		return err
	}
	outs := make([]*ir.Tensor, 4)
	for j := range outs {
		idx := c.op.Outputs(j)
		if idx < 0 || int(idx) >= c.im.ntensors {
			return c.errorf("output %d refers to tensor %d; the subgraph has %d", j, idx, c.im.ntensors)
		}
		t, err := c.im.tensor(int(idx))
		if err != nil {
			return err
		}
		if t.IsConst() {
			return c.errorf("output %q is a constant", t.Name)
		}
		if slices.Contains(outs[:j], t) {
			return c.errorf("output %q is written twice", t.Name)
		}
		if _, ok := c.im.declared[t]; !ok && t.Rank() > 0 {
			c.im.declared[t] = slices.Clone(t.Shape)
		}
		outs[j] = t
	}
	n := ir.NewNode(c.name, ir.OpDetectionPostProcess, ins, outs...)
	n.Attrs = a
	n.Origin = ir.Origin(c.index + 1)
	c.im.g.Nodes = append(c.im.g.Nodes, n)
	c.im.nodeOp[n] = c
	c.nodes++
	return nil
}
