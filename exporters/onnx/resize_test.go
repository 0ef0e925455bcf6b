package onnx

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/refrt"
	"github.com/mnconv/mnconv/runtime"
)

// Resize cases for TestOps: every coordinate transformation mode with
// linear, every nearest rounding with three of them, up- and downsampling
// (4x5 -> 7x9 and 4x5 -> 3x2), in ONNX Runtime's coordinate arithmetic
// (ONNXCoords, which ONNX import sets) and once in TFLite's.
func init() {
	coords := []ir.CoordMode{ir.CoordHalfPixel, ir.CoordAlignCorners, ir.CoordAsymmetric, ir.CoordPytorchHalfPixel, ir.CoordTFHalfPixelForNN}
	nearest := []ir.NearestMode{ir.NearestRoundPreferFloor, ir.NearestRoundPreferCeil, ir.NearestFloor, ir.NearestCeil}
	var attrs []ir.ResizeAttrs
	for _, size := range [][2]int{{7, 9}, {3, 2}} {
		for _, c := range coords {
			attrs = append(attrs, ir.ResizeAttrs{Size: size, Mode: ir.ResizeLinear, Coord: c, ONNXCoords: true})
		}
		for _, c := range coords[:3] {
			for _, m := range nearest {
				attrs = append(attrs, ir.ResizeAttrs{Size: size, Mode: ir.ResizeNearest, Coord: c, Nearest: m, ONNXCoords: true})
			}
		}
	}
	attrs = append(attrs, ir.ResizeAttrs{Size: [2]int{7, 9}, Mode: ir.ResizeLinear, Coord: ir.CoordAlignCorners})
	for _, a := range attrs {
		name := fmt.Sprintf("resize-%v-%v-%dx%d", a.Mode, a.Coord, a.Size[0], a.Size[1])
		if a.Mode == ir.ResizeNearest {
			name += "-" + a.Nearest.String()
		}
		if !a.ONNXCoords {
			name += "-tflite-coords"
		}
		opCases = append(opCases, opCase{name: name, layout: "NCHW", build: func(t *testing.T) *ir.Graph {
			b, x := newGB(ir.Float32, 1, 4, 5, 3)
			y := b.node(ir.OpResize, &a, x)
			return b.finish(t, y)
		}})
	}
}

// TestResizeImportAttrs: an exported Resize reads back with the same
// attributes (ONNXCoords set, as every ONNX import sets it).
func TestResizeImportAttrs(t *testing.T) {
	for _, c := range opCases {
		var a *ir.ResizeAttrs
		g := c.build(t)
		for _, n := range g.Nodes {
			if n.Op == ir.OpResize {
				a = n.Attrs.(*ir.ResizeAttrs)
			}
		}
		if a == nil {
			continue
		}
		b, _ := export(t, g, c.layout)
		g2 := reimport(t, b)
		found := false
		for _, n := range g2.Nodes {
			if n.Op == ir.OpResize {
				found = true
				want := *a
				want.ONNXCoords = true
				if want.Mode == ir.ResizeLinear {
					want.Nearest = ir.NearestRoundPreferFloor
				}
				if got := *n.Attrs.(*ir.ResizeAttrs); got != want {
					t.Errorf("%s: re-imported %+v, want %+v", c.name, got, want)
				}
			}
		}
		if !found {
			t.Errorf("%s: no Resize after re-import", c.name)
		}
	}
}

