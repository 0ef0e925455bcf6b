package preprocess

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mnconv/mnconv/internal/testutil"
)

// TestDecodeMatchesDjpeg decodes every shared ImageNet JPEG (4:4:4, 4:2:0,
// 4:2:2, 4:4:0 and grayscale baseline files), a lossless progressive
// re-encoding of each (jpegtran -progressive) and, for every 4th file,
// re-encodings with restart markers, and for every 8th file copies cut
// short by an EOI marker (corrupt data), and compares each with libjpeg-turbo's
// djpeg byte for byte. It needs libjpeg-turbo-progs and runs only with
// MNCONV_DJPEG=1 (about 90 s on 2 cores).
func TestDecodeMatchesDjpeg(t *testing.T) {
	if os.Getenv("MNCONV_DJPEG") == "" {
		t.Skip("set MNCONV_DJPEG=1 to compare with libjpeg-turbo's djpeg")
	}
	for _, tool := range []string{"djpeg", "jpegtran"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install libjpeg-turbo-progs)", tool)
		}
	}
	dir := testutil.Shared(t, "images/imagenet")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.JPEG"))
	tmp := t.TempDir()
	checked := 0
	for i, f := range files {
		variants := []string{f}
		// lossless re-encodings: progressive; and, for every 4th file,
		// restart markers every 7 MCUs (baseline and progressive)
		args := [][]string{{"-progressive"}}
		if i%4 == 0 {
			args = append(args, []string{"-restart", "7B"}, []string{"-progressive", "-restart", "7B"})
		}
		for j, a := range args {
			out := filepath.Join(tmp, fmt.Sprintf("v%d.jpg", j))
			cmd := exec.Command("jpegtran", append(append(a, "-copy", "all", "-outfile", out), f)...)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("jpegtran %v %s: %v %s", a, f, err, msg)
			}
			variants = append(variants, out)
		}
		if i%8 == 0 {
			// corrupt: the entropy data cut at 2/3 and closed with EOI;
			// libjpeg fills with zeros (warning), and so must we. (Only
			// baseline: libjpeg smooths incomplete progressive images.)
			for j, v := range variants[:1] {
				data, err := os.ReadFile(v)
				if err != nil {
					t.Fatal(err)
				}
				cut := filepath.Join(tmp, fmt.Sprintf("cut%d.jpg", j))
				os.WriteFile(cut, append(append([]byte{}, data[:len(data)*2/3]...), 0xFF, 0xD9), 0o644)
				variants = append(variants, cut)
			}
		}
		for _, p := range variants {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeJPEG(data, MaxPixels)
			if err != nil {
				t.Errorf("%s (%s): %v", filepath.Base(f), p, err)
				continue
			}
			want, err := djpeg(p)
			if err != nil {
				t.Fatal(err)
			}
			if want.W != got.W || want.H != got.H || !bytes.Equal(want.Pix, got.Pix) {
				diff := 0
				for i := range min(len(got.Pix), len(want.Pix)) {
					if got.Pix[i] != want.Pix[i] {
						diff++
					}
				}
				t.Errorf("%s (%s): %d of %d values differ", filepath.Base(f), filepath.Base(p), diff, len(want.Pix))
			}
			checked++
		}
	}
	t.Logf("%d decodes compared with djpeg", checked)
}

// djpeg decodes with libjpeg-turbo's defaults and returns RGB.
func djpeg(path string) (*Image, error) {
	out, err := exec.Command("djpeg", "-pnm", path).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 2 && len(out) > 0 {
		err = nil // djpeg exits 2 after a warning (corrupt data) but writes the image
	}
	if err != nil {
		return nil, err
	}
	var magic string
	var w, h, mx int
	r := bytes.NewReader(out)
	if _, err := fmt.Fscan(r, &magic, &w, &h, &mx); err != nil {
		return nil, err
	}
	r.ReadByte()
	rest := out[len(out)-r.Len():]
	img := &Image{W: w, H: h, Pix: make([]uint8, w*h*3)}
	switch strings.TrimSpace(magic) {
	case "P6":
		copy(img.Pix, rest)
	case "P5":
		for i := 0; i < w*h; i++ {
			img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2] = rest[i], rest[i], rest[i]
		}
	default:
		return nil, fmt.Errorf("djpeg wrote %q", magic)
	}
	return img, nil
}
