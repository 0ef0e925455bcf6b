package tflite

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/mnconv/mnconv/format/tflite/tflitefb"
)

// The flatc-generated readers trust every offset they follow and panic (or,
// where 32-bit offsets wrap, read the wrong bytes) on a corrupt file. Verify
// walks every table, vector and string the importer reads, before it reads
// anything, and checks it against the buffer: offsets in bounds (computed in
// 64 bits), tables and vectors aligned, vtables well formed, each field
// inside its table, vector lengths times element size inside the buffer,
// strings terminated, nesting, the number of tables visited and the bytes
// of vectors reached (shared ones counted at each use) bounded, and the
// counts in limits.go respected. After Verify accepts a buffer the
// generated readers cannot fault on the parts this spec describes, so the
// spec must name every field the importer reads.

// fieldKind says how a field is stored.
type fieldKind uint8

const (
	scalarField      fieldKind = iota // inline, size bytes
	stringField                       // offset to a length-prefixed, NUL-terminated string
	vectorField                       // offset to a vector of size-byte scalars
	tableField                        // offset to a table
	tableVectorField                  // offset to a vector of offsets to tables
	unionField                        // offset to a table whose type is the ubyte field just before
)

type fieldSpec struct {
	name   string
	full   string // "Table.field", for messages (set by init)
	id     int    // field index in the schema (vtable slot 4+2*id)
	kind   fieldKind
	size   int // scalar size, or vector element size
	maxLen int // vectors and strings: most elements (bytes) allowed
	table  *tableSpec
	union  map[tflitefb.BuiltinOptions]*tableSpec
}

type tableSpec struct {
	name   string
	fields []fieldSpec
	// what names the table and its vtable in messages (set by init).
	what, vtWhat string
}

// init adds the options tables of OpCodes' rows to the spec and fills in
// the message names once, so that the walk builds no strings
// unless it fails.
func init() {
	for _, r := range OpCodes {
		if r.Options == tflitefb.BuiltinOptionsNONE {
			continue
		}
		t := &tableSpec{name: tflitefb.EnumNamesBuiltinOptions[r.Options]}
		for id, f := range r.Fields {
			t.fields = append(t.fields, scalar(f.Name, id, f.Size))
		}
		if old, ok := builtinOptionsSpecs[r.Options]; ok && !slices.EqualFunc(old.fields, t.fields, sameScalar) {
			panic(fmt.Sprintf("tflite: %s has two descriptions", t.name))
		}
		builtinOptionsSpecs[r.Options] = t
	}
	var visit func(t *tableSpec)
	visit = func(t *tableSpec) {
		if t.what != "" {
			return
		}
		t.what, t.vtWhat = t.name+" table", t.name+" vtable"
		for i := range t.fields {
			f := &t.fields[i]
			f.full = t.name + "." + f.name
			if f.table != nil {
				visit(f.table)
			}
			for _, u := range f.union {
				visit(u)
			}
		}
	}
	visit(modelSpec)
}

func sameScalar(a, b fieldSpec) bool {
	return a.name == b.name && a.id == b.id && a.kind == b.kind && a.size == b.size
}

func scalar(name string, id, size int) fieldSpec {
	return fieldSpec{name: name, id: id, kind: scalarField, size: size}
}

func str(name string, id, maxLen int) fieldSpec {
	return fieldSpec{name: name, id: id, kind: stringField, maxLen: maxLen}
}

func vec(name string, id, size, maxLen int) fieldSpec {
	return fieldSpec{name: name, id: id, kind: vectorField, size: size, maxLen: maxLen}
}

func tab(name string, id int, t *tableSpec) fieldSpec {
	return fieldSpec{name: name, id: id, kind: tableField, table: t}
}

func tabs(name string, id, maxLen int, t *tableSpec) fieldSpec {
	return fieldSpec{name: name, id: id, kind: tableVectorField, maxLen: maxLen, table: t}
}

