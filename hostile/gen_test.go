package hostile

import (
	"bytes"
	"flag"
	"fmt"
	"github.com/mnconv/mnconv/format/tflite/tflitetest"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
	"google.golang.org/protobuf/proto"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/format/onnx/onnxtest"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
)

var update = flag.Bool("update", false, "rewrite testdata/malformed from the generator")

// corpusDir is the committed corpus, at the repository root.
const corpusDir = "../testdata/malformed"

// dirMarker is the file that keeps a corpus entry that must be a directory
// in git (which stores no empty folders).
const dirMarker = "README"

// corpusFile is one generated entry: a file's bytes, or a directory.
type corpusFile struct {
	Name string
	Data []byte
	Dir  bool
}

// generate builds every corpus entry from the base models, in a fixed
// order, deterministically.
func generate() []corpusFile {
	var out []corpusFile
	add := func(name string, data []byte) { out = append(out, corpusFile{Name: name, Data: data}) }

	// --- wrong kind of file -------------------------------------------
	goodONNX := onnxtest.Marshal(floatONNX())
	goodTFLite := floatTFLite().Build()
	add("empty.onnx", nil)
	add("empty.tflite", nil)
	add("blank.bin", []byte("   \n\t\n"))
	rnd := make([]byte, 512)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	// Start with a byte no format's magic accepts.
	rnd[0] = 0xff
	add("random.bin", rnd)
	out = append(out, corpusFile{Name: "directory.onnx", Dir: true,
		Data: []byte("A directory named like a model: importers.Load must say it is a directory.\n")})
	add("onnx_named.tflite", goodONNX)
	add("tflite_named.onnx", goodTFLite)
	add("png_named.onnx", pngBytes())
	add("jpeg_named.tflite", jpegBytes())
	add("text_named.tflite", []byte("this is not a model, just some text that is long enough\n"))

	// --- TFLite: flatbuffer structure ---------------------------------
	add("tfl_truncated_header.tflite", goodTFLite[:6])
	add("tfl_truncated_half.tflite", goodTFLite[:len(goodTFLite)/2])
	add("tfl_wrong_identifier.tflite", patch(goodTFLite, func(b []byte) { copy(b[4:8], "TFL2") }))
	add("tfl_root_past_end.tflite", patch(goodTFLite, func(b []byte) { putU32(b, 0, 0x7fff0000) }))
	add("tfl_root_misaligned.tflite", patch(goodTFLite, func(b []byte) { putU32(b, 0, uint32(u32(b, 0)+2)) }))
	add("tfl_vtable_bad.tflite", patch(goodTFLite, func(b []byte) {
		root := u32(b, 0)
		putU32(b, root, uint32(root)+0x100000) // soffset to a vtable before the file
	}))
	add("tfl_tensors_huge_count.tflite", patch(goodTFLite, func(b []byte) {
		putU32(b, vecAt(b, subgraph0(b), 0), 0x7fffffff)
	}))
	add("tfl_operators_count_past_end.tflite", patch(goodTFLite, func(b []byte) {
		putU32(b, vecAt(b, subgraph0(b), 3), 60000) // under the limit, past the end
	}))
	add("tfl_buffers_offset_bitflip.tflite", patch(goodTFLite, func(b []byte) {
		at := fieldPos(b, u32(b, 0), 4)
		b[at+3] ^= 0x40 // high bits of the uoffset to Model.buffers
	}))
	add("tfl_string_unterminated.tflite", patch(goodTFLite, func(b []byte) {
		name := target(b, tensorAt(b, 0), 3)
		b[name+4+u32(b, name)] = 'X'
	}))
	add("tfl_shared_tables.tflite", sharedTablesTFLite(3000))
	add("tfl_shared_op_inputs.tflite", sharedInputsTFLite(4000, 4096))
	add("tfl_shared_quant_scales.tflite", sharedQuantTFLite(40, 1<<12))
	add("tfl_rank9.tflite", tfl(func(m *tflitetest.Model) { m.Tensors[0].Shape = []int32{1, 1, 1, 1, 1, 8, 8, 3, 1} }))

	// --- TFLite: sizes and references ---------------------------------
	add("tfl_huge_shape.tflite", tfl(func(m *tflitetest.Model) { m.Tensors[0].Shape = []int32{1, 1 << 20, 1 << 20, 3} }))
	add("tfl_negative_dim.tflite", tfl(func(m *tflitetest.Model) { m.Tensors[0].Shape = []int32{1, -1, 8, 3} }))
	add("tfl_buffer_short.tflite", tfl(func(m *tflitetest.Model) { m.Tensors[1].Data = m.Tensors[1].Data[:100] }))
	add("tfl_buffer_offset_past_end.tflite", tfl(func(m *tflitetest.Model) {
		m.Tensors[1].Data, m.Tensors[1].Ext, m.Tensors[1].ExtOffset, m.Tensors[1].ExtSize = nil, true, 1<<40, 432
	}))
	add("tfl_buffer_size_huge.tflite", tfl(func(m *tflitetest.Model) {
		m.Tensors[1].Data, m.Tensors[1].Ext, m.Tensors[1].ExtOffset, m.Tensors[1].ExtSize = nil, true, 16, 1<<62
	}))
	add("tfl_opcode_index.tflite", tfl(func(m *tflitetest.Model) { idx := uint32(99); m.Ops[1].Opcode = &idx }))
	add("tfl_op_input_index.tflite", tfl(func(m *tflitetest.Model) { m.Ops[0].Inputs[0] = 999 }))
	add("tfl_graph_input_index.tflite", tfl(func(m *tflitetest.Model) { m.Inputs = []int32{50} }))
	add("tfl_graph_output_negative.tflite", tfl(func(m *tflitetest.Model) { m.Outputs = []int32{-7} }))
	add("tfl_cycle.tflite", cycleTFLite())
	add("tfl_schema_version_99.tflite", patch(tfl(func(*tflitetest.Model) {}), func(b []byte) {
		at := fieldPos(b, u32(b, 0), 0) // Model.version
		b[at], b[at+1], b[at+2], b[at+3] = 99, 0, 0, 0
	}))
	add("tfl_duplicate_output.tflite", tfl(func(m *tflitetest.Model) { m.Outputs = append(m.Outputs, m.Outputs[0]) }))
	add("tfl_two_producers.tflite", tfl(func(m *tflitetest.Model) { m.Ops = append(m.Ops, m.Ops[4]) }))
	add("tfl_output_is_constant.tflite", tfl(func(m *tflitetest.Model) { m.Ops[4].Outputs = []int32{8} }))
	add("tfl_float16.tflite", tfl(func(m *tflitetest.Model) { m.Tensors[0].Type = fb.TensorTypeFLOAT16 }))
	add("tfl_custom_op.tflite", tfl(func(m *tflitetest.Model) {
		m.Ops[4].Code, m.Ops[4].Custom, m.Ops[4].Opts = fb.BuiltinOperatorCUSTOM, "Frobnicate", nil
	}))

	// --- TFLite: op attributes ----------------------------------------
	add("tfl_conv_stride0.tflite", tfl(func(m *tflitetest.Model) {
		m.Ops[0].Opts = tflitetest.Conv2D(fb.PaddingSAME, 0, 1, fb.ActivationFunctionTypeNONE)
	}))
	add("tfl_conv_dilation0.tflite", tfl(func(m *tflitetest.Model) {
		m.Ops[0].Opts = tflitetest.Conv2D(fb.PaddingSAME, 2, 0, fb.ActivationFunctionTypeNONE)
	}))
	add("tfl_conv_kernel_too_large.tflite", tfl(func(m *tflitetest.Model) {
		m.Ops[0].Opts = tflitetest.Conv2D(fb.PaddingVALID, 1, 1, fb.ActivationFunctionTypeNONE)
		m.Tensors[1].Shape, m.Tensors[1].Data = []int32{4, 9, 9, 3}, tflitetest.Ramp(4*9*9*3)
	}))
	add("tfl_conv_channels.tflite", tfl(func(m *tflitetest.Model) {
		m.Tensors[1].Shape, m.Tensors[1].Data = []int32{4, 3, 3, 2}, tflitetest.Ramp(4*3*3*2)
	}))
	add("tfl_depthwise_channels.tflite", tflq(func(m *tflitetest.Model) {
		m.Tensors[4].Shape, m.Tensors[4].Data = []int32{1, 3, 3, 6}, make([]byte, 54)
		m.Tensors[4].Scale, m.Tensors[4].ZP = []float32{1, 1, 1, 1, 1, 1}, make([]int64, 6)
	}))

	// --- TFLite: quantization parameters ------------------------------
	add("tfl_scale_zero.tflite", tflq(func(m *tflitetest.Model) { m.Tensors[0].Scale = []float32{0} }))
	add("tfl_scale_negative.tflite", tflq(func(m *tflitetest.Model) { m.Tensors[3].Scale = []float32{-0.5} }))
	add("tfl_scale_nan.tflite", tflq(func(m *tflitetest.Model) { m.Tensors[1].Scale[2] = nan32 }))
	add("tfl_scale_inf.tflite", tflq(func(m *tflitetest.Model) { m.Tensors[6].Scale = []float32{inf32} }))
	add("tfl_zero_point_range.tflite", tflq(func(m *tflitetest.Model) { m.Tensors[0].ZP = []int64{200} }))
	add("tfl_zero_point_count.tflite", tflq(func(m *tflitetest.Model) { m.Tensors[1].ZP = []int64{0, 0} }))
	add("tfl_scale_count.tflite", tflq(func(m *tflitetest.Model) {
		m.Tensors[1].Scale, m.Tensors[1].ZP = []float32{0.1, 0.1, 0.1}, []int64{0, 0, 0}
	}))
	add("tfl_quant_dim_outside_rank.tflite", tflq(func(m *tflitetest.Model) { m.Tensors[1].QDim = 7 }))
	add("tfl_quant_dim_wrong_axis.tflite", tflq(func(m *tflitetest.Model) {
		m.Tensors[1].Scale, m.Tensors[1].ZP, m.Tensors[1].QDim = []float32{0.1, 0.1, 0.1}, []int64{0, 0, 0}, 1
	}))
	add("tfl_weight_zero_point.tflite", tflq(func(m *tflitetest.Model) { m.Tensors[1].ZP = []int64{0, 3, 0, 0} }))
	add("tfl_bias_zero_point.tflite", tflq(func(m *tflitetest.Model) { m.Tensors[2].ZP = []int64{5, 5, 5, 5} }))
	add("tfl_rank1_quirk_bad_count.tflite", tflq(func(m *tflitetest.Model) {
		// The person_detect quirk (axis 3 on a rank-1 bias) is accepted only
		// when the scale count matches the bias length.
		m.Tensors[5].Scale, m.Tensors[5].ZP, m.Tensors[5].QDim = []float32{0.1, 0.1, 0.1}, []int64{0, 0, 0}, 3
	}))

	// --- ONNX: protobuf structure -------------------------------------
	add("onnx_truncated_half.onnx", goodONNX[:len(goodONNX)/2])
	add("onnx_truncated_one_byte.onnx", goodONNX[:1])
	add("onnx_length_bitflip.onnx", patch(goodONNX, func(b []byte) {
		at := bytes.IndexByte(b, 0x3a) // ModelProto.graph, length-delimited
		b[at+1] |= 0x80                // the length varint now runs on
		b[at+2] |= 0x80
	}))
	add("onnx_huge_length.onnx", []byte{0x08, 0x08, 0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x00})
	add("onnx_deep_nesting.onnx", onnxtest.Marshal(onnxModel(13, onnxtest.Nested(100))))
	add("onnx_no_graph.onnx", onnxtest.Marshal(&pb.ModelProto{IrVersion: proto.Int64(8),
		OpsetImport: []*pb.OperatorSetIdProto{{Version: proto.Int64(13)}}}))
	add("onnx_no_ir_version.onnx", onnx(func(m *pb.ModelProto) { m.IrVersion = nil }))
	add("onnx_ir_version_99.onnx", onnx(func(m *pb.ModelProto) { m.IrVersion = proto.Int64(99) }))
	add("onnx_duplicate_output.onnx", onnx(func(m *pb.ModelProto) { m.Graph.Output = append(m.Graph.Output, m.Graph.Output[0]) }))
	add("onnx_opset_99.onnx", onnx(func(m *pb.ModelProto) { m.OpsetImport[0].Version = proto.Int64(99) }))
	add("onnx_no_default_opset.onnx", onnx(func(m *pb.ModelProto) { m.OpsetImport[0].Domain = proto.String("com.microsoft") }))

	// --- ONNX: graph references ---------------------------------------
	add("onnx_missing_tensor.onnx", onnx(func(m *pb.ModelProto) { m.Graph.Node[1].Input[0] = "ghost" }))
	add("onnx_cycle.onnx", onnx(func(m *pb.ModelProto) {
		// Relu reads what an Identity makes of Relu's own output.
		m.Graph.Node[1].Input[0] = "loop"
		m.Graph.Node = append(m.Graph.Node, onnxtest.Node("Identity", []string{"relu"}, []string{"loop"}))
	}))
	add("onnx_two_producers.onnx", onnx(func(m *pb.ModelProto) {
		m.Graph.Node = append(m.Graph.Node, onnxtest.Node("Sigmoid", []string{"logits"}, []string{"y"}))
	}))
	add("onnx_writes_input.onnx", onnx(func(m *pb.ModelProto) { m.Graph.Node[1].Output[0] = "x" }))
	add("onnx_no_outputs.onnx", onnx(func(m *pb.ModelProto) { m.Graph.Output = nil }))
	add("onnx_duplicate_initializer.onnx", onnx(func(m *pb.ModelProto) {
		m.Graph.Initializer = append(m.Graph.Initializer, onnxtest.FloatData("fc_b", 1, 2))
	}))
	add("onnx_unsupported_op.onnx", onnx(func(m *pb.ModelProto) { m.Graph.Node[1].OpType = proto.String("Frobnicate") }))
	add("onnx_unknown_domain.onnx", onnx(func(m *pb.ModelProto) { m.Graph.Node[1].Domain = proto.String("com.example") }))

	// --- ONNX: sizes --------------------------------------------------
	add("onnx_input_huge.onnx", onnx(func(m *pb.ModelProto) { m.Graph.Input[0] = onnxtest.FloatValue("x", 1, 3, 1<<20, 1<<20) }))
	add("onnx_input_overflow.onnx", onnx(func(m *pb.ModelProto) { m.Graph.Input[0] = onnxtest.FloatValue("x", 1, 3, 1<<62, 1<<62) }))
	add("onnx_input_rank9.onnx", onnx(func(m *pb.ModelProto) { m.Graph.Input[0] = onnxtest.FloatValue("x", 1, 3, 8, 8, 1, 1, 1, 1, 1) }))
	add("onnx_input_negative_dim.onnx", onnx(func(m *pb.ModelProto) { m.Graph.Input[0] = onnxtest.FloatValue("x", 1, 3, -8, 8) }))
	add("onnx_input_symbolic.onnx", onnx(func(m *pb.ModelProto) {
		m.Graph.Input[0].Type.GetTensorType().Shape.Dim[2].Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "height"}
	}))
	add("onnx_input_float16.onnx", onnx(func(m *pb.ModelProto) { m.Graph.Input[0] = onnxtest.Value("x", pb.TensorProto_FLOAT16, 1, 3, 8, 8) }))
	add("onnx_init_huge_declared.onnx", onnx(func(m *pb.ModelProto) {
		m.Graph.Initializer[1] = &pb.TensorProto{Name: proto.String("conv_b"), Dims: []int64{1 << 20, 1 << 20},
			DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), RawData: []byte{0, 0, 0, 0}}
	}))
	add("onnx_raw_data_short.onnx", onnx(func(m *pb.ModelProto) { m.Graph.Initializer[0].RawData = m.Graph.Initializer[0].RawData[:40] }))
	add("onnx_float_data_count.onnx", onnx(func(m *pb.ModelProto) {
		m.Graph.Initializer[1] = onnxtest.FloatData("conv_b", 1, 2, 3)
		m.Graph.Initializer[1].Dims = []int64{4}
	}))
	add("onnx_long_name.onnx", onnx(func(m *pb.ModelProto) { m.Graph.Node[1].Name = proto.String(strings.Repeat("n", 1<<16+1)) }))
	add("onnx_constant_of_shape_huge.onnx", onnx(func(m *pb.ModelProto) {
		// 2^30 elements from a 20-byte Shape: the constant folder's limit.
		m.Graph.Node[5] = onnxtest.Node("Add", []string{"logits", "big"}, []string{"y"})
		m.Graph.Node = append([]*pb.NodeProto{onnxtest.Node("ConstantOfShape", []string{"big_shape"}, []string{"big"})}, m.Graph.Node...)
		m.Graph.Initializer = append(m.Graph.Initializer, onnxtest.Int64Data("big_shape", 1<<15, 1<<15))
	}))

	// --- ONNX: external data ------------------------------------------
	external := func(loc string) []byte {
		return onnx(func(m *pb.ModelProto) {
			m.Graph.Initializer[0].RawData = nil
			m.Graph.Initializer[0].DataLocation = pb.TensorProto_EXTERNAL.Enum()
			m.Graph.Initializer[0].ExternalData = []*pb.StringStringEntryProto{
				{Key: proto.String("location"), Value: proto.String(loc)},
				{Key: proto.String("length"), Value: proto.String("432")},
			}
		})
	}
	add("onnx_external_traversal.onnx", external("../../../../etc/passwd"))
	add("onnx_external_absolute.onnx", external("/etc/shadow"))
	add("onnx_external_no_location_flag.onnx", onnx(func(m *pb.ModelProto) {
		m.Graph.Initializer[2].ExternalData = []*pb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("weights.bin")}}
	}))

	// --- ONNX: op attributes ------------------------------------------
	conv := func(f func(n *pb.NodeProto, g *pb.GraphProto)) []byte {
		return onnx(func(m *pb.ModelProto) { f(m.Graph.Node[0], m.Graph) })
	}
	setAttr := func(n *pb.NodeProto, a *pb.AttributeProto) {
		for i, old := range n.Attribute {
			if old.GetName() == a.GetName() {
				n.Attribute[i] = a
				return
			}
		}
		n.Attribute = append(n.Attribute, a)
	}
	add("onnx_conv_group.onnx", conv(func(n *pb.NodeProto, g *pb.GraphProto) { setAttr(n, onnxtest.AttrInt("group", 2)) }))
	add("onnx_conv_stride0.onnx", conv(func(n *pb.NodeProto, g *pb.GraphProto) { setAttr(n, onnxtest.AttrInts("strides", 0, 2)) }))
	add("onnx_conv_dilation0.onnx", conv(func(n *pb.NodeProto, g *pb.GraphProto) { setAttr(n, onnxtest.AttrInts("dilations", 1, 0)) }))
	add("onnx_conv_negative_pads.onnx", conv(func(n *pb.NodeProto, g *pb.GraphProto) { setAttr(n, onnxtest.AttrInts("pads", -1, 1, 1, 1)) }))
	add("onnx_conv_kernel_too_large.onnx", conv(func(n *pb.NodeProto, g *pb.GraphProto) {
		setAttr(n, onnxtest.AttrInts("pads", 0, 0, 0, 0))
		setAttr(n, onnxtest.AttrInts("kernel_shape", 9, 9))
		g.Initializer[0] = onnxtest.FloatInit("conv_w", []int64{4, 3, 9, 9}, onnxtest.Ramp)
	}))
	add("onnx_conv_weight_rank3.onnx", conv(func(n *pb.NodeProto, g *pb.GraphProto) {
		n.Attribute = n.Attribute[:1]
		g.Initializer[0] = onnxtest.FloatInit("conv_w", []int64{4, 3, 9}, onnxtest.Ramp)
	}))
	add("onnx_attr_wrong_type.onnx", conv(func(n *pb.NodeProto, g *pb.GraphProto) { setAttr(n, onnxtest.AttrFloat("group", 1)) }))
	add("onnx_reshape_mismatch.onnx", onnx(func(m *pb.ModelProto) {
		m.Graph.Node[3] = onnxtest.Node("Reshape", []string{"pool", "s"}, []string{"flat"})
		m.Graph.Initializer = append(m.Graph.Initializer, onnxtest.Int64Data("s", 1, 5))
	}))

	// --- ONNX: quantization parameters --------------------------------
	quant := func(f func(inits map[string]*pb.TensorProto)) []byte {
		m := quantONNX()
		inits := map[string]*pb.TensorProto{}
		for _, t := range m.Graph.Initializer {
			inits[t.GetName()] = t
		}
		f(inits)
		return onnxtest.Marshal(m)
	}
	add("onnx_quant_scale_zero.onnx", quant(func(in map[string]*pb.TensorProto) { in["x_s"].FloatData = []float32{0} }))
	add("onnx_quant_scale_negative.onnx", quant(func(in map[string]*pb.TensorProto) { in["y_s"].FloatData = []float32{-1} }))
	add("onnx_quant_scale_nan.onnx", quant(func(in map[string]*pb.TensorProto) { in["w_s"].FloatData[1] = nan32 }))
	add("onnx_quant_scale_inf.onnx", quant(func(in map[string]*pb.TensorProto) { in["y_s"].FloatData = []float32{inf32} }))
	add("onnx_quant_zero_point_range.onnx", quant(func(in map[string]*pb.TensorProto) { in["y_z"].Int32Data = []int32{300} }))
	add("onnx_quant_scale_count.onnx", quant(func(in map[string]*pb.TensorProto) {
		in["w_s"].FloatData, in["w_s"].Dims = []float32{0.1, 0.1, 0.1}, []int64{3}
		in["w_z"].Int32Data, in["w_z"].Dims = []int32{0, 0, 0}, []int64{3}
	}))
	add("onnx_quant_zero_point_shape.onnx", quant(func(in map[string]*pb.TensorProto) {
		in["w_z"].Int32Data, in["w_z"].Dims = []int32{0, 0}, []int64{2}
	}))
	return out
}

