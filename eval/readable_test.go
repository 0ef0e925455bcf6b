package eval

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckReadable: the unreadable-image policy that classification and
// segmentation share.
func TestCheckReadable(t *testing.T) {
	bad := []Skipped{{File: "a.jpg", Error: "truncated"}}
	for _, c := range []struct {
		name    string
		cfg     Config
		skipped []Skipped
		n       int
		want    string // "" for no error
	}{
		{"all read", Config{MinImages: 2, LimitUnreadable: true}, nil, 2, ""},
		{"any unreadable refused", Config{LimitUnreadable: true}, bad, 9, "1 of 10 images are unreadable"},
		{"within the share", Config{LimitUnreadable: true, MaxUnreadable: 0.1}, bad, 9, ""},
		{"no limit", Config{}, bad, 9, ""},
		{"too few read", Config{MinImages: 50}, nil, 10, "only 10 of 10 images could be read, fewer than the minimum 50"},
		{"at least one", Config{}, bad, 0, "only 0 of 1 images could be read, fewer than the minimum 1"},
	} {
		listed := c.n + len(c.skipped)
		err := c.cfg.checkReadable(c.skipped, listed, c.n)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		var ue *UnreadableError
		if c.name == "any unreadable refused" && !errors.As(err, &ue) {
			t.Errorf("%s: %T, want *UnreadableError", c.name, err)
		}
	}
}
