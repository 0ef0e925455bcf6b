package tflite_test

import (
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/mnconv/mnconv/exporters"
	tfliteexp "github.com/mnconv/mnconv/exporters/tflite"
	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/internal/testutil"
)

// fileOps lists the operators of a file by their TFLite names.
func fileOps(t testing.TB, data []byte) []string {
	t.Helper()
	m := fb.GetRootAsModel(data, 0)
	var sg fb.SubGraph
	m.Subgraphs(&sg, 0)
	var op fb.Operator
	var oc fb.OperatorCode
	var out []string
	for i := 0; i < sg.OperatorsLength(); i++ {
		sg.Operators(&op, i)
		m.OperatorCodes(&oc, int(op.OpcodeIndex()))
		out = append(out, fb.EnumNamesBuiltinOperator[oc.BuiltinCode()])
	}
	return out
}

// The file has the layout TFLite's converter writes.
func TestFileLayout(t *testing.T) {
	for _, model := range []string{"mlcommons_tiny_vww_96_int8", "mlcommons_tiny_vww_96_float"} {
		t.Run(model, func(t *testing.T) {
			g := importFile(t, testutil.Shared(t, "models/tflite/"+model+".tflite"))
			data := export(t, g)
			if again := export(t, g); string(again) != string(data) {
				t.Fatal("two exports of one graph differ")
			}
			if !tfliteimpMagic(data) {
				t.Fatalf("file identifier %q, want TFL3", data[4:8])
			}
			m := fb.GetRootAsModel(data, 0)
			if m.Version() != 3 || string(m.Description()) != tfliteexp.Description || m.SubgraphsLength() != 1 {
				t.Errorf("version %d, description %q, %d subgraphs; want 3, %q, 1", m.Version(), m.Description(), m.SubgraphsLength(), tfliteexp.Description)
			}
			var buf fb.Buffer
			m.Buffers(&buf, 0)
			if buf.DataLength() != 0 {
				t.Errorf("buffer 0 holds %d bytes, want the empty sentinel", buf.DataLength())
			}
			consts := 0
			for i := 1; i < m.BuffersLength(); i++ {
				m.Buffers(&buf, i)
				tab := buf.Table()
				o := flatbuffers.UOffsetT(tab.Offset(4))
				if o == 0 {
					t.Errorf("buffer %d is empty; only buffer 0 may be", i)
					continue
				}
				if start := tab.Vector(o); start%fb.BufferDataAlign != 0 {
					t.Errorf("buffer %d data starts at %d, not %d-byte aligned", i, start, fb.BufferDataAlign)
				}
				consts++
			}
			var oc fb.OperatorCode
			for i := 0; i < m.OperatorCodesLength(); i++ {
				m.OperatorCodes(&oc, i)
				if int32(oc.DeprecatedBuiltinCode()) != min(int32(oc.BuiltinCode()), 127) || oc.Version() < 1 {
					t.Errorf("operator code %d: deprecated %d, builtin %d, version %d", i, oc.DeprecatedBuiltinCode(), oc.BuiltinCode(), oc.Version())
				}
			}
			t.Logf("%d bytes, %d constant buffers, ops %v", len(data), consts, fileOps(t, data))
		})
	}
}

func tfliteimpMagic(data []byte) bool {
	return len(data) >= 8 && string(data[4:8]) == fb.FileIdentifier
}

func TestRegistered(t *testing.T) {
	f, err := exporters.ForPath("out/Model.TFLite")
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "tflite" {
		t.Errorf("ForPath gives %q", f.Name)
	}
	if f, err := exporters.ByName("tflite"); err != nil || f.Name != "tflite" {
		t.Errorf("ByName: %v, %v", f, err)
	}
	if _, err := exporters.ForPath("model.bin"); err == nil {
		t.Error("ForPath accepts .bin")
	}
}