// onnx returns the float ONNX base model changed by f.
func onnx(f func(m *pb.ModelProto)) []byte {
	m := floatONNX()
	f(m)
	return onnxtest.Marshal(m)
}

// tfl and tflq return the float and the int8 TFLite base models changed by f.
func tfl(f func(m *tflitetest.Model)) []byte {
	m := floatTFLite()
	f(m)
	return m.Build()
}

func tflq(f func(m *tflitetest.Model)) []byte {
	m := int8TFLite()
	f(m)
	return m.Build()
}

// patch returns a copy of b changed by f.
func patch(b []byte, f func(b []byte)) []byte {
	c := slices.Clone(b)
	f(c)
	return c
}

// Flatbuffer navigation in a valid file, for the byte-level corruptions.

// fieldPos is the position of field id of the table at pos (-1 if absent).
func fieldPos(b []byte, pos int64, id int) int64 {
	vt := pos - int64(int32(u32(b, pos)))
	vtSize := int64(b[vt]) | int64(b[vt+1])<<8
	slot := 4 + 2*int64(id)
	if slot+2 > vtSize {
		return -1
	}
	off := int64(b[vt+slot]) | int64(b[vt+slot+1])<<8
	if off == 0 {
		return -1
	}
	return pos + off
}

// target follows the uoffset field id of the table at pos.
func target(b []byte, pos int64, id int) int64 {
	at := fieldPos(b, pos, id)
	return at + u32(b, at)
}

