package main

import (
	"fmt"
	"io"
	"regexp"
	"sync"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/ir"
)

// warnings collects warnings and prints each family of near-identical ones
// (the same text once quoted names and numbers are set aside, such as
// tflm_person_detect's 14 bias tensors with quantized_dimension 3) as one
// line: the first of them and how many more there were. One printer
// serves a whole command run (cmdWarnings): every warning of every verb,
// the importers', exporters', quantizer's and eval's, goes through it, with
// one prefix, "mnconv: warning:". add may be called from several
// goroutines.
type warnings struct {
	mu     sync.Mutex
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
	ws.mu.Lock()
	defer ws.mu.Unlock()
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
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, k := range ws.order {
		line := ws.first[k]
		if n := ws.counts[k]; n > 1 {
			line += fmt.Sprintf(" (%d warnings like this one, %d more not shown)", n, n-1)
		}
		fmt.Fprintln(ws.w, "mnconv: warning:", line)
	}
	ws.order, ws.first, ws.counts = nil, map[string]string{}, map[string]int{}
}

// cmdWarnings is the printer of the command being run (nil between runs).
// It prints what it collected when the command ends, whether it succeeded
// or failed (before main prints the error), so that near-identical
// warnings from any phase of the run make one line.
var cmdWarnings *warnings

func init() {
	cobra.OnInitialize(func() { cmdWarnings = newWarnings(rootCmd.ErrOrStderr()) })
	cobra.OnFinalize(func() {
		if cmdWarnings != nil {
			cmdWarnings.flush()
			cmdWarnings = nil
		}
	})
}

// warnTo returns where a verb sends its warnings: the command run's
// printer (flush then does nothing: the run's end prints), or, outside a
// command run (a test calling a helper), a printer of its own on w that
// flush prints.
func warnTo(w io.Writer) (add func(string), flush func()) {
	if ws := cmdWarnings; ws != nil {
		return ws.add, func() {}
	}
	ws := newWarnings(w)
	return ws.add, ws.flush
}

// loadModel imports a model, its warnings de-duplicated (warnTo).
func loadModel(path string, w io.Writer) (*ir.Graph, error) {
	return loadModelWith(path, w, importers.Options{ShapeSignature: true})
}

// loadModelWith is loadModel with importer options (Warn is set here).
func loadModelWith(path string, w io.Writer, opt importers.Options) (*ir.Graph, error) {
	add, flush := warnTo(w)
	defer flush()
	opt.Warn = add
	return importers.Load(path, opt)
}
