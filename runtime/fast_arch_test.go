package runtime

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
)

// The fast kernels give the reference kernels' bits on every architecture
// (AVX2 on amd64, NEON on arm64, pure Go elsewhere), so real models give the
// same bytes everywhere. testdata/arch_outputs_sha256.txt records the sha256
// of every node's outputs (all intermediate activations, in node order) for
// the 16 reference images, computed on amd64;
// TestOutputsMatchRecordedAMD64 recomputes them on the machine at hand (the
// arm64 run is scripts/test-arm64.sh under qemu), with the assembly kernels
// and without. MNCONV_RECORD_ARCH_SHA=1 prints the lines to record.

// archModels are the recorded runs: a float model, an int8 and a uint8 model
// with TFLite's requantization, and the int8 one switched to ONNX Runtime's
// float requantization (requantF32).
var archModels = []struct {
	name, model string
	onnxArith   bool
}{
	{"vww_float", "mlcommons_tiny_vww_96_float", false},
	{"vww_int8", "mlcommons_tiny_vww_96_int8", false},
	{"vww_int8_onnx_arith", "mlcommons_tiny_vww_96_int8", true},
	{"coral_v1_0.25_128_uint8", "coral_mobilenet_v1_0.25_128_quant", false},
}

// outputHash is the sha256 of the bytes of every node's outputs, image by
// image and node by node (float32 little-endian).
func outputHash(t *testing.T, g *ir.Graph, inputs []*Tensor) string {
	t.Helper()
	it, err := NewWithOptions(g, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	h := sha256.New()
	var bad error
	it.Observe = func(n *ir.Node, outs []*Tensor) {
		for _, y := range outs {
			if err := hashTensor(h, y); err != nil && bad == nil {
				bad = n.Errorf("%v", err)
			}
		}
	}
	for _, x := range inputs {
		if err := it.SetInput(0, x); err != nil {
			t.Fatal(err)
		}
		if err := it.Run(); err != nil {
			t.Fatal(err)
		}
	}
	if bad != nil {
		t.Fatal(bad)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func hashTensor(h hash.Hash, y *Tensor) error {
	switch y.DType {
	case ir.Float32:
		b := make([]byte, 0, 4*len(y.F32))
		for _, v := range y.F32 {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		h.Write(b)
	case ir.Int8:
		b := make([]byte, len(y.I8))
		for i, v := range y.I8 {
			b[i] = byte(v)
		}
		h.Write(b)
	case ir.Uint8:
		h.Write(y.U8)
	case ir.Int32:
		b := make([]byte, 0, 4*len(y.I32))
		for _, v := range y.I32 {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
		h.Write(b)
	default:
		return fmt.Errorf("output type %v not hashed", y.DType)
	}
	return nil
}

func readArchHashes(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "arch_outputs_sha256.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			t.Fatalf("arch_outputs_sha256.txt: bad line %q", line)
		}
		want[fields[0]] = fields[1]
	}
	return want
}

func TestOutputsMatchRecordedAMD64(t *testing.T) {
	want := readArchHashes(t)
	record := os.Getenv("MNCONV_RECORD_ARCH_SHA") != ""
	for _, m := range archModels {
		t.Run(m.name, func(t *testing.T) {
			ref := testutil.ReadReference(t, m.model+".tfjs_tflite.json")
			for _, fam := range KernelFamilies() {
				g := loadModel(t, m.model)
				if m.onnxArith {
					emulateXNNPACK(t, g)
				}
				inputs := imageInputs(t, g, ref.Input.File, ref.Input.Mode)
				saved := family
				if err := SetKernelFamily(fam); err != nil {
					t.Fatal(err)
				}
				got := outputHash(t, g, inputs)
				setFamily(saved)
				if record {
					fmt.Printf("%s %s\n", m.name, got)
					return
				}
				if got != want[m.name] {
					t.Errorf("%s (kernels %s, %d images): output sha256 %s, recorded on amd64 %s", m.name, fam, len(inputs), got, want[m.name])
				} else {
					t.Logf("%s (kernels %s, %d images): output sha256 %s matches amd64", m.name, fam, len(inputs), got)
				}
			}
		})
	}
}
