// Command quantsweep measures post-training quantization end to end: for each
// float source model and each range method it calibrates on calib/, writes
// the int8 model as .tflite, reads the file back, and evaluates float and
// int8 on eval/ (never the other way round). It prints one markdown table.
//
//	go run ./bench/quantsweep [-shared ../shared] [-models a,b] [-methods minmax,mse]
//
// It is a benchmark, not a test: a full run takes tens of minutes on 2 cores.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mnconv/mnconv/eval"
	"github.com/mnconv/mnconv/exporters"
	_ "github.com/mnconv/mnconv/exporters/tflite"
	"github.com/mnconv/mnconv/importers"
	_ "github.com/mnconv/mnconv/importers/onnx"
	_ "github.com/mnconv/mnconv/importers/tflite"
	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/passes"
	"github.com/mnconv/mnconv/preprocess"
	"github.com/mnconv/mnconv/quantize"
)

type source struct {
	name     string
	file     string // under shared/models
	imagenet bool   // labelled ImageNet classifier (else a 2-class person model)
	preset   preprocess.Preset
	mode     preprocess.Mode
}

var sources = []source{
	{"coral_v1_0.25_128", "tflite/coral_mobilenet_v1_0.25_128_quant.tflite", true, preprocess.Slim, preprocess.Auto},
	{"coral_v1_0.75_192", "tflite/coral_mobilenet_v1_0.75_192_quant.tflite", true, preprocess.Slim, preprocess.Auto},
	{"coral_v2_1.0_224", "tflite/coral_mobilenet_v2_1.0_224_quant.tflite", true, preprocess.Slim, preprocess.Auto},
	{"coral_tf2_v2_ptq", "tflite/coral_tf2_mobilenet_v2_1.0_224_ptq.tflite", true, preprocess.Slim, preprocess.Auto},
	{"vww_96_float", "tflite/mlcommons_tiny_vww_96_float.tflite", false, preprocess.Full, preprocess.Unit},
	{"stm32_v2_128_0.5", "onnx/stm32_tutorial_mobilenet_v2_128_0.5.onnx", false, preprocess.Slim, preprocess.TF},
}

func main() {
	shared := flag.String("shared", "../shared", "the shared data folder")
	only := flag.String("models", "", "comma-separated model names (default: all)")
	methodList := flag.String("methods", "minmax,percentile,entropy,mse", "range methods")
	limit := flag.Int("limit", 0, "evaluate on the first N eval images only (0 = all)")
	flag.Parse()
	var methods []quantize.Method
	for _, m := range strings.Split(*methodList, ",") {
		mm, err := quantize.ParseMethod(m)
		if err != nil {
			fail(err)
		}
		methods = append(methods, mm)
	}
	tmp, err := os.MkdirTemp("", "quantsweep-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)
	fmt.Println("| model | official int8 top-1 | float top-1 / top-5 | method | int8 top-1 / top-5 | drop | top-1 agreement | calib s | int8 bytes / float bytes |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, s := range sources {
		if *only != "" && !strings.Contains(","+*only+",", ","+s.name+",") {
			continue
		}
		if err := sweep(s, *shared, tmp, methods, *limit); err != nil {
			fail(fmt.Errorf("%s: %v", s.name, err))
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "quantsweep:", err)
	os.Exit(1)
}

func sweep(s source, shared, tmp string, methods []quantize.Method, limit int) error {
	path := filepath.Join(shared, "models", s.file)
	orig, err := importers.Load(path, importers.Options{})
	if err != nil {
		return err
	}
	items, err := evalItems(shared, s, limit)
	if err != nil {
		return err
	}
	cfg := eval.Config{Preset: s.preset, Mode: s.mode}
	official := "-"
	quantizedSource := false
	for _, t := range orig.Inputs {
		quantizedSource = quantizedSource || t.Quant != nil
	}
	if quantizedSource {
		cfg.Mode = preprocess.Auto
		r, err := eval.Evaluate(context.Background(), []*ir.Graph{orig}, items, cfg)
		if err != nil {
			return err
		}
		official = fmt.Sprintf("%.2f", r.Top1)
	}
	g, err := importers.Load(path, importers.Options{})
	if err != nil {
		return err
	}
	p := quantize.Pipeline{
		Passes: passes.Default,
		Calibration: func(g *ir.Graph) (quantize.Source, error) {
			files, err := quantize.ListImages(filepath.Join(shared, "images/imagenet/calib"), 0, 1)
			if err != nil {
				return nil, err
			}
			return quantize.NewImageSource(g, files, s.preset, s.mode)
		},
	}
	if quantizedSource {
		p.Passes = append([]passes.Pass{passes.Dequantize}, p.Passes...)
	}
	for _, m := range methods {
		p.Configs = append(p.Configs, quantize.Config{Method: m})
	}
	out, err := p.Run(context.Background(), g)
	if err != nil {
		return err
	}
	floatRes, err := eval.Evaluate(context.Background(), []*ir.Graph{g}, items, cfg)
	if err != nil {
		return err
	}
	floatBytes, err := exportSize(g, filepath.Join(tmp, s.name+"_float.tflite"))
	if err != nil {
		return err
	}
	calibSec := out.CalibTime.Seconds()
	for i, m := range methods {
		res := out.Results[i]
		file := filepath.Join(tmp, fmt.Sprintf("%s_%s.tflite", s.name, m))
		qBytes, err := exportSize(res.Graph, file)
		if err != nil {
			return err
		}
		back, err := importers.Load(file, importers.Options{})
		if err != nil {
			return err
		}
		qcfg := cfg
		if quantizedSource {
			// the int8 model's float input expects what the float model expects
			qcfg.Mode = preprocess.Auto
			back.SourceInputQuant = g.SourceInputQuant
		}
		qr, err := eval.Evaluate(context.Background(), []*ir.Graph{back}, items, qcfg)
		if err != nil {
			return err
		}
		agree := 0
		for i := range qr.PerImage {
			if qr.PerImage[i].Top5[0] == floatRes.PerImage[i].Top5[0] {
				agree++
			}
		}
		acc := func(r *eval.Result) string {
			if !s.imagenet {
				return "n/a (no person labels)"
			}
			return fmt.Sprintf("%.2f / %.2f", r.Top1, r.Top5)
		}
		drop := "-"
		if s.imagenet {
			drop = fmt.Sprintf("%.2f", floatRes.Top1-qr.Top1)
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %.2f%% | %.1f | %.2fx smaller |\n", s.name, official, acc(floatRes), m, acc(qr), drop,
			100*float64(agree)/float64(len(qr.PerImage)), calibSec, float64(floatBytes)/float64(qBytes))
	}
	return nil
}

// evalItems lists eval/ with its labels; person models are scored only on
// agreement, so they take the same images with their labels ignored.
func evalItems(shared string, s source, limit int) ([]eval.Item, error) {
	dir := filepath.Join(shared, "images/imagenet/eval")
	items, err := eval.LoadLabels(filepath.Join(dir, "labels.csv"), dir)
	if err != nil {
		return nil, err
	}
	if limit > 0 && limit < len(items) {
		items = items[:limit]
	}
	if !s.imagenet {
		// no person labels: only float/int8 agreement is measured
		for i := range items {
			items[i].Label = 0
		}
	}
	return items, nil
}

func exportSize(g *ir.Graph, path string) (int, error) {
	f, err := exporters.ForPath(path)
	if err != nil {
		return 0, err
	}
	data, err := f.Export(g, exporters.Options{})
	if err != nil {
		return 0, err
	}
	return len(data), os.WriteFile(path, data, 0o644)
}
