// Command pertensor measures per-tensor int8 quantization methods on a float
// MobileNet: top-1 on a labelled folder of each variant, calibrated on
// another (issue 17). Decisions are taken on a split of calib/ (calibration
// part and held-out part); eval/ only for final figures.
//
//	go run ./scripts/benchmarks/pertensor -model v2f.tflite -calib ../shared/images/imagenet/calib -variants naive,bc
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/mnconv/mnconv/importers/tflite"

	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/quantize"
	rt "github.com/mnconv/mnconv/runtime"
)

var (
	model    = flag.String("model", "", "float model")
	calibDir = flag.String("calib", "../shared/images/imagenet/calib", "calibration folder")
	evalDir  = flag.String("eval", "", "labelled folder to measure on; empty: the held-out part of -calib")
	nCalib   = flag.Int("calib-count", 100, "calibration images")
	nHeld    = flag.Int("held", 100, "held-out images (when -eval is empty)")
	variants = flag.String("variants", "float,naive,bc", "comma-separated variants")
)

type item struct {
	x     *rt.Tensor
	label int
}

func main() {
	flag.Parse()
	all, err := quantize.ListImages(*calibDir, 0, 1)
	if err != nil {
		log.Fatal(err)
	}
	calib, err := quantize.ListImages(*calibDir, *nCalib, 1) // as quantize --calib-count N --seed 1
	if err != nil {
		log.Fatal(err)
	}
	in := map[string]bool{}
	for _, f := range calib {
		in[f] = true
	}
	var held []string
	dir := *calibDir
	if *evalDir != "" {
		dir = *evalDir
		held, _ = quantize.ListImages(dir, 0, 1)
	} else {
		for _, f := range all {
			if !in[f] && len(held) < *nHeld {
				held = append(held, f)
			}
		}
	}
	labels := readLabels(filepath.Join(dir, "labels.csv"))
	base, err := importers.Load(*model, importers.Options{})
	if err != nil {
		log.Fatal(err)
	}
	r, _, _ := preprocess.Detect(base)
	mode := r.ModeFor(base, 0)
	g0 := base.Clone()
	if _, err := passes.Run(g0, passes.Default, nil); err != nil {
		log.Fatal(err)
	}
	if err := quantize.PrepareGraph(g0); err != nil {
		log.Fatal(err)
	}
	src, err := quantize.NewImageSource(g0, held, r.Geometry, mode)
	if err != nil {
		log.Fatal(err)
	}
	var items []item
	for i := range held {
		x, err := src.Load(i)
		if err != nil {
			log.Fatal(err)
		}
		items = append(items, item{x, labels[filepath.Base(held[i])]})
	}
	fmt.Printf("model %s: %d calibration images, %d measured (%s)\n", *model, len(calib), len(items), dir)
	fg, _ := run("float", base, calib, r, mode)
	_, ref := top1(fg, items)
	for _, v := range strings.Split(*variants, ",") {
		start := time.Now()
		g, note := run(v, base, calib, r, mode)
		acc, outs := top1(g, items)
		var ff, ee float64
		agree := 0
		for i := range outs {
			if argmax(outs[i]) == argmax(ref[i]) {
				agree++
			}
			for j, x := range ref[i] {
				ff += float64(x) * float64(x)
				ee += float64(x-outs[i][j]) * float64(x-outs[i][j])
			}
		}
		fmt.Printf("%-28s top-1 %6.2f  output SQNR %6.2f dB, top-1 agreement %5.1f%%  (%s) %s\n", v, acc, 10*math.Log10(ff/ee),
			100*float64(agree)/float64(len(outs)), time.Since(start).Round(time.Second), note)
	}
}

func readLabels(path string) map[string]int {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		log.Fatal(err)
	}
	m := map[string]int{}
	for _, r := range rows[1:] {
		k, _ := strconv.Atoi(r[1])
		m[r[0]] = k
	}
	return m
}

func argmax(v []float32) int {
	best := 0
	for i, s := range v {
		if s > v[best] {
			best = i
		}
	}
	return best
}