// The spec mirrors schema.fbs for the fields the importer reads (and a few
// it does not, so that their presence can be tested safely).
var (
	quantSpec = &tableSpec{name: "QuantizationParameters", fields: []fieldSpec{
		vec("min", 0, 4, maxVectorLen),
		vec("max", 1, 4, maxVectorLen),
		vec("scale", 2, 4, maxVectorLen),
		vec("zero_point", 3, 8, maxVectorLen),
		scalar("details_type", 4, 1),
		scalar("quantized_dimension", 6, 4),
	}}
	tensorSpec = &tableSpec{name: "Tensor", fields: []fieldSpec{
		vec("shape", 0, 4, MaxRank),
		scalar("type", 1, 1),
		scalar("buffer", 2, 4),
		str("name", 3, maxNameBytes),
		tab("quantization", 4, quantSpec),
		scalar("is_variable", 5, 1),
		tab("sparsity", 6, &tableSpec{name: "SparsityParameters"}),
		vec("shape_signature", 7, 4, MaxRank),
	}}
	conv2DSpec = &tableSpec{name: "Conv2DOptions", fields: []fieldSpec{
		scalar("padding", 0, 1), scalar("stride_w", 1, 4), scalar("stride_h", 2, 4),
		scalar("fused_activation_function", 3, 1),
		scalar("dilation_w_factor", 4, 4), scalar("dilation_h_factor", 5, 4),
	}}
	depthwiseSpec = &tableSpec{name: "DepthwiseConv2DOptions", fields: []fieldSpec{
		scalar("padding", 0, 1), scalar("stride_w", 1, 4), scalar("stride_h", 2, 4),
		scalar("depth_multiplier", 3, 4), scalar("fused_activation_function", 4, 1),
		scalar("dilation_w_factor", 5, 4), scalar("dilation_h_factor", 6, 4),
	}}
	fullyConnectedSpec = &tableSpec{name: "FullyConnectedOptions", fields: []fieldSpec{
		scalar("fused_activation_function", 0, 1), scalar("weights_format", 1, 1),
		scalar("keep_num_dims", 2, 1), scalar("asymmetric_quantize_inputs", 3, 1),
	}}
	emptySpec = func(name string) *tableSpec { return &tableSpec{name: name} }

	// builtinOptionsSpecs are the options tables of builtins without a
	// one-to-one row, and those a file may carry where the row says NONE;
	// init adds the rows' tables from their Fields.
	builtinOptionsSpecs = map[tflitefb.BuiltinOptions]*tableSpec{
		tflitefb.BuiltinOptionsConv2DOptions:          conv2DSpec,
		tflitefb.BuiltinOptionsDepthwiseConv2DOptions: depthwiseSpec,
		tflitefb.BuiltinOptionsFullyConnectedOptions:  fullyConnectedSpec,
		tflitefb.BuiltinOptionsReshapeOptions:         {name: "ReshapeOptions", fields: []fieldSpec{vec("new_shape", 0, 4, MaxRank)}},
		tflitefb.BuiltinOptionsSqueezeOptions:         {name: "SqueezeOptions", fields: []fieldSpec{vec("squeeze_dims", 0, 4, MaxRank)}},
		tflitefb.BuiltinOptionsPadOptions:             emptySpec("PadOptions"),
		tflitefb.BuiltinOptionsPadV2Options:           emptySpec("PadV2Options"),
		tflitefb.BuiltinOptionsTransposeOptions:       emptySpec("TransposeOptions"),
		tflitefb.BuiltinOptionsQuantizeOptions:        emptySpec("QuantizeOptions"),
		tflitefb.BuiltinOptionsDequantizeOptions:      emptySpec("DequantizeOptions"),
		tflitefb.BuiltinOptionsHardSwishOptions:       emptySpec("HardSwishOptions"),
		tflitefb.BuiltinOptionsResizeBilinearOptions: {name: "ResizeBilinearOptions", fields: []fieldSpec{
			scalar("new_height", 0, 4), scalar("new_width", 1, 4), scalar("align_corners", 2, 1), scalar("half_pixel_centers", 3, 1)}},
		tflitefb.BuiltinOptionsResizeNearestNeighborOptions: {name: "ResizeNearestNeighborOptions", fields: []fieldSpec{
			scalar("align_corners", 0, 1), scalar("half_pixel_centers", 1, 1)}},
		// The shape computations folded at import (importers/tflite fold.go).
		tflitefb.BuiltinOptionsStridedSliceOptions: {name: "StridedSliceOptions", fields: []fieldSpec{
			scalar("begin_mask", 0, 4), scalar("end_mask", 1, 4), scalar("ellipsis_mask", 2, 4),
			scalar("new_axis_mask", 3, 4), scalar("shrink_axis_mask", 4, 4), scalar("offset", 5, 1)}},
		tflitefb.BuiltinOptionsTileOptions:  emptySpec("TileOptions"),
		tflitefb.BuiltinOptionsShapeOptions: {name: "ShapeOptions", fields: []fieldSpec{scalar("out_type", 0, 1)}},
		tflitefb.BuiltinOptionsPackOptions:  {name: "PackOptions", fields: []fieldSpec{scalar("values_count", 0, 4), scalar("axis", 1, 4)}},
	}
	operatorSpec = &tableSpec{name: "Operator", fields: []fieldSpec{
		scalar("opcode_index", 0, 4),
		vec("inputs", 1, 4, MaxOpTensors),
		vec("outputs", 2, 4, MaxOpTensors),
		scalar("builtin_options_type", 3, 1),
		{name: "builtin_options", id: 4, kind: unionField, union: builtinOptionsSpecs},
		vec("custom_options", 5, 1, maxFileBytes),
		vec("intermediates", 8, 4, MaxOpTensors),
		scalar("large_custom_options_offset", 9, 8),
		scalar("large_custom_options_size", 10, 8),
	}}
	subGraphSpec = &tableSpec{name: "SubGraph", fields: []fieldSpec{
		tabs("tensors", 0, maxTensors, tensorSpec),
		vec("inputs", 1, 4, maxTensors),
		vec("outputs", 2, 4, maxTensors),
		tabs("operators", 3, maxOperators, operatorSpec),
		str("name", 4, maxNameBytes),
	}}
	modelSpec = &tableSpec{name: "Model", fields: []fieldSpec{
		scalar("version", 0, 4),
		tabs("operator_codes", 1, maxOpcodes, &tableSpec{name: "OperatorCode", fields: []fieldSpec{
			scalar("deprecated_builtin_code", 0, 1),
			str("custom_code", 1, maxNameBytes),
			scalar("version", 2, 4),
			scalar("builtin_code", 3, 4),
		}}),
		tabs("subgraphs", 2, maxSubgraphs, subGraphSpec),
		str("description", 3, maxDescriptionBytes),
		tabs("buffers", 4, maxBuffers, &tableSpec{name: "Buffer", fields: []fieldSpec{
			vec("data", 0, 1, maxFileBytes),
			scalar("offset", 1, 8),
			scalar("size", 2, 8),
		}}),
	}}
)

