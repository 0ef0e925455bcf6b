package eval

import (
	"encoding/xml"
	"fmt"
	"github.com/mnconv/mnconv/internal/atomicfile"
	"strings"
)

// Gate is an accuracy and cost gate: a model passes when its top-1 is at
// most MaxDrop points below the baseline's and, when MinTop1 is set (>= 0),
// at least MinTop1; when MaxMACsRatio is set (> 0), its executed MACs per
// image are at most that multiple of the baseline's, and when MaxSizeRatio
// is set (> 0), its weight bytes at most that multiple of the baseline's.
type Gate struct {
	MaxDrop      float64
	MinTop1      float64 // negative: not checked
	MaxMACsRatio float64 // 0: not checked
	MaxSizeRatio float64 // 0: not checked
}

// Comparison is a model measured against a baseline on the same images.
type Comparison struct {
	Model    *Result `json:"-"`
	Baseline *Result `json:"-"`
	// Drop is baseline top-1 minus model top-1, in points.
	Drop float64 `json:"drop"`
	// Agreement is the percentage of images (read by both) on which the two
	// give the same top-1 class; Common is their count.
	Agreement float64 `json:"top1_agreement"`
	Common    int     `json:"common"`
	Pass      bool    `json:"pass"`
	// MACs and BaselineMACs are the executed MACs per image (runtime
	// counters), MACsRatio = MACs / BaselineMACs. WeightBytes and
	// BaselineWeightBytes are inspect's weight bytes, SizeRatio their
	// ratio (about 0.25 for an int8 model against its float twin). A ratio
	// over a zero baseline is 0.
	MACs                int64   `json:"macs_per_image"`
	BaselineMACs        int64   `json:"baseline_macs_per_image"`
	MACsRatio           float64 `json:"macs_ratio"`
	WeightBytes         int64   `json:"weight_bytes"`
	BaselineWeightBytes int64   `json:"baseline_weight_bytes"`
	SizeRatio           float64 `json:"size_ratio"`
	// DropFailed, MinFailed, MACsFailed and SizeFailed say which check
	// failed; Failures says why.
	DropFailed bool     `json:"-"`
	MinFailed  bool     `json:"-"`
	MACsFailed bool     `json:"-"`
	SizeFailed bool     `json:"-"`
	Failures   []string `json:"failures,omitempty"`
}

// Compare measures model against baseline and applies the gate.
func (g Gate) Compare(model, baseline *Result) Comparison {
	c := Comparison{Model: model, Baseline: baseline, Drop: baseline.Top1 - model.Top1}
	base := make(map[string]int, len(baseline.PerImage))
	for _, p := range baseline.PerImage {
		if len(p.Top5) > 0 {
			base[p.File] = p.Top5[0]
		}
	}
	same := 0
	for _, p := range model.PerImage {
		b, ok := base[p.File]
		if !ok || len(p.Top5) == 0 {
			continue
		}
		c.Common++
		if p.Top5[0] == b {
			same++
		}
	}
	if c.Common > 0 {
		c.Agreement = 100 * float64(same) / float64(c.Common)
	}
	// A tiny tolerance so that a drop equal to the limit, computed from
	// percentages, is not failed by float rounding.
	const eps = 1e-9
	if c.Drop > g.MaxDrop+eps {
		c.DropFailed = true
		c.Failures = append(c.Failures, fmt.Sprintf("top-1 dropped %.2f points (%.2f -> %.2f), more than the allowed %.2f", c.Drop, baseline.Top1, model.Top1, g.MaxDrop))
	}
	if g.MinTop1 >= 0 && model.Top1 < g.MinTop1-eps {
		c.MinFailed = true
		c.Failures = append(c.Failures, fmt.Sprintf("top-1 %.2f is below the minimum %.2f", model.Top1, g.MinTop1))
	}
	c.MACs, c.BaselineMACs = model.MACsPerImage, baseline.MACsPerImage
	c.WeightBytes, c.BaselineWeightBytes = model.WeightBytes, baseline.WeightBytes
	c.MACsRatio = ratio(c.MACs, c.BaselineMACs)
	c.SizeRatio = ratio(c.WeightBytes, c.BaselineWeightBytes)
	if g.MaxMACsRatio > 0 && overRatio(c.MACs, c.BaselineMACs, g.MaxMACsRatio) {
		c.MACsFailed = true
		c.Failures = append(c.Failures, fmt.Sprintf("executes %d MACs per image, %.3fx the baseline's %d, more than the allowed %.3fx",
			c.MACs, c.MACsRatio, c.BaselineMACs, g.MaxMACsRatio))
	}
	if g.MaxSizeRatio > 0 && overRatio(c.WeightBytes, c.BaselineWeightBytes, g.MaxSizeRatio) {
		c.SizeFailed = true
		c.Failures = append(c.Failures, fmt.Sprintf("holds %d weight bytes, %.3fx the baseline's %d, more than the allowed %.3fx",
			c.WeightBytes, c.SizeRatio, c.BaselineWeightBytes, g.MaxSizeRatio))
	}
	c.Pass = len(c.Failures) == 0
	return c
}

// overRatio reports whether a > limit * b, exactly for equal counts (a
// ratio limit of 1 passes a model that costs what its baseline does). A
// zero baseline fails any a > 0.
func overRatio(a, b int64, limit float64) bool {
	if b == 0 {
		return a > 0
	}
	return float64(a) > limit*float64(b)*(1+1e-12)
}

