package hostile

import (
	"fmt"
	"testing"

	"github.com/mnconv/mnconv/exporters"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/passes"
)

// BenchmarkDefaultPassesChain times passes.Run(Default) on Conv -> BN ->
// Relu chains as the importers read them back from each format: the cost
// must grow linearly with the chain.
func BenchmarkDefaultPassesChain(b *testing.B) {
	for _, ext := range []string{".onnx", ".tflite"} {
		for _, n := range []int{1000, 3000, 10000} {
			b.Run(fmt.Sprintf("%s/%d", ext[1:], n), func(b *testing.B) {
				exp, err := exporters.ForPath("chain" + ext)
				if err != nil {
					b.Fatal(err)
				}
				data, err := exp.Export(ConvBNReluChain(n), exporters.Options{})
				if err != nil {
					b.Fatal(err)
				}
				f, err := importers.Detect("chain"+ext, data)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					b.StopTimer()
					g, err := f.Import("chain"+ext, data, importers.Options{})
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					if _, err := passes.Run(g, passes.Default, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
