package tflite_test

import (
	"slices"
	"testing"

	"github.com/mnconv/mnconv/exporters"
	tfliteexp "github.com/mnconv/mnconv/exporters/tflite"
	"github.com/mnconv/mnconv/ir"
)

// TestFullyConnectedAbsorbsByOrigin: Reshape -> Gemm -> Reshape is written
// as one FULLY_CONNECTED{keep_num_dims} only when the three nodes share an
// ir.Origin (the importer read them from one operator); node names play no
// part.
func TestFullyConnectedAbsorbsByOrigin(t *testing.T) {
	build := func(names [3]string, origins [3]ir.Origin) *ir.Graph {
		b := newGB("fc_origin")
		x := b.input(1, 2, 3, 8)
		flat := b.op(ir.OpReshape, nil, []int{6, 8}, x)
		y := b.op(ir.OpGemm, func(a ir.Attrs) { *a.(*ir.GemmAttrs) = ir.GemmAttrs{Alpha: 1, Beta: 1} }, nil, flat, b.rand(0.3, 8, 5), b.rand(0.3, 1, 5))
		z := b.op(ir.OpReshape, nil, []int{1, 2, 3, 5}, y)
		g := b.done(t, z)
		for i, n := range g.Nodes {
			n.Name, n.Origin = names[i], origins[i]
		}
		return g
	}
	cases := []struct {
		name    string
		names   [3]string
		origins [3]ir.Origin
		want    []string
	}{
		{"one operator", [3]string{"a", "b", "c"}, [3]ir.Origin{4, 4, 4}, []string{"FULLY_CONNECTED"}},
		{"three operators named as one", [3]string{"fc", "fc/1", "fc/2"}, [3]ir.Origin{}, []string{"RESHAPE", "FULLY_CONNECTED", "RESHAPE"}},
		{"reshape of its own", [3]string{"fc", "fc/1", "r"}, [3]ir.Origin{2, 2, 3}, []string{"FULLY_CONNECTED", "RESHAPE"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, err := tfliteexp.Export(build(c.names, c.origins), exporters.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := fileOps(t, data); !slices.Equal(got, c.want) {
				t.Errorf("operators %v, want %v", got, c.want)
			}
		})
	}
}
