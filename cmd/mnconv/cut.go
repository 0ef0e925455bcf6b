package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/ir"
)

// cutFlags are --inputs and --outputs, which cut the loaded graph at named
// tensors (ir.Graph.Cut) before a verb works on it. Every verb that loads a
// model for work registers them the same way and applies them right after
// loading.
type cutFlags struct {
	inputs, outputs []string
}

// register adds --inputs and --outputs to cmd.
func (c *cutFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVar(&c.inputs, "inputs", nil, "cut the graph: comma-separated tensors that become its inputs (default: the model's)")
	f.StringSliceVar(&c.outputs, "outputs", nil, "cut the graph: comma-separated tensors that become its outputs (default: the model's)")
}

// apply cuts g, loaded from path, as the flags ask; g itself when neither
// is set.
func (c *cutFlags) apply(path string, g *ir.Graph) (*ir.Graph, error) {
	if len(c.inputs) == 0 && len(c.outputs) == 0 {
		return g, nil
	}
	cut, err := g.Cut(c.inputs, c.outputs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cut, nil
}
