package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

// FlexBuffers is the schema-less format of TFLite's custom op options
// (flatbuffers' docs/source/flexbuffers.md and its "FlexBuffers" section of
// the internals document). The facts this reader relies on:
//
//   - Little-endian throughout. The buffer ends with the root: its value
//     (root byte width bytes), one packed type byte, then the root byte
//     width (1, 2, 4 or 8).
//   - A packed type is type<<2 | bit width, the bit width (0..3 for 8, 16,
//     32, 64 bits) being that of the referenced child; inline scalars
//     (INT, UINT, FLOAT, BOOL) take their parent's width instead.
//   - Offsets are unsigned and point backwards: the child is at the
//     offset field's position minus its value.
//   - A map at position p with width w: the keys vector's offset field at
//     p-3w, the keys vector's byte width at p-2w, the element count at p-w,
//     the count values of width w from p, then one packed type byte per
//     value. The keys vector is a typed vector of KEY offsets (its own
//     count before it) to NUL-terminated strings, sorted.
//
// Only what custom options need is read: a root map of scalars (and the
// type of any other value). Every read is bounds-checked; malformed bytes
// give an error, never a panic.

// FlexType is a FlexBuffers value type.
type FlexType uint8

// The FlexBuffers types this package names.
const (
	FlexNull          FlexType = 0
	FlexInt           FlexType = 1
	FlexUint          FlexType = 2
	FlexFloat         FlexType = 3
	FlexKey           FlexType = 4
	FlexString        FlexType = 5
	FlexIndirectInt   FlexType = 6
	FlexIndirectUint  FlexType = 7
	FlexIndirectFloat FlexType = 8
	FlexMap           FlexType = 9
	FlexVector        FlexType = 10
	FlexBool          FlexType = 26
)

var flexTypeNames = map[FlexType]string{
	FlexNull: "null", FlexInt: "int", FlexUint: "uint", FlexFloat: "float", FlexKey: "key",
	FlexString: "string", FlexIndirectInt: "indirect int", FlexIndirectUint: "indirect uint",
	FlexIndirectFloat: "indirect float", FlexMap: "map", FlexVector: "vector", FlexBool: "bool",
}

func (t FlexType) String() string {
	if s, ok := flexTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("flextype(%d)", uint8(t))
}

// FlexValue is one scalar of a map: Type says which of I, U, F, B holds
// it (FlexNull for a null; other types carry no value).
type FlexValue struct {
	Type FlexType
	I    int64
	U    uint64
	F    float64
	B    bool
}

// Number reports whether v is a number or a bool.
func (v FlexValue) Number() bool {
	switch v.Type {
	case FlexInt, FlexUint, FlexFloat, FlexBool:
		return true
	}
	return false
}

