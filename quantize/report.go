package quantize

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/mnconv/mnconv/ir"
	rt "github.com/mnconv/mnconv/runtime"
)

// TensorReport is the error of one quantized activation against its float twin.
type TensorReport struct {
	Name string  `json:"name"`
	Op   string  `json:"op"`
	SQNR float64 `json:"sqnr_db"` // 10 log10(sum f^2 / sum (f - dq)^2); +Inf when exact
	// Isolated is the SQNR of this layer quantized alone: its float inputs
	// quantized, the integer node run, its output against the float one
	// (the rest of the model float). NaN where the tensor has no node of
	// its own (graph input, requantize).
	Isolated   float64 `json:"isolated_sqnr_db"`
	Cosine     float64 `json:"cosine"`
	Lo         float64 `json:"range_lo"`
	Hi         float64 `json:"range_hi"`
	ObservedLo float64 `json:"observed_min"`
	ObservedHi float64 `json:"observed_max"`
	Scale      float32 `json:"scale"`
	ZeroPoint  int64   `json:"zero_point"`
}

// DepthwiseReport is the per-channel weight range spread of one depthwise
// conv: the largest channel's max|w| over the smallest's. A large spread is
// what makes per-tensor weight scales lose accuracy on MobileNetV2.
type DepthwiseReport struct {
	Name   string  `json:"name"`
	MinAbs float64 `json:"min_channel_max_abs"`
	MaxAbs float64 `json:"max_channel_max_abs"`
	Spread float64 `json:"spread"`
}

// Report is the per-layer quantization error of a model.
type Report struct {
	Images    int               `json:"images"`
	Method    string            `json:"method"`
	Tensors   []TensorReport    `json:"tensors"` // worst SQNR first
	Depthwise []DepthwiseReport `json:"depthwise"`
	FloatOps  []string          `json:"float_ops,omitempty"`
	Excluded  []string          `json:"excluded,omitempty"`
	// OutputSQNR is the SQNR of the model's first output against the float
	// model's; Top1Agree the fraction of images whose top-1 is the same.
	// For a detector (Detector set) they are measured where the integer
	// graph ends: OutputSQNR is the lowest SQNR of the quantized tensors
	// that feed the float post-processing node, Top1Agree the fraction of
	// images whose best detection has the same class.
	OutputSQNR float64 `json:"output_sqnr_db"`
	Top1Agree  float64 `json:"top1_agreement"`
	Detector   bool    `json:"detector,omitempty"`
}

// detectorTail is the node that computes the first output of g when it has
// several outputs (a post-processing op such as TFLite_Detection_PostProcess,
// which the quantizer keeps float): its second output holds the classes of
// the detections, best first. It is nil for other graphs.
func detectorTail(g *ir.Graph) *ir.Node {
	if len(g.Outputs) < 2 {
		return nil
	}
	n := g.Producers()[g.Outputs[0]]
	if n == nil || len(n.Outputs) < 2 || n.Outputs[0] != g.Outputs[0] || len(g.Outputs) < 2 || g.Outputs[1] != n.Outputs[1] {
		return nil
	}
	return n
}

type acc struct{ ff, ee, fq, qq float64 }

