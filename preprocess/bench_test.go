package preprocess

import (
	"os"
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
