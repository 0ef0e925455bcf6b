package hostile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mnconv/mnconv/format/onnx/onnxtest"
	"github.com/mnconv/mnconv/importers"
)

// malformed maps each corpus file to what its error must say. The
// substrings name the defect the file was made with (gen_test.go), so a
// file refused for some other, accidental reason fails the test.
var malformed = map[string]string{
	// wrong kind of file
	"empty.onnx":        "empty file",
	"empty.tflite":      "0 bytes is too short for a flatbuffer header",
	"blank.bin":         "empty file",
	"random.bin":        `unknown model format (extension ".bin")`,
	"directory.onnx":    "is a directory, want a model file",
	"onnx_named.tflite": `extension ".tflite" says tflite but the content is onnx`,
	"tflite_named.onnx": `extension ".onnx" says onnx but the content is tflite`,
	"png_named.onnx":    "not a valid ONNX model",
	"jpeg_named.tflite": "not a TFLite model: file identifier",
	"text_named.tflite": "not a TFLite model: file identifier",

	// TFLite: flatbuffer structure
	"tfl_truncated_header.tflite":         "6 bytes is too short for a flatbuffer header",
	"tfl_truncated_half.tflite":           "past the end of the 880-byte file",
	"tfl_wrong_identifier.tflite":         `file identifier "TFL2", want "TFL3"`,
	"tfl_root_past_end.tflite":            "root offset at offset 0 points to 2147418112, past the end",
	"tfl_root_misaligned.tflite":          "Model table at offset 10 is not 4-byte aligned",
	"tfl_vtable_bad.tflite":               "Model vtable at offset -1048576 (4 bytes) runs past the end",
	"tfl_tensors_huge_count.tflite":       "SubGraph.tensors at offset 224 has 2147483647 entries, more than the limit 131072",
	"tfl_operators_count_past_end.tflite": "SubGraph.operators at offset 204 (240000 bytes) runs past the end",
	"tfl_buffers_offset_bitflip.tflite":   "Model.buffers at offset 12 points to 1073741896, past the end",
	"tfl_string_unterminated.tflite":      "string Tensor.name at offset 1132 is not NUL-terminated",
	"tfl_shared_tables.tflite":            "more tables than a file of 12124 bytes can hold",
	"tfl_shared_op_inputs.tflite":         "Operator.inputs at offset 16272: vectors and strings reached from the root add up to more than a file of 32660 bytes can hold",
	"tfl_shared_quant_scales.tflite":      "QuantizationParameters.zero_point at offset 1956: vectors and strings reached from the root add up to more than a file of 51120 bytes can hold",
	"tfl_rank9.tflite":                    "Tensor.shape at offset 1124 has 9 entries, more than the limit 8",

	// TFLite: sizes and references
	"tfl_huge_shape.tflite":             `tensor 0 "x": shape [1 1048576 1048576 3] has 3298534883328 elements, more than the limit 268435456`,
	"tfl_negative_dim.tflite":           `tensor 0 "x": shape has dimension -1; only static shapes are supported`,
	"tfl_buffer_short.tflite":           `tensor 1 "conv_w": buffer 1 holds 100 bytes; float32[4 3 3 3] needs 432`,
	"tfl_buffer_offset_past_end.tflite": `buffer 1 lies at bytes 1099511627776..1099511627776+432, past the end`,
	"tfl_buffer_size_huge.tflite":       `buffer 1 lies at bytes 16..16+4611686018427387904, past the end`,
	"tfl_opcode_index.tflite":           `operator 1 "pool": opcode index 99; the model has 5 operator codes`,
	"tfl_op_input_index.tflite":         `operator 0 "conv" (CONV_2D): input 0 refers to tensor 999; the subgraph has 11`,
	"tfl_graph_input_index.tflite":      "graph input refers to tensor 50; the subgraph has 11",
	"tfl_graph_output_negative.tflite":  "graph output refers to tensor -7",
	"tfl_cycle.tflite":                  `node "a" (Add): reads "b", which no earlier node produces (missing tensor or cycle)`,
	"tfl_schema_version_99.tflite":      "schema version 99 is not supported (TFLite reads version 3 only)",
	"tfl_duplicate_output.tflite":       `graph output tensor 10 "y" is listed twice`,
	"tfl_two_producers.tflite":          `node "y" (Softmax): writes "y", which already has a producer`,
	"tfl_output_is_constant.tflite":     `operator 4 "fc_b" (SOFTMAX): output "fc_b" is a constant`,
	"tfl_float16.tflite":                `tensor 0 "x": type FLOAT16 is not supported`,
	"tfl_custom_op.tflite":              `operator 4 "y" (Frobnicate): unsupported op Frobnicate`,

	// TFLite: op attributes
	"tfl_conv_stride0.tflite":          `operator 0 "conv" (CONV_2D): strides [0 0] and dilations [1 1] must be >= 1`,
	"tfl_conv_dilation0.tflite":        `operator 0 "conv" (CONV_2D): strides [2 2] and dilations [0 0] must be >= 1`,
	"tfl_conv_kernel_too_large.tflite": "kernel 9x9 is larger than the padded input 8x8",
	"tfl_conv_channels.tflite":         `weight "conv_w" has 2 input channels per group, input has 3 channels in 1 groups`,
	"tfl_depthwise_channels.tflite":    `weight "dw_w" has 6 output channels, not a multiple of the input's 4`,

	// TFLite: quantization parameters
	"tfl_scale_zero.tflite":             `tensor "x": quantization scale 0 is not finite and positive`,
	"tfl_scale_negative.tflite":         `tensor "conv": quantization scale -0.5 is not finite and positive`,
	"tfl_scale_nan.tflite":              `tensor "conv_w": quantization scale NaN is not finite and positive`,
	"tfl_scale_inf.tflite":              `tensor "y": quantization scale +Inf is not finite and positive`,
	"tfl_zero_point_range.tflite":       `tensor "x": zero point 200 outside int8 range`,
	"tfl_zero_point_count.tflite":       `tensor 1 "conv_w": quantization has 4 scales and 2 zero points`,
	"tfl_scale_count.tflite":            `tensor "conv_w": 3 scales for 4 channels on axis 0`,
	"tfl_quant_dim_outside_rank.tflite": `tensor 1 "conv_w": quantized_dimension 7 is outside rank 4`,
	"tfl_quant_dim_wrong_axis.tflite":   `int8 weight "conv_w" has per-channel scales on axis 1`,
	"tfl_weight_zero_point.tflite":      `int8 per-channel weight "conv_w" has zero point 3 on channel 1; TFLite's int8 scheme requires 0`,
	"tfl_bias_zero_point.tflite":        `int32 bias "conv_b" has zero point 5; TFLite's int8 scheme requires 0`,
	"tfl_rank1_quirk_bad_count.tflite":  `tensor 5 "dw_b": quantized_dimension 3 is outside rank 1`,

	// ONNX: protobuf structure
	"onnx_truncated_half.onnx":     "not a valid ONNX model",
	"onnx_truncated_one_byte.onnx": "not a valid ONNX model",
	"onnx_length_bitflip.onnx":     "not a valid ONNX model",
	"onnx_huge_length.onnx":        "not a valid ONNX model",
	"onnx_deep_nesting.onnx":       "exceeded maximum recursion depth",
	"onnx_no_graph.onnx":           "model has no graph",
	"onnx_no_ir_version.onnx":      "model has no ir_version",
	"onnx_ir_version_99.onnx":      "ir_version 99 is newer than the newest this importer knows (13, ONNX 1.21)",
	"onnx_duplicate_output.onnx":   `graph output "y" is listed twice`,
	"onnx_opset_99.onnx":           "opset 99 of the default domain is not supported",
	"onnx_no_default_opset.onnx":   "model imports no opset of the default ONNX domain",

	// ONNX: graph references
	"onnx_missing_tensor.onnx":        `node "relu_node" (Relu): reads "ghost", which no node, graph input or initializer defines`,
	"onnx_cycle.onnx":                 `node "relu_node" (Relu): is on a cycle`,
	"onnx_two_producers.onnx":         `(Sigmoid): writes "y", which node "y_node" also writes`,
	"onnx_writes_input.onnx":          `node "relu_node" (Relu): writes "x", which is a graph input or initializer`,
	"onnx_no_outputs.onnx":            "graph has no outputs",
	"onnx_duplicate_initializer.onnx": `two initializers are named "fc_b"`,
	"onnx_unsupported_op.onnx":        `node "relu_node" (Frobnicate): unsupported op Frobnicate`,
	"onnx_unknown_domain.onnx":        `op domain "com.example" is not supported`,

	// ONNX: sizes
	"onnx_input_huge.onnx":             `graph input "x": shape [1 3 1048576 1048576] has 3298534883328 elements, more than the limit 268435456`,
	"onnx_input_overflow.onnx":         `graph input "x": shape [1 3 4611686018427387904 4611686018427387904] overflows int64`,
	"onnx_input_rank9.onnx":            `graph input "x" has rank 9, more than the limit 8`,
	"onnx_input_negative_dim.onnx":     `graph input "x" has negative dimension -8`,
	"onnx_input_symbolic.onnx":         `graph input "x" dimension 2 is symbolic ("height")`,
	"onnx_input_float16.onnx":          `graph input "x": element type FLOAT16 is not supported`,
	"onnx_init_huge_declared.onnx":     `tensor "conv_b": shape [1048576 1048576] has 1099511627776 elements, more than the limit 268435456`,
	"onnx_raw_data_short.onnx":         `tensor "conv_w" has 40 bytes of raw data, shape [4 3 3 3] of float32 needs 432`,
	"onnx_float_data_count.onnx":       `tensor "conv_b" holds 3 elements, its shape [4] needs 4`,
	"onnx_long_name.onnx":              "node 1's name, op type or domain is 65537 bytes long, more than the limit 65536",
	"onnx_constant_of_shape_huge.onnx": `constant "big": shape [32768 32768] has 1073741824 elements, more than the limit 4194304`,

	// ONNX: external data (never opened, whatever the path)
	"onnx_external_traversal.onnx":        `tensor "conv_w" keeps its data in an external file, which mnconv does not read`,
	"onnx_external_absolute.onnx":         `tensor "conv_w" keeps its data in an external file, which mnconv does not read`,
	"onnx_external_no_location_flag.onnx": `tensor "fc_w" keeps its data in an external file, which mnconv does not read`,

	// ONNX: op attributes
	"onnx_conv_group.onnx":            "group 2 does not divide input channels 3 and output channels 4",
	"onnx_conv_stride0.onnx":          `attribute "strides" value 0 out of range`,
	"onnx_conv_dilation0.onnx":        `attribute "dilations" value 0 out of range`,
	"onnx_conv_negative_pads.onnx":    "pads [-1 1 1 1] out of range",
	"onnx_conv_kernel_too_large.onnx": "kernel 9x9 is larger than the padded input 8x8",
	"onnx_conv_weight_rank3.onnx":     "only 2D convolution is supported (input rank 4, weight rank 3",
	"onnx_attr_wrong_type.onnx":       `attribute "group" is FLOAT, want INT`,
	"onnx_reshape_mismatch.onnx":      "cannot reshape [1 4 1 1] (4 elements) to [1 5]",

	// ONNX: quantization parameters
	"onnx_quant_scale_zero.onnx":       `(QuantizeLinear): y scale 0 is not finite and positive`,
	"onnx_quant_scale_negative.onnx":   `(QLinearConv): y scale -1 is not finite and positive`,
	"onnx_quant_scale_nan.onnx":        `(QLinearConv): w scale NaN is not finite and positive`,
	"onnx_quant_scale_inf.onnx":        `(QLinearConv): y scale +Inf is not finite and positive`,
	"onnx_quant_zero_point_range.onnx": `tensor "y_z" element 0 is 300, outside the uint8 range`,
	"onnx_quant_scale_count.onnx":      `weight "w" has shape [4 3 3 3]: 3 scales do not match axis 0`,
	"onnx_quant_zero_point_shape.onnx": "w zero point has shape [2], scale has [4]",
}

