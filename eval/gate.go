package eval

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Gate is an accuracy gate: a model passes when its top-1 is at most
// MaxDrop points below the baseline's and, when MinTop1 is set (>= 0), at
// least MinTop1.
type Gate struct {
	MaxDrop float64
	MinTop1 float64 // negative: not checked
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
	// DropFailed and MinFailed say which check failed; Failures says why.
	DropFailed bool     `json:"-"`
	MinFailed  bool     `json:"-"`
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
	c.Pass = len(c.Failures) == 0
	return c
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
	summary := fmt.Sprintf("model: n=%d top1=%.2f top5=%.2f\nbaseline: n=%d top1=%.2f top5=%.2f\ndrop=%.2f points, top-1 agreement=%.2f%% of %d images\n",
		c.Model.N, c.Model.Top1, c.Model.Top5, c.Baseline.N, c.Baseline.Top1, c.Baseline.Top5, c.Drop, c.Agreement, c.Common)
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
	failures := 0
	for _, jc := range cases {
		if jc.Failure != nil {
			failures++
		}
	}
	secs := c.Model.WallSeconds + c.Baseline.WallSeconds
	doc := junitSuites{Suites: []junitSuite{{
		Name: suite, Tests: len(cases), Failures: failures, Time: fmt.Sprintf("%.3f", secs),
		Cases: cases, SystemOut: summary,
	}}}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append([]byte(xml.Header), append(out, '\n')...))
}

// writeAtomic writes data to a temporary file beside path and renames it
// into place, so that a reader never sees half a report.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return werr
	}
	return nil
}