// verifier walks one buffer.
type verifier struct {
	buf    []byte
	budget int // tables left to visit
	// bytes is what is left of the vector budget: every vector and string
	// the walk reaches spends its size, once per time it is reached.
	bytes int64
}

// Verify checks buf as a TFLite model before the generated readers touch
// it. Its errors say "corrupt file" and where; callers add the file name.
func Verify(buf []byte) error {
	if len(buf) > maxFileBytes {
		return fmt.Errorf("file is %d bytes, more than the %d-byte limit", len(buf), maxFileBytes)
	}
	if len(buf) < 8 {
		return fmt.Errorf("corrupt file: %d bytes is too short for a flatbuffer header", len(buf))
	}
	if id := string(buf[4:8]); id != tflitefb.FileIdentifier {
		return fmt.Errorf("not a TFLite model: file identifier %q, want %q", id, tflitefb.FileIdentifier)
	}
	v := &verifier{buf: buf, budget: max(minTableBudget, len(buf)/4), bytes: vectorBudget(len(buf))}
	root, err := v.offset(0, "root offset")
	if err != nil {
		return err
	}
	return v.table(root, modelSpec, 0)
}

func (v *verifier) u16(at int64) int64 { return int64(binary.LittleEndian.Uint16(v.buf[at:])) }
func (v *verifier) u32(at int64) int64 { return int64(binary.LittleEndian.Uint32(v.buf[at:])) }

// need checks that n bytes at at lie inside the buffer.
func (v *verifier) need(at, n int64, what string) error {
	if at < 0 || n < 0 || at > int64(len(v.buf)) || n > int64(len(v.buf))-at {
		return fmt.Errorf("corrupt file: %s at offset %d (%d bytes) runs past the end of the %d-byte file", what, at, n, len(v.buf))
	}
	return nil
}

func (v *verifier) aligned(at, align int64, what string) error {
	if at%align != 0 {
		return fmt.Errorf("corrupt file: %s at offset %d is not %d-byte aligned", what, at, align)
	}
	return nil
}

// offset follows the uoffset stored at at and returns its target.
func (v *verifier) offset(at int64, what string) (int64, error) {
	if err := v.aligned(at, 4, what); err != nil {
		return 0, err
	}
	if err := v.need(at, 4, what); err != nil {
		return 0, err
	}
	target := at + v.u32(at)
	if target >= int64(len(v.buf)) {
		return 0, fmt.Errorf("corrupt file: %s at offset %d points to %d, past the end of the %d-byte file", what, at, target, len(v.buf))
	}
	return target, nil
}