// vecAt is the position of the vector that field id of the table at pos
// refers to (its length word).
func vecAt(b []byte, pos int64, id int) int64 { return target(b, pos, id) }

// elemAt is the table at entry i of the table vector at vec.
func elemAt(b []byte, vec int64, i int) int64 {
	at := vec + 4 + 4*int64(i)
	return at + u32(b, at)
}

func subgraph0(b []byte) int64 { return elemAt(b, vecAt(b, u32(b, 0), 2), 0) }

func tensorAt(b []byte, i int) int64 { return elemAt(b, vecAt(b, subgraph0(b), 0), i) }

// cycleTFLite is a = ADD(x, b); b = RELU(a): ADD reads what the next
// operator writes, shapes all agree.
func cycleTFLite() []byte {
	f32 := fb.TensorTypeFLOAT32
	m := &tflitetest.Model{
		Tensors: []tflitetest.Tensor{
			{Name: "x", Type: f32, Shape: []int32{1, 4}},
			{Name: "a", Type: f32, Shape: []int32{1, 4}},
			{Name: "b", Type: f32, Shape: []int32{1, 4}},
		},
		Ops: []tflitetest.Op{
			{Code: fb.BuiltinOperatorADD, Inputs: []int32{0, 2}, Outputs: []int32{1}},
			{Code: fb.BuiltinOperatorRELU, Inputs: []int32{1}, Outputs: []int32{2}},
		},
		Inputs: []int32{0}, Outputs: []int32{2},
	}
	return m.Build()
}

