package preprocess

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mnconv/mnconv/internal/testutil"
)

// BenchmarkLoadSlim224 decodes a 500x375 4:4:4 ImageNet JPEG and applies
// the slim preset at 224.
func BenchmarkLoadSlim224(b *testing.B) {
	p := testutil.Shared(b, "images/imagenet/calib/n01440764_tench.JPEG")
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		m, err := Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Slim.Apply(m, 224, 224); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeEval decodes every JPEG of the shared eval folder (400
// ImageNet images, mostly 4:2:0 baseline) once per iteration: the decode
// half of an evaluation, without the preset. Reported per image.
func BenchmarkDecodeEval(b *testing.B) {
	dir := testutil.Shared(b, "images/imagenet/eval")
	files, _ := filepath.Glob(filepath.Join(dir, "*.JPEG"))
	if len(files) == 0 {
		b.Skip("no images")
	}
	datas := make([][]byte, len(files))
	for i, f := range files {
		var err error
		if datas[i], err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	for b.Loop() {
		for _, data := range datas {
			if _, err := Decode(data); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n)/1e6, "ms/image")
}