// table checks the table at pos and, recursively, the fields spec names.
func (v *verifier) table(pos int64, spec *tableSpec, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("corrupt file: %s table at offset %d is nested more than %d deep", spec.name, pos, maxDepth)
	}
	v.budget--
	if v.budget < 0 {
		return fmt.Errorf("corrupt file: more tables than a file of %d bytes can hold (tables are shared)", len(v.buf))
	}
	if err := v.aligned(pos, 4, spec.what); err != nil {
		return err
	}
	if err := v.need(pos, 4, spec.what); err != nil {
		return err
	}
	vt := pos - int64(int32(v.u32(pos)))
	what := spec.vtWhat
	if err := v.aligned(vt, 2, what); err != nil {
		return err
	}
	if err := v.need(vt, 4, what); err != nil {
		return err
	}
	vtSize, objSize := v.u16(vt), v.u16(vt+2)
	if vtSize < 4 || vtSize%2 != 0 {
		return fmt.Errorf("corrupt file: %s at offset %d has size %d", what, vt, vtSize)
	}
	if err := v.need(vt, vtSize, what); err != nil {
		return err
	}
	if objSize < 4 {
		return fmt.Errorf("corrupt file: %s table at offset %d has size %d", spec.name, pos, objSize)
	}
	if err := v.need(pos, objSize, spec.what); err != nil {
		return err
	}
	// fieldAt returns the field's position, or -1 when the vtable leaves
	// it out.
	fieldAt := func(id int) int64 {
		slot := int64(4 + 2*id)
		if slot+2 > vtSize {
			return -1
		}
		off := v.u16(vt + slot)
		if off == 0 {
			return -1
		}
		return pos + off
	}
	for i := range spec.fields {
		f := &spec.fields[i]
		at := fieldAt(f.id)
		if at < 0 {
			continue
		}
		name := f.full
		width := int64(4)
		if f.kind == scalarField {
			width = int64(f.size)
		}
		if at+width > pos+objSize {
			return fmt.Errorf("corrupt file: field %s at offset %d lies outside its %d-byte table", name, at, objSize)
		}
		if err := v.aligned(at, width, name); err != nil {
			return err
		}
		if f.kind == scalarField {
			continue
		}
		target, err := v.offset(at, name)
		if err != nil {
			return err
		}
		switch f.kind {
		case stringField:
			n, err := v.vector(target, 1, f.maxLen, name)
			if err != nil {
				return err
			}
			if err := v.need(target+4+n, 1, name); err != nil {
				return err
			}
			if v.buf[target+4+n] != 0 {
				return fmt.Errorf("corrupt file: string %s at offset %d is not NUL-terminated", name, target)
			}
		case vectorField:
			if _, err := v.vector(target, int64(f.size), f.maxLen, name); err != nil {
				return err
			}
		case tableField:
			if err := v.table(target, f.table, depth+1); err != nil {
				return err
			}
		case tableVectorField:
			n, err := v.vector(target, 4, f.maxLen, name)
			if err != nil {
				return err
			}
			for j := int64(0); j < n; j++ {
				el, err := v.offset(target+4+4*j, name)
				if err != nil {
					return err
				}
				if err := v.table(el, f.table, depth+1); err != nil {
					return err
				}
			}
		case unionField:
			typ := tflitefb.BuiltinOptionsNONE
			if t := fieldAt(f.id - 1); t >= 0 {
				if t+1 > pos+objSize {
					return fmt.Errorf("corrupt file: union type of %s lies outside its table", name)
				}
				typ = tflitefb.BuiltinOptions(v.buf[t])
			}
			// Members the importer never reads are only bounds-checked
			// (done above): they may use fields this spec does not know.
			if sub, ok := f.union[typ]; ok {
				if err := v.table(target, sub, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// vector checks a vector header at pos and its elements' extent, and returns
// the element count.
func (v *verifier) vector(pos, elemSize int64, maxLen int, what string) (int64, error) {
	if err := v.aligned(pos, 4, what); err != nil {
		return 0, err
	}
	if err := v.need(pos, 4, what); err != nil {
		return 0, err
	}
	n := v.u32(pos)
	if n > int64(maxLen) {
		return 0, fmt.Errorf("corrupt file: %s at offset %d has %d entries, more than the limit %d", what, pos, n, maxLen)
	}
	// Elements are aligned to their own size (8-byte ones to 8).
	if err := v.aligned(pos+4, min(elemSize, 8), what); err != nil {
		return 0, err
	}
	if err := v.need(pos+4, n*elemSize, what); err != nil {
		return 0, err
	}
	// A vector reached from many tables (one inputs list under every
	// operator, one scale list under every tensor) is read, and turned into
	// Go values, once per table: the file's size alone does not bound that.
	v.bytes -= n * elemSize
	if v.bytes < 0 {
		return 0, fmt.Errorf("corrupt file: %s at offset %d: vectors and strings reached from the root add up to more than a file of %d bytes can hold (they are shared)", what, pos, len(v.buf))
	}
	return n, nil
}

// vectorBudget is the most bytes of vectors and strings verify lets a walk
// of an n-byte file reach, counting a shared one at each use. Writers give
// each table its own vectors, so a valid file reaches at most its own size.
func vectorBudget(n int) int64 { return 2*int64(n) + vectorSlack }
