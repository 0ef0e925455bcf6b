package main

import (
	"fmt"
	"io"
	"regexp"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/ir"
)

// warnings collects warnings and prints each family of near-identical ones
// (the same text once quoted names and numbers are set aside, such as
// tflm_person_detect's 14 bias tensors with quantized_dimension 3) as one
// line: the first of them and how many more there were.
type warnings struct {
	w      io.Writer
	order  []string
	first  map[string]string
	counts map[string]int
}

func newWarnings(w io.Writer) *warnings {
	return &warnings{w: w, first: map[string]string{}, counts: map[string]int{}}
}

var warnVariable = regexp.MustCompile(`"[^"]*"|[0-9]+`)

func (ws *warnings) add(msg string) {
	key := warnVariable.ReplaceAllString(msg, "#")
	if _, ok := ws.first[key]; !ok {
		ws.order = append(ws.order, key)
		ws.first[key] = msg
	}
	ws.counts[key]++
}

// flush prints the collected warnings, one line per family, and forgets
// them.
func (ws *warnings) flush() {
	for _, k := range ws.order {
		line := ws.first[k]
		if n := ws.counts[k]; n > 1 {
			line += fmt.Sprintf(" (%d warnings like this one, %d more not shown)", n, n-1)
		}
		fmt.Fprintln(ws.w, "mnconv: warning:", line)
	}
	ws.order, ws.first, ws.counts = nil, map[string]string{}, map[string]int{}
}

// loadModel imports a model, printing its warnings de-duplicated on w.
func loadModel(path string, w io.Writer) (*ir.Graph, error) {
	return loadModelWith(path, w, importers.Options{ShapeSignature: true})
}

// loadModelWith is loadModel with importer options (Warn is set here).
func loadModelWith(path string, w io.Writer, opt importers.Options) (*ir.Graph, error) {
	ws := newWarnings(w)
	defer ws.flush()
	opt.Warn = ws.add
	return importers.Load(path, opt)
}
