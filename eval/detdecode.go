package eval

import (
	"bufio"
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/runtime"
)

// Decoding a detector's outputs into boxes. Two kinds of model:
//
//   - Post-processed: the graph ends in ir.OpDetectionPostProcess (TFLite's
//     TFLite_Detection_PostProcess, as the pets SSD): its four outputs,
//     boxes [1,D,4] (ymin, xmin, ymax, xmax, normalized), classes [1,D]
//     (background dropped), scores [1,D] and count [1], are read as is.
//   - Raw: the model ends before post-processing, in class scores [1,N,C]
//     (probabilities; column 0 background or not), box encodings [1,N,4]
//     and anchors [N,4] (an output, or a file). Two box codings:
//     Corners (ST's ssd_mobilenet_pp.py; anchors and boxes x1, y1, x2, y2):
//     x1 = e0*aw + a_x1, y1 = e1*ah + a_y1, x2 = e2*aw + a_x2,
//     y2 = e3*ah + a_y2 with aw = a_x2 - a_x1, ah = a_y2 - a_y1, in float64,
//     then NMS here (float64, as the shared reference's eval_det.py).
//     Center (TF SSD, anchors ycenter, xcenter, h, w, with y/x/h/w scales):
//     decoded and suppressed by the runtime's DetectionPostProcess kernel
//     itself, so the boxes are TFLite's to the bit.
//   - NMS Fast (TFLite's use_regular_nms false; the reference's): each
//     anchor's best class (the first maximum over the non-background
//     columns) and score, one class-agnostic greedy NMS: scores >= the
//     threshold, sorted descending (ties to the lower anchor), a box whose
//     IoU with a kept one exceeds IoU is dropped, at most MaxDetections.
//     NMS PerClass: the same per class over every anchor's score of that
//     class, at most PerClass each, merged by score (ties: lower class,
//     then rank) into the MaxDetections best.
//
// Pixel boxes are the normalized ones times the original image's width
// and height (the models see the whole image stretched); no clipping.

// BoxCoding says how a detector's outputs make boxes.
type BoxCoding string

// Box codings.
const (
	CodingAuto        BoxCoding = ""            // post-processed when the graph says so, else an error naming --box-coding
	CodingPostProcess BoxCoding = "postprocess" // the graph ends in DetectionPostProcess
	CodingCorners     BoxCoding = "corners"     // ST: corner offsets, x1,y1,x2,y2
	CodingCenter      BoxCoding = "center"      // TF SSD center-size, ycenter,xcenter,h,w
)

// NMSKind is the suppression of raw outputs.
type NMSKind string

// Suppressions.
const (
	NMSFast     NMSKind = "fast"
	NMSPerClass NMSKind = "class"
)

// Background says whether column 0 of raw class scores is background.
type Background string

// Background settings.
const (
	BackgroundAuto  Background = ""      // from the number of class names
	BackgroundFirst Background = "first" // column 0 is background
	BackgroundNone  Background = "none"  // every column is a class
)

// DetSpec says how to decode a detector's outputs. The zero value of a
// field means "from the model" where the model says it unambiguously.
type DetSpec struct {
	Coding BoxCoding
	// Outputs names the raw outputs (names or indices): scores, boxes
	// and, when the anchors are an output, anchors.
	Outputs []string
	// Anchors are N*4 values (the coding's order) read from a file; nil:
	// from an output.
	Anchors []float32
	// Background: whether column 0 of the scores is background; Classes
	// (the number of class names, 0: unknown) decides it when auto.
	Background Background
	Classes    int
	// Scales are the center coding's y, x, h and w scales.
	Scales         [4]float32
	NMS            NMSKind
	IoU            float32
	ScoreThreshold float32
	MaxDetections  int
	PerClass       int // NMSPerClass: detections per class
}

// DefaultDetSpec is TFLite's and the shared reference's post-processing:
// fast NMS at IoU 0.6, scores >= 1e-8, 100 detections, scales 10, 10, 5, 5.
func DefaultDetSpec() DetSpec {
	return DetSpec{Scales: [4]float32{10, 10, 5, 5}, NMS: NMSFast, IoU: 0.6, ScoreThreshold: 1e-8, MaxDetections: 100, PerClass: 100}
}

