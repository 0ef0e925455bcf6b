package tflite_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/mnconv/mnconv/exporters"
	tfliteexp "github.com/mnconv/mnconv/exporters/tflite"
	"github.com/mnconv/mnconv/importers"
	tfliteimp "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/refrt"
	rt "github.com/mnconv/mnconv/runtime"
)

// TFLite's resizes: the attribute sets it has, in float32, uint8 and int8.
var tfliteResizes = []ir.ResizeAttrs{
	{Size: [2]int{7, 9}, Mode: ir.ResizeLinear, Coord: ir.CoordAsymmetric},
	{Size: [2]int{7, 9}, Mode: ir.ResizeLinear, Coord: ir.CoordAlignCorners},
	{Size: [2]int{7, 9}, Mode: ir.ResizeLinear, Coord: ir.CoordHalfPixel},
	{Size: [2]int{2, 3}, Mode: ir.ResizeLinear, Coord: ir.CoordHalfPixel},
	{Size: [2]int{7, 9}, Mode: ir.ResizeNearest, Coord: ir.CoordAsymmetric, Nearest: ir.NearestFloor},
	{Size: [2]int{7, 9}, Mode: ir.ResizeNearest, Coord: ir.CoordAlignCorners, Nearest: ir.NearestRoundPreferCeil},
	{Size: [2]int{7, 9}, Mode: ir.ResizeNearest, Coord: ir.CoordTFHalfPixelForNN, Nearest: ir.NearestFloor},
}

// resizeGraph is x[1,4,5,3] -> Resize(a), in dt (8-bit with scale 0.05).
func resizeGraph(dt ir.DType, a ir.ResizeAttrs) *ir.Graph {
	var q *ir.Quant
	if dt.IsQuantized() {
		q = &ir.Quant{Scale: []float32{0.05}, ZeroPoint: []int64{map[ir.DType]int64{ir.Uint8: 128, ir.Int8: 3}[dt]}}
	}
	x := &ir.Tensor{Name: "x", DType: dt, Shape: []int{1, 4, 5, 3}, Quant: q}
	y := &ir.Tensor{Name: "y", DType: dt, Quant: q.Clone()}
	n := ir.NewNode("resize", ir.OpResize, []*ir.Tensor{x}, y)
	*n.Attrs.(*ir.ResizeAttrs) = a
	return &ir.Graph{Name: "resize", Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{y}, Nodes: []*ir.Node{n}}
}

// TestResizeExport: every TFLite resize round-trips (export, import: the
// same attributes) and runs in TFLite as in mnconv's runtime. Float and
// nearest are compared within 1e-5 and exactly; 8-bit bilinear within one
// quantum, TFLite's WASM build running XNNPACK's rounding resize where
// mnconv follows the reference kernels (see runtime/resize.go).
func TestResizeExport(t *testing.T) {
	for _, dt := range []ir.DType{ir.Float32, ir.Uint8, ir.Int8} {
		for _, a := range tfliteResizes {
			t.Run(fmt.Sprintf("%v/%v/%v/%v", dt, a.Mode, a.Coord, a.Size), func(t *testing.T) {
				g := resizeGraph(dt, a)
				if err := g.InferShapes(); err != nil {
					t.Fatal(err)
				}
				data := export(t, g)
				g2, err := tfliteimp.Import("resize.tflite", data, importers.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if got := *g2.Nodes[0].Attrs.(*ir.ResizeAttrs); got != a {
					t.Fatalf("re-imported %+v, want %+v", got, a)
				}
				if refrt.Available() != nil {
					return
				}
				x := rt.NewTensor(dt, g.Inputs[0].Shape)
				px := make([]byte, x.Len())
				for i := range px {
					px[i] = byte(i * 37 % 256)
					switch dt {
					case ir.Float32:
						x.F32[i] = float32(px[i])/25 - 5
					case ir.Uint8:
						x.U8[i] = px[i]
					case ir.Int8:
						x.I8[i] = int8(int(px[i]) - 128)
					}
				}
				outs, err := rt.RunSingle(g.Nodes[0], x)
				if err != nil {
					t.Fatal(err)
				}
				var in refrt.Input
				switch dt {
				case ir.Float32:
					in = refrt.F32(x.Shape, x.F32)
				case ir.Uint8:
					in = refrt.U8(x.Shape, x.U8)
				case ir.Int8:
					in = refrt.I8(x.Shape, x.I8)
				}
				got := runTFLite(t, writeTemp(t, "resize", data), [][]refrt.Input{{in}})[0]
				ours := outs[0].Floats()
				worst := 0.0
				for i := range ours {
					worst = max(worst, math.Abs(float64(got[i])-ours[i]))
				}
				tol := 0.0
				switch {
				case a.Mode == ir.ResizeNearest:
				case dt == ir.Float32:
					tol = 1e-5
				default:
					tol = 1
				}
				t.Logf("largest difference from TFLite %g", worst)
				if worst > tol {
					t.Errorf("TFLite differs from mnconv by %g, want <= %g", worst, tol)
				}
			})
		}
	}
	// ONNX's pytorch_half_pixel has no TFLite equivalent: an error naming the node.
	g := resizeGraph(ir.Float32, ir.ResizeAttrs{Size: [2]int{7, 9}, Coord: ir.CoordPytorchHalfPixel})
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	if _, err := tfliteexp.Export(g, exporters.Options{}); err == nil {
		t.Error("pytorch_half_pixel exported without error")
	}
}

// The two importable DeepLab files (the 513 one ends in ARG_MAX) round-trip:
// import, export, import gives the same graph.
func TestDeepLabRoundTrip(t *testing.T) {
	for _, name := range []string{"deeplabv3_257_mv_gpu_float", "st_deeplabv3_257_int8_per_tensor"} {
		t.Run(name, func(t *testing.T) {
			path := testutil.Shared(t, "apps/models/"+name+".tflite")
			g := importFile(t, path)
			want := g.Dump()
			g2, err := tfliteimp.Import(path, export(t, g), importers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := g2.Dump(); got != want {
				t.Errorf("round trip changed the graph:\n%s", diffLines(want, got))
			}
		})
	}
}
