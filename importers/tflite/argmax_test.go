package tflite

import (
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/format/tflite/tflitetest"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/ir"
)

// argMaxModel is u8 logits [1,3,3,21] -> ARG_MAX over a scalar int32 axis
// 3, as deeplabv3_mnv2_pascal_quant writes it; out is the output's type and
// opts its options (nil: none).
func argMaxModel(out fb.TensorType, opts tflitetest.Options) *tflitetest.Model {
	op := tflitetest.Op{Code: fb.BuiltinOperatorARG_MAX, Inputs: []int32{0, 1}, Outputs: []int32{2}}
	if opts != nil {
		op.OptType, op.Opts = fb.BuiltinOptionsArgMaxOptions, opts
	}
	return &tflitetest.Model{
		Tensors: []tflitetest.Tensor{
			{Name: "logits", Type: fb.TensorTypeUINT8, Shape: []int32{1, 3, 3, 21}, Scale: []float32{0.2014984}, ZP: []int64{36}},
			{Name: "ArgMax/dimension", Type: fb.TensorTypeINT32, Shape: []int32{}, Data: tflitetest.I32(3)},
			{Name: "ArgMax", Type: out, Shape: []int32{1, 3, 3}},
		},
		Ops:    []tflitetest.Op{op},
		Inputs: []int32{0}, Outputs: []int32{2},
	}
}

func outputType(t fb.TensorType) tflitetest.Options {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.ArgMaxOptionsStart(b)
		fb.ArgMaxOptionsAddOutputType(b, t)
		return fb.ArgMaxOptionsEnd(b)
	}
}

// ARG_MAX's output type comes from output_type, or from the output tensor
// where a file writes no options or leaves output_type at its default.
func TestImportArgMax(t *testing.T) {
	empty := func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		fb.ArgMaxOptionsStart(b)
		return fb.ArgMaxOptionsEnd(b)
	}
	for _, c := range []struct {
		name string
		m    *tflitetest.Model
		want ir.DType
		err  string
	}{
		{"deeplab_int64", argMaxModel(fb.TensorTypeINT64, outputType(fb.TensorTypeINT64)), ir.Int64, ""},
		{"int32", argMaxModel(fb.TensorTypeINT32, outputType(fb.TensorTypeINT32)), ir.Int32, ""},
		{"no_options", argMaxModel(fb.TensorTypeINT32, nil), ir.Int32, ""},
		{"default_output_type", argMaxModel(fb.TensorTypeINT64, empty), ir.Int64, ""},
		{"mismatch", argMaxModel(fb.TensorTypeINT32, outputType(fb.TensorTypeINT64)), 0, `(ARG_MAX): output_type INT64 does not match output "ArgMax" of type int32`},
		{"float_output", argMaxModel(fb.TensorTypeFLOAT32, nil), 0, `output "ArgMax" is float32, want int32 or int64`},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := Import("argmax.tflite", c.m.Build(), importers.Options{})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n := g.Nodes[0]
			a := n.Attrs.(*ir.ArgMaxAttrs)
			if len(g.Nodes) != 1 || n.Op != ir.OpArgMax || a.Axis != 3 || a.KeepDims || a.OutputType != c.want || n.Out().DType != c.want {
				t.Errorf("got %s", g.Dump())
			}
		})
	}
}
