package inspect

import (
	"bytes"
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot draws the per-layer MACs and parameters of the layers that have any
// (convolutions and fully connected layers), in graph order, as two bar
// charts stacked in one PNG.
func Plot(r *Report) ([]byte, error) { return PlotAs(r, "png") }

// PlotAs is Plot in another format: "png" or "svg".
func PlotAs(r *Report, format string) ([]byte, error) {
	if format != "png" && format != "svg" {
		return nil, fmt.Errorf("inspect: plot format %q: want png or svg", format)
	}
	var macs, params plotter.Values
	var names []string
	for _, l := range r.Layers {
		if l.MACs == 0 && l.Params == 0 {
			continue
		}
		macs = append(macs, float64(l.MACs)/1e6)
		params = append(params, float64(l.Params)/1e3)
		names = append(names, fmt.Sprintf("%d %s", len(names), abbreviate(l.Op)))
	}
	if len(macs) == 0 {
		return nil, fmt.Errorf("inspect: no layer with MACs or parameters to plot")
	}
	width := vg.Length(max(8, len(macs)/4)) * vg.Inch
	bar := func(title, ylabel string, v plotter.Values) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.Y.Label.Text = ylabel
		b, err := plotter.NewBarChart(v, vg.Points(max(2, float64(width)/float64(len(v))*0.6)))
		if err != nil {
			return nil, err
		}
		b.LineStyle.Width = 0
		p.Add(b)
		p.NominalX(names...)
		p.X.Tick.Label.Rotation = 1.5708
		p.X.Tick.Label.XAlign = -1
		p.X.Tick.Label.YAlign = -0.5
		return p, nil
	}
	title := r.Model
	top, err := bar(fmt.Sprintf("%s: multiply-accumulates per layer (total %s)", title, Thousands(r.TotalMACs)), "MMACs", macs)
	if err != nil {
		return nil, err
	}
	bottom, err := bar(fmt.Sprintf("parameters per layer (total %s)", Thousands(r.TotalParams)), "thousand params", params)
	if err != nil {
		return nil, err
	}
	const h = 4 * vg.Inch
	var img vg.CanvasWriterTo
	if format == "svg" {
		img = vgsvg.New(width, 2*h)
	} else {
		img = vgimg.PngCanvas{Canvas: vgimgCanvas(width, 2*h)}
	}
	top.Draw(subCanvas(img, 0, h, width, h))
	bottom.Draw(subCanvas(img, 0, 0, width, h))
	var buf bytes.Buffer
	if _, err := img.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func abbreviate(op string) string {
	switch op {
	case "DepthwiseConv":
		return "dw"
	case "FullyConnected":
		return "fc"
	case "Conv":
		return "conv"
	}
	return op
}

func vgimgCanvas(w, h vg.Length) *vgimg.Canvas {
	return vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(96))
}

func subCanvas(c vg.CanvasSizer, x, y, w, h vg.Length) draw.Canvas {
	dc := draw.New(c)
	dc.Rectangle = vg.Rectangle{Min: vg.Point{X: x, Y: y}, Max: vg.Point{X: x + w, Y: y + h}}
	return dc
}
