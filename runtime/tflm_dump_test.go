package runtime

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/ir"
)

// TestTFLMDump compares every tensor mnconv computes for a quantized
// .tflite with a TFLite Micro dump of the same model and pixels
// (../shared/tools/tflm-oracle: tflm_run MODEL PIXELS --mode raw --dump DIR),
// value for value, image by image, with the reference kernels and with the
// fast ones. It runs only when asked (scripts/benchmarks/tflm-compare.sh):
//
//	MNCONV_TFLM_MODEL=m.tflite MNCONV_TFLM_PIXELS=p.bin MNCONV_TFLM_DUMP=DIR go test -run TestTFLMDump ./runtime
//
// Tensors are matched by name (TFLite's tensor names survive import); the
// log lists, per node in graph order, the first tensor that differs.
func TestTFLMDump(t *testing.T) {
	model, pixels, dump := os.Getenv("MNCONV_TFLM_MODEL"), os.Getenv("MNCONV_TFLM_PIXELS"), os.Getenv("MNCONV_TFLM_DUMP")
	if model == "" || pixels == "" || dump == "" {
		t.Skip("skipping: set MNCONV_TFLM_MODEL, MNCONV_TFLM_PIXELS and MNCONV_TFLM_DUMP (scripts/benchmarks/tflm-compare.sh)")
	}
	names := readTFLMTensors(t, filepath.Join(dump, "tensors.tsv"))
	g, err := importers.Load(model, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(pixels)
	if err != nil {
		t.Fatal(err)
	}
	in := g.Inputs[0]
	if in.DType != ir.Int8 && in.DType != ir.Uint8 {
		t.Fatalf("input %q is %v; the oracle feeds 8-bit inputs", in.Name, in.DType)
	}
	per := in.Len()
	var inputs []*Tensor
	for off := 0; off+per <= len(data); off += per {
		if _, err := os.Stat(filepath.Join(dump, fmt.Sprintf("img%d", len(inputs)))); err != nil {
			break
		}
		x := NewTensor(in.DType, in.Shape)
		for i, p := range data[off : off+per] {
			if in.DType == ir.Int8 {
				x.I8[i] = int8(int(p) - 128)
			} else {
				x.U8[i] = p
			}
		}
		inputs = append(inputs, x)
	}
	if len(inputs) == 0 {
		t.Fatalf("%s: no img0 folder", dump)
	}
	for _, reference := range []bool{true, false} {
		kind := map[bool]string{true: "reference", false: "fast"}[reference]
		compared, differing := 0, 0
		runSeg(t, g, inputs, reference, func(img int, it *Interpreter) {
			for _, n := range g.Nodes {
				for _, o := range n.Outputs {
					k, ok := names[o.Name]
					if !ok || !o.DType.IsQuantized() {
						continue
					}
					want, err := os.ReadFile(filepath.Join(dump, fmt.Sprintf("img%d/t%d.bin", img, k)))
					if err != nil {
						continue
					}
					got := it.Value(o)
					var raw []byte
					switch o.DType {
					case ir.Int8:
						for _, v := range got.I8 {
							raw = append(raw, byte(v))
						}
					case ir.Uint8:
						raw = got.U8
					}
					compared++
					if len(raw) != len(want) {
						t.Errorf("%s image %d: %s %q: %d bytes, TFLM %d", kind, img, n.Op, o.Name, len(raw), len(want))
						continue
					}
					diff, worst := 0, 0
					for i := range raw {
						d := int(int8(raw[i])) - int(int8(want[i]))
						if o.DType == ir.Uint8 {
							d = int(raw[i]) - int(want[i])
						}
						if d != 0 {
							diff++
							worst = max(worst, d, -d)
						}
					}
					if diff > 0 {
						differing++
						t.Errorf("%s image %d: %s %q: %d of %d values differ from TFLM (max %d quanta)", kind, img, n.Op, o.Name, diff, len(raw), worst)
					}
				}
			}
		})
		t.Logf("%s kernels: %d node outputs over %d images compared with TFLM, %d differ", kind, compared, len(inputs), differing)
	}
}

// readTFLMTensors reads tflm_run's tensors.tsv: tensor name -> index.
func readTFLMTensors(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Split(s.Text(), "\t")
		var k int
		if len(fields) < 2 {
			continue
		}
		if _, err := fmt.Sscan(fields[0], &k); err == nil {
			out[fields[1]] = k
		}
	}
	return out
}
