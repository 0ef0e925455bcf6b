package tflite

import (
	tfl "github.com/mnconv/mnconv/format/tflite"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/ir"
)

// detectionPostProcess writes the CUSTOM op TFLite_Detection_PostProcess
// with its options as a FlexBuffer map (every key TFLite's kernel reads).
func (w *writer) detectionPostProcess(n *ir.Node) error {
	a := n.Attrs.(*ir.DetectionPostProcessAttrs)
	if err := a.Check(); err != nil {
		return n.Errorf("%v", err)
	}
	opts, err := tfl.DetectionPostProcessOptions(a)
	if err != nil {
		return n.Errorf("options: %v", err)
	}
	ins, err := w.tensorsOf(n.Inputs...)
	if err != nil {
		return err
	}
	outs, err := w.tensorsOf(n.Outputs...)
	if err != nil {
		return err
	}
	w.emit(&fop{code: fb.BuiltinOperatorCUSTOM, version: 1, inputs: ins, outputs: outs,
		custom: tfl.DetectionPostProcessCode, customOptions: opts})
	return nil
}
