package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/format/tflite/tflitetest"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// TestCutBeforeSoftmax cuts shared MobileNets at their softmax's input
// (--outputs) and runs them: the cut model's output equals, bit for bit, the
// full model's pre-softmax tensor on the same input. --inputs at that tensor
// then leaves the softmax alone, which reproduces the full model's output.
func TestCutBeforeSoftmax(t *testing.T) {
	for _, file := range []string{"mlcommons_tiny_vww_96_float.tflite", "coral_mobilenet_v1_0.25_128_quant.tflite"} {
		t.Run(file, func(t *testing.T) {
			path := testutil.Shared(t, "models/tflite/"+file)
			g, err := importers.Load(path, importers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(g.Nodes, func(n *ir.Node) bool { return n.Op == ir.OpSoftmax })
			if i < 0 {
				t.Fatal("no softmax")
			}
			pre := g.Nodes[i].In(0)
			full, err := runtime.NewWithOptions(g, runtime.Options{KeepAll: true})
			if err != nil {
				t.Fatal(err)
			}
			fill(full.Input(0))
			if err := full.Run(); err != nil {
				t.Fatal(err)
			}

			head, err := (&cutFlags{outputs: []string{pre.Name}}).apply(path, g)
			if err != nil {
				t.Fatal(err)
			}
			if len(head.Nodes) != i || head.Outputs[0].Name != pre.Name {
				t.Fatalf("cut has %d nodes (want %d) and outputs %v", len(head.Nodes), i, head.Outputs[0].Name)
			}
			got := runOnce(t, head, full.Input(0))
			if want := full.Value(pre); !sameValues(got, want) {
				t.Errorf("cut output differs from the full model's %q", pre.Name)
			}

			tail, err := (&cutFlags{inputs: []string{pre.Name}}).apply(path, g)
			if err != nil {
				t.Fatal(err)
			}
			if in := tail.Inputs[0]; in.Name != pre.Name || !slices.Equal(in.Shape, pre.Shape) || in.DType != pre.DType || !reflect.DeepEqual(in.Quant, pre.Quant) {
				t.Errorf("tail input %+v, want %+v", in, pre)
			}
			if got := runOnce(t, tail, full.Value(pre)); !sameValues(got, full.Output(0)) {
				t.Errorf("tail output differs from the full model's")
			}
		})
	}
}

// fill writes a deterministic ramp into a graph input.
func fill(in *runtime.Tensor) {
	for i := range in.F32 {
		in.F32[i] = float32(i%251)/125 - 1
	}
	for i := range in.U8 {
		in.U8[i] = uint8(i * 7)
	}
	for i := range in.I8 {
		in.I8[i] = int8(i * 7)
	}
}

func runOnce(t *testing.T, g *ir.Graph, in *runtime.Tensor) *runtime.Tensor {
	t.Helper()
	it, err := runtime.New(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := it.SetInput(0, in); err != nil {
		t.Fatal(err)
	}
	if err := it.Run(); err != nil {
		t.Fatal(err)
	}
	return it.Output(0)
}

func sameValues(a, b *runtime.Tensor) bool {
	return a.DType == b.DType && slices.Equal(a.Shape, b.Shape) && slices.Equal(a.F32, b.F32) &&
		slices.Equal(a.U8, b.U8) && slices.Equal(a.I8, b.I8)
}

// TestCutFlagsCLI: inspect --outputs shows the cut graph; unknown tensors
// and unreachable inputs are refused naming them; a model with unsupported
// ops loads in inspect with them listed, and is refused by run.
func TestCutFlagsCLI(t *testing.T) {
	path := testutil.Shared(t, "models/tflite/mlcommons_tiny_vww_96_float.tflite")
	g, err := importers.Load(path, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	last := g.Nodes[len(g.Nodes)-2].Out().Name
	out, err := inspRunCLI(t, "inspect", "--json", "--outputs", last, path)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Layers  []struct{ Op string }
		Outputs []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Layers) != len(g.Nodes)-1 || r.Outputs[0].Name != last {
		t.Errorf("inspect --outputs %s: %d layers, outputs %v", last, len(r.Layers), r.Outputs)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect", "--outputs", "nope,zip", path}, `no tensor is named "nope", "zip" (output)`},
		{[]string{"inspect", "--inputs", g.Inputs[0].Name + "," + last, "--outputs", g.Nodes[0].Out().Name, path}, "is not needed by any output"},
		{[]string{"run", "--outputs", "nope", "--pixels", "x.bin", path}, `no tensor is named "nope" (output)`},
	} {
		if _, err := inspRunCLI(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%v: error %v, want %q and the file", c.args, err, c.want)
		}
	}

	// Every shared model imports whole since issue 15: a made one with a
	// TANH, which mnconv does not translate.
	tanh := filepath.Join(t.TempDir(), "tanh.tflite")
	if err := os.WriteFile(tanh, tflitetest.UnsupportedModel().Build(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = inspRunCLI(t, "inspect", tanh)
	if err != nil {
		t.Fatal(err)
	}
	if want := `unsupported: 1 x TANH (operator 1 "y")`; !strings.Contains(out, want) {
		t.Errorf("inspect does not list the unsupported op:\n%s", out)
	}
	if _, err := inspRunCLI(t, "run", "--pixels", "x.bin", tanh); err == nil || !strings.Contains(err.Error(), "unsupported op TANH") {
		t.Errorf("run with an unsupported op: %v", err)
	}
}
