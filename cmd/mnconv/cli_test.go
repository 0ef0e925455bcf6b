package main

import (
	"bytes"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// execCLI runs mnconv with args and returns what it printed on stdout
// (stderr is discarded; execCLIStderr returns it too).
func execCLI(t *testing.T, cmds []*cobra.Command, args ...string) (string, error) {
	t.Helper()
	out, _, err := execCLIStderr(t, cmds, args...)
	return out, err
}

// execCLIStderr runs mnconv with args and returns what it printed on
// stdout and stderr. Flags keep their values between Execute calls, so
// every flag of cmds is put back to its default first; a slice flag is
// emptied instead (pflag appends to a slice set before).
func execCLIStderr(t *testing.T, cmds []*cobra.Command, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	for _, c := range cmds {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				_ = sv.Replace(nil)
			} else {
				_ = f.Value.Set(f.DefValue)
			}
			f.Changed = false
		})
	}
	var out, errOut bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	defer rootCmd.SetErr(&bytes.Buffer{})
	rootCmd.SetArgs(args)
	err = rootCmd.Execute()
	return out.String(), errOut.String(), err
}