// Per-file budgets: a malformed file must be refused cheaply.
const (
	maxAllocPerFile = 64 << 20
	maxTimePerFile  = 2 * time.Second
)

// TestMalformedCorpus loads every file of testdata/malformed: each must be
// refused with its expected message (which names the file), without a
// panic, within the allocation and time budgets.
func TestMalformedCorpus(t *testing.T) {
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	onDisk := map[string]bool{}
	for _, e := range entries {
		onDisk[e.Name()] = true
	}
	for name := range malformed {
		if !onDisk[name] {
			t.Errorf("%s is in the table but not in %s", name, corpusDir)
		}
	}
	var refused, panics int
	var maxAlloc uint64
	var maxTime time.Duration
	var maxAllocFile, maxTimeFile string
	for _, e := range entries {
		name := e.Name()
		want, ok := malformed[name]
		if !ok {
			t.Errorf("%s has no expected error in the table", name)
			continue
		}
		path := filepath.Join(corpusDir, name)
		// The first load of each format pays for one-time set-up (protobuf
		// type tables); measure the second.
		loadMeasured(path)
		alloc, took, err, panicked := loadMeasured(path)
		if panicked != nil {
			panics++
			t.Errorf("%s: panic: %v", name, panicked)
			continue
		}
		if alloc > maxAlloc {
			maxAlloc, maxAllocFile = alloc, name
		}
		if took > maxTime {
			maxTime, maxTimeFile = took, name
		}
		if alloc > maxAllocPerFile {
			t.Errorf("%s: allocated %d bytes, more than %d", name, alloc, maxAllocPerFile)
		}
		if took > maxTimePerFile {
			t.Errorf("%s: took %v, more than %v", name, took, maxTimePerFile)
		}
		if err == nil {
			t.Errorf("%s: imported without error, want %q", name, want)
			continue
		}
		msg := err.Error()
		switch {
		case strings.Contains(msg, "internal error") || strings.Contains(msg, "reader fault"):
			panics++
			t.Errorf("%s: the importer's panic net caught a fault: %s", name, msg)
		case !strings.Contains(msg, want):
			t.Errorf("%s:\n got  %s\n want ...%s...", name, msg, want)
		case !strings.Contains(msg, name):
			t.Errorf("%s: error does not name the file: %s", name, msg)
		default:
			refused++
		}
	}
	t.Logf("%d files, %d refused with the expected message, %d panics; largest allocation %.1f KiB (%s), longest time %v (%s)",
		len(entries), refused, panics, float64(maxAlloc)/1024, maxAllocFile, maxTime.Round(time.Microsecond), maxTimeFile)
	if len(entries) < 50 {
		t.Errorf("corpus has %d files, want at least 50", len(entries))
	}
}