// detDecoder is a DetSpec resolved against a graph.
type detDecoder struct {
	spec   DetSpec
	coding BoxCoding
	// output indices; anchors -1 when they come from spec.Anchors
	scores, boxes, anchors int
	// post: DetectionPostProcess's four outputs
	post    [4]int
	n, cols int // anchors, score columns
	offset  int // 1 when column 0 is background
	g       *ir.Graph
	// center: the graph of one DetectionPostProcess node the runtime's
	// kernel decodes and suppresses with
	centerGraph *ir.Graph
	anchorConst *runtime.Tensor // spec.Anchors, or a constant anchors output
}

// Describe says how the outputs are read, for a report.
func (d *detDecoder) Describe() string {
	if d.coding == CodingPostProcess {
		return "the model's DetectionPostProcess outputs"
	}
	name := func(i int) string { return fmt.Sprintf("%d %q", i, d.g.Outputs[i].Name) }
	anc := "from the anchors file"
	if d.anchors >= 0 {
		anc = "output " + name(d.anchors)
	}
	bg := "no background column"
	if d.offset == 1 {
		bg = "column 0 background"
	}
	return fmt.Sprintf("%s coding; scores output %s (%d anchors, %d columns, %s), boxes output %s, anchors %s; %s NMS at IoU %g, score >= %g, at most %d",
		d.coding, name(d.scores), d.n, d.cols, bg, name(d.boxes), anc, d.spec.NMS, d.spec.IoU, d.spec.ScoreThreshold, d.spec.MaxDetections)
}

// rows returns the anchors count and row length of a [1,N,K] or [N,K]
// tensor; ok false for other shapes.
func rows(t *ir.Tensor) (n, k int, ok bool) {
	s := t.Shape
	switch {
	case len(s) == 3 && s[0] == 1:
		return s[1], s[2], true
	case len(s) == 2:
		return s[0], s[1], true
	}
	return 0, 0, false
}

// dependsOnInput reports whether t is computed from a graph input.
func dependsOnInput(g *ir.Graph, t *ir.Tensor) bool {
	prod := g.Producers()
	isIn := map[*ir.Tensor]bool{}
	for _, in := range g.Inputs {
		isIn[in] = true
	}
	seen := map[*ir.Tensor]bool{}
	stack := []*ir.Tensor{t}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if x == nil || seen[x] || x.IsConst() {
			continue
		}
		seen[x] = true
		if isIn[x] {
			return true
		}
		if p := prod[x]; p != nil {
			stack = append(stack, p.Inputs...)
		}
	}
	return false
}

// outputIndex finds an output by name or index.
func outputIndex(g *ir.Graph, s string) (int, error) {
	s = strings.TrimSpace(s)
	for i, o := range g.Outputs {
		if o.Name == s {
			return i, nil
		}
	}
	if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(g.Outputs) {
		return i, nil
	}
	var names []string
	for i, o := range g.Outputs {
		names = append(names, fmt.Sprintf("%d %q %v", i, o.Name, o.Shape))
	}
	return 0, fmt.Errorf("no output %q (outputs: %s)", s, strings.Join(names, ", "))
}

// postProcessOutputs returns the indices of the four outputs of a
// DetectionPostProcess node among g's outputs; ok false when g has none.
func postProcessOutputs(g *ir.Graph) (idx [4]int, ok bool) {
	for _, n := range g.Nodes {
		if n.Op != ir.OpDetectionPostProcess {
			continue
		}
		for k, t := range n.Outputs {
			i := slices.Index(g.Outputs, t)
			if i < 0 {
				return idx, false
			}
			idx[k] = i
		}
		return idx, true
	}
	return idx, false
}

// outputList describes g's outputs for an error message.
func outputList(g *ir.Graph) string {
	var s []string
	for i, o := range g.Outputs {
		s = append(s, fmt.Sprintf("%d %q %v%v", i, o.Name, o.DType, o.Shape))
	}
	return strings.Join(s, ", ")
}

