package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/internal/testutil"
)

func TestInspectTable(t *testing.T) {
	out, err := inspRunCLI(t, "inspect", testutil.Shared(t, "models/tflite/coral_mobilenet_v1_0.25_128_quant.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"DepthwiseConv", "13,570,304", "467,593", "[1,64,64,8]",
		"inputs:  input uint8 [1,128,128,3] scale=0.0078125 zero_point=128",
		"uint8 463,856", // weights, one byte each
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestInspectJSON(t *testing.T) {
	out, err := inspRunCLI(t, "inspect", "--json", testutil.Shared(t, "models/tflite/mlcommons_tiny_vww_96_float.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Layers []struct {
			Name        string `json:"name"`
			Op          string `json:"op"`
			OutputShape []int  `json:"output_shape"`
			Params      int64  `json:"params"`
			MACs        int64  `json:"macs"`
		} `json:"layers"`
		TotalParams int64 `json:"total_params"`
		TotalMACs   int64 `json:"total_macs"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if r.TotalMACs != 7_489_664 || r.TotalParams != 210_850 {
		t.Errorf("totals %d MACs %d params, want 7489664 and 210850", r.TotalMACs, r.TotalParams)
	}
	if n := len(r.Layers); n == 0 || r.Layers[n-2].Op != "FullyConnected" {
		t.Errorf("want the layer before the softmax to be FullyConnected: %+v", r.Layers)
	}
}

func TestInspectMissingFile(t *testing.T) {
	if _, err := inspRunCLI(t, "inspect", "/nonexistent/model.onnx"); err == nil {
		t.Fatal("inspect of a missing file succeeded")
	}
}
