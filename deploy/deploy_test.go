// Package deploy holds the container, CI and Kubernetes examples of
// sharded evaluation; this test checks their structure (kubectl and docker
// are not needed): the Indexed Job's shard count agrees everywhere, the
// shards write where the merge reads, the workflow's matrix covers SHARDS.
package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// The subset of a Job the examples rely on.
type job struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct{ Name string }
	Spec       struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    *int   `yaml:"completions"`
		Parallelism    *int   `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				RestartPolicy string `yaml:"restartPolicy"`
				Containers    []struct {
					Image string
					Args  []string
					Env   []struct{ Name, Value string }
					Mount []struct {
						Name      string
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				}
				Volumes []volume
			}
		}
	}
}

type volume struct {
	Name string
	PVC  struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
}

func argAfter(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func TestIndexedJob(t *testing.T) {
	var ev, mg job
	readYAML(t, filepath.Join("k8s", "eval-indexed-job.yaml"), &ev)
	readYAML(t, filepath.Join("k8s", "merge-job.yaml"), &mg)
	for _, j := range []job{ev, mg} {
		if j.APIVersion != "batch/v1" || j.Kind != "Job" {
			t.Errorf("%s: %s %s, want batch/v1 Job", j.Metadata.Name, j.APIVersion, j.Kind)
		}
		if p := j.Spec.Template.Spec.RestartPolicy; p != "Never" && p != "OnFailure" {
			t.Errorf("%s: restartPolicy %q is not allowed in a Job", j.Metadata.Name, p)
		}
		if len(j.Spec.Template.Spec.Containers) != 1 {
			t.Fatalf("%s: want one container", j.Metadata.Name)
		}
		c := j.Spec.Template.Spec.Containers[0]
		for _, m := range c.Mount {
			if !slices.ContainsFunc(j.Spec.Template.Spec.Volumes, func(v volume) bool { return v.Name == m.Name }) {
				t.Errorf("%s: mount %s has no volume", j.Metadata.Name, m.Name)
			}
		}
	}
	if ev.Spec.CompletionMode != "Indexed" || ev.Spec.Completions == nil {
		t.Fatalf("eval job: completionMode %q, completions %v: want an Indexed Job", ev.Spec.CompletionMode, ev.Spec.Completions)
	}
	c := ev.Spec.Template.Spec.Containers[0]
	count := ""
	for _, e := range c.Env {
		if e.Name == "MNCONV_SHARD_COUNT" {
			count = e.Value
		}
		if e.Name == "MNCONV_SHARD_INDEX" {
			t.Errorf("eval job sets MNCONV_SHARD_INDEX: the index must come from JOB_COMPLETION_INDEX")
		}
	}
	if n, err := strconv.Atoi(count); err != nil || n != *ev.Spec.Completions {
		t.Errorf("MNCONV_SHARD_COUNT %q, completions %d: they must be equal", count, *ev.Spec.Completions)
	}
	if ev.Spec.Parallelism != nil && *ev.Spec.Parallelism > *ev.Spec.Completions {
		t.Errorf("parallelism %d > completions %d", *ev.Spec.Parallelism, *ev.Spec.Completions)
	}
	if c.Args[0] != "eval" || slices.Contains(c.Args, "--shard") {
		t.Errorf("eval args %v: want eval, sharded from the environment", c.Args)
	}
	out := argAfter(c.Args, "--partial-out")
	if !strings.HasSuffix(out, "/") {
		t.Errorf("--partial-out %q: want a folder (ending in /) so every pod has the same args", out)
	}
	m := mg.Spec.Template.Spec.Containers[0]
	if m.Args[0] != "merge" || strings.TrimSuffix(m.Args[1], "/") != strings.TrimSuffix(out, "/") {
		t.Errorf("merge args %v: want merge %s", m.Args, out)
	}
	if m.Image != c.Image {
		t.Errorf("merge image %s, eval image %s: parts of different builds do not merge", m.Image, c.Image)
	}
	if argAfter(m.Args, "--max-drop") == "" {
		t.Errorf("merge args %v: the gate needs --max-drop", m.Args)
	}
}

func TestWorkflowMatrix(t *testing.T) {
	var wf struct {
		Env  map[string]string
		Jobs map[string]struct {
			Needs    any
			Strategy struct {
				Matrix struct{ Shard []int }
			}
			Steps []struct {
				Uses string
				Run  string
				Env  map[string]string
			}
		}
	}
	readYAML(t, filepath.Join("..", ".github", "workflows", "sharded-eval.yml"), &wf)
	n, err := strconv.Atoi(wf.Env["SHARDS"])
	if err != nil {
		t.Fatalf("SHARDS %q", wf.Env["SHARDS"])
	}
	shards := wf.Jobs["eval"].Strategy.Matrix.Shard
	for i := range n {
		if !slices.Contains(shards, i) {
			t.Errorf("matrix %v lacks shard %d of SHARDS=%d", shards, i, n)
		}
	}
	if len(shards) != n {
		t.Errorf("matrix %v has %d shards, SHARDS=%d", shards, len(shards), n)
	}
	gate := false
	for _, s := range wf.Jobs["merge"].Steps {
		gate = gate || s.Uses == "./.github/actions/mnconv-gate"
	}
	if !gate {
		t.Errorf("merge job does not use the mnconv-gate action")
	}
	var action struct {
		Inputs map[string]any
		Runs   struct{ Using string }
	}
	readYAML(t, filepath.Join("..", ".github", "actions", "mnconv-gate", "action.yml"), &action)
	for _, in := range []string{"model", "baseline", "images", "max-drop"} {
		if _, ok := action.Inputs[in]; !ok {
			t.Errorf("mnconv-gate lacks input %s", in)
		}
	}
	if action.Runs.Using != "composite" {
		t.Errorf("mnconv-gate runs using %q, want composite", action.Runs.Using)
	}
}
