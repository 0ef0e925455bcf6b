package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// benchCLI runs `mnconv bench` with args after putting every bench flag
// back to its default, and returns what it printed. A slice flag is
// emptied instead (pflag appends to a slice set before; bench reads an
// empty --threads as its default, 1 and 2).
func benchCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return execCLI(t, []*cobra.Command{benchCmd}, append([]string{"bench"}, args...)...)
}

func TestBenchBuiltModel(t *testing.T) {
	out, err := benchCLI(t, "mobilenet-v2", "--alpha", "0.35", "--resolution", "96", "--classes", "10",
		"--runs", "2", "--warmup", "1", "--threads", "1,2", "--profile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mobilenet_v2_0.35_96", "threads", "ours ms", "profile (1 thread(s)", "fastConvGemm", "by op:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = benchCLI(t, "mobilenet-v1", "--alpha", "0.25", "--resolution", "64", "--runs", "1", "--threads", "1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		MACs int64 `json:"macs"`
		Rows []struct {
			Threads int `json:"threads"`
			Ours    struct {
				Runs     int     `json:"runs"`
				MedianMS float64 `json:"median_ms"`
			} `json:"ours"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	if rep.MACs == 0 || len(rep.Rows) != 1 || rep.Rows[0].Threads != 1 || rep.Rows[0].Ours.Runs != 1 || rep.Rows[0].Ours.MedianMS <= 0 {
		t.Errorf("report %+v", rep)
	}
}

func TestBenchErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"no-such-model"}, "neither a model file"},
		{[]string{"mobilenet-v2", "--runs", "0"}, "--runs"},
		{[]string{"mobilenet-v2", "--alpha", "0.35", "--resolution", "96", "--threads", "0"}, "thread count 0"},
	} {
		if _, err := benchCLI(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error mentioning %q", c.args, err, c.want)
		}
	}
}
