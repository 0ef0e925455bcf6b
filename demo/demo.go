// Package demo is mnconv's built-in tour: it builds a small MobileNet in
// memory, optimizes it, quantizes it on synthetic calibration images,
// exports it as ONNX and TFLite, reads every file back and checks it against
// the in-memory model. It needs no network and no data files.
//
// Phase: orchestration only; every step is a call into the pipeline packages.
package demo

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/mnconv/mnconv/builder"
	"github.com/mnconv/mnconv/eval"
	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/atomicfile"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/quantize"
	rt "github.com/mnconv/mnconv/runtime"
)

// Options configure the tour.
type Options struct {
	Dir        string // where the files go (created if missing)
	Arch       builder.Arch
	Alpha      float64
	Resolution int
	Classes    int
	CalibN     int // synthetic calibration images
	TestN      int // held-out synthetic images for the checks
	Out        io.Writer
	// Inspect prints a model's per-layer table (the CLI's inspect table).
	Inspect func(w io.Writer, name string, g *ir.Graph) error
}

// File is one file the tour wrote, with what checking it found.
type File struct {
	Path    string
	Bytes   int
	Check   string
	MaxDiff float64 // against the in-memory float model (float files)
}

// Run performs the tour and prints it.
func Run(ctx context.Context, o Options) ([]File, error) {
	w := o.Out
	start := time.Now()
	step := func(format string, args ...any) {
		fmt.Fprintf(w, "\n== "+format+"\n", args...)
	}
	cfg := builder.Config{Arch: o.Arch, Alpha: o.Alpha, Resolution: o.Resolution, Classes: o.Classes, Seed: 1}
	g, err := builder.Build(cfg)
	if err != nil {
		return nil, err
	}
	step("1. Built %s (random weights, batch norm unfolded as a training export has it)", cfg.Name())
	before := opCounts(g)
	fmt.Fprintf(w, "%d nodes: %d Conv, %d BatchNorm, %d Clip (ReLU6), %d Add\n", before.total,
		before.ops[ir.OpConv], before.ops[ir.OpBatchNorm], before.ops[ir.OpClip], before.ops[ir.OpAdd])

	step("2. Optimized: batch norm folded into the convolutions, ReLU6 fused")
	var target preprocess.Target
	p := quantize.Pipeline{
		Optimized: func(g *ir.Graph, rep *passes.Report) error {
			fmt.Fprint(w, rep.String())
			after := opCounts(g)
			fmt.Fprintf(w, "nodes %d -> %d; BatchNorm %d -> %d, Clip %d -> %d. Per layer (MACs = multiply-accumulates):\n", before.total, after.total,
				before.ops[ir.OpBatchNorm], after.ops[ir.OpBatchNorm], before.ops[ir.OpClip], after.ops[ir.OpClip])
			if o.Inspect != nil {
				if err := o.Inspect(w, cfg.Name(), g); err != nil {
					return err
				}
			}
			step("3. Quantized to int8 on %d synthetic calibration images (minmax ranges, per-channel weights)", o.CalibN)
			return nil
		},
		Calibration: func(g *ir.Graph) (quantize.Source, error) {
			var err error
			if target, err = preprocess.TargetFor(g, 0, preprocess.Full, preprocess.TF); err != nil {
				return nil, err
			}
			return &synthSource{target: target, n: o.CalibN, seed: 1}, nil
		},
	}
	out, err := p.Run(ctx, g)
	if err != nil {
		return nil, err
	}
	res := out.Results[0]
	test := &synthSource{target: target, n: o.TestN, seed: 2}
	var inputs []*rt.Tensor
	for i := 0; i < test.Len(); i++ {
		x, err := test.Load(i)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, x)
	}
	qrep, err := quantize.Compare(g, res, quantize.MinMax, inputs[:min(4, len(inputs))])
	if err != nil {
		return nil, err
	}
	qrep.WriteTable(w, 8)

	step("4. Exported and read back (files in %s)", o.Dir)
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	ref, err := outputs(g, inputs)
	if err != nil {
		return nil, err
	}
	var files []File
	for _, f := range []struct {
		name  string
		graph *ir.Graph
		quant bool
	}{
		{"float.onnx", g, false}, {"float.tflite", g, false},
		{"int8.tflite", res.Graph, true}, {"int8_qdq.onnx", res.Graph, true},
	} {
		path := filepath.Join(o.Dir, f.name)
		exp, err := exporters.ForPath(path)
		if err != nil {
			return nil, err
		}
		data, err := exp.Export(f.graph, exporters.Options{InputLayout: ir.NHWC})
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if err := atomicfile.WriteFile(path, data); err != nil {
			return nil, err
		}
		back, err := importers.Load(path, importers.Options{})
		if err != nil {
			return nil, fmt.Errorf("reading back %s: %v", path, err)
		}
		got, err := outputs(back, inputs)
		if err != nil {
			return nil, fmt.Errorf("running %s: %v", path, err)
		}
		file := File{Path: path, Bytes: len(data)}
		agree, maxDiff, cos := compare(ref, got)
		file.MaxDiff = maxDiff
		if f.quant {
			file.Check = fmt.Sprintf("int8 vs float: top-1 agrees on %d/%d images, output cosine %.4f", agree, len(inputs), cos)
		} else {
			file.Check = fmt.Sprintf("vs in-memory model: max |diff| %.2g, top-1 %d/%d", maxDiff, agree, len(inputs))
		}
		files = append(files, file)
	}
	for _, f := range files {
		fmt.Fprintf(w, "  %-40s %9d bytes  %s\n", f.Path, f.Bytes, f.Check)
	}
	fmt.Fprintf(w, "\nint8 .tflite is %.1fx smaller than float .tflite (weights 4x; per-channel scales and int32 biases are the rest). Done in %.1fs.\n",
		float64(files[1].Bytes)/float64(files[2].Bytes), time.Since(start).Seconds())
	return files, nil
}

