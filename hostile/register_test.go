package hostile

import (
	_ "github.com/mnconv/mnconv/importers/onnx"
	_ "github.com/mnconv/mnconv/importers/tflite"
)
