package quantize

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Guard thresholds: a quantized model whose output SQNR against the float
// model, or whose top-1 agreement with it, is below these on the report
// images is refused (the CLI exits 1 without writing unless --force).
// Chosen from measurements on the ImageNet MobileNets (see the quantize
// command's help): the good configurations score well above, the ones that
// lose tens of points of accuracy well below.
const (
	DefaultMinSQNR      = 15.0 // dB, on the model's first output
	DefaultMinAgreement = 0.75 // fraction of images with the same top-1
)

// Verdict is the guard's judgement of a report.
type Verdict struct {
	Pass        bool
	Reasons     []string       // the thresholds missed
	Worst       []TensorReport // the layers with the lowest isolated SQNR
	Suggestions []string
}

// Guard judges a report against the thresholds and, when it fails, names
// the worst layers by isolated error and suggests fixes. cfg is the
// configuration that made the model.
func (r *Report) Guard(minSQNR, minAgree float64, cfg Config) *Verdict {
	v := &Verdict{Pass: true}
	if r.OutputSQNR < minSQNR {
		v.Pass = false
		v.Reasons = append(v.Reasons, fmt.Sprintf("output SQNR %.2f dB < %.2f dB", r.OutputSQNR, minSQNR))
	}
	if r.Top1Agree < minAgree {
		v.Pass = false
		v.Reasons = append(v.Reasons, fmt.Sprintf("top-1 agreement %.1f%% < %.1f%%", 100*r.Top1Agree, 100*minAgree))
	}
	if v.Pass {
		return v
	}
	v.Worst = r.WorstIsolated(5)
	var names []string
	clipped, depthwise := 0, 0
	for _, t := range v.Worst {
		names = append(names, t.Name)
		if t.Hi < t.ObservedHi*0.9 || t.Lo > t.ObservedLo*0.9 {
			clipped++
		}
		if t.Op == "DepthwiseConv" {
			depthwise++
		}
	}
	if cfg.PerTensor && depthwise > 0 {
		v.Suggestions = append(v.Suggestions, fmt.Sprintf("%d of the worst layers are depthwise convs with per-tensor weights: quantize per channel (drop --per-tensor) if the target allows it", depthwise))
	}
	if cfg.Method != MinMax && clipped > 0 {
		v.Suggestions = append(v.Suggestions, fmt.Sprintf("%d of the worst layers have their range clipped well inside what calibration observed by %s: try --method minmax or mse", clipped, cfg.Method))
	}
	if len(names) > 0 {
		v.Suggestions = append(v.Suggestions, "keep the worst layers in float: --exclude '"+strings.Join(names[:min(3, len(names))], ",")+"'")
	}
	return v
}

// WorstIsolated returns the n layers with the lowest isolated SQNR.
func (r *Report) WorstIsolated(n int) []TensorReport {
	var ts []TensorReport
	for _, t := range r.Tensors {
		if !math.IsNaN(t.Isolated) {
			ts = append(ts, t)
		}
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Isolated < ts[j].Isolated })
	return ts[:min(n, len(ts))]
}
