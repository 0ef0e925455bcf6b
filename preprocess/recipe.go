package preprocess

import (
	"fmt"
	"strings"

	"github.com/mnconv/mnconv/ir"
)

// Recipe is a named preprocessing, called after where it comes from: the
// geometry (Preset) and the pixel mapping a float input takes. A quantized
// input, or a float model made by dequantizing one, keeps its own mapping
// (raw, source) whatever the recipe says: see Recipe.ModeFor.
type Recipe struct {
	Name     string
	Aliases  []string
	Geometry Preset
	Float    Mode   // pixel mapping of a float input
	About    string // one line: what it does and where it comes from
}

// Recipes are the named preprocessings. The first is the default.
var Recipes = []Recipe{
	{Name: "inception", Aliases: []string{"slim"}, Geometry: Slim, Float: TF,
		About: "TF-slim / Inception: central 87.5% crop, bilinear; float inputs (x-127.5)/127.5"},
	{Name: "torchvision", Aliases: []string{"torch"}, Geometry: Torch, Float: TorchNorm,
		About: "torchvision: resize 256, central crop 224; ImageNet mean/std"},
	{Name: "keras", Geometry: Full, Float: TF,
		About: "Keras load_img(target_size): whole image stretched; float inputs (x-127.5)/127.5"},
	{Name: "vww", Geometry: Full, Float: Unit,
		About: "MLPerf Tiny Visual Wake Words: whole image stretched; float inputs x/255"},
}

// RecipeNames lists the recipe names (aliases after a slash), for help
// texts and errors.
func RecipeNames() string {
	var s []string
	for _, r := range Recipes {
		s = append(s, strings.Join(append([]string{r.Name}, r.Aliases...), "/"))
	}
	return strings.Join(s, ", ")
}

// ParseRecipe reads a recipe name or alias ("auto" is not a recipe: it is
// Detect's job).
func ParseRecipe(s string) (Recipe, error) {
	for _, r := range Recipes {
		if strings.EqualFold(s, r.Name) {
			return r, nil
		}
		for _, a := range r.Aliases {
			if strings.EqualFold(s, a) {
				return r, nil
			}
		}
	}
	return Recipe{}, fmt.Errorf("unknown preprocessing %q (want auto, %s)", s, RecipeNames())
}

// ModeFor is the pixel mapping input i of g takes under the recipe: Auto
// (raw pixels, or the source's mapping, as TargetFor resolves it) for a
// quantized input or a dequantized model that records its source's input
// quantization, else the recipe's float mapping.
func (r Recipe) ModeFor(g *ir.Graph, i int) Mode {
	if i < 0 || i >= len(g.Inputs) {
		return Auto
	}
	in := g.Inputs[i]
	if in.DType.IsQuantized() {
		return Auto
	}
	if _, _, _, ok := g.SourceInputQuant[in.Name].PerTensor(); ok {
		return Auto
	}
	return r.Float
}

// Detect picks the recipe a model was trained with from what its file says:
// the producer, the graph name and the metadata. sure is false when nothing
// said (the reason then says so and the recipe is the default, inception).
//
//	graph "torch-jit-export" / producer "pytorch"   -> torchvision
//	producer tf2onnx, keras2onnx                     -> inception
//	TFLite "TOCO Converted." / "MLIR Converted."     -> inception
func Detect(g *ir.Graph) (r Recipe, reason string, sure bool) {
	torch, _ := ParseRecipe("torchvision")
	incep := Recipes[0]
	meta := g.Meta
	producer := meta["producer"]
	lp := strings.ToLower(producer)
	for k, v := range meta {
		if strings.HasPrefix(k, "onnx.") && strings.Contains(strings.ToLower(k+" "+v), "torchvision") {
			return torch, fmt.Sprintf("metadata %s=%q names torchvision", strings.TrimPrefix(k, "onnx."), v), true
		}
	}
	switch {
	case strings.Contains(g.Name, "torch-jit-export"):
		return torch, fmt.Sprintf("graph %q was exported by PyTorch (torch.onnx.export)", g.Name), true
	case strings.HasPrefix(lp, "pytorch"):
		return torch, fmt.Sprintf("producer %q is PyTorch", producer), true
	case strings.HasPrefix(lp, "tf2onnx"), strings.HasPrefix(lp, "keras2onnx"):
		return incep, fmt.Sprintf("producer %q converted it from TensorFlow/Keras", producer), true
	case meta["format"] == "tflite" && strings.HasSuffix(meta["description"], "Converted."):
		return incep, fmt.Sprintf("TFLite file written by TensorFlow's converter (%q)", meta["description"]), true
	}
	what := "the file names no producer"
	if producer != "" {
		what = fmt.Sprintf("producer %q does not say how the model was trained", producer)
	}
	return incep, what, false
}