// sharedTablesTFLite is a small file whose tensors vector lists one tensor
// table n times: each entry is valid, but walking them all would visit
// more tables than the file has bytes for.
func sharedTablesTFLite(n int) []byte {
	b := flatbuffers.NewBuilder(4 * n)
	b.StartVector(4, 1, 4)
	b.PrependFloat32(0.5)
	scales := b.EndVector(1)
	fb.QuantizationParametersStart(b)
	fb.QuantizationParametersAddScale(b, scales)
	quant := fb.QuantizationParametersEnd(b)
	name := b.CreateString("t")
	fb.TensorStart(b)
	fb.TensorAddName(b, name)
	fb.TensorAddType(b, fb.TensorTypeINT8)
	fb.TensorAddQuantization(b, quant)
	tensor := fb.TensorEnd(b)
	b.StartVector(4, n, 4)
	for i := 0; i < n; i++ {
		b.PrependUOffsetT(tensor)
	}
	tensors := b.EndVector(n)
	fb.SubGraphStart(b)
	fb.SubGraphAddTensors(b, tensors)
	sg := fb.SubGraphEnd(b)
	b.StartVector(4, 1, 4)
	b.PrependUOffsetT(sg)
	sgs := b.EndVector(1)
	fb.ModelStart(b)
	fb.ModelAddVersion(b, 3)
	fb.ModelAddSubgraphs(b, sgs)
	b.FinishWithFileIdentifier(fb.ModelEnd(b), []byte(fb.FileIdentifier))
	return b.FinishedBytes()
}

