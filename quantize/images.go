package quantize

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mnconv/mnconv/ir"
	"github.com/mnconv/mnconv/preprocess"
	rt "github.com/mnconv/mnconv/runtime"
)

// ImageSource feeds calibration images from a folder through the same
// preprocessing package evaluation uses, so the two never disagree.
type ImageSource struct {
	Files  []string
	Preset preprocess.Preset
	Target preprocess.Target
}

// imageExts are the decodable image types.
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".bmp": true}

// ListImages returns the image files of dir, sorted by name. With count > 0
// and fewer than all, it takes a deterministic sample chosen by seed (the
// sample depends only on the sorted list, count and seed).
func ListImages(dir string, count int, seed uint64) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && imageExts[strings.ToLower(filepath.Ext(e.Name()))] {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .jpg, .jpeg, .png or .bmp images", dir)
	}
	if count > 0 && count < len(files) {
		r := rand.New(rand.NewPCG(seed, 0x6d6e636f6e76))
		r.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
		files = files[:count]
		sort.Strings(files)
	}
	return files, nil
}

// NewImageSource prepares a source for graph g's first input.
func NewImageSource(g *ir.Graph, files []string, preset preprocess.Preset, mode preprocess.Mode) (*ImageSource, error) {
	t, err := preprocess.TargetFor(g, 0, preset, mode)
	if err != nil {
		return nil, err
	}
	if t.N != 1 {
		return nil, fmt.Errorf("calibration feeds one image at a time; input batch is %d", t.N)
	}
	return &ImageSource{Files: files, Preset: preset, Target: t}, nil
}

// Len is the number of images.
func (s *ImageSource) Len() int { return len(s.Files) }

// Name is image i's path.
func (s *ImageSource) Name(i int) string { return s.Files[i] }

// Load decodes and preprocesses image i into a fresh input tensor.
func (s *ImageSource) Load(i int) (*rt.Tensor, error) {
	m, err := preprocess.Load(s.Files[i], s.Preset, s.Target.W, s.Target.H)
	if err != nil {
		return nil, err
	}
	shape := []int{1, s.Target.H, s.Target.W, s.Target.Channels}
	if s.Target.Layout == preprocess.NCHW {
		shape = []int{1, s.Target.Channels, s.Target.H, s.Target.W}
	}
	x := rt.NewTensor(s.Target.DType, shape)
	if err := s.Target.Fill(x, 0, m.Pix); err != nil {
		return nil, fmt.Errorf("%s: %v", s.Files[i], err)
	}
	return x, nil
}
