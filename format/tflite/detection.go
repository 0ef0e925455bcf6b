package tflite

import (
	"fmt"
	"math"

	"github.com/mnconv/mnconv/ir"
)

// DetectionPostProcessCode is the custom code of TFLite's SSD
// post-processing op (ir.OpDetectionPostProcess).
const DetectionPostProcessCode = "TFLite_Detection_PostProcess"

// ReadDetectionPostProcessOptions reads TFLite_Detection_PostProcess's
// FlexBuffer options into checked attributes. As TFLite's kernel reads
// them: detections_per_class defaults to 100 and use_regular_nms to false;
// the other keys are required here (TFLite reads an absent one as 0, which
// its kernel then refuses or runs meaninglessly). Keys TFLite does not
// read (the converter's _output_quantized, ...) are ignored.
func ReadDetectionPostProcessOptions(buf []byte) (*ir.DetectionPostProcessAttrs, error) {
	m, err := ReadFlexMap(buf)
	if err != nil {
		return nil, err
	}
	a := &ir.DetectionPostProcessAttrs{DetectionsPerClass: 100}
	integer := func(key string, dst *int, required bool) error {
		v, ok := m[key]
		if !ok || v.Type == FlexNull {
			if required {
				return fmt.Errorf("option %s is missing", key)
			}
			return nil
		}
		i, ok := v.Int()
		if !ok {
			return fmt.Errorf("option %s is a %v, want an integer", key, v.Type)
		}
		if i < math.MinInt32 || i > math.MaxInt32 {
			return fmt.Errorf("option %s is %d, out of int32", key, i)
		}
		*dst = int(i)
		return nil
	}
	float := func(key string, dst *float32) error {
		v, ok := m[key]
		if !ok || v.Type == FlexNull {
			return fmt.Errorf("option %s is missing", key)
		}
		f, ok := v.Float()
		if !ok {
			return fmt.Errorf("option %s is a %v, want a number", key, v.Type)
		}
		*dst = float32(f)
		return nil
	}
	for _, e := range []error{
		integer("max_detections", &a.MaxDetections, true),
		integer("max_classes_per_detection", &a.MaxClassesPerDetection, true),
		integer("detections_per_class", &a.DetectionsPerClass, false),
		integer("num_classes", &a.NumClasses, true),
		float("nms_score_threshold", &a.ScoreThreshold),
		float("nms_iou_threshold", &a.IoUThreshold),
		float("y_scale", &a.YScale),
		float("x_scale", &a.XScale),
		float("h_scale", &a.HScale),
		float("w_scale", &a.WScale),
	} {
		if e != nil {
			return nil, e
		}
	}
	if v, ok := m["use_regular_nms"]; ok && v.Type != FlexNull {
		b, ok := v.Bool()
		if !ok {
			return nil, fmt.Errorf("option use_regular_nms is a %v, want a bool", v.Type)
		}
		a.UseRegularNMS = b
	}
	if err := a.Check(); err != nil {
		return nil, err
	}
	return a, nil
}

// DetectionPostProcessOptions writes a's FlexBuffer options, every key
// TFLite's kernel reads.
func DetectionPostProcessOptions(a *ir.DetectionPostProcessAttrs) ([]byte, error) {
	i := func(k string, v int) FlexEntry { return FlexEntry{k, FlexValue{Type: FlexInt, I: int64(v)}} }
	f := func(k string, v float32) FlexEntry { return FlexEntry{k, FlexValue{Type: FlexFloat, F: float64(v)}} }
	return WriteFlexMap([]FlexEntry{
		i("max_detections", a.MaxDetections),
		i("max_classes_per_detection", a.MaxClassesPerDetection),
		i("detections_per_class", a.DetectionsPerClass),
		{"use_regular_nms", FlexValue{Type: FlexBool, B: a.UseRegularNMS}},
		f("nms_score_threshold", a.ScoreThreshold),
		f("nms_iou_threshold", a.IoUThreshold),
		i("num_classes", a.NumClasses),
		f("y_scale", a.YScale),
		f("x_scale", a.XScale),
		f("h_scale", a.HScale),
		f("w_scale", a.WScale),
	})
}
