package builder

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/mnconv/mnconv/ir"
)

// Cost is a model's size under the papers' convention: MACs of Conv
// (depthwise included), Gemm and MatMul only; params the weights and biases
// of those layers. A bias-less Conv whose only reader is a BatchNorm counts
// the bias that folding the BatchNorm gives it, so an unfolded training
// export and its folded inference model have the same count (the Coral
// models' 467,593 for v1 0.25/128, for example). package inspect reports the
// same MACs and, for a graph from Build, Params = its TotalParams plus a
// quarter of its OtherParams (the four BatchNorm vectors per channel).
type Cost struct {
	MACs, Params int64
}

// Measure computes g's Cost from shapes alone (it works on graphs without
// constant data). Shapes must be inferred.
func Measure(g *ir.Graph) Cost {
	cons := g.Consumers()
	var c Cost
	for _, nd := range g.Nodes {
		if !nd.Op.DoesMACs() {
			continue
		}
		out, w := nd.Out(), nd.Inputs[1]
		if nd.Op == ir.OpConv && w.Rank() != 4 || nd.Inputs[0].Rank() == 0 {
			continue
		}
		c.MACs += nd.MACs()
		c.Params += int64(w.Len())
		if b := nd.In(2); b != nil {
			c.Params += int64(b.Len())
		} else if r := cons[out]; nd.Op == ir.OpConv && len(r) == 1 && r[0].Op == ir.OpBatchNorm && !g.IsOutput(out) {
			c.Params += int64(w.Shape[0])
		}
	}
	return c
}

// SweepRow is one (alpha, resolution) point of a Sweep.
type SweepRow struct {
	Alpha      float64
	Resolution int
	Cost
	// MACRatio and ParamRatio are this row's figures over the reference
	// row's. Predicted is (alpha/refAlpha)^2 * (resolution/refResolution)^2,
	// the papers' rule for how MACs scale; it overstates the saving a little
	// because the first conv grows only with alpha and the classifier with
	// neither.
	MACRatio, ParamRatio, Predicted float64
}

// SweepTable is the cost of one architecture over alphas x resolutions.
type SweepTable struct {
	Arch    Arch
	Classes int
	// The reference row is the largest alpha at the largest resolution.
	RefAlpha      float64
	RefResolution int
	Rows          []SweepRow // alphas outer, resolutions inner, as given
}

// Default sweep axes: the v1 paper's Tables 6 and 7.
var (
	DefaultAlphas      = []float64{1, 0.75, 0.5, 0.25}
	DefaultResolutions = []int{224, 192, 160, 128}
)

// maxSweepPoints bounds one sweep (each point is a shapes-only build).
const maxSweepPoints = 1024

// Sweep measures arch at every alpha and resolution (nil or empty means the
// defaults) with 1001 classes. It builds shapes only: no weights are made.
func Sweep(arch Arch, alphas []float64, resolutions []int) (*SweepTable, error) {
	arch, err := ParseArch(string(arch))
	if err != nil {
		return nil, err
	}
	if len(alphas) == 0 {
		alphas = DefaultAlphas
	}
	if len(resolutions) == 0 {
		resolutions = DefaultResolutions
	}
	if len(alphas)*len(resolutions) > maxSweepPoints {
		return nil, fmt.Errorf("builder: sweep of %d x %d points, more than %d", len(alphas), len(resolutions), maxSweepPoints)
	}
	t := &SweepTable{Arch: arch, Classes: 1001}
	for _, a := range alphas {
		if !(a > 0) {
			return nil, fmt.Errorf("builder: sweep alpha %v must be positive", a)
		}
		t.RefAlpha = max(t.RefAlpha, a)
	}
	for _, r := range resolutions {
		t.RefResolution = max(t.RefResolution, r)
	}
	var ref Cost
	for _, a := range alphas {
		for _, r := range resolutions {
			cfg, err := Config{Arch: arch, Alpha: a, Resolution: r, Classes: t.Classes}.withDefaults()
			if err != nil {
				return nil, err
			}
			g, _, err := construct(cfg, true)
			if err != nil {
				return nil, err
			}
			row := SweepRow{Alpha: a, Resolution: r, Cost: Measure(g)}
			ra, rr := a/t.RefAlpha, float64(r)/float64(t.RefResolution)
			row.Predicted = ra * ra * rr * rr
			if a == t.RefAlpha && r == t.RefResolution {
				ref = row.Cost
			}
			t.Rows = append(t.Rows, row)
		}
	}
	for i := range t.Rows {
		t.Rows[i].MACRatio = float64(t.Rows[i].MACs) / float64(ref.MACs)
		t.Rows[i].ParamRatio = float64(t.Rows[i].Params) / float64(ref.Params)
	}
	return t, nil
}

// Row finds the row for (alpha, resolution).
func (t *SweepTable) Row(alpha float64, resolution int) (SweepRow, bool) {
	for _, r := range t.Rows {
		if r.Alpha == alpha && r.Resolution == resolution {
			return r, true
		}
	}
	return SweepRow{}, false
}

