package eval

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Item is one labelled image.
type Item struct {
	Path  string // file to read
	File  string // name as the labels file gives it (what reports show)
	Label int    // class index, 0-based (ImageNet: 0..999)
	// Index is the item's position in its labels file, 0-based: results
	// of shards merge back into this order.
	Index int
}

// MaxLabelsBytes bounds a labels file.
const MaxLabelsBytes = 64 << 20

// LoadLabels reads a labels CSV (header file,class_index[,wnid,class_name],
// columns found by name) and returns its items, with paths joined to
// imageDir. Errors name the file and line.
func LoadLabels(path, imageDir string) ([]Item, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxLabelsBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d-byte limit for a labels file", path, st.Size(), MaxLabelsBytes)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseLabels(f, path, imageDir)
}

// ParseLabels parses labels CSV text; name is used in errors.
func ParseLabels(r io.Reader, name, imageDir string) ([]Item, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty labels file (want a header file,class_index,...)", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	fileCol, classCol := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) {
		case "file":
			fileCol = i
		case "class_index":
			classCol = i
		}
	}
	if fileCol < 0 || classCol < 0 {
		return nil, fmt.Errorf("%s:1: header %q lacks the columns file and class_index", name, strings.Join(header, ","))
	}
	var items []Item
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// csv.ParseError carries the line; FieldPos is only valid
			// after a successful Read.
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) <= max(fileCol, classCol) {
			return nil, fmt.Errorf("%s:%d: %d fields, want at least %d", name, line, len(rec), max(fileCol, classCol)+1)
		}
		file := strings.TrimSpace(rec[fileCol])
		if file == "" {
			return nil, fmt.Errorf("%s:%d: empty file name", name, line)
		}
		clean := filepath.Clean(filepath.FromSlash(file))
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("%s:%d: file %q must be a path inside the image folder", name, line, file)
		}
		class, err := strconv.Atoi(strings.TrimSpace(rec[classCol]))
		if err != nil || class < 0 {
			return nil, fmt.Errorf("%s:%d: class_index %q is not a non-negative integer", name, line, rec[classCol])
		}
		if prev, dup := seen[file]; dup {
			return nil, fmt.Errorf("%s:%d: file %q already listed on line %d", name, line, file, prev)
		}
		seen[file] = line
		items = append(items, Item{Path: filepath.Join(imageDir, clean), File: file, Label: class, Index: len(items)})
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: no images listed", name)
	}
	return items, nil
}

//go:embed imagenet_names.txt
var imagenetText string

// imagenetNames holds the 1001 names of TFLite's ImageNet models: index 0 is
// "background", index i the class i-1 of the standard sorted-synset order.
var imagenetNames = strings.Split(strings.TrimRight(imagenetText, "\n"), "\n")

// ClassName names a class index (-1 = background) of an ImageNet model;
// other class counts have no names and give "".
func ClassName(numClasses, class int) string {
	if numClasses != 1000 && numClasses != 1001 {
		return ""
	}
	if class+1 < 0 || class+1 >= len(imagenetNames) {
		return ""
	}
	return imagenetNames[class+1]
}

// ClassOf maps an output index to a class index: 1001-way ImageNet outputs
// put background first, so index i is class i-1 (-1 = background); other
// outputs are their own classes.
func ClassOf(numOutputs, index int) int {
	if numOutputs == 1001 {
		return index - 1
	}
	return index
}