// The two importable DeepLab files exported to ONNX (NHWC input, as the
// .tflite takes it) run in ONNX Runtime with the class maps mnconv's
// runtime gives on the first 2 COCO inputs, and the outputs close to ours.
// The uint8-inside ST file is exported as QDQ, which ONNX Runtime computes
// in its own arithmetic: its class maps are compared, not required equal.
func TestDeepLabONNXRuntime(t *testing.T) {
	if !refrtAvailable(t) {
		t.Skip("skipping: no ONNX Runtime")
	}
	data, err := os.ReadFile(testutil.Shared(t, "apps/inputs/coco_seg100_first8_stretch257_u8_nhwc.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		name     string
		minEqual float64 // share of equal class-map pixels required
	}{
		{"deeplabv3_257_mv_gpu_float", 0.9999},
		{"st_deeplabv3_257_int8_per_tensor", 0.99},
	} {
		t.Run(m.name, func(t *testing.T) {
			g, err := importers.Load(testutil.Shared(t, "apps/models/"+m.name+".tflite"), importers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := export(t, g, "NHWC")
			ins, feeds := segFeeds(g, data, 2)
			ours := runGraph(t, g, ins)
			r, err := refrt.Run(refrt.ONNX, writeTemp(t, m.name+".onnx", b), feeds, refrt.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			for i := range ins {
				got := r.Values[i][0]
				equal, total, worst := 0, len(got)/21, 0.0
				for p := range total {
					if testutil.Argmax(got[p*21:(p+1)*21]) == testutil.Argmax(ours[i][p*21:(p+1)*21]) {
						equal++
					}
				}
				for j := range got {
					worst = max(worst, math.Abs(float64(got[j]-ours[i][j])))
				}
				t.Logf("%s image %d: class map %d/%d pixels equal, largest logit difference %.3g", m.name, i, equal, total, worst)
				if float64(equal) < m.minEqual*float64(total) {
					t.Errorf("image %d: %d/%d equal pixels, want >= %.2f%%", i, equal, total, 100*m.minEqual)
				}
			}
		})
	}
}

// segFeeds makes g's float inputs, (x-127.5)/127.5, from the first n
// images of data (uint8 NHWC pixels of g's input size), for mnconv and for
// ONNX Runtime.
func segFeeds(g *ir.Graph, data []byte, n int) ([]*runtime.Tensor, [][]refrt.Input) {
	per := g.Inputs[0].Len()
	var ins []*runtime.Tensor
	var feeds [][]refrt.Input
	for i := range n {
		x := runtime.NewTensor(ir.Float32, g.Inputs[0].Shape)
		for j, v := range data[i*per : (i+1)*per] {
			x.F32[j] = (float32(v) - 127.5) / 127.5
		}
		ins = append(ins, x)
		feeds = append(feeds, []refrt.Input{refrt.F32(x.Shape, x.F32)})
	}
	return ins, feeds
}

// TestDeepLabQDQResizeORT: the quantized ST DeepLab exported as QDQ ONNX and
// read back fuses each DQ -> Resize -> Q into an 8-bit Resize in ONNX
// Runtime's arithmetic (ir.ArithONNX), as ORT's QDQ transformer drops that
// pair; mnconv's runtime on the re-imported file then gives ORT's outputs on
// the first 2 COCO inputs value for value, so the class maps are equal.
func TestDeepLabQDQResizeORT(t *testing.T) {
	if !refrtAvailable(t) {
		t.Skip("skipping: no ONNX Runtime")
	}
	data, err := os.ReadFile(testutil.Shared(t, "apps/inputs/coco_seg100_first8_stretch257_u8_nhwc.bin"))
	if err != nil {
		t.Fatal(err)
	}
	const name = "st_deeplabv3_257_int8_per_tensor"
	g, err := importers.Load(testutil.Shared(t, "apps/models/"+name+".tflite"), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := export(t, g, "NHWC")
	g2 := reimport(t, b)
	resizes := 0
	for _, n := range g2.Nodes {
		if n.Op == ir.OpResize {
			if !n.Out().DType.IsQuantized() || n.Arith != ir.ArithONNX {
				t.Errorf("re-imported %s: %v output, arithmetic %d; want a fused 8-bit Resize in ONNX Runtime's arithmetic", n.Name, n.Out().DType, n.Arith)
			}
			resizes++
		}
	}
	if resizes == 0 {
		t.Fatal("no Resize in the re-imported graph")
	}
	ins, feeds := segFeeds(g2, data, 2)
	ours := runGraph(t, g2, ins)
	r, err := refrt.Run(refrt.ONNX, writeTemp(t, name+".onnx", b), feeds, refrt.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ins {
		got := r.Values[i][0]
		same, equalPx, total := 0, 0, len(got)/21
		for j := range got {
			if got[j] == ours[i][j] {
				same++
			}
		}
		for p := range total {
			if testutil.Argmax(got[p*21:(p+1)*21]) == testutil.Argmax(ours[i][p*21:(p+1)*21]) {
				equalPx++
			}
		}
		t.Logf("%s QDQ image %d (%d Resize): %d/%d output values and %d/%d class-map pixels equal to ONNX Runtime's", name, i, resizes, same, len(got), equalPx, total)
		if same != len(got) {
			t.Errorf("image %d: %d of %d output values differ from ONNX Runtime's", i, len(got)-same, len(got))
		}
	}
}
