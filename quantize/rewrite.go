package quantize

import (
	"fmt"
	"math"

	"github.com/mnconv/mnconv/ir"
)

// Config chooses the quantization scheme. The zero value is TFLite's int8
// specification with minmax ranges and float model I/O.
type Config struct {
	Method     Method
	Percentile float64 // for Percentile; 0 means 99.99
	// PerTensor quantizes weights with one scale per tensor instead of one
	// per output channel.
	PerTensor bool
	// Activations is ir.Int8 (default) or ir.Uint8 (TF1 style: uint8
	// activations and asymmetric uint8 per-tensor weights).
	Activations ir.DType
	// IO is the model interface: ir.Float32 (default; QUANTIZE and
	// DEQUANTIZE at the edges), ir.Int8 or ir.Uint8.
	IO ir.DType
	// ReduceRange quantizes int8 weights to 7 bits ([-63, 63]): for files
	// that ONNX Runtime will run on x86 CPUs without VNNI, whose kernels
	// otherwise saturate (ONNX Runtime's quantizer has the same option).
	ReduceRange bool
	// Exclude keeps nodes in float: each entry is a node name, one of the
	// ';'-separated parts of a node name (TFLite names fused nodes so), the
	// name of the node's output, or an op type ("Conv", "DepthwiseConv",
	// "Add", ..., case-insensitive). Their float inputs come from a
	// Dequantize, their float outputs go through a Quantize before a
	// quantized reader; consecutive excluded nodes pass float between them.
	Exclude []string
	// BiasCorrection subtracts from each integer layer's bias the mean
	// error its quantized weights add on the calibration images
	// (CorrectBias); Pipeline applies it.
	BiasCorrection bool
	// Rounding chooses each depthwise weight's rounding (down or up) to
	// minimise the layer's output error on the calibration images
	// (RoundWeights), before any bias correction; Pipeline applies it.
	Rounding bool
	// ScaleSearch picks each depthwise layer's per-tensor weight scale to
	// minimise its output error on the calibration images (RoundWeights).
	ScaleSearch bool
	// Warn receives notes about nodes left in float; nil discards them.
	Warn func(string)
}

func (c *Config) defaults() error {
	if c.Activations == ir.Invalid {
		c.Activations = ir.Int8
	}
	if c.IO == ir.Invalid {
		c.IO = ir.Float32
	}
	if c.Percentile == 0 {
		c.Percentile = 99.99
	}
	if c.Activations != ir.Int8 && c.Activations != ir.Uint8 {
		return fmt.Errorf("activations must be int8 or uint8, not %v", c.Activations)
	}
	if c.IO != ir.Float32 && c.IO != ir.Int8 && c.IO != ir.Uint8 {
		return fmt.Errorf("model I/O must be float32, int8 or uint8, not %v", c.IO)
	}
	if c.Percentile <= 50 || c.Percentile > 100 {
		return fmt.Errorf("percentile %g must be in (50, 100]", c.Percentile)
	}
	if c.Activations == ir.Uint8 {
		c.PerTensor = true
	}
	return nil
}

// Result is a quantized graph and, for each of its quantized activations, the
// float tensor it approximates (for error reports).
type Result struct {
	Graph *ir.Graph
	Twins map[*ir.Tensor]*ir.Tensor // quantized tensor -> float tensor
	// Ranges holds the chosen real range and the observed extremes per float
	// activation name.
	Ranges map[string]Range
	// Float lists nodes left in float (no integer form, or excluded), with
	// the reason.
	Float []string
	// Excluded names the nodes kept in float by Config.Exclude.
	Excluded []string
	// BiasCorrected counts the layers whose bias CorrectBias adjusted.
	BiasCorrected int
	// Rounded counts the layers whose weights RoundWeights rewrote;
	// Searched says what it did to each.
	Rounded  int
	Searched []SearchedLayer
}

// Range is an activation's chosen range beside what calibration saw.
type Range struct {
	Lo, Hi                 float64 // chosen
	ObservedLo, ObservedHi float64 // calibration extremes
	Scale                  float32
	ZeroPoint              int64
}

// actParams returns scale and zero point covering [lo, hi] (widened to hold
// 0, as every quantized activation must represent 0 exactly).
func actParams(lo, hi float64, dt ir.DType) (float32, int64) {
	lo, hi = min(lo, 0), max(hi, 0)
	if hi-lo < 1e-8 {
		hi = lo + 1e-8
	}
	qmin, qmax := dt.Range()
	scale := (hi - lo) / float64(qmax-qmin)
	zp := int64(math.Round(float64(qmin) - lo/scale))
	zp = min(max(zp, qmin), qmax)
	return float32(scale), zp
}

// Quantize rewrites the float graph g into an integer graph using the
// calibration statistics. g is not modified.
func Quantize(g *ir.Graph, st *Stats, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	q := &quantizer{g: g, st: st, cfg: cfg, res: &Result{Twins: map[*ir.Tensor]*ir.Tensor{}, Ranges: map[string]Range{}},
		qt: map[*ir.Tensor]*ir.Tensor{}, deq: map[*ir.Tensor]*ir.Tensor{}, req: map[*ir.Tensor]*ir.Tensor{}, names: map[string]bool{}}
	var err error
	if q.excl, err = newExcluder(g, cfg.Exclude); err != nil {
		return nil, err
	}
	for _, t := range g.Tensors() {
		q.names[t.Name] = true
	}
	if err := q.chooseParams(); err != nil {
		return nil, err
	}
	if err := q.rewrite(); err != nil {
		return nil, err
	}
	out := q.out
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("quantize: produced an invalid graph: %v", err)
	}
	q.res.Graph = out
	return q.res, nil
}