// JUnit XML, the subset CI systems read.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Time      string      `xml:"time,attr"`
	Cases     []junitCase `xml:"testcase"`
	SystemOut string      `xml:"system-out,omitempty"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the gate's checks as a JUnit XML report named suite,
// atomically: a temporary file in the same folder, renamed over path.
func (g Gate) WriteJUnit(path, suite string, c Comparison) error {
	summary := fmt.Sprintf("model: n=%d top1=%.2f top5=%.2f macs_per_image=%d weight_bytes=%d\nbaseline: n=%d top1=%.2f top5=%.2f macs_per_image=%d weight_bytes=%d\ndrop=%.2f points, top-1 agreement=%.2f%% of %d images, macs_ratio=%.4f, size_ratio=%.4f\n",
		c.Model.N, c.Model.Top1, c.Model.Top5, c.MACs, c.WeightBytes, c.Baseline.N, c.Baseline.Top1, c.Baseline.Top5, c.BaselineMACs, c.BaselineWeightBytes,
		c.Drop, c.Agreement, c.Common, c.MACsRatio, c.SizeRatio)
	check := func(name string, failed bool, why string) junitCase {
		jc := junitCase{Name: name, Classname: "mnconv.eval.gate"}
		if failed {
			jc.Failure = &junitFailure{Message: why, Text: summary}
		}
		return jc
	}
	why := func(substr string) string {
		for _, f := range c.Failures {
			if strings.Contains(f, substr) {
				return f
			}
		}
		return ""
	}
	cases := []junitCase{check(fmt.Sprintf("top1_drop <= %.2f", g.MaxDrop), c.DropFailed, why("dropped"))}
	if g.MinTop1 >= 0 {
		cases = append(cases, check(fmt.Sprintf("top1 >= %.2f", g.MinTop1), c.MinFailed, why("minimum")))
	}
	if g.MaxMACsRatio > 0 {
		cases = append(cases, check(fmt.Sprintf("macs_ratio <= %.3f", g.MaxMACsRatio), c.MACsFailed, why("MACs per image")))
	}
	if g.MaxSizeRatio > 0 {
		cases = append(cases, check(fmt.Sprintf("size_ratio <= %.3f", g.MaxSizeRatio), c.SizeFailed, why("weight bytes")))
	}
	failures := 0
	for _, jc := range cases {
		if jc.Failure != nil {
			failures++
		}
	}
	secs := c.Model.WallSeconds + c.Baseline.WallSeconds
	return writeJUnit(path, junitSuite{Name: suite, Tests: len(cases), Failures: failures, Time: fmt.Sprintf("%.3f", secs),
		Cases: cases, SystemOut: summary})
}

// MetricGate gates a model on one score of a task other than
// classification (segmentation's mIoU, detection's mAP@0.5): the model
// passes when its score is at most MaxDrop points below the baseline's.
type MetricGate struct {
	Metric  string // the score's name in reports ("mIoU", "mAP@0.5")
	MaxDrop float64
}

// MetricComparison is a MetricGate's verdict. Model and Baseline are the
// scores in points (percent), Drop their difference.
type MetricComparison struct {
	Metric   string  `json:"metric"`
	Model    float64 `json:"model"`
	Baseline float64 `json:"baseline"`
	Drop     float64 `json:"drop"`
	MaxDrop  float64 `json:"max_drop"`
	Pass     bool    `json:"pass"`
	Failure  string  `json:"failure,omitempty"`
}

// Compare applies the gate to scores given as fractions (0 to 1).
func (g MetricGate) Compare(model, baseline float64) MetricComparison {
	c := MetricComparison{Metric: g.Metric, Model: 100 * model, Baseline: 100 * baseline, MaxDrop: g.MaxDrop}
	c.Drop = c.Baseline - c.Model
	const eps = 1e-9 // as Gate: a drop equal to the limit passes
	c.Pass = c.Drop <= g.MaxDrop+eps
	if !c.Pass {
		c.Failure = fmt.Sprintf("%s dropped %.2f points (%.2f -> %.2f), more than the allowed %.2f", g.Metric, c.Drop, c.Baseline, c.Model, g.MaxDrop)
	}
	return c
}

// WriteJUnit writes the check as a JUnit XML report named suite,
// atomically; summary (the two results in a line or two) goes to its
// system-out and failure text, secs to its time.
func (c MetricComparison) WriteJUnit(path, suite, summary string, secs float64) error {
	jc := junitCase{Name: fmt.Sprintf("%s_drop <= %.2f", c.Metric, c.MaxDrop), Classname: "mnconv.eval.gate"}
	failures := 0
	if !c.Pass {
		jc.Failure = &junitFailure{Message: c.Failure, Text: summary}
		failures = 1
	}
	return writeJUnit(path, junitSuite{Name: suite, Tests: 1, Failures: failures, Time: fmt.Sprintf("%.3f", secs),
		Cases: []junitCase{jc}, SystemOut: summary})
}

// writeJUnit writes one suite as a JUnit XML document, atomically.
func writeJUnit(path string, s junitSuite) error {
	out, err := xml.MarshalIndent(junitSuites{Suites: []junitSuite{s}}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append([]byte(xml.Header), append(out, '\n')...))
}
