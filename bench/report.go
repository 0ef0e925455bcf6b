package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText prints the report as `mnconv bench` shows it: one line per
// thread count with medians, GFLOP/s and ratios, then the profile.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s: %s input, %.1f M MACs, %d nodes (%d on fast kernels), activation arena %.1f MiB\n",
		r.Model, r.DType, float64(r.MACs)/1e6, r.Nodes, r.FastNodes, float64(r.ArenaBytes)/(1<<20))
	if r.Kernels != "" {
		fmt.Fprintf(w, "kernel family: %s (MNCONV_KERNELS=go|avx2|avx512|avx512-vnni, or neon|neon-dotprod on arm64, picks another)\n", r.Kernels)
	}
	if r.ORTRuntime != "" {
		fmt.Fprintf(w, "ONNX Runtime: %s, interleaved run by run with ours\n", r.ORTRuntime)
	}
	if r.TFLiteNote != "" {
		fmt.Fprintf(w, "TFLite: %s, interleaved by rounds (one process each)\n", r.TFLiteNote)
	}
	for _, a := range r.Agreement {
		fmt.Fprintf(w, "outputs: %s\n", a)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "threads\tours ms\tGFLOP/s\tORT ms\tGFLOP/s\tours/ORT\tTFLite-WASM ms\tours/TFLite-WASM\t")
	for _, row := range r.Rows {
		ortMS, ortGF, ratio, tfMS, tfRatio := "-", "-", "-", "-", "-"
		if row.ORT != nil {
			ortMS, ortGF = fmt.Sprintf("%.2f", row.ORT.MedianMS), fmt.Sprintf("%.1f", row.ORT.GFLOPS)
			ratio = fmt.Sprintf("%.2f", row.OursVsORT)
		}
		if row.TFLite != nil {
			tfMS, tfRatio = fmt.Sprintf("%.2f", row.TFLite.MedianMS), fmt.Sprintf("%.2f", row.OursVsTFLite)
		}
		fmt.Fprintf(tw, "%d\t%.2f\t%.1f\t%s\t%s\t%s\t%s\t%s\t\n", row.Threads, row.Ours.MedianMS, row.Ours.GFLOPS, ortMS, ortGF, ratio, tfMS, tfRatio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Rows) > 0 {
		fmt.Fprintf(w, "(medians of %d runs; ours/X below 1 means ours is faster)\n", r.Rows[0].Ours.Runs)
	}
	if len(r.Profile) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nprofile (%s):\n", r.ProfileNote)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ms\tshare\tGFLOP/s\tMACs\tnode\top\tkernel\toutput")
	byOp := map[string]float64{}
	var ops []string
	for _, l := range r.Profile {
		gf := ""
		if l.GFLOPS > 0 {
			gf = fmt.Sprintf("%.1f", l.GFLOPS)
		}
		fmt.Fprintf(tw, "%.3f\t%4.1f%%\t%s\t%.2fM\t%s\t%s\t%s\t%v\n", l.MedianMS, 100*l.Share, gf, float64(l.MACs)/1e6, shortName(l.Name), l.Op, l.Kernel, l.Shape)
		if _, seen := byOp[l.Op]; !seen {
			ops = append(ops, l.Op)
		}
		byOp[l.Op] += l.MedianMS
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var parts []string
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s %.2f ms", op, byOp[op]))
	}
	fmt.Fprintf(w, "by op: %s\n", strings.Join(parts, ", "))
	return nil
}

// shortName keeps a node name printable: TFLite files name nodes after
// every tensor folded into them, hundreds of characters long.
func shortName(s string) string {
	const limit = 48
	if len(s) <= limit {
		return s
	}
	return s[:limit-3] + "..."
}