// sharedInputsTFLite lists one CONCATENATION operator nOps times, whose
// inputs vector names tensor 0 nIn times: 16 bytes of file per operator,
// nIn tensor references each.
func sharedInputsTFLite(nOps, nIn int) []byte {
	b := flatbuffers.NewBuilder(4*nOps + 4*nIn + 1024)
	ins := i32vector(b, make([]int32, nIn))
	outs := i32vector(b, []int32{1})
	fb.OperatorStart(b)
	fb.OperatorAddOpcodeIndex(b, 0)
	fb.OperatorAddInputs(b, ins)
	fb.OperatorAddOutputs(b, outs)
	op := fb.OperatorEnd(b)
	ops := repeated(b, op, nOps)
	x := plainTensor(b, "x", []int32{1, 1}, 0)
	y := plainTensor(b, "y", []int32{1, int32(nIn)}, 0)
	return finishModel(b, fb.BuiltinOperatorCONCATENATION, []flatbuffers.UOffsetT{x, y}, ops, []int32{0}, []int32{1}, nil)
}

// sharedQuantTFLite has nTensors graph inputs whose quantization tables are
// one table holding nScales scales and zero points.
func sharedQuantTFLite(nTensors, nScales int) []byte {
	b := flatbuffers.NewBuilder(12*nScales + 64*nTensors + 1024)
	b.StartVector(4, nScales, 4)
	for i := 0; i < nScales; i++ {
		b.PrependFloat32(0.5)
	}
	scales := b.EndVector(nScales)
	b.StartVector(8, nScales, 8)
	for i := 0; i < nScales; i++ {
		b.PrependInt64(0)
	}
	zps := b.EndVector(nScales)
	fb.QuantizationParametersStart(b)
	fb.QuantizationParametersAddScale(b, scales)
	fb.QuantizationParametersAddZeroPoint(b, zps)
	quant := fb.QuantizationParametersEnd(b)
	var tensors []flatbuffers.UOffsetT
	var inputs []int32
	for i := 0; i < nTensors; i++ {
		tensors = append(tensors, plainTensor(b, fmt.Sprintf("t%d", i), []int32{int32(nScales)}, quant))
		inputs = append(inputs, int32(i))
	}
	return finishModel(b, fb.BuiltinOperatorRELU, tensors, repeated(b, 0, 0), inputs, inputs[:1], nil)
}