// Compare runs the float graph and the quantized one on the same inputs and
// measures every quantized activation against the float tensor it stands for.
func Compare(floatG *ir.Graph, res *Result, method Method, inputs []*rt.Tensor) (*Report, error) {
	fi, err := rt.New(floatG)
	if err != nil {
		return nil, err
	}
	qi, err := rt.New(res.Graph)
	if err != nil {
		return nil, err
	}
	// Values are taken while each graph runs (Observe), not read back after
	// Run: the interpreter may reuse an activation's buffer once its last
	// reader has run.
	floatOf := map[*ir.Tensor]*ir.Tensor{}
	for qt, ft := range res.Twins {
		if qt.Quant != nil {
			floatOf[ft] = qt
		}
	}
	saved := map[*ir.Tensor][]float32{}
	save := func(t *ir.Tensor, v *rt.Tensor) {
		if _, ok := floatOf[t]; ok && v.DType == ir.Float32 {
			saved[t] = append(saved[t][:0], v.F32...)
		}
	}
	fi.Observe = func(n *ir.Node, outs []*rt.Tensor) {
		for i, t := range n.Outputs {
			save(t, outs[i])
		}
	}
	accs := map[*ir.Tensor]*acc{}
	measure := func(qt *ir.Tensor, qv *rt.Tensor) {
		ft, ok := res.Twins[qt]
		if !ok || qt.Quant == nil {
			return
		}
		fv := saved[ft]
		if len(fv) != qv.Len() {
			return
		}
		dq := qv.Dequantized(qt.Quant)
		a := accs[qt]
		if a == nil {
			a = &acc{}
			accs[qt] = a
		}
		a.add(fv, dq)
	}
	qi.Observe = func(n *ir.Node, outs []*rt.Tensor) {
		for i, t := range n.Outputs {
			measure(t, outs[i])
		}
	}
	tail := detectorTail(floatG)
	isolated := isolatedNodes(res)
	iso := map[*ir.Tensor]*acc{}
	var out acc
	agree := 0.0
	// A classifier's output is one row of scores; a raw-output detector's
	// ([1,N,C] class scores) has one row per anchor, and the argmax of the
	// whole tensor would compare ties between anchors: agreement is then
	// the share of anchors whose best class agrees.
	rows := 1
	if sh := floatG.Outputs[0].Shape; len(sh) >= 3 && sh[len(sh)-1] > 1 {
		for _, d := range sh[:len(sh)-1] {
			rows *= d
		}
	}
	for _, x := range inputs {
		if err := fi.SetInput(0, x); err != nil {
			return nil, err
		}
		save(floatG.Inputs[0], x)
		if err := fi.Run(); err != nil {
			return nil, err
		}
		fo := append([]float32(nil), fi.Output(0).F32...)
		if tail != nil {
			fo = append(fo[:0], fi.Output(1).F32...)
		}
		if err := isolate(isolated, res, saved, iso); err != nil {
			return nil, err
		}
		qx := x
		if qin := res.Graph.Inputs[0]; qin.DType != ir.Float32 {
			qx = QuantizeTensor(x, qin.DType, qin.Quant)
			measure(qin, qx)
		}
		if err := qi.SetInput(0, qx); err != nil {
			return nil, err
		}
		if err := qi.Run(); err != nil {
			return nil, err
		}
		qo := qi.Output(0).F32
		if q := res.Graph.Outputs[0]; q.DType != ir.Float32 {
			qo = qi.Output(0).Dequantized(q.Quant)
		}
		if tail != nil {
			// the class of the best detection
			if qc := qi.Output(1).F32; len(qc) > 0 && len(fo) > 0 && qc[0] == fo[0] {
				agree++
			}
			continue
		}
		if len(qo) == len(fo) {
			out.add(fo, qo)
			agree += rowAgreement(fo, qo, rows)
		}
	}
	prod := floatG.Producers()
	rep := &Report{Images: len(inputs), Method: method.String(), FloatOps: res.Float, Excluded: res.Excluded,
		OutputSQNR: out.sqnr(), Detector: tail != nil}
	if tail != nil {
		rep.OutputSQNR = math.Inf(1)
		for _, t := range tail.Inputs {
			if a := accs[floatOf[t]]; t != nil && a != nil {
				rep.OutputSQNR = min(rep.OutputSQNR, a.sqnr())
			}
		}
	}
	if len(inputs) > 0 {
		rep.Top1Agree = agree / float64(len(inputs))
	}
	for qt, a := range accs {
		ft := res.Twins[qt]
		op := "input"
		if p := prod[ft]; p != nil {
			op = p.Op.String()
			if p.IsDepthwise() {
				op = "DepthwiseConv"
			}
		}
		r := res.Ranges[ft.Name]
		tr := TensorReport{Name: ft.Name, Op: op, Lo: r.Lo, Hi: r.Hi, ObservedLo: r.ObservedLo, ObservedHi: r.ObservedHi,
			Scale: qt.Quant.Scale[0], ZeroPoint: qt.Quant.ZP(0)}
		tr.SQNR = a.sqnr()
		tr.Isolated = math.NaN()
		if b := iso[qt]; b != nil {
			tr.Isolated = b.sqnr()
		}
		tr.Cosine = 1
		if a.ff > 0 && a.qq > 0 {
			tr.Cosine = a.fq / math.Sqrt(a.ff*a.qq)
		}
		rep.Tensors = append(rep.Tensors, tr)
	}
	sort.Slice(rep.Tensors, func(i, j int) bool {
		a, b := rep.Tensors[i], rep.Tensors[j]
		if a.SQNR != b.SQNR {
			return a.SQNR < b.SQNR
		}
		return a.Name < b.Name
	})
	for _, n := range floatG.Nodes {
		if !n.IsDepthwise() || !n.Inputs[1].IsConst() {
			continue
		}
		w := n.Inputs[1]
		ch, inner := w.Shape[0], w.Len()/w.Shape[0]
		lo, hi := math.Inf(1), 0.0
		for c := 0; c < ch; c++ {
			m := 0.0
			for _, v := range w.Data.F32[c*inner : (c+1)*inner] {
				m = max(m, math.Abs(float64(v)))
			}
			lo, hi = min(lo, m), max(hi, m)
		}
		d := DepthwiseReport{Name: n.Name, MinAbs: lo, MaxAbs: hi, Spread: math.Inf(1)}
		if lo > 0 {
			d.Spread = hi / lo
		}
		rep.Depthwise = append(rep.Depthwise, d)
	}
	return rep, nil
}