// WriteText prints the table: exact MACs and params, then each row's MACs
// as a fraction of the reference row's next to alpha^2*rho^2, and the saving.
func (t *SweepTable) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s, %d classes; ratios against alpha %g at %d px (MACs: conv, depthwise, fully connected)\n",
		t.Arch, t.Classes, t.RefAlpha, t.RefResolution)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "alpha\tres\tMACs\tparams\tMACs/ref\talpha²·rho²\tMACs saved\tparams/ref\t")
	for _, r := range t.Rows {
		fmt.Fprintf(tw, "%g\t%d\t%d\t%d\t%.3f\t%.3f\t%.1f%%\t%.3f\t\n",
			r.Alpha, r.Resolution, r.MACs, r.Params, r.MACRatio, r.Predicted, 100*(1-r.MACRatio), r.ParamRatio)
	}
	return tw.Flush()
}

// AxisRatio is the cost of changing one multiplier alone: the width
// multiplier at the reference resolution, or the resolution at the
// reference alpha. Predicted is (alpha/refAlpha)^2 or (res/refRes)^2.
type AxisRatio struct {
	Alpha      float64
	Resolution int
	MACRatio   float64
	ParamRatio float64
	Predicted  float64
}

// AlphaRatios are the rows at the reference resolution, in table order:
// what the width multiplier alone saves, next to alpha^2.
func (t *SweepTable) AlphaRatios() []AxisRatio {
	var out []AxisRatio
	for _, r := range t.Rows {
		if r.Resolution == t.RefResolution {
			a := r.Alpha / t.RefAlpha
			out = append(out, AxisRatio{Alpha: r.Alpha, Resolution: r.Resolution, MACRatio: r.MACRatio, ParamRatio: r.ParamRatio, Predicted: a * a})
		}
	}
	return out
}

// ResolutionRatios are the rows at the reference alpha, in table order:
// what the resolution alone saves, next to rho^2.
func (t *SweepTable) ResolutionRatios() []AxisRatio {
	var out []AxisRatio
	for _, r := range t.Rows {
		if r.Alpha == t.RefAlpha {
			rho := float64(r.Resolution) / float64(t.RefResolution)
			out = append(out, AxisRatio{Alpha: r.Alpha, Resolution: r.Resolution, MACRatio: r.MACRatio, ParamRatio: r.ParamRatio, Predicted: rho * rho})
		}
	}
	return out
}

// The papers' rules of thumb checked by WriteRatios: the v1 paper's width
// multiplier "reduces computational cost ... by roughly alpha^2", alpha 0.75
// quoted as saving about 40 %; and its resolution multiplier by rho^2, 224
// -> 192 quoted as saving about 30 %.
const (
	claimAlpha         = 0.75
	claimAlphaSaving   = 40
	claimResolution    = 192
	claimResSaving     = 30
	claimRefResolution = 224
)

// WriteRatios prints each multiplier's effect alone, measured (MACs and
// params over the reference row's) against alpha^2 and rho^2, then the
// papers' two quoted savings next to ours when the table holds those rows.
func (t *SweepTable) WriteRatios(w io.Writer) error {
	fmt.Fprintf(w, "width multiplier alone, at %d px:\n", t.RefResolution)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "alpha\tMACs/ref\talpha²\tMACs saved\tparams/ref\t")
	for _, r := range t.AlphaRatios() {
		fmt.Fprintf(tw, "%g\t%.3f\t%.3f\t%.1f%%\t%.3f\t\n", r.Alpha, r.MACRatio, r.Predicted, 100*(1-r.MACRatio), r.ParamRatio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "resolution alone, at alpha %g:\n", t.RefAlpha)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "res\tMACs/ref\trho²\tMACs saved\tparams/ref\t")
	for _, r := range t.ResolutionRatios() {
		fmt.Fprintf(tw, "%d\t%.3f\t%.3f\t%.1f%%\t%.3f\t\n", r.Resolution, r.MACRatio, r.Predicted, 100*(1-r.MACRatio), r.ParamRatio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if t.RefAlpha != 1 || t.RefResolution != claimRefResolution {
		return nil
	}
	if r, ok := t.Row(claimAlpha, claimRefResolution); ok {
		fmt.Fprintf(w, "claim: alpha %g saves about %d %% of MACs; measured %.1f %% (alpha² predicts %.1f %%) and %.1f %% of params\n",
			claimAlpha, claimAlphaSaving, 100*(1-r.MACRatio), 100*(1-claimAlpha*claimAlpha), 100*(1-r.ParamRatio))
	}
	if r, ok := t.Row(1, claimResolution); ok {
		rho := float64(claimResolution) / claimRefResolution
		fmt.Fprintf(w, "claim: %d -> %d px saves about %d %% of MACs; measured %.1f %% (rho² predicts %.1f %%), params unchanged\n",
			claimRefResolution, claimResolution, claimResSaving, 100*(1-r.MACRatio), 100*(1-rho*rho))
	}
	return nil
}
