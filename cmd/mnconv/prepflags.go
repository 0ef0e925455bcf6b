package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/preprocess"
)

// prepFlags is the one preprocessing vocabulary of run, eval, quantize and
// bench:
//
//	--preprocess PRESET   geometry + pixel mapping, named after where it
//	                      comes from (auto: from the model's file)
//	--resize GEOMETRY     overrides the preset's geometry
//	--input-mode MAPPING  overrides the preset's pixel mapping
type prepFlags struct {
	preprocess, resize, inputMode string

	// set by parse
	recipe   *preprocess.Recipe // nil: auto
	geometry *preprocess.Preset // --resize, nil: the recipe's
	mode     preprocess.Mode    // --input-mode, Auto: the recipe's
}

const prepHelp = `Preprocessing (the same flags on run, eval, quantize and bench):
  --preprocess PRESET  geometry and pixel mapping together:
      auto                  from the model file (producer, graph name,
                            metadata); a note on stderr says what was picked
      inception (slim)      central 87.5% crop, bilinear; (x-127.5)/127.5
      torchvision (torch)   resize 256, central crop 224; ImageNet mean/std
      keras                 whole image stretched; (x-127.5)/127.5
      vww                   whole image stretched; x/255 (MLPerf Tiny VWW)
  --resize GEOMETRY    override the preset's geometry: slim, torch or full
  --input-mode MAPPING override the preset's pixel mapping: tf (x-127.5)/127.5,
                       unit x/255, torch (ImageNet mean/std), raw (x as is),
                       source (the quantized source's, for convert --dequantize
                       output)
  A preset's mapping applies to float inputs; quantized inputs take raw pixels
  (the pixel, or x-128 for int8) and a dequantized model its source's mapping,
  unless --input-mode says otherwise.`

// addPrepFlags registers the preprocessing flags on cmd.
func addPrepFlags(cmd *cobra.Command, p *prepFlags) {
	f := cmd.Flags()
	f.StringVar(&p.preprocess, "preprocess", "auto", "preset: auto, "+preprocess.RecipeNames()+" (geometry + pixel mapping)")
	f.StringVar(&p.resize, "resize", "", "geometry override: slim (central 87.5% crop), torch (resize 256, crop 224) or full (whole image) (default: the preset's)")
	f.StringVar(&p.inputMode, "input-mode", "", "pixel-mapping override: tf, unit, torch, raw or source (default: the preset's for float inputs, raw for quantized ones)")
}

// parse checks the three names before any work. The old spellings work
// with a note on stderr: --preprocess tf|unit|raw|source was run's pixel
// mapping (now --input-mode), --preprocess full was eval's and quantize's
// geometry (now --resize).
func (p *prepFlags) parse(stderr io.Writer) error {
	p.recipe, p.geometry, p.mode = nil, nil, preprocess.Auto
	name := strings.TrimSpace(p.preprocess)
	switch {
	case name == "" || strings.EqualFold(name, "auto"):
	case isModeName(name):
		if p.inputMode != "" {
			return usageErrorf("--preprocess %s is a pixel mapping and --input-mode %s is given too; use --input-mode only", name, p.inputMode)
		}
		fmt.Fprintf(stderr, "note: --preprocess %s is a pixel mapping; use --input-mode %s\n", name, strings.ToLower(name))
		p.inputMode = name
	case strings.EqualFold(name, "full"):
		if p.resize != "" {
			return usageErrorf("--preprocess full is a geometry and --resize %s is given too; use --resize only", p.resize)
		}
		fmt.Fprintln(stderr, "note: --preprocess full is a geometry; use --resize full (or --preprocess keras|vww for a whole-image preset)")
		p.resize = "full"
	default:
		r, err := preprocess.ParseRecipe(name)
		if err != nil {
			return usageErrorf("--preprocess: %v", err)
		}
		p.recipe = &r
	}
	if p.resize != "" {
		g, err := preprocess.ParsePreset(p.resize)
		if err != nil {
			return usageErrorf("--resize: %v", err)
		}
		p.geometry = &g
	}
	m, err := preprocess.ParseMode(p.inputMode)
	if err != nil {
		return usageErrorf("--input-mode: %v", err)
	}
	p.mode = m
	return nil
}

// isModeName reports whether s names a pixel mapping and no preset ("torch"
// is both: the preset wins, whose float mapping is the same).
func isModeName(s string) bool {
	if _, err := preprocess.ParseRecipe(s); err == nil {
		return false
	}
	m, err := preprocess.ParseMode(s)
	return err == nil && m != preprocess.Auto
}

// resolve picks the geometry and the pixel mapping of g's first input and,
// for auto, prints one line on stderr saying what was chosen and why (a
// hint when the file did not say). floatMode is the preset's mapping for a
// float input (the one a float baseline of a quantized model takes).
func (p *prepFlags) resolve(g *ir.Graph, model string, stderr io.Writer) (geom preprocess.Preset, mode, floatMode preprocess.Mode) {
	var r preprocess.Recipe
	if p.recipe != nil {
		r = *p.recipe
	} else {
		var reason string
		var sure bool
		r, reason, sure = preprocess.Detect(g)
		if p.geometry == nil || p.mode == preprocess.Auto {
			if sure {
				fmt.Fprintf(stderr, "note: --preprocess auto: %s for %s: %s\n", r.Name, model, reason)
			} else {
				fmt.Fprintf(stderr, "hint: --preprocess auto: %s; guessing %s (%s); pass --preprocess %s if the model was trained otherwise\n",
					reason, r.Name, r.About, strings.Join(otherRecipes(r.Name), "|"))
			}
		}
	}
	geom, mode, floatMode = r.Geometry, p.mode, r.Float
	if p.geometry != nil {
		geom = *p.geometry
	}
	if mode == preprocess.Auto {
		mode = r.ModeFor(g, 0)
	} else {
		floatMode = mode
	}
	return geom, mode, floatMode
}

// wholeImage is the geometry for a model whose result maps back onto the
// whole image (a detector, a segmenter): geom as resolve gave it when
// --preprocess named a preset or --resize a geometry, else the whole image
// stretched, with a note on stderr beginning with lead when that overrides
// auto's geometry.
func (p *prepFlags) wholeImage(geom preprocess.Preset, lead string, stderr io.Writer) preprocess.Preset {
	if p.recipe != nil || p.geometry != nil || geom == preprocess.Full {
		return geom
	}
	fmt.Fprintf(stderr, "note: %s (--resize full), not %s's %s geometry\n", lead, p.preprocess, geom)
	return preprocess.Full
}

func otherRecipes(except string) []string {
	var s []string
	for _, r := range preprocess.Recipes {
		if r.Name != except {
			s = append(s, r.Name)
		}
	}
	return s
}

// explicitMode reports whether --input-mode (or an old --preprocess MAPPING)
// fixed the pixel mapping.
func (p *prepFlags) explicitMode() bool { return p.mode != preprocess.Auto }

// fingerprint names the preset and geometry as given (a shard's
// calibration statistics record it; parts of different settings do not
// merge).
func (p *prepFlags) fingerprint() string {
	if p.resize == "" {
		return p.preprocess
	}
	return p.preprocess + " --resize " + p.resize
}

// inputModeName is --input-mode as given, "auto" when unset.
func (p *prepFlags) inputModeName() string {
	if p.inputMode == "" {
		return "auto"
	}
	return p.inputMode
}
