package runtime

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/mnconv/mnconv/ir"
)

// FuzzDetectionPostProcess feeds the post-process kernel arbitrary
// options and inputs (NaN and infinite scores, boxes and anchors
// included): options that ir's Check refuses must fail with an error,
// everything else must run without a panic and give a count within the
// output size, classes within num_classes, and boxes and scores that came
// from the inputs (no read past a tensor). Run it with
//
//	go test ./runtime -run '^$' -fuzz FuzzDetectionPostProcess -fuzztime 60s
func FuzzDetectionPostProcess(f *testing.F) {
	f.Add(uint8(8), uint8(3), uint16(4), uint8(1), uint16(2), false, float32(0.1), float32(0.5), float32(10), float32(5), []byte{1, 2, 3})
	f.Add(uint8(20), uint8(2), uint16(10), uint8(2), uint16(3), true, float32(1e-8), float32(0.6), float32(10), float32(5), []byte{0xff, 0xff, 0xc0, 0x7f})
	f.Add(uint8(1), uint8(1), uint16(0), uint8(1), uint16(1), false, float32(math.NaN()), float32(2), float32(0), float32(1), []byte{})
	f.Fuzz(func(t *testing.T, na, nc uint8, maxDet uint16, maxCls uint8, perClass uint16, regular bool, scoreThr, iouThr, yx, hw float32, data []byte) {
		anchors, classes := int(na%64)+1, int(nc%8)+1
		a := &ir.DetectionPostProcessAttrs{MaxDetections: int(maxDet), MaxClassesPerDetection: int(maxCls),
			DetectionsPerClass: int(perClass), UseRegularNMS: regular, ScoreThreshold: scoreThr, IoUThreshold: iouThr,
			NumClasses: classes, YScale: yx, XScale: yx, HScale: hw, WScale: hw}
		withBackground := int(na)%2 == 0
		c := classes
		if withBackground {
			c++
		}
		box := &ir.Tensor{Name: "box", DType: ir.Float32, Shape: []int{1, anchors, 4}}
		cls := &ir.Tensor{Name: "cls", DType: ir.Float32, Shape: []int{1, anchors, c}}
		anc := &ir.Tensor{Name: "anc", DType: ir.Float32, Shape: []int{anchors, 4}}
		d := a.MaxDetections * a.MaxClassesPerDetection
		outs := []*ir.Tensor{
			{Name: "boxes", DType: ir.Float32, Shape: []int{1, d, 4}},
			{Name: "classes", DType: ir.Float32, Shape: []int{1, d}},
			{Name: "scores", DType: ir.Float32, Shape: []int{1, d}},
			{Name: "count", DType: ir.Float32, Shape: []int{1}},
		}
		n := &ir.Node{Name: "pp", Op: ir.OpDetectionPostProcess, Attrs: a, Inputs: []*ir.Tensor{box, cls, anc}, Outputs: outs}
		fill := func(t *ir.Tensor, off int) *Tensor {
			v := NewTensor(ir.Float32, t.Shape)
			for i := range v.F32 {
				j := (off + 4*i) % max(len(data), 1)
				if len(data) >= 4 && j+4 <= len(data) {
					v.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[j:]))
				} else if len(data) > 0 {
					v.F32[i] = float32(data[j]) / 64
				}
			}
			return v
		}
		in := []*Tensor{fill(box, 0), fill(cls, 7), fill(anc, 13)}
		got, err := EvalNode(n, in)
		if a.Check() != nil {
			if err == nil {
				t.Fatalf("options %+v pass Check's refusal (%v) and ran", a, a.Check())
			}
			return
		}
		if err != nil {
			return // a refusal with an error is fine; a panic is not
		}
		count := got[3].F32[0]
		if !(count >= 0 && int(count) <= d) {
			t.Fatalf("count %v outside 0..%d", count, d)
		}
		for i := range int(count) {
			if k := got[1].F32[i]; !(k >= 0 && int(k) < classes) {
				t.Fatalf("detection %d has class %v, want 0..%d", i, k, classes-1)
			}
		}
	})
}