type quantizer struct {
	g      *ir.Graph
	st     *Stats
	cfg    Config
	res    *Result
	params map[*ir.Tensor]*ir.Quant  // float activation -> its quantization
	qt     map[*ir.Tensor]*ir.Tensor // float activation -> quantized twin (float for excluded nodes)
	deq    map[*ir.Tensor]*ir.Tensor // float activation -> Dequantize of its twin
	req    map[*ir.Tensor]*ir.Tensor // excluded node's float output -> its Quantize
	excl   *excluder
	names  map[string]bool
	out    *ir.Graph
}

func (q *quantizer) unique(base string) string {
	name := base
	for i := 2; q.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	q.names[name] = true
	return name
}

// chooseParams picks each float activation's range, in node order so that
// pass-through ops can inherit their input's parameters.
func (q *quantizer) chooseParams() error {
	q.params = map[*ir.Tensor]*ir.Quant{}
	dt := q.cfg.Activations
	qmin, _ := dt.Range()
	set := func(t *ir.Tensor, lo, hi float64) {
		s, zp := actParams(lo, hi, dt)
		q.params[t] = &ir.Quant{Scale: []float32{s}, ZeroPoint: []int64{zp}}
		r := q.res.Ranges[t.Name]
		r.Lo, r.Hi, r.Scale, r.ZeroPoint = lo, hi, s, zp
		q.res.Ranges[t.Name] = r
	}
	// Logits (what a softmax or the caller ranks) keep their observed
	// extremes whatever the method: clipping them merges the top classes
	// into ties and changes the prediction.
	keepExtremes := map[*ir.Tensor]bool{}
	for _, t := range q.g.Outputs {
		keepExtremes[t] = true
	}
	prod := q.g.Producers()
	for _, n := range q.g.Nodes {
		if n.Op.Has(ir.IndexOutput) {
			keepExtremes[n.Inputs[0]] = true // ArgMax ranks it
		}
		if n.Op == ir.OpSoftmax {
			keepExtremes[n.Inputs[0]] = true
			if p := prod[n.Inputs[0]]; p != nil && p.Op == ir.OpReshape {
				keepExtremes[p.Inputs[0]] = true
			}
		}
	}
	fromStats := func(t *ir.Tensor) (float64, float64, bool) {
		h := q.st.Hist[t.Name]
		if h == nil || h.Count == 0 {
			return 0, 0, false
		}
		method := q.cfg.Method
		if keepExtremes[t] {
			method = MinMax
		}
		lo, hi := chooseRange(h, method, q.cfg.Percentile, 255)
		q.res.Ranges[t.Name] = Range{ObservedLo: h.Min, ObservedHi: h.Max}
		return lo, hi, true
	}
	for _, t := range q.g.Inputs {
		if t.DType != ir.Float32 {
			return fmt.Errorf("graph input %q is %v: quantize takes a float model (use convert --dequantize first)", t.Name, t.DType)
		}
		lo, hi, ok := fromStats(t)
		if !ok {
			return fmt.Errorf("graph input %q was never observed during calibration", t.Name)
		}
		set(t, lo, hi)
	}
	for _, n := range q.g.Nodes {
		for _, t := range n.Inputs {
			if t != nil && t.DType != ir.Float32 {
				return n.Errorf("input %q is %v: quantize takes a float model (use convert --dequantize first)", t.Name, t.DType)
			}
		}
		out := n.Out()
		switch {
		case n.Op.Has(ir.IndexOutput):
			// Integer indices (ArgMax): nothing to quantize.
		case n.Op.Has(ir.FixedOutputRange):
			// TFLite's int8 spec fixes these outputs to scale 1/256 over [0, 1).
			q.params[out] = &ir.Quant{Scale: []float32{1.0 / 256}, ZeroPoint: []int64{qmin}}
			r := Range{Lo: 0, Hi: 255.0 / 256, Scale: 1.0 / 256, ZeroPoint: qmin}
			if h := q.st.Hist[out.Name]; h != nil {
				r.ObservedLo, r.ObservedHi = h.Min, h.Max
			}
			q.res.Ranges[out.Name] = r
		case n.Op.Has(ir.QuantPassThrough) && q.params[n.Inputs[0]] != nil:
			q.params[out] = q.params[n.Inputs[0]].Clone()
			r := q.res.Ranges[n.Inputs[0].Name]
			if h := q.st.Hist[out.Name]; h != nil {
				r.ObservedLo, r.ObservedHi = h.Min, h.Max
			}
			q.res.Ranges[out.Name] = r
		default:
			lo, hi, ok := fromStats(out)
			if !ok {
				return n.Errorf("output %q was never observed during calibration", out.Name)
			}
			// A fused or explicit clamp bounds the range: a calibrated ReLU6
			// range never exceeds [0, 6].
			l, h := n.OutputBounds()
			alo, ahi := max(float64(l), -math.MaxFloat32), min(float64(h), math.MaxFloat32)
			if q.cfg.Method == Entropy && ahi < math.MaxFloat32 {
				// Entropy clips a bounded activation (ReLU6) of a
				// quantization-aware model to ~4 where training put real
				// values up to the bound: keep the observed range inside the
				// bound instead (measured, --calib-count 100: the dequantized
				// coral v2 goes from 55.00 to 87.75 top-1 on eval/, float 88.25).
				hst := q.st.Hist[out.Name]
				lo, hi = hst.Min, hst.Max
			}
			set(out, max(lo, alo), min(hi, ahi))
		}
	}
	return nil
}