// QuantizeTensor maps a float tensor into dt with q: round half away from
// zero, then clamp (TFLite's AffineQuantize).
func QuantizeTensor(x *rt.Tensor, dt ir.DType, q *ir.Quant) *rt.Tensor {
	out := rt.NewTensor(dt, x.Shape)
	for i, v := range x.F32 {
		r := ir.QuantizeValue(float64(v), q.S(0), q.ZP(0), dt)
		switch dt {
		case ir.Int8:
			out.I8[i] = int8(r)
		case ir.Uint8:
			out.U8[i] = uint8(r)
		}
	}
	return out
}

// Headline is the one-line summary: output SQNR and top-1 agreement against
// the float model.
func (r *Report) Headline() string {
	if r.Detector {
		return fmt.Sprintf("int8 vs float on %d calibration images: SQNR %.2f dB at the post-processing's inputs (the lowest), best detection's class agreement %.1f%%",
			r.Images, r.OutputSQNR, 100*r.Top1Agree)
	}
	return fmt.Sprintf("int8 vs float on %d calibration images: output SQNR %.2f dB, top-1 agreement %.1f%%",
		r.Images, r.OutputSQNR, 100*r.Top1Agree)
}

// WriteTable prints the headline and the worst n tensors as a fixed-width
// table: accumulated SQNR (the quantized model up to this tensor) beside
// isolated SQNR (this layer alone quantized).
func (r *Report) WriteTable(w io.Writer, n int) {
	fmt.Fprintln(w, r.Headline())
	fmt.Fprintf(w, "Quantization error per tensor (%s ranges, %d images), worst first:\n", r.Method, r.Images)
	fmt.Fprintf(w, "  %-44s %-12s %9s %9s %9s %22s %22s\n", "tensor", "op", "SQNR dB", "isolated", "cosine", "range", "observed")
	for i, t := range r.Tensors {
		if n > 0 && i >= n {
			fmt.Fprintf(w, "  ... %d more\n", len(r.Tensors)-n)
			break
		}
		fmt.Fprintf(w, "  %-44s %-12s %9.2f %9s %9.5f %22s %22s\n", trunc(t.Name, 44), t.Op, t.SQNR, dB(t.Isolated), t.Cosine,
			fmt.Sprintf("[%.3g, %.3g]", t.Lo, t.Hi), fmt.Sprintf("[%.3g, %.3g]", t.ObservedLo, t.ObservedHi))
	}
	if len(r.Excluded) > 0 {
		fmt.Fprintf(w, "Kept in float by --exclude: %d nodes\n", len(r.Excluded))
		for _, e := range r.Excluded {
			fmt.Fprintf(w, "  %s\n", trunc(e, 100))
		}
	}
	var other []string
	for _, f := range r.FloatOps {
		if !strings.HasSuffix(f, ": excluded") {
			other = append(other, f)
		}
	}
	if len(other) > 0 {
		fmt.Fprintf(w, "Left in float: %s\n", strings.Join(other, "; "))
	}
}

