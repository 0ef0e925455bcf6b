// Command mnconv converts, quantizes, inspects, runs and evaluates
// MobileNet-family models. Flags and output only: every verb calls into the
// packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	_ "github.com/mnconv/mnconv/exporters/onnx"   // registers .onnx output
	_ "github.com/mnconv/mnconv/exporters/tflite" // registers .tflite output
	_ "github.com/mnconv/mnconv/importers/onnx"   // registers .onnx
	_ "github.com/mnconv/mnconv/importers/tflite" // registers .tflite
)

var rootCmd = &cobra.Command{
	Use:           "mnconv",
	Short:         "Convert, quantize, inspect, run and evaluate MobileNet-family CNNs (ONNX, TFLite)",
	Version:       version(),
	SilenceUsage:  true,
	SilenceErrors: true,
}

func init() {
	rootCmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: 2, err: err, usage: true}
	})
	rootCmd.SetVersionTemplate("mnconv {{.Version}}\n")
}

// exitError carries a specific exit status (the eval gate exits 1 on a failed
// gate and 2 on usage or input errors); usage asks main to print the verb's
// usage after the message.
type exitError struct {
	code  int
	err   error
	usage bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitInterrupted is the status after SIGINT or SIGTERM (128 + SIGINT, as
// shells report a process killed by Ctrl-C).
const exitInterrupted = 130

// interruptGrace is how long a verb has, after Ctrl-C, to stop and remove
// its temporary files (calibration and evaluation watch the context; writes
// go through internal/atomicfile, which removes its temporary file on
// failure) before mnconv exits anyway.
const interruptGrace = 3 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	type result struct {
		cmd *cobra.Command
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := rootCmd.ExecuteContextC(ctx)
		done <- result{c, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		stop() // a second Ctrl-C kills at once
		select {
		case r = <-done:
			if r.err == nil {
				return // it finished before it saw the interrupt: its output is whole
			}
		case <-time.After(interruptGrace):
		}
		fmt.Fprintln(os.Stderr, "mnconv: interrupted")
		os.Exit(exitInterrupted)
	}
	interrupted := ctx.Err() != nil // before stop, which cancels ctx too
	stop()
	if r.err == nil {
		return // finished: an interrupt that came after the work changes nothing
	}
	if interrupted {
		fmt.Fprintln(os.Stderr, "mnconv: interrupted")
		os.Exit(exitInterrupted)
	}
	fmt.Fprintln(os.Stderr, "mnconv:", r.err)
	var e *exitError
	if errors.As(r.err, &e) {
		if e.usage && r.cmd != nil {
			fmt.Fprintf(os.Stderr, "\n%s", r.cmd.UsageString())
		}
		os.Exit(e.code)
	}
	os.Exit(2)
}