// autoRawOutputs finds raw SSD outputs from their shapes alone: the one
// [1,N,C] output (C other than 4) as class scores, the one [1,N,4] output
// computed from the image as box encodings, and a constant one as anchors
// (none when the anchors come from a file); ok false unless exactly that
// is found. anchors is -1 without an anchors output.
func autoRawOutputs(g *ir.Graph, anchorsFile bool) (scores, boxes, anchors int, ok bool) {
	var wide, enc, consts []int
	for i, o := range g.Outputs {
		_, k, ok := rows(o)
		switch {
		case !ok:
		case k == 4 && dependsOnInput(g, o):
			enc = append(enc, i)
		case k == 4:
			consts = append(consts, i)
		default:
			wide = append(wide, i)
		}
	}
	if len(wide) != 1 || len(enc) != 1 || len(consts) > 1 || (len(consts) == 0) == !anchorsFile {
		return -1, -1, -1, false
	}
	anchors = -1
	if len(consts) == 1 {
		anchors = consts[0]
	}
	return wide[0], enc[0], anchors, true
}

// Detects reports whether s reads g's outputs as a detector's without
// guessing: g ends in DetectionPostProcess, s names the raw outputs
// (Outputs), or their shapes alone tell the raw class scores, box
// encodings and anchors apart (as NewDecoder would find them). The box
// coding is not checked: NewDecoder asks for it.
func (s DetSpec) Detects(g *ir.Graph) bool {
	if _, ok := postProcessOutputs(g); ok {
		return true
	}
	if len(s.Outputs) > 0 {
		return true
	}
	_, _, _, ok := autoRawOutputs(g, s.Anchors != nil)
	return ok
}

// Decoder decodes the outputs of one graph into detections: a DetSpec
// resolved against the graph, with the state one goroutine needs (the
// center coding's interpreter). It is not safe for concurrent use; make
// one per goroutine.
type Decoder struct {
	dec *detDecoder
	w   *detWorker
}

// NewDecoder resolves s against g, the graph whose outputs Decode reads:
// the four outputs of a DetectionPostProcess it ends in, or raw class
// scores, box encodings and anchors decoded with s's box coding and NMS.
// The error says which setting is missing when g's outputs leave it open.
func (s DetSpec) NewDecoder(g *ir.Graph) (*Decoder, error) {
	dec, err := s.resolve(g)
	if err != nil {
		return nil, err
	}
	w, err := dec.newWorker()
	if err != nil {
		return nil, err
	}
	return &Decoder{dec: dec, w: w}, nil
}

// Decode turns one run's outputs (output(i) is the graph's output i, as
// runtime.Interpreter.Output gives them) into detections in pixels of a
// w x h image, best first.
func (d *Decoder) Decode(output func(i int) *runtime.Tensor, w, h int) ([]Detection, error) {
	return d.dec.decode(d.w, output, w, h)
}

// Describe says how the outputs are read (which outputs, coding, NMS).
func (d *Decoder) Describe() string { return d.dec.Describe() }

// PostProcessed reports whether the graph ends in DetectionPostProcess
// (its outputs read as they are, no decoding or NMS here).
func (d *Decoder) PostProcessed() bool { return d.dec.coding == CodingPostProcess }

