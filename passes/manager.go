package passes

import (
	"fmt"
	"strings"

	"github.com/mnconv/mnconv/ir"
)

// Default is mnconv's optimization recipe. Order matters only for speed (Run
// repeats the list to a fixpoint): no-ops and constants go first so that the
// patterns after them see plain chains; pads and batch norms fold into
// convolutions before activations fuse into them; dead code goes last.
var Default = []Pass{
	RemoveIdentity,
	FoldConstants,
	CancelTransposes,
	FoldPad,
	FoldBatchNorm,
	FuseActivation,
	EliminateDeadCode,
}

// All lists every pass ByName knows, Default's and the opt-in ones.
var All = []Pass{
	RemoveIdentity,
	FoldConstants,
	CancelTransposes,
	FoldPad,
	FoldBatchNorm,
	FuseActivation,
	EliminateDeadCode,
	Dequantize,
}

// DefaultMaxIterations bounds Run's repetitions of the list when Options
// leaves it zero.
const DefaultMaxIterations = 10

// Options tune Run.
type Options struct {
	// MaxIterations bounds how often the list is repeated while it still
	// changes the graph (0 means DefaultMaxIterations).
	MaxIterations int
	// Validate checks the graph after every pass; the error names the pass
	// that broke it. Tests set it; it costs one shape inference per pass.
	Validate bool
}

// Report says what Run changed.
type Report struct {
	// Passes has one entry per pass of the list, in list order, summed
	// over iterations.
	Passes []PassReport
	// Iterations is how often the list ran; Converged is false when the
	// last one still changed the graph (MaxIterations was reached).
	Iterations int
	Converged  bool
	// NodesBefore and NodesAfter count the graph's nodes.
	NodesBefore, NodesAfter int
}

// PassReport is one pass's share of a Report.
type PassReport struct {
	Name string
	// Nodes names the node each rewrite matched, one entry per rewrite.
	Nodes []string
}

// Changes is the number of rewrites the pass made.
func (p PassReport) Changes() int { return len(p.Nodes) }

// Changes is the total number of rewrites.
func (r *Report) Changes() int {
	n := 0
	for _, p := range r.Passes {
		n += p.Changes()
	}
	return n
}

// String is the report --verbose prints: one line per pass, then a summary.
func (r *Report) String() string {
	var b strings.Builder
	for _, p := range r.Passes {
		fmt.Fprintf(&b, "%-20s %3d", p.Name, p.Changes())
		if len(p.Nodes) > 0 {
			const show = 8
			names := p.Nodes
			more := ""
			if len(names) > show {
				more = fmt.Sprintf(", ... %d more", len(names)-show)
				names = names[:show]
			}
			fmt.Fprintf(&b, "  %s%s", strings.Join(names, ", "), more)
		}
		b.WriteString("\n")
	}
	state := "converged"
	if !r.Converged {
		state = "stopped at the iteration limit"
	}
	fmt.Fprintf(&b, "%d -> %d nodes, %d iterations, %s\n", r.NodesBefore, r.NodesAfter, r.Iterations, state)
	return b.String()
}

// Run applies list to g in place, repeating the whole list until an
// iteration changes nothing or opts.MaxIterations is reached. g must be
// valid on entry. After every pass the nodes are re-sorted topologically
// (and validated with opts.Validate). On error g may be partly rewritten; the
// report covers what was done.
func Run(g *ir.Graph, list []Pass, opts *Options) (*Report, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxIterations <= 0 {
		o.MaxIterations = DefaultMaxIterations
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("passes: invalid graph before any pass: %w", err)
	}
	rep := &Report{NodesBefore: len(g.Nodes)}
	for _, p := range list {
		rep.Passes = append(rep.Passes, PassReport{Name: p.Name})
	}
	for iter := 1; iter <= o.MaxIterations && !rep.Converged; iter++ {
		rep.Iterations = iter
		changed := false
		for i := range list {
			p := &list[i]
			names, err := p.apply(g)
			rep.Passes[i].Nodes = append(rep.Passes[i].Nodes, names...)
			rep.NodesAfter = len(g.Nodes)
			if err != nil {
				return rep, fmt.Errorf("passes: %s: %w", p.Name, err)
			}
			if o.Validate {
				if err := g.Validate(); err != nil {
					return rep, fmt.Errorf("passes: %s left an invalid graph: %w", p.Name, err)
				}
			}
			changed = changed || len(names) > 0
		}
		rep.Converged = !changed
	}
	rep.NodesAfter = len(g.Nodes)
	return rep, nil
}

// ByName parses a comma-separated --passes list. Names match a pass's Name
// or its Go name, ignoring case, dashes and underscores ("fold-batchnorm",
// "FoldBatchNorm"); "default" stands for Default. An empty list is no passes.
func ByName(list string) ([]Pass, error) {
	var out []Pass
	if strings.TrimSpace(list) == "" {
		return out, nil
	}
	for _, field := range strings.Split(list, ",") {
		name := strings.TrimSpace(field)
		if name == "" {
			return nil, fmt.Errorf("passes: empty name in list %q", list)
		}
		if normName(name) == "default" {
			out = append(out, Default...)
			continue
		}
		p, ok := lookup(name)
		if !ok {
			return nil, fmt.Errorf("passes: unknown pass %q (known: default, %s)", name, strings.Join(Names(), ", "))
		}
		out = append(out, p)
	}
	return out, nil
}

// Names lists the names of All.
func Names() []string {
	var names []string
	for _, p := range All {
		names = append(names, p.Name)
	}
	return names
}

func lookup(name string) (Pass, bool) {
	for _, p := range All {
		if normName(p.Name) == normName(name) {
			return p, true
		}
	}
	return Pass{}, false
}

func normName(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer("-", "", "_", "").Replace(s)
}