func i32vector(b *flatbuffers.Builder, v []int32) flatbuffers.UOffsetT {
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt32(v[i])
	}
	return b.EndVector(len(v))
}

// repeated is a vector holding the offset off n times.
func repeated(b *flatbuffers.Builder, off flatbuffers.UOffsetT, n int) flatbuffers.UOffsetT {
	b.StartVector(4, n, 4)
	for i := 0; i < n; i++ {
		b.PrependUOffsetT(off)
	}
	return b.EndVector(n)
}

// plainTensor is an int8 tensor table (float32 when quant is 0).
func plainTensor(b *flatbuffers.Builder, name string, shape []int32, quant flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	return bufferTensor(b, name, shape, quant, 0)
}

// bufferTensor is plainTensor with its data in buffer buf.
func bufferTensor(b *flatbuffers.Builder, name string, shape []int32, quant flatbuffers.UOffsetT, buf uint32) flatbuffers.UOffsetT {
	s := i32vector(b, shape)
	n := b.CreateString(name)
	fb.TensorStart(b)
	fb.TensorAddShape(b, s)
	fb.TensorAddName(b, n)
	fb.TensorAddBuffer(b, buf)
	if quant != 0 {
		fb.TensorAddType(b, fb.TensorTypeINT8)
		fb.TensorAddQuantization(b, quant)
	} else {
		fb.TensorAddType(b, fb.TensorTypeFLOAT32)
	}
	return fb.TensorEnd(b)
}

