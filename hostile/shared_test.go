package hostile

import (
	"fmt"
	"github.com/mnconv/mnconv/format/tflite/tflitetest"
	"strings"
	"testing"
	"time"

	flatbuffers "github.com/google/flatbuffers/go"
	"google.golang.org/protobuf/proto"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/format/onnx/onnxtest"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/importers"
)

// Files whose cost grows faster than their size unless the importer takes
// care: names that collide thousands of times (each needs a fresh suffix),
// and a TFLite buffer shared by thousands of tensors. Each must be handled
// in linear time and bounded allocation; they are generated in memory
// because they either import (so they are not malformed) or are slow to
// refuse by design (the constant budget is spent first).

// importMeasured imports data through the format its name selects.
func importMeasured(t *testing.T, name string, data []byte) (alloc uint64, took time.Duration, err error) {
	t.Helper()
	f, err := importers.Detect(name, data)
	if err != nil {
		t.Fatal(err)
	}
	alloc, took = Measure(func() { _, err = f.Import(name, data, importers.Options{}) })
	return alloc, took, err
}

func TestCollidingNames(t *testing.T) {
	const n = 20000
	m := &tflitetest.Model{Inputs: []int32{0}, Outputs: []int32{0}}
	for i := 0; i < n; i++ {
		m.Tensors = append(m.Tensors, tflitetest.Tensor{Name: "a", Type: fb.TensorTypeFLOAT32, Shape: []int32{1}})
	}
	g := &pb.GraphProto{Input: []*pb.ValueInfoProto{onnxtest.FloatValue("x", 1, 4)}}
	for i := 0; i < n; i++ {
		g.Output = append(g.Output, &pb.ValueInfoProto{Name: proto.String("x")})
	}
	for _, c := range []struct {
		name string
		data []byte
		want string // the error, "" when it imports
	}{
		{"same_names.tflite", m.Build(), ""},
		// An output listed twice is refused (issue 13), and quickly.
		{"outputs_named_like_input.onnx", onnxtest.Marshal(onnxModel(13, g)), `graph output "x" is listed twice`},
	} {
		alloc, took, err := importMeasured(t, c.name, c.data)
		t.Logf("%s (%d bytes, %d colliding names): %v, %.1f MiB allocated, error %v", c.name, len(c.data), n, took, float64(alloc)/(1<<20), err)
		if (err == nil) != (c.want == "") || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if took > 2*time.Second {
			t.Errorf("%s took %v: naming is not linear", c.name, took)
		}
	}
}

func TestSharedBuffer(t *testing.T) {
	// 2,200 tensors of 32 KiB each on one 32 KiB buffer: 69 MiB of
	// constants from a file of about 130 KB.
	const n, elems = 2200, 8192
	b := flatbuffers.NewBuilder(64 * n)
	var tensors []flatbuffers.UOffsetT
	inputs := make([]int32, n)
	for i := 0; i < n; i++ {
		tensors = append(tensors, bufferTensor(b, fmt.Sprintf("c%d", i), []int32{elems}, 0, 1))
		inputs[i] = int32(i)
	}
	tensors = append(tensors, plainTensor(b, "y", []int32{n * elems}, 0))
	ins, outs := i32vector(b, inputs), i32vector(b, []int32{n})
	fb.OperatorStart(b)
	fb.OperatorAddInputs(b, ins)
	fb.OperatorAddOutputs(b, outs)
	ops := repeated(b, fb.OperatorEnd(b), 1)
	data := finishModel(b, fb.BuiltinOperatorCONCATENATION, tensors, ops, nil, []int32{n}, tflitetest.Ramp(elems))

	alloc, took, err := importMeasured(t, "shared_buffer.tflite", data)
	t.Logf("%d bytes: %v, %.1f MiB allocated, error %v", len(data), took, float64(alloc)/(1<<20), err)
	if err == nil || !strings.Contains(err.Error(), "constants exceed the import's limit") {
		t.Errorf("want the constant budget's error, got %v", err)
	}
	// The allocation is the bound that matters; the time bound only catches
	// a blow-up (it takes about 0.3-0.5 s here, longer on a loaded CI runner).
	if alloc > 128<<20 || took > 10*time.Second {
		t.Errorf("refusing took %v and %d bytes", took, alloc)
	}
}
