package e2e

import (
	"testing"

	"github.com/mnconv/mnconv/passes"
)

// TestEveryPassOnRealModels runs each pass alone, then the default list, on
// every float model we have (the dequantized ones included) and checks the
// outputs on the reference images stay within 1e-5 of the unoptimized
// graph's, relative to the output's largest magnitude.
func TestEveryPassOnRealModels(t *testing.T) {
	for _, m := range floatModels {
		t.Run(m.name, func(t *testing.T) {
			g := m.load(t)
			n := 16
			if m.size >= 192 && testing.Short() {
				n = 4
			}
			inputs := m.inputs(t, g, n)
			want := outputs(t, g, inputs)
			lists := map[string][]passes.Pass{"default": passes.Default}
			for _, p := range passes.Default {
				lists[p.Name] = []passes.Pass{p}
			}
			for name, list := range lists {
				c := g.Clone()
				rep, err := passes.Run(c, list, &passes.Options{Validate: true})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if err := c.Validate(); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got := outputs(t, c, inputs)
				d := maxRel(want, got)
				t.Logf("%-20s %3d -> %3d nodes, max rel diff %.2g", name, len(g.Nodes), len(c.Nodes), d)
				if d > 1e-5 {
					t.Errorf("%s: outputs moved by %.3g relative\n%s", name, d, rep)
				}
			}
		})
	}
}