// resolve fits the spec to g (the last model of the chain).
func (s DetSpec) resolve(g *ir.Graph) (*detDecoder, error) {
	d := &detDecoder{spec: s, coding: s.Coding, g: g, anchors: -1}
	if s.MaxDetections < 1 || s.PerClass < 1 || !(s.IoU > 0 && s.IoU <= 1) {
		return nil, fmt.Errorf("max detections %d, per class %d and IoU %g: want counts >= 1 and 0 < IoU <= 1", s.MaxDetections, s.PerClass, s.IoU)
	}
	// A post-processed graph is read as is whatever the coding says (the
	// raw-output settings then do not apply: a gate may compare a raw
	// model with its post-processed twin).
	if post, ok := postProcessOutputs(g); ok {
		d.coding, d.post = CodingPostProcess, post
		return d, nil
	}
	if d.coding == CodingPostProcess {
		return nil, fmt.Errorf("%s does not end in DetectionPostProcess (outputs %s)", modelName(g), outputList(g))
	}
	// raw outputs: find scores, boxes and anchors
	d.scores, d.boxes = -1, -1
	if len(s.Outputs) > 0 {
		if len(s.Outputs) < 2 || len(s.Outputs) > 3 {
			return nil, fmt.Errorf("--det-outputs takes scores,boxes[,anchors], got %d names", len(s.Outputs))
		}
		idx := make([]int, len(s.Outputs))
		for k, name := range s.Outputs {
			i, err := outputIndex(g, name)
			if err != nil {
				return nil, fmt.Errorf("--det-outputs: %w", err)
			}
			idx[k] = i
		}
		d.scores, d.boxes = idx[0], idx[1]
		if len(idx) == 3 {
			d.anchors = idx[2]
		}
	} else {
		var ok bool
		if d.scores, d.boxes, d.anchors, ok = autoRawOutputs(g, s.Anchors != nil); !ok {
			return nil, fmt.Errorf("cannot tell the class scores [1,N,C], box encodings [1,N,4] and anchors [N,4] apart among the outputs %s: give --det-outputs SCORES,BOXES[,ANCHORS] (names or indices; anchors from an output or --anchors FILE)", outputList(g))
		}
	}
	if (d.anchors >= 0) == (s.Anchors != nil) {
		return nil, fmt.Errorf("anchors: give either an anchors output (the third of --det-outputs) or --anchors FILE, not both or neither")
	}
	if d.coding != CodingCorners && d.coding != CodingCenter {
		return nil, fmt.Errorf("%s ends in raw SSD outputs (%s): give --box-coding corners (anchors and boxes x1,y1,x2,y2 with corner offsets, as ST's SSDs) or center (TF SSD center-size with --box-scales)", modelName(g), outputList(g))
	}
	var ok bool
	var k int
	if d.n, d.cols, ok = rows(g.Outputs[d.scores]); !ok {
		return nil, fmt.Errorf("scores output %q is %v, want [1,N,C]", g.Outputs[d.scores].Name, g.Outputs[d.scores].Shape)
	}
	if n, k, ok := rows(g.Outputs[d.boxes]); !ok || n != d.n || k != 4 {
		return nil, fmt.Errorf("boxes output %q is %v, want [1,%d,4]", g.Outputs[d.boxes].Name, g.Outputs[d.boxes].Shape, d.n)
	}
	if d.anchors >= 0 {
		a := g.Outputs[d.anchors]
		var n int
		if n, k, ok = rows(a); !ok || n != d.n || k != 4 {
			return nil, fmt.Errorf("anchors output %q is %v, want [%d,4]", a.Name, a.Shape, d.n)
		}
		if a.IsConst() {
			d.anchorConst = runtime.FromConst(a)
		}
	} else {
		if len(s.Anchors) != 4*d.n {
			return nil, fmt.Errorf("--anchors has %d anchors, the model %d", len(s.Anchors)/4, d.n)
		}
		d.anchorConst = &runtime.Tensor{DType: ir.Float32, Shape: []int{d.n, 4}, F32: s.Anchors}
	}
	for _, i := range []int{d.scores, d.boxes, d.anchors} {
		if i < 0 {
			continue
		}
		if o := g.Outputs[i]; o.DType != ir.Float32 && !(o.DType.IsQuantized() && o.Quant != nil && len(o.Quant.Scale) == 1) {
			return nil, fmt.Errorf("output %q is %v: want float32 or per-tensor quantized", o.Name, o.DType)
		}
	}
	switch bg := s.Background; {
	case bg == BackgroundFirst:
		d.offset = 1
	case bg == BackgroundNone:
	case s.Classes > 0 && d.cols == s.Classes+1:
		d.offset = 1
	case s.Classes > 0 && d.cols == s.Classes:
	default:
		return nil, fmt.Errorf("scores have %d columns and %d class names are known: give --det-background first (column 0 is background) or none, or --labels with one name per class", d.cols, s.Classes)
	}
	if d.cols-d.offset < 1 {
		return nil, fmt.Errorf("scores have %d columns, no class", d.cols)
	}
	if d.coding == CodingCenter {
		d.centerGraph = d.centerPostProcess()
	}
	return d, nil
}

