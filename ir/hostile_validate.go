package ir

// ValidateTFLiteQuant checks the rules of TFLite's int8 quantization
// specification that Validate leaves to the importers, on the nodes that
// follow TFLite's fixed-point arithmetic (Arith == ArithTFLite):
//
//   - a convolution's (depthwise included) or fully connected layer's int8
//     weight with per-channel scales has them along the output channels
//     (axis 0 of OHWI and of [out,in]) and every zero point 0: the reference
//     kernels never subtract a weight zero point, so a file that sets one
//     would compute something other than what it says;
//   - a quantized int32 bias has zero point 0 and one scale, or one per
//     output channel.
//
// Validate already checked each scale (finite, > 0), each zero point's
// range and the per-axis counts; this adds the rules that depend on the op.
// It is separate from Validate because ONNX Runtime's arithmetic
// (ArithONNX) allows what TFLite's forbids, and because graphs made in
// tests may break the rules on purpose. Importers of TFLite files call it.
func (g *Graph) ValidateTFLiteQuant() error {
	for _, n := range g.Nodes {
		if n.Arith != ArithTFLite || (n.Op != OpConv && n.Op != OpGemm) {
			continue
		}
		w := n.In(1)
		if w == nil || w.Quant == nil || w.DType != Int8 || !w.Quant.PerAxis() {
			continue
		}
		if n.Op == OpGemm {
			if a, ok := n.Attrs.(*GemmAttrs); !ok || !a.TransB {
				continue // not the [out,in] fully connected form
			}
		}
		if w.Quant.Axis != 0 {
			return n.Errorf("int8 weight %q has per-channel scales on axis %d; TFLite's int8 scheme puts them on the output channels (axis 0)", w.Name, w.Quant.Axis)
		}
		for c, z := range w.Quant.ZeroPoint {
			if z != 0 {
				return n.Errorf("int8 per-channel weight %q has zero point %d on channel %d; TFLite's int8 scheme requires 0", w.Name, z, c)
			}
		}
		b := n.In(2)
		if b == nil || b.Quant == nil || b.DType != Int32 {
			continue
		}
		for _, z := range b.Quant.ZeroPoint {
			if z != 0 {
				return n.Errorf("int32 bias %q has zero point %d; TFLite's int8 scheme requires 0", b.Name, z)
			}
		}
		if len(b.Quant.Scale) != 1 && len(b.Quant.Scale) != len(w.Quant.Scale) {
			return n.Errorf("int32 bias %q has %d scales for %d weight channels", b.Name, len(b.Quant.Scale), len(w.Quant.Scale))
		}
	}
	return nil
}
