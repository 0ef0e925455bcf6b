package main

import (
	"io"
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"golang.org/x/term"
)

// Tables fit the terminal: when standard output is a terminal (or $COLUMNS
// is set) a table wider than it first drops its optional columns, least
// useful first, then shortens the columns that may be shortened (names keep
// their end). --wide, a pipe or a file get every column at full width, and
// --json always has everything.

// tableCol describes one column of a fitted table.
type tableCol struct {
	header string
	align  tw.Align
	// drop > 0 marks an optional column; the highest drop goes first.
	drop int
	// shrink allows shortening the column's values (from the left, "…").
	shrink bool
}

// A shortened column keeps readableShrunk runes before the least useful
// optional columns go, and never fewer than minShrunk.
const (
	readableShrunk = 32
	minShrunk      = 16
)

// outputWidth is the width tables must fit on w: 0 (no limit) with --wide,
// else the terminal's width when w is one, else $COLUMNS when set.
func outputWidth(w io.Writer, wide bool) int {
	if wide {
		return 0
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
		return c
	}
	return 0
}

// renderTable writes a box table of rows (and a footer row, if any) no
// wider than width (0: no limit), as fitColumns decides.
func renderTable(w io.Writer, cols []tableCol, rows [][]string, footer []string, width int) error {
	keep, widths := fitColumns(cols, rows, footer, width)
	pick := func(r []string) []string {
		out := make([]string, 0, len(keep))
		for _, c := range keep {
			v := ""
			if c < len(r) {
				v = r[c]
			}
			if widths[c] > 0 && utf8.RuneCountInString(v) > widths[c] {
				v = shortenLeft(v, widths[c])
			}
			out = append(out, v)
		}
		return out
	}
	align := make([]tw.Align, len(keep))
	header := make([]string, len(keep))
	for i, c := range keep {
		align[i] = cols[c].align
		header[i] = cols[c].header
	}
	cfg := tw.CellAlignment{PerColumn: align}
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignmentConfig(cfg),
		tablewriter.WithFooterAlignmentConfig(cfg),
	)
	t.Header(header)
	for _, r := range rows {
		if err := t.Append(pick(r)); err != nil {
			return err
		}
	}
	if footer != nil {
		t.Footer(pick(footer))
	}
	return t.Render()
}

// fitColumns chooses the columns to keep and, for shortened ones, their
// width (0: unchanged). A box table is 1 + sum(width + 3) characters wide.
func fitColumns(cols []tableCol, rows [][]string, footer []string, width int) (keep []int, widths []int) {
	widths = make([]int, len(cols))
	natural := make([]int, len(cols))
	for c := range cols {
		natural[c] = utf8.RuneCountInString(cols[c].header)
	}
	widen := func(r []string) {
		for c := range min(len(r), len(cols)) {
			natural[c] = max(natural[c], utf8.RuneCountInString(r[c]))
		}
	}
	for _, r := range rows {
		widen(r)
	}
	widen(footer)
	kept := make([]bool, len(cols))
	for c := range kept {
		kept[c] = true
	}
	total := func() int {
		t := 1
		for c := range cols {
			if kept[c] {
				w := natural[c]
				if widths[c] > 0 {
					w = widths[c]
				}
				t += w + 3
			}
		}
		return t
	}
	// Optional columns of drop >= 2 go first, then names shrink to a
	// readable width, then the drop-1 columns go, then names shrink to
	// minShrunk.
	dropDown := func(floor int) {
		for width > 0 && total() > width {
			worst := -1
			for c := range cols {
				if kept[c] && cols[c].drop >= floor && (worst < 0 || cols[c].drop > cols[worst].drop) {
					worst = c
				}
			}
			if worst < 0 {
				return
			}
			kept[worst] = false
		}
	}
	shrinkTo := func(least int) {
		for c := range cols {
			if over := total() - width; width > 0 && over > 0 && kept[c] && cols[c].shrink {
				cur := natural[c]
				if widths[c] > 0 {
					cur = widths[c]
				}
				if w := max(least, cur-over); w < cur {
					widths[c] = w
				}
			}
		}
	}
	dropDown(2)
	shrinkTo(readableShrunk)
	dropDown(1)
	shrinkTo(minShrunk)
	for c := range cols {
		if kept[c] {
			keep = append(keep, c)
		}
	}
	return keep, widths
}

// shortenLeft keeps the last width-1 runes of s after "…".
func shortenLeft(s string, width int) string {
	r := []rune(s)
	if len(r) <= width || width < 2 {
		return s
	}
	return "…" + string(r[len(r)-width+1:])
}

// tableWide is --wide: tables at full width whatever the terminal.
var tableWide bool