// finishModel wraps tensors and an operators vector into a one-subgraph
// model with one operator code, the empty buffer 0 and, when data is not
// nil, buffer 1 holding data.
func finishModel(b *flatbuffers.Builder, code fb.BuiltinOperator, tensors []flatbuffers.UOffsetT, ops flatbuffers.UOffsetT, inputs, outputs []int32, data []byte) []byte {
	b.StartVector(4, len(tensors), 4)
	for i := len(tensors) - 1; i >= 0; i-- {
		b.PrependUOffsetT(tensors[i])
	}
	tv := b.EndVector(len(tensors))
	in, out := i32vector(b, inputs), i32vector(b, outputs)
	fb.SubGraphStart(b)
	fb.SubGraphAddTensors(b, tv)
	fb.SubGraphAddInputs(b, in)
	fb.SubGraphAddOutputs(b, out)
	fb.SubGraphAddOperators(b, ops)
	sg := fb.SubGraphEnd(b)
	sgs := repeated(b, sg, 1)
	fb.OperatorCodeStart(b)
	fb.OperatorCodeAddBuiltinCode(b, code)
	fb.OperatorCodeAddDeprecatedBuiltinCode(b, int8(code))
	codes := repeated(b, fb.OperatorCodeEnd(b), 1)
	var buf1 flatbuffers.UOffsetT
	if data != nil {
		d := b.CreateByteVector(data)
		fb.BufferStart(b)
		fb.BufferAddData(b, d)
		buf1 = fb.BufferEnd(b)
	}
	fb.BufferStart(b)
	buf0 := fb.BufferEnd(b)
	b.StartVector(4, 2, 4)
	if data != nil {
		b.PrependUOffsetT(buf1)
	}
	b.PrependUOffsetT(buf0)
	bufs := b.EndVector(1 + min(len(data), 1))
	fb.ModelStart(b)
	fb.ModelAddVersion(b, 3)
	fb.ModelAddOperatorCodes(b, codes)
	fb.ModelAddSubgraphs(b, sgs)
	fb.ModelAddBuffers(b, bufs)
	b.FinishWithFileIdentifier(fb.ModelEnd(b), []byte(fb.FileIdentifier))
	return b.FinishedBytes()
}