// top1 is g's top-1 accuracy on items, and its outputs.
func top1(g *ir.Graph, items []item) (float64, [][]float32) {
	var outs [][]float32
	it, err := rt.New(g)
	if err != nil {
		log.Fatal(err)
	}
	ok := 0
	for _, x := range items {
		if err := it.SetInput(0, x.x); err != nil {
			log.Fatal(err)
		}
		if err := it.Run(); err != nil {
			log.Fatal(err)
		}
		out := it.Output(0)
		var v []float32
		if out.DType == ir.Float32 {
			v = out.F32
		} else {
			v = out.Dequantized(g.Outputs[0].Quant)
		}
		outs = append(outs, append([]float32(nil), v...))
		best := argmax(v)
		off := 0
		if len(v) == 1001 {
			off = 1
		}
		if best-off == x.label {
			ok++
		}
	}
	return 100 * float64(ok) / float64(len(items)), outs
}

// run builds variant v: "float", "float-relu" (ReLU6 -> ReLU), or a
// '+'-separated list of per-tensor options (naive, bc, eq, eq6, ...).
func run(v string, base *ir.Graph, calib []string, r preprocess.Recipe, mode preprocess.Mode) (*ir.Graph, string) {
	g, err := importers.Load(*model, importers.Options{}) // a fresh copy: Clone shares constant data
	if err != nil {
		log.Fatal(err)
	}
	if _, err := passes.Run(g, passes.Default, nil); err != nil {
		log.Fatal(err)
	}
	if err := quantize.PrepareGraph(g); err != nil {
		log.Fatal(err)
	}
	opts := map[string]bool{}
	for _, o := range strings.Split(v, "+") {
		opts[o] = true
	}
	if opts["float"] || opts["float-relu"] {
		if opts["float-relu"] {
			for _, n := range g.Nodes {
				if n.FusedAct() == ir.ActRelu6 {
					n.SetFusedAct(ir.ActRelu)
				}
			}
		}
		for o := range opts {
			if strings.HasPrefix(o, "wq") {
				fakeQuantWeights(g, o)
			}
		}
		return g, ""
	}
	cfg := quantize.Config{PerTensor: true, BiasCorrection: opts["bc"], Rounding: opts["round"], ScaleSearch: opts["ss"]}
	p := quantize.Pipeline{
		Passes:      []passes.Pass{},
		Calibration: func(g *ir.Graph) (quantize.Source, error) { return quantize.NewImageSource(g, calib, r.Geometry, mode) },
		Configs:     []quantize.Config{cfg},
	}
	if opts["eq"] || opts["eq6"] || opts["eqb"] {
		p.Equalize = &quantize.EqualizeOptions{ReplaceReLU6: opts["eq6"], Bounded: opts["eqb"]}
	}
	o, err := p.Run(context.Background(), g)
	if err != nil {
		log.Fatal(err)
	}
	note := ""
	if o.Equalized != nil {
		note += fmt.Sprintf("eq %d pairs %d refused; ", len(o.Equalized.Pairs), o.Equalized.Refused)
	}
	if cfg.BiasCorrection {
		note += fmt.Sprintf("bc %d layers; ", o.Results[0].BiasCorrected)
	}
	if cfg.Rounding || cfg.ScaleSearch {
		note += fmt.Sprintf("rounded %d layers; ", o.Results[0].Rounded)
	}
	if opts["pairs"] && o.Equalized != nil {
		for _, p := range o.Equalized.Pairs {
			fmt.Println(p)
		}
	}
	if opts["f"] {
		return o.Float, note // the float graph after equalization
	}
	return o.Results[0].Graph, note
}

// fakeQuantWeights replaces every conv / gemm weight by its per-tensor
// int8 round trip (weight-only error).
// wq: all; wq-dw: depthwise only; wq-pw: others only; wq=N: node N only.
func fakeQuantWeights(g *ir.Graph, how string) {
	k := -1
	for _, n := range g.Nodes {
		if n.Op != ir.OpConv && n.Op != ir.OpGemm {
			continue
		}
		k++
		if how == "wq-dw" && !n.IsDepthwise() || how == "wq-pw" && n.IsDepthwise() {
			continue
		}
		if strings.HasPrefix(how, "wq=") && how != fmt.Sprintf("wq=%d", k) {
			continue
		}
		w := n.In(1)
		if w == nil || !w.IsConst() || w.DType != ir.Float32 {
			continue
		}
		m := 0.0
		for _, x := range w.Data.F32 {
			m = max(m, math.Abs(float64(x)))
		}
		s := m / 127
		if s == 0 {
			continue
		}
		for i, x := range w.Data.F32 {
			w.Data.F32[i] = float32(math.Round(float64(x)/s) * s)
		}
	}
}