// centerPostProcess is a graph of one DetectionPostProcess node over the
// raw outputs' types, the anchors an input too: the runtime's kernel
// decodes center-size boxes and suppresses as TFLite does.
func (d *detDecoder) centerPostProcess() *ir.Graph {
	s := d.spec
	in := func(name string, i int, shape []int) *ir.Tensor {
		if i < 0 { // anchors from the file
			return &ir.Tensor{Name: name, DType: ir.Float32, Shape: shape}
		}
		o := d.g.Outputs[i]
		return &ir.Tensor{Name: name, DType: o.DType, Shape: shape, Quant: o.Quant}
	}
	per := 1
	det := s.MaxDetections * per
	f := func(name string, shape ...int) *ir.Tensor {
		return &ir.Tensor{Name: name, DType: ir.Float32, Shape: shape}
	}
	n := &ir.Node{Name: "decode", Op: ir.OpDetectionPostProcess,
		Inputs:  []*ir.Tensor{in("boxes", d.boxes, []int{1, d.n, 4}), in("scores", d.scores, []int{1, d.n, d.cols}), in("anchors", d.anchors, []int{d.n, 4})},
		Outputs: []*ir.Tensor{f("det_boxes", 1, det, 4), f("det_classes", 1, det), f("det_scores", 1, det), f("det_count", 1)},
		Attrs: &ir.DetectionPostProcessAttrs{MaxDetections: s.MaxDetections, MaxClassesPerDetection: per, DetectionsPerClass: s.PerClass,
			UseRegularNMS: s.NMS == NMSPerClass, ScoreThreshold: s.ScoreThreshold, IoUThreshold: s.IoU, NumClasses: d.cols - d.offset,
			YScale: s.Scales[0], XScale: s.Scales[1], HScale: s.Scales[2], WScale: s.Scales[3]}}
	return &ir.Graph{Name: "center decoding", Nodes: []*ir.Node{n}, Inputs: n.Inputs, Outputs: n.Outputs}
}

// detWorker is a decoder's per-worker state (the center coding's
// interpreter).
type detWorker struct {
	center *runtime.Interpreter
}

func (d *detDecoder) newWorker() (*detWorker, error) {
	w := &detWorker{}
	if d.centerGraph != nil {
		it, err := runtime.NewWithOptions(d.centerGraph, runtime.Options{Threads: 1})
		if err != nil {
			return nil, fmt.Errorf("center decoding: %w", err)
		}
		w.center = it
		if d.anchorConst != nil {
			copyTensor(it.Input(2), d.anchorConst)
		}
	}
	return w, nil
}

// copyTensor copies src's elements into dst (same dtype, as many).
func copyTensor(dst, src *runtime.Tensor) {
	copy(dst.F32, src.F32)
	copy(dst.I8, src.I8)
	copy(dst.U8, src.U8)
	copy(dst.I32, src.I32)
	copy(dst.I64, src.I64)
}

// real is output i's values dequantized (float64).
func (d *detDecoder) real(out *runtime.Tensor, i int) []float64 {
	v := out.Dequantized(d.g.Outputs[i].Quant)
	r := make([]float64, len(v))
	for k, x := range v {
		r[k] = float64(x)
	}
	return r
}

