package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter/tw"
)

func TestFitColumns(t *testing.T) {
	cols := []tableCol{{"#", tw.AlignRight, 0, false}, {"Name", tw.AlignLeft, 0, true},
		{"Extra", tw.AlignLeft, 1, false}, {"More", tw.AlignLeft, 2, false}}
	rows := [][]string{{"0", strings.Repeat("n", 60), "extra", "more"}}
	// Natural: 1 + (1+3) + (60+3) + (5+3) + (4+3) = 83.
	for _, c := range []struct {
		width  int
		keep   []int
		shrunk int
	}{
		{0, []int{0, 1, 2, 3}, 0},
		{83, []int{0, 1, 2, 3}, 0},
		{80, []int{0, 1, 2}, 0},      // "More" (drop 2) goes first
		{72, []int{0, 1, 2}, 56},     // then the name shrinks
		{50, []int{0, 1, 2}, 34},     // down to readableShrunk
		{40, []int{0, 1}, 32},        // then "Extra" (drop 1) goes
		{30, []int{0, 1}, 22},        // then the name shrinks further
		{10, []int{0, 1}, minShrunk}, // never below minShrunk
	} {
		keep, widths := fitColumns(cols, rows, nil, c.width)
		if !slices.Equal(keep, c.keep) || widths[1] != c.shrunk {
			t.Errorf("width %d: keep %v name width %d, want %v %d", c.width, keep, widths[1], c.keep, c.shrunk)
		}
	}
}

func TestRenderTableFits(t *testing.T) {
	cols := []tableCol{{"#", tw.AlignRight, 0, false}, {"Name", tw.AlignLeft, 0, true}, {"Op", tw.AlignLeft, 1, false}}
	rows := [][]string{{"0", "model/block_12/expand/" + strings.Repeat("x", 80), "Conv"}}
	var b bytes.Buffer
	if err := renderTable(&b, cols, rows, []string{"", "total", "1 layer"}, 60); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if n := utf8.RuneCountInString(l); n > 60 {
			t.Errorf("line of %d > 60 columns: %s", n, l)
		}
	}
	if !strings.Contains(b.String(), "…") || !strings.Contains(b.String(), "xxxx │") {
		t.Errorf("name not shortened from the left:\n%s", b.String())
	}
}
