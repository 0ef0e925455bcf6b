package tflite_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

const petsModel = "apps/models/ssd_mobilenet_v1_0.75_depth_pets_quant_detect.tflite"

type appReference struct {
	Results []struct {
		InputFile string `json:"input_file"`
		Outputs   []struct {
			Name  string    `json:"name"`
			Shape []int     `json:"shape"`
			Data  []float64 `json:"data"`
		} `json:"outputs"`
	} `json:"results"`
}

func readAppReference(t *testing.T, name string) appReference {
	t.Helper()
	data, err := os.ReadFile(testutil.Shared(t, "apps/reference/"+name))
	if err != nil {
		t.Fatal(err)
	}
	var r appReference
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Results) != 3 {
		t.Fatalf("%s has %d results, want 3", name, len(r.Results))
	}
	return r
}

// compareDetections checks ours against TFLite's four outputs: the same
// count and classes, boxes and scores within 1e-5.
func compareDetections(t *testing.T, what string, ours []*runtime.Tensor, ref [][]float64) {
	t.Helper()
	worst := 0.0
	for o := range 4 {
		got, want := ours[o].F32, ref[o]
		if len(got) != len(want) {
			t.Fatalf("%s: output %d has %d values, TFLite %d", what, o, len(got), len(want))
		}
		for i := range got {
			d := math.Abs(float64(got[i]) - want[i])
			if o == 1 || o == 3 {
				if d != 0 {
					t.Errorf("%s: output %d [%d] = %v, TFLite %v", what, o, i, got[i], want[i])
				}
				continue
			}
			worst = max(worst, d)
			if d > 1e-5 {
				t.Errorf("%s: output %d [%d] = %v, TFLite %v", what, o, i, got[i], want[i])
			}
		}
	}
	t.Logf("%s: %v detections, classes equal, largest box/score difference %.3g", what, ours[3].F32[0], worst)
}

func petsDetector(t *testing.T) (*ir.Graph, *ir.Node) {
	g, err := importers.Load(testutil.Shared(t, petsModel), importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		if n.Op == ir.OpDetectionPostProcess {
			return g, n
		}
	}
	t.Fatal("no DetectionPostProcess node")
	return nil, nil
}

// TestDetectionPostProcessKernelPets runs the post-processing kernel alone
// on the three tensors TFLite fed it (__no_postprocess.json) and compares
// with TFLite's detections (__detect.json).
func TestDetectionPostProcessKernelPets(t *testing.T) {
	pre := readAppReference(t, "ssd_mobilenet_v1_0.75_depth_pets_quant__no_postprocess.json")
	post := readAppReference(t, "ssd_mobilenet_v1_0.75_depth_pets_quant__detect.json")
	_, n := petsDetector(t)
	k, err := runtime.Prepare(n)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range pre.Results {
		in := make([]*runtime.Tensor, 3)
		for j, o := range r.Outputs {
			in[j] = runtime.NewTensor(ir.Uint8, o.Shape)
			for e, v := range o.Data {
				in[j].U8[e] = uint8(v)
			}
		}
		for e, v := range n.Inputs[2].Data.U8 {
			if float64(v) != r.Outputs[2].Data[e] {
				t.Fatalf("anchors differ from the model's at %d", e)
			}
		}
		out := make([]*runtime.Tensor, 4)
		var ref [][]float64
		for j, o := range n.Outputs {
			out[j] = runtime.NewTensor(ir.Float32, o.Shape)
			ref = append(ref, post.Results[i].Outputs[j].Data)
		}
		if err := k.Eval(in, out); err != nil {
			t.Fatal(err)
		}
		compareDetections(t, r.InputFile, out, ref)
	}
}