func testImage() image.Image {
	m := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			m.Set(x, y, color.RGBA{uint8(32 * x), uint8(32 * y), 128, 255})
		}
	}
	return m
}

func pngBytes() []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage()); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func jpegBytes() []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(), &jpeg.Options{Quality: 80}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// TestCorpusUpToDate checks the committed corpus against the generator;
// with -update it rewrites the folder (removing files the generator no
// longer makes).
func TestCorpusUpToDate(t *testing.T) {
	files := generate()
	seen := map[string]bool{}
	total := 0
	for _, f := range files {
		if seen[f.Name] {
			t.Fatalf("generator makes %s twice", f.Name)
		}
		seen[f.Name] = true
		total += len(f.Data)
	}
	if total >= 1<<20 {
		t.Errorf("corpus is %d bytes; keep it under 1 MiB", total)
	}
	if *update {
		writeCorpus(t, files)
	}
	for _, f := range files {
		path := filepath.Join(corpusDir, f.Name)
		if f.Dir {
			path = filepath.Join(path, dirMarker)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run go test ./hostile -run TestCorpusUpToDate -update)", err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s differs from what the generator makes (run go test ./hostile -run TestCorpusUpToDate -update)", path)
		}
	}
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !seen[e.Name()] {
			t.Errorf("%s is not made by the generator", filepath.Join(corpusDir, e.Name()))
		}
	}
	t.Logf("%d entries, %d bytes", len(files), total)
}

func writeCorpus(t *testing.T, files []corpusFile) {
	if err := os.RemoveAll(corpusDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(corpusDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		path := filepath.Join(corpusDir, f.Name)
		if f.Dir {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
			path = filepath.Join(path, dirMarker)
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Fprintf(os.Stderr, "wrote %d entries to %s\n", len(files), corpusDir)
}