// dB formats an SQNR, "-" for NaN (not measured).
func dB(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n+3:]
}

// WriteJSON writes the whole report as JSON. Infinite SQNRs (exact tensors)
// are written as 999.
func (r *Report) WriteJSON(w io.Writer) error {
	c := *r
	c.Tensors = append([]TensorReport(nil), r.Tensors...)
	for i := range c.Tensors {
		if math.IsInf(c.Tensors[i].SQNR, 1) {
			c.Tensors[i].SQNR = 999
		}
		if v := c.Tensors[i].Isolated; math.IsInf(v, 1) || math.IsNaN(v) {
			c.Tensors[i].Isolated = map[bool]float64{true: 999, false: -1}[math.IsInf(v, 1)]
		}
	}
	if math.IsInf(c.OutputSQNR, 1) {
		c.OutputSQNR = 999
	}
	for i := range c.Depthwise {
		if math.IsInf(c.Depthwise[i].Spread, 1) {
			c.Depthwise[i].Spread = 999
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&c)
}

// WriteMarkdown writes the whole report as markdown tables.
func (r *Report) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "# Quantization report\n\n%d calibration images compared, %s ranges.\n\n%s.\n\n", r.Images, r.Method, r.Headline())
	fmt.Fprintf(w, "SQNR is accumulated (the int8 model up to the tensor); isolated is the layer quantized alone, the rest float (-1 in JSON: not measured).\n\n")
	fmt.Fprintf(w, "| tensor | op | SQNR (dB) | isolated SQNR (dB) | cosine | chosen range | observed min / max | scale | zero point |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, t := range r.Tensors {
		fmt.Fprintf(w, "| %s | %s | %.2f | %s | %.5f | [%.4g, %.4g] | %.4g / %.4g | %.4g | %d |\n", t.Name, t.Op, t.SQNR, dB(t.Isolated), t.Cosine, t.Lo, t.Hi, t.ObservedLo, t.ObservedHi, t.Scale, t.ZeroPoint)
	}
	if len(r.Depthwise) > 0 {
		fmt.Fprintf(w, "\n## Depthwise weight range spread per channel\n\n| layer | smallest channel max abs | largest | spread |\n|---|---|---|---|\n")
		for _, d := range r.Depthwise {
			fmt.Fprintf(w, "| %s | %.4g | %.4g | %.1f |\n", d.Name, d.MinAbs, d.MaxAbs, d.Spread)
		}
	}
	if len(r.FloatOps) > 0 {
		fmt.Fprintf(w, "\n## Left in float\n\n")
		for _, f := range r.FloatOps {
			fmt.Fprintf(w, "- %s\n", f)
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

// rowAgreement is the share of the rows rows of f and q (equal lengths)
// whose argmax is the same: 0 or 1 for a classifier's single row.
func rowAgreement(f, q []float32, rows int) float64 {
	if rows < 1 || len(f)%rows != 0 {
		rows = 1
	}
	c, same := len(f)/rows, 0
	for r := range rows {
		if argmax(f[r*c:(r+1)*c]) == argmax(q[r*c:(r+1)*c]) {
			same++
		}
	}
	return float64(same) / float64(rows)
}