// TestDetectionPetsEndToEnd runs the whole uint8 SSD on the three inputs:
// the tensors before the custom op against TFLite's (XNNPACK's uint8
// arithmetic may differ by a step), then the detections.
func TestDetectionPetsEndToEnd(t *testing.T) {
	pre := readAppReference(t, "ssd_mobilenet_v1_0.75_depth_pets_quant__no_postprocess.json")
	post := readAppReference(t, "ssd_mobilenet_v1_0.75_depth_pets_quant__detect.json")
	g, n := petsDetector(t)
	it, err := runtime.NewWithOptions(g, runtime.Options{KeepAll: true})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for i, r := range post.Results {
		raw, err := os.ReadFile(testutil.Shared(t, "apps/inputs/"+r.InputFile))
		if err != nil {
			t.Fatal(err)
		}
		copy(it.Input(0).U8, raw)
		if err := it.Run(); err != nil {
			t.Fatal(err)
		}
		for j := range 2 {
			v, want := it.Value(n.Inputs[j]), pre.Results[i].Outputs[j].Data
			diff, worst := 0, 0.0
			for e := range want {
				d := math.Abs(float64(v.U8[e]) - want[e])
				if d != 0 {
					diff++
				}
				worst = max(worst, d)
			}
			t.Logf("%s: input %d of the post-process (%s): %d of %d bytes differ from TFLite's, by at most %v", r.InputFile, j, n.Inputs[j].Name, diff, len(want), worst)
		}
		// XNNPACK's requantization and its float-table Logistic differ from
		// the reference kernels by a step or a few (logged above), which
		// reorders the low-scoring detections; the best one must agree.
		boxes, classes, scores := it.Output(0).F32, it.Output(1).F32, it.Output(2).F32
		same := 0
		for d := range 10 {
			ok := float64(classes[d]) == r.Outputs[1].Data[d] && math.Abs(float64(scores[d])-r.Outputs[2].Data[d]) <= 1e-5
			for c := range 4 {
				ok = ok && math.Abs(float64(boxes[4*d+c])-r.Outputs[0].Data[4*d+c]) <= 1e-5
			}
			if ok {
				same++
			}
		}
		worstBox := 0.0
		for c := range 4 {
			worstBox = max(worstBox, math.Abs(float64(boxes[c])-r.Outputs[0].Data[c]))
		}
		if float64(classes[0]) != r.Outputs[1].Data[0] || math.Abs(float64(scores[0])-r.Outputs[2].Data[0]) > 2.0/256+1e-6 || worstBox > 0.02 {
			t.Errorf("%s: best detection class %v score %v box %v; TFLite class %v score %v box %v", r.InputFile,
				classes[0], scores[0], boxes[:4], r.Outputs[1].Data[0], r.Outputs[2].Data[0], r.Outputs[0].Data[:4])
		}
		if it.Output(3).F32[0] != float32(r.Outputs[3].Data[0]) {
			t.Errorf("%s: %v detections, TFLite %v", r.InputFile, it.Output(3).F32[0], r.Outputs[3].Data[0])
		}
		t.Logf("%s: best detection class %v score %v (TFLite %v), box off by %.3g; %d of 10 detections equal TFLite's within 1e-5",
			r.InputFile, classes[0], scores[0], r.Outputs[2].Data[0], worstBox, same)
	}
}

// TestDetectionPetsXNNPACK: with TFLite's default CPU arithmetic
// (ir.ArithXNNPACK) the whole uint8 SSD gives TFLite's detections on the
// three inputs: every class and score equal, boxes within 1e-5, the count
// equal, and the tensors before the custom op byte for byte.
func TestDetectionPetsXNNPACK(t *testing.T) {
	pre := readAppReference(t, "ssd_mobilenet_v1_0.75_depth_pets_quant__no_postprocess.json")
	post := readAppReference(t, "ssd_mobilenet_v1_0.75_depth_pets_quant__detect.json")
	g, n := petsDetector(t)
	g.SetArith(ir.ArithXNNPACK)
	it, err := runtime.NewWithOptions(g, runtime.Options{KeepAll: true})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for i, r := range post.Results {
		raw, err := os.ReadFile(testutil.Shared(t, "apps/inputs/"+r.InputFile))
		if err != nil {
			t.Fatal(err)
		}
		copy(it.Input(0).U8, raw)
		if err := it.Run(); err != nil {
			t.Fatal(err)
		}
		for j := range 2 {
			v, want := it.Value(n.Inputs[j]), pre.Results[i].Outputs[j].Data
			for e := range want {
				if float64(v.U8[e]) != want[e] {
					t.Errorf("%s: input %d of the post-process (%s), byte %d: %d, TFLite %v", r.InputFile, j, n.Inputs[j].Name, e, v.U8[e], want[e])
					break
				}
			}
		}
		worst := 0.0
		for k := range 3 {
			got, want := it.Output(k).F32, r.Outputs[k].Data
			for e := range want {
				d := math.Abs(float64(got[e]) - want[e])
				if k > 0 && d != 0 || d > 1e-5 {
					t.Errorf("%s: output %d value %d: %v, TFLite %v", r.InputFile, k, e, got[e], want[e])
					break
				}
				worst = max(worst, d)
			}
		}
		if it.Output(3).F32[0] != float32(r.Outputs[3].Data[0]) {
			t.Errorf("%s: %v detections, TFLite %v", r.InputFile, it.Output(3).F32[0], r.Outputs[3].Data[0])
		}
		t.Logf("%s: classes and scores equal TFLite's, boxes within %.2g", r.InputFile, worst)
	}
}