// decode turns the outputs of the chain's last model (output(i) is output
// i) into detections in pixels of a w x h image, best first.
func (d *detDecoder) decode(dw *detWorker, output func(i int) *runtime.Tensor, w, h int) ([]Detection, error) {
	fw, fh := float64(w), float64(h)
	fromYXYX := func(boxes, classes, scores, count *runtime.Tensor, what string) ([]Detection, error) {
		n := int(count.Float(0))
		if n < 0 || n > classes.Len() || 4*n > boxes.Len() || n > scores.Len() {
			return nil, fmt.Errorf("%s: count %v outside the %d slots", what, count.Float(0), classes.Len())
		}
		dets := make([]Detection, n)
		for k := range dets {
			b := boxes.F32[4*k : 4*k+4]
			dets[k] = Detection{Class: int(classes.Float(k)), Score: scores.Float(k),
				Box: Box{float64(b[1]) * fw, float64(b[0]) * fh, float64(b[3]) * fw, float64(b[2]) * fh}}
		}
		return dets, nil
	}
	switch d.coding {
	case CodingPostProcess:
		p := d.post
		for _, i := range p {
			if o := output(i); o.DType != ir.Float32 {
				return nil, fmt.Errorf("DetectionPostProcess output %d is %v, want float32", i, o.DType)
			}
		}
		return fromYXYX(output(p[0]), output(p[1]), output(p[2]), output(p[3]), "DetectionPostProcess")
	case CodingCenter:
		c := dw.center
		copyTensor(c.Input(0), output(d.boxes))
		copyTensor(c.Input(1), output(d.scores))
		if d.anchorConst == nil {
			copyTensor(c.Input(2), output(d.anchors))
		}
		if err := runSafely(c); err != nil {
			return nil, fmt.Errorf("center decoding: %w", err)
		}
		return fromYXYX(c.Output(0), c.Output(1), c.Output(2), c.Output(3), "center decoding")
	}
	// corners
	scores := d.real(output(d.scores), d.scores)
	enc := d.real(output(d.boxes), d.boxes)
	var anc []float64
	if d.anchorConst != nil {
		q := (*ir.Quant)(nil)
		if d.anchors >= 0 {
			q = d.g.Outputs[d.anchors].Quant
		}
		anc = make([]float64, 4*d.n)
		for k, v := range d.anchorConst.Dequantized(q) {
			anc[k] = float64(v)
		}
	} else {
		anc = d.real(output(d.anchors), d.anchors)
	}
	boxes := make([]Box, d.n)
	for i := range boxes {
		e, a := enc[4*i:4*i+4], anc[4*i:4*i+4]
		aw, ah := a[2]-a[0], a[3]-a[1]
		boxes[i] = Box{e[0]*aw + a[0], e[1]*ah + a[1], e[2]*aw + a[2], e[3]*ah + a[3]}
	}
	var dets []Detection
	s := d.spec
	thr := float64(s.ScoreThreshold)
	if s.NMS == NMSPerClass {
		cls := make([]float64, d.n)
		for c := range d.cols - d.offset {
			for r := range cls {
				cls[r] = scores[r*d.cols+d.offset+c]
			}
			for _, r := range greedyNMS(boxes, cls, thr, float64(s.IoU), s.PerClass) {
				dets = append(dets, Detection{Class: c, Score: cls[r], Box: boxes[r]})
			}
		}
		// stable: ties keep the lower class, then the rank
		slices.SortStableFunc(dets, func(a, b Detection) int { return cmp.Compare(b.Score, a.Score) })
		dets = dets[:min(len(dets), s.MaxDetections)]
	} else {
		best := make([]int, d.n)
		bestScore := make([]float64, d.n)
		for r := range best {
			row := scores[r*d.cols+d.offset : (r+1)*d.cols]
			best[r] = Argmax(row)
			bestScore[r] = row[best[r]]
		}
		for _, r := range greedyNMS(boxes, bestScore, thr, float64(s.IoU), s.MaxDetections) {
			dets = append(dets, Detection{Class: best[r], Score: bestScore[r], Box: boxes[r]})
		}
	}
	for k := range dets {
		b := &dets[k].Box
		b.XMin, b.YMin, b.XMax, b.YMax = b.XMin*fw, b.YMin*fh, b.XMax*fw, b.YMax*fh
	}
	return dets, nil
}

// greedyNMS is the shared reference's nms_fast (TFLite's
// NonMaxSuppressionSingleClass in float64): the indices of the kept boxes,
// best first.
func greedyNMS(boxes []Box, scores []float64, scoreThr, iouThr float64, limit int) []int {
	var order []int
	for i, s := range scores {
		if s >= scoreThr {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	active := make([]bool, len(order))
	for i := range active {
		active[i] = true
	}
	var keep []int
	for k, i := range order {
		if len(keep) == limit {
			break
		}
		if !active[k] {
			continue
		}
		keep = append(keep, i)
		for j := k + 1; j < len(order); j++ {
			if active[j] && boxes[i].IoU(boxes[order[j]]) > iouThr {
				active[j] = false
			}
		}
	}
	return keep
}

// ReadAnchors reads an anchors file: one anchor per line, four numbers
// separated by commas or spaces, in the box coding's order (corners:
// x1,y1,x2,y2; center: ycenter,xcenter,h,w); blank lines and lines
// starting with # are skipped.
func ReadAnchors(path string) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []float32
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		fs := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		if len(fs) != 4 {
			return nil, fmt.Errorf("%s:%d: %d values, want 4", path, line, len(fs))
		}
		for _, x := range fs {
			v, err := strconv.ParseFloat(x, 32)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %q is not a number", path, line, x)
			}
			out = append(out, float32(v))
		}
		if len(out) > 4<<20 {
			return nil, fmt.Errorf("%s: more than %d anchors", path, 1<<20)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no anchors", path)
	}
	return out, nil
}