type counts struct {
	total int
	ops   map[ir.Op]int
}

func opCounts(g *ir.Graph) counts {
	c := counts{total: len(g.Nodes), ops: map[ir.Op]int{}}
	for _, n := range g.Nodes {
		c.ops[n.Op]++
	}
	return c
}

// outputs runs g on every input and returns the dequantized first output.
func outputs(g *ir.Graph, inputs []*rt.Tensor) ([][]float32, error) {
	it, err := rt.New(g)
	if err != nil {
		return nil, err
	}
	var out [][]float32
	for _, x := range inputs {
		in := g.Inputs[0]
		if in.DType != ir.Float32 {
			x = quantize.QuantizeTensor(x, in.DType, in.Quant)
		}
		if err := it.SetInput(0, x); err != nil {
			return nil, err
		}
		if err := it.Run(); err != nil {
			return nil, err
		}
		y := it.Output(0)
		out = append(out, append([]float32(nil), y.Dequantized(g.Outputs[0].Quant)...))
	}
	return out, nil
}

// compare returns top-1 agreement, the largest absolute difference and the
// mean cosine similarity of two sets of outputs.
func compare(a, b [][]float32) (agree int, maxDiff, cos float64) {
	for i := range a {
		if eval.Argmax(a[i]) == eval.Argmax(b[i]) {
			agree++
		}
		var ab, aa, bb float64
		for j := range a[i] {
			x, y := float64(a[i][j]), float64(b[i][j])
			maxDiff = max(maxDiff, math.Abs(x-y))
			ab += x * y
			aa += x * x
			bb += y * y
		}
		if aa > 0 && bb > 0 {
			cos += ab / math.Sqrt(aa*bb)
		}
	}
	return agree, maxDiff, cos / float64(len(a))
}

// synthSource makes deterministic synthetic photographs: smooth colour
// gradients, a few soft-edged shapes and mild noise, so activations have
// the spread real images give.
type synthSource struct {
	target preprocess.Target
	n      int
	seed   uint64
}

func (s *synthSource) Len() int          { return s.n }
func (s *synthSource) Name(i int) string { return fmt.Sprintf("synthetic-%d", i) }

func (s *synthSource) Load(i int) (*rt.Tensor, error) {
	h, w := s.target.H, s.target.W
	r := rand.New(rand.NewPCG(s.seed, uint64(i)))
	pix := make([]uint8, h*w*3)
	var base, grad [3]float64
	for c := range base {
		base[c] = r.Float64() * 255
		grad[c] = (r.Float64() - 0.5) * 200
	}
	shapes := make([]struct {
		x, y, rad float64
		col       [3]float64
	}, 1+r.IntN(4))
	for k := range shapes {
		shapes[k].x, shapes[k].y = r.Float64()*float64(w), r.Float64()*float64(h)
		shapes[k].rad = (0.1 + 0.3*r.Float64()) * float64(min(w, h))
		for c := range shapes[k].col {
			shapes[k].col[c] = r.Float64() * 255
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				v := base[c] + grad[c]*(float64(x)/float64(w)-0.5) + 20*math.Sin(float64(x+y*c)/7)
				for _, sh := range shapes {
					d := math.Hypot(float64(x)-sh.x, float64(y)-sh.y) / sh.rad
					if d < 1 {
						a := 1 - d*d
						v = v*(1-a) + sh.col[c]*a
					}
				}
				v += r.NormFloat64() * 6
				pix[(y*w+x)*3+c] = uint8(min(max(math.Round(v), 0), 255))
			}
		}
	}
	x := rt.NewTensor(s.target.DType, []int{1, h, w, s.target.Channels})
	if err := s.target.Fill(x, 0, pix); err != nil {
		return nil, err
	}
	return x, nil
}