// loadMeasured runs importers.Load on path and returns the bytes allocated
// meanwhile, the time taken, the error, and a recovered panic.
func loadMeasured(path string) (alloc uint64, took time.Duration, err error, panicked any) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	func() {
		defer func() {
			if r := recover(); r != nil {
				panicked = fmt.Sprint(r)
			}
		}()
		_, err = importers.Load(path, importers.Options{})
	}()
	took = time.Since(start)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, took, err, panicked
}

// TestBaseModelsImport is the corpus's control: the models every corpus
// file is made from import and validate, so each file's defect is the one
// it was made with. The person_detect quirk (a per-channel axis outside a
// rank-1 bias whose length matches the scale count) is accepted with a
// warning.
func TestBaseModelsImport(t *testing.T) {
	quirk := int8TFLite()
	quirk.Tensors[5].QDim = 3
	for _, c := range []struct {
		name string
		data []byte
		warn string
	}{
		{"float.onnx", onnxtest.Marshal(floatONNX()), ""},
		{"quant.onnx", onnxtest.Marshal(quantONNX()), ""},
		{"float.tflite", floatTFLite().Build(), ""},
		{"int8.tflite", int8TFLite().Build(), ""},
		{"quirk.tflite", quirk.Build(), `tensor "dw_b": quantized_dimension 3 is outside its rank 1; using axis 0`},
	} {
		f, err := importers.Detect(c.name, c.data)
		if err != nil {
			t.Fatal(err)
		}
		var warnings []string
		g, err := f.Import(c.name, c.data, importers.Options{Warn: func(m string) { warnings = append(warnings, m) }})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if err := g.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		got := strings.Join(warnings, "\n")
		if (c.warn == "") != (got == "") || !strings.Contains(got, c.warn) {
			t.Errorf("%s: warnings %q, want %q", c.name, got, c.warn)
		}
	}
}
