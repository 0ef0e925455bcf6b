package shard

import (
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Spec
		err  string
	}{
		{"0/4", Spec{0, 4}, ""},
		{" 3/4", Spec{3, 4}, ""},
		{"4/4", Spec{}, "outside 0..3"},
		{"-1/2", Spec{}, "outside"},
		{"1/0", Spec{}, "at least 1"},
		{"1", Spec{}, "INDEX/COUNT"},
		{"a/b", Spec{}, "INDEX/COUNT"},
	} {
		got, err := Parse(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Parse(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, c := range []struct {
		name  string
		count int
		env   func(string) string
		want  Spec
		ok    bool
		err   string
	}{
		{"nothing", 0, env(), Spec{}, false, ""},
		{"job index alone does not shard", 0, env(EnvJobIndex, "2"), Spec{}, false, ""},
		{"k8s with flag count", 4, env(EnvJobIndex, "2"), Spec{2, 4}, true, ""},
		{"k8s with env count", 0, env(EnvJobIndex, "3", EnvCount, "4"), Spec{3, 4}, true, ""},
		{"mnconv index wins", 0, env(EnvJobIndex, "3", EnvIndex, "1", EnvCount, "4"), Spec{1, 4}, true, ""},
		{"index out of range", 4, env(EnvIndex, "4"), Spec{}, false, "outside 0..3"},
		{"count without index", 4, env(), Spec{}, false, "no shard index"},
		{"index without count", 0, env(EnvIndex, "1"), Spec{}, false, "no shard count"},
		{"bad count", 0, env(EnvCount, "x", EnvIndex, "0"), Spec{}, false, "not a positive number"},
	} {
		got, ok, err := FromEnv(c.count, c.env)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || ok != c.ok || got != c.want {
			t.Errorf("%s: %v %v %v, want %v %v", c.name, got, ok, err, c.want, c.ok)
		}
	}
}

// Every name lands in exactly one shard, and adding names moves none.
func TestHoldsPartitionAndStable(t *testing.T) {
	var names []string
	for i := range 400 {
		names = append(names, fmt.Sprintf("n%08d_img.JPEG", i*7919))
	}
	for _, n := range []int{1, 2, 4, 7, 16} {
		before := map[string]int{}
		for _, name := range names {
			hits := 0
			for i := range n {
				if (Spec{i, n}).Holds(name) {
					hits++
					before[name] = i
				}
			}
			if hits != 1 {
				t.Fatalf("%s is in %d of %d shards", name, hits, n)
			}
		}
		for _, name := range append(names, "new_a.jpg", "new_b.jpg") {
			if i, ok := before[name]; ok && Of(name, n) != i {
				t.Fatalf("%s moved", name)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	names := []string{"a", "b", "c"}
	for _, c := range []struct {
		specs []Spec
		err   string
	}{
		{[]Spec{{0, 3}, {2, 3}, {1, 3}}, ""},
		{[]Spec{{0, 3}, {0, 3}, {1, 3}}, "shard 0/3 is given twice: a and b"},
		{[]Spec{{0, 3}, {1, 3}}, "missing shard 2/3"},
		{[]Spec{{0, 3}, {1, 2}, {2, 3}}, "different shard counts"},
	} {
		err := Check(c.specs, names)
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("Check(%v) = %v, want %q", c.specs, err, c.err)
		}
	}
}
