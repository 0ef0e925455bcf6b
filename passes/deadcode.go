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

// eliminateDeadCode marks what the graph outputs need, walking from them to
// producers, and removes the rest in node order.
func eliminateDeadCode(c *rewriter) error {
	g := c.g
	needed := map[*ir.Node]bool{}
	var stack []*ir.Node
	need := func(t *ir.Tensor) {
		if p := c.prod[t]; p != nil && !needed[p] {
			needed[p] = true
			stack = append(stack, p)
		}
	}
	for _, t := range g.Outputs {
		need(t)
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, t := range n.Inputs {
			if t != nil {
				need(t)
			}
		}
	}
	var dead []*ir.Node
	for _, n := range g.Nodes {
		if !needed[n] {
			dead = append(dead, n)
			c.changed = append(c.changed, n.Name)
		}
	}
	c.remove(dead...)
	return nil
}
