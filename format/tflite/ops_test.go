package tflite

import (
	"testing"

	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/ir"
)

// Each OpCodes row is found both ways, and no code or op has two rows.
func TestOpCodesBothWays(t *testing.T) {
	codes, ops := map[fb.BuiltinOperator]bool{}, map[ir.Op]bool{}
	for _, r := range OpCodes {
		if codes[r.Code] || ops[r.Op] {
			t.Errorf("%v / %v has two rows", r.Code, r.Op)
		}
		codes[r.Code], ops[r.Op] = true, true
		if got, ok := Op(r.Code); !ok || got.Code != r.Code || got.Op != r.Op {
			t.Errorf("Op(%v) = %v, %v; want %v", r.Code, got, ok, r)
		}
		if got, ok := Code(r.Op); !ok || got.Code != r.Code || got.Op != r.Op {
			t.Errorf("Code(%v) = %v, %v; want %v", r.Op, got, ok, r)
		}
	}
}

// A row's options table is in the verifier's spec with the row's fields,
// at field ids 0, 1, ... and with the sizes of flatbuffer scalars.
func TestOpCodesOptionsVerified(t *testing.T) {
	for _, r := range OpCodes {
		if r.Options == fb.BuiltinOptionsNONE {
			if r.Fields != nil {
				t.Errorf("%v: Fields without an options table", r.Code)
			}
			continue
		}
		spec := builtinOptionsSpecs[r.Options]
		if spec == nil || spec.name != fb.EnumNamesBuiltinOptions[r.Options] || len(spec.fields) != len(r.Fields) {
			t.Errorf("%v: verifier spec %+v for %v", r.Code, spec, r.Fields)
			continue
		}
		for i, f := range r.Fields {
			got := spec.fields[i]
			if got.name != f.Name || got.id != i || got.kind != scalarField || got.size != f.Size || got.full != spec.name+"."+f.Name {
				t.Errorf("%v: field %d is %+v, want %v", r.Code, i, got, f)
			}
			if f.Size != 1 && f.Size != 2 && f.Size != 4 && f.Size != 8 {
				t.Errorf("%v: %s has size %d", r.Code, f.Name, f.Size)
			}
		}
	}
}

func TestTablesRoundTrip(t *testing.T) {
	for _, dt := range []ir.DType{ir.Float32, ir.Int8, ir.Uint8, ir.Int32, ir.Int64} {
		tt, ok := TensorType(dt)
		if back, ok2 := DType(tt); !ok || !ok2 || back != dt {
			t.Errorf("%v -> %v -> %v", dt, tt, back)
		}
	}
	for _, a := range []ir.Activation{ir.ActNone, ir.ActRelu, ir.ActRelu6, ir.ActReluN1To1} {
		at, ok := ActivationType(a)
		if back, ok2 := Activation(at); !ok || !ok2 || back != a {
			t.Errorf("%v -> %v -> %v", a, at, back)
		}
	}
}

// SAME for a 3x3 stride-2 window over 224: out 112, total pad 1, after.
func TestSamePads(t *testing.T) {
	if got := SamePads([2]int{224, 224}, [2]int{3, 3}, [2]int{2, 2}, [2]int{1, 1}); got != [4]int{0, 0, 1, 1} {
		t.Errorf("SamePads = %v, want [0 0 1 1]", got)
	}
}

// DepthwiseFromIR undoes DepthwiseToIR: [1,2,2,3] file data.
func TestDepthwiseLayout(t *testing.T) {
	file := &ir.Data{F32: []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}
	in := DepthwiseToIR(file, 2, 2, 3)
	want := []float32{0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11}
	for i := range want {
		if in.F32[i] != want[i] {
			t.Fatalf("DepthwiseToIR = %v, want %v", in.F32, want)
		}
	}
	back := DepthwiseFromIR(in, 2, 2, 3)
	for i := range file.F32 {
		if back.F32[i] != file.F32[i] {
			t.Fatalf("round trip = %v, want %v", back.F32, file.F32)
		}
	}
}
