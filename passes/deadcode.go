package passes

import "github.com/mnconv/mnconv/ir"

// EliminateDeadCode removes nodes whose outputs reach no graph output.
var EliminateDeadCode = Pass{
	Name: "eliminate-dead-code",
	Doc: `Removes every node none of whose outputs reaches a graph output, directly
or through other nodes:
  y = Relu(x); z = Sigmoid(x); output y  =>  y = Relu(x); output y`,
	whole: eliminateDeadCode,
}

func eliminateDeadCode(c *rewriter) error {
	g := c.g
	if err := g.TopoSort(); err != nil {
		return err
	}
	needed := map[*ir.Tensor]bool{}
	for _, t := range g.Outputs {
		needed[t] = true
	}
	live := make([]bool, len(g.Nodes))
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		for _, t := range n.Outputs {
			if needed[t] {
				live[i] = true
			}
		}
		if live[i] {
			for _, t := range n.Inputs {
				if t != nil {
					needed[t] = true
				}
			}
		}
	}
	kept := g.Nodes[:0]
	for i, n := range g.Nodes {
		if live[i] {
			kept = append(kept, n)
		} else {
			c.changed = append(c.changed, n.Name)
		}
	}
	clear(g.Nodes[len(kept):])
	g.Nodes = kept
	c.refresh()
	return nil
}