// Int converts v to an integer as flexbuffers' AsInt64 does (a float is
// truncated); ok is false for a non-number or a float out of int64's range.
func (v FlexValue) Int() (int64, bool) {
	switch v.Type {
	case FlexInt:
		return v.I, true
	case FlexUint:
		if v.U > math.MaxInt64 {
			return 0, false
		}
		return int64(v.U), true
	case FlexFloat:
		if math.IsNaN(v.F) || v.F >= math.MaxInt64 || v.F < math.MinInt64 {
			return 0, false
		}
		return int64(v.F), true
	case FlexBool:
		if v.B {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// Float converts v to a float64; ok is false for a non-number.
func (v FlexValue) Float() (float64, bool) {
	switch v.Type {
	case FlexInt:
		return float64(v.I), true
	case FlexUint:
		return float64(v.U), true
	case FlexFloat:
		return v.F, true
	case FlexBool:
		if v.B {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// Bool converts v to a bool (a non-zero number is true).
func (v FlexValue) Bool() (bool, bool) {
	if v.Type == FlexBool {
		return v.B, true
	}
	f, ok := v.Float()
	return f != 0, ok
}

// maxFlexKey bounds a map key's length, maxFlexEntries a map's size.
const (
	maxFlexKey     = 256
	maxFlexEntries = 1 << 12
)

// ReadFlexMap reads a FlexBuffer whose root is a map of scalars, as TFLite
// custom options are. Values of other types are kept with their type only.
func ReadFlexMap(buf []byte) (map[string]FlexValue, error) {
	r := flexReader{buf: buf}
	n := len(buf)
	if n < 3 {
		return nil, fmt.Errorf("flexbuffer of %d bytes; the root needs at least 3", n)
	}
	bw := int(buf[n-1])
	if !validWidth(bw) {
		return nil, fmt.Errorf("flexbuffer root byte width %d, want 1, 2, 4 or 8", bw)
	}
	packed := buf[n-2]
	at := n - 2 - bw
	if at < 0 {
		return nil, fmt.Errorf("flexbuffer of %d bytes holds no root of width %d", n, bw)
	}
	if t := FlexType(packed >> 2); t != FlexMap {
		return nil, fmt.Errorf("flexbuffer root is a %v, want a map", t)
	}
	return r.readMap(at, bw, 1<<(packed&3))
}

type flexReader struct{ buf []byte }

func validWidth(w int) bool { return w == 1 || w == 2 || w == 4 || w == 8 }

// uint reads an unsigned integer of width w at off.
func (r *flexReader) uint(off, w int) (uint64, error) {
	if off < 0 || w <= 0 || off > len(r.buf)-w {
		return 0, fmt.Errorf("flexbuffer read of %d bytes at %d is out of the %d-byte buffer", w, off, len(r.buf))
	}
	b := r.buf[off : off+w]
	switch w {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.LittleEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.LittleEndian.Uint32(b)), nil
	case 8:
		return binary.LittleEndian.Uint64(b), nil
	}
	return 0, fmt.Errorf("flexbuffer width %d, want 1, 2, 4 or 8", w)
}

// int reads a signed integer of width w at off.
func (r *flexReader) int(off, w int) (int64, error) {
	u, err := r.uint(off, w)
	if err != nil {
		return 0, err
	}
	shift := uint(64 - 8*w)
	return int64(u<<shift) >> shift, nil
}

// float reads a float of width w (4 or 8) at off.
func (r *flexReader) float(off, w int) (float64, error) {
	if w != 4 && w != 8 {
		return 0, fmt.Errorf("flexbuffer float of width %d, want 4 or 8", w)
	}
	u, err := r.uint(off, w)
	if err != nil {
		return 0, err
	}
	if w == 4 {
		return float64(math.Float32frombits(uint32(u))), nil
	}
	return math.Float64frombits(u), nil
}

// indirect follows the offset of width w at off.
func (r *flexReader) indirect(off, w int) (int, error) {
	d, err := r.uint(off, w)
	if err != nil {
		return 0, err
	}
	if d > uint64(off) {
		return 0, fmt.Errorf("flexbuffer offset %d at %d points before the buffer", d, off)
	}
	return off - int(d), nil
}

// readMap reads the map referenced by the offset field at off (width
// parentW); w is the map's own byte width.
func (r *flexReader) readMap(off, parentW, w int) (map[string]FlexValue, error) {
	if !validWidth(w) {
		return nil, fmt.Errorf("flexbuffer map width %d", w)
	}
	p, err := r.indirect(off, parentW)
	if err != nil {
		return nil, err
	}
	count, err := r.uint(p-w, w)
	if err != nil {
		return nil, err
	}
	if count > maxFlexEntries || p+int(count)*(w+1) > len(r.buf) {
		return nil, fmt.Errorf("flexbuffer map of %d entries (width %d) at %d does not fit the %d-byte buffer", count, w, p, len(r.buf))
	}
	nk := int(count)
	keys, err := r.indirect(p-3*w, w)
	if err != nil {
		return nil, err
	}
	kw64, err := r.uint(p-2*w, w)
	if err != nil {
		return nil, err
	}
	kw := int(kw64)
	if kw64 > 8 || !validWidth(kw) {
		return nil, fmt.Errorf("flexbuffer map keys of width %d, want 1, 2, 4 or 8", kw64)
	}
	kcount, err := r.uint(keys-kw, kw)
	if err != nil {
		return nil, err
	}
	if kcount != count {
		return nil, fmt.Errorf("flexbuffer map has %d values and %d keys", count, kcount)
	}
	out := make(map[string]FlexValue, nk)
	for i := range nk {
		kp, err := r.indirect(keys+i*kw, kw)
		if err != nil {
			return nil, err
		}
		key, err := r.key(kp)
		if err != nil {
			return nil, err
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("flexbuffer map key %q twice", key)
		}
		v, err := r.scalar(p+i*w, w, r.buf[p+nk*w+i])
		if err != nil {
			return nil, fmt.Errorf("flexbuffer map key %q: %w", key, err)
		}
		out[key] = v
	}
	return out, nil
}

// key reads a NUL-terminated key at off.
func (r *flexReader) key(off int) (string, error) {
	if off < 0 || off >= len(r.buf) {
		return "", fmt.Errorf("flexbuffer key at %d is out of the %d-byte buffer", off, len(r.buf))
	}
	end := min(len(r.buf), off+maxFlexKey+1)
	i := slices.Index(r.buf[off:end], 0)
	if i < 0 {
		return "", fmt.Errorf("flexbuffer key at %d has no NUL within %d bytes", off, maxFlexKey)
	}
	return string(r.buf[off : off+i]), nil
}

// scalar reads the value at off of width w (its parent's) with packed type.
func (r *flexReader) scalar(off, w int, packed byte) (FlexValue, error) {
	t, cw := FlexType(packed>>2), 1<<(packed&3)
	v := FlexValue{Type: t}
	var err error
	switch t {
	case FlexNull:
	case FlexInt:
		v.I, err = r.int(off, w)
	case FlexUint:
		v.U, err = r.uint(off, w)
	case FlexBool:
		var u uint64
		u, err = r.uint(off, w)
		v.B = u != 0
	case FlexFloat:
		v.F, err = r.float(off, w)
	case FlexIndirectInt, FlexIndirectUint, FlexIndirectFloat:
		var p int
		if p, err = r.indirect(off, w); err != nil {
			return v, err
		}
		switch t {
		case FlexIndirectInt:
			v.Type = FlexInt
			v.I, err = r.int(p, cw)
		case FlexIndirectUint:
			v.Type = FlexUint
			v.U, err = r.uint(p, cw)
		default:
			v.Type = FlexFloat
			v.F, err = r.float(p, cw)
		}
	default:
		if t > 36 {
			return v, fmt.Errorf("flexbuffer type %d is not a FlexBuffers type", uint8(t))
		}
		// Another type (string, vector, ...): its type is kept, its value
		// is not read.
	}
	return v, err
}

// FlexEntry is one scalar of a map to write: Type FlexInt, FlexFloat or
// FlexBool with the value in I, F or B.
type FlexEntry struct {
	Key string
	FlexValue
}

// WriteFlexMap writes a FlexBuffer whose root is a map of the entries,
// keys sorted as FlexBuffers requires. Values are 32 bits wide: ints must
// fit int32, floats are stored as float32.
func WriteFlexMap(entries []FlexEntry) ([]byte, error) {
	es := slices.Clone(entries)
	slices.SortFunc(es, func(a, b FlexEntry) int { return strings.Compare(a.Key, b.Key) })
	for i, e := range es {
		if e.Key == "" || strings.IndexByte(e.Key, 0) >= 0 || len(e.Key) > maxFlexKey {
			return nil, fmt.Errorf("flexbuffer key %q is empty, too long or holds a NUL", e.Key)
		}
		if i > 0 && es[i-1].Key == e.Key {
			return nil, fmt.Errorf("flexbuffer key %q twice", e.Key)
		}
		switch e.Type {
		case FlexInt:
			if e.I < math.MinInt32 || e.I > math.MaxInt32 {
				return nil, fmt.Errorf("flexbuffer key %q: %d does not fit 32 bits", e.Key, e.I)
			}
		case FlexFloat, FlexBool:
		default:
			return nil, fmt.Errorf("flexbuffer key %q: type %v is not written", e.Key, e.Type)
		}
	}
	const w = 4
	var buf []byte
	le := binary.LittleEndian
	pad := func() {
		for len(buf)%w != 0 {
			buf = append(buf, 0)
		}
	}
	// Keys, then the keys vector (count, then offsets back to each key).
	keyAt := make([]int, len(es))
	for i, e := range es {
		keyAt[i] = len(buf)
		buf = append(append(buf, e.Key...), 0)
	}
	pad()
	buf = le.AppendUint32(buf, uint32(len(es)))
	keys := len(buf)
	for i := range es {
		buf = le.AppendUint32(buf, uint32(len(buf)-keyAt[i]))
	}
	// The map: keys offset, keys width, count, values, types.
	buf = le.AppendUint32(buf, uint32(len(buf)-keys))
	buf = le.AppendUint32(buf, w)
	buf = le.AppendUint32(buf, uint32(len(es)))
	m := len(buf)
	for _, e := range es {
		switch e.Type {
		case FlexInt:
			buf = le.AppendUint32(buf, uint32(int32(e.I)))
		case FlexFloat:
			buf = le.AppendUint32(buf, math.Float32bits(float32(e.F)))
		case FlexBool:
			b := uint32(0)
			if e.B {
				b = 1
			}
			buf = le.AppendUint32(buf, b)
		}
	}
	for _, e := range es {
		buf = append(buf, byte(e.Type)<<2|2)
	}
	pad()
	buf = le.AppendUint32(buf, uint32(len(buf)-m))
	buf = append(buf, byte(FlexMap)<<2|2, w)
	return buf, nil
}
