package tflite

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/mnconv/mnconv/format/tflite/tflitefb"
	"github.com/mnconv/mnconv/importers"
	"github.com/mnconv/mnconv/internal/testutil"
)

// Corrupt files must give errors, never panics. These tests call
// importModel, which has no recover: a panic here is a file the verifier let
// through to the generated readers, reported as a test failure (the recover
// in Import would have hidden it).

// smallestShared is the smallest shared TFLite model.
const smallestShared = "models/tflite/tflm_person_detect.tflite"

// importNoRecover imports data, turning a panic into a test failure.
func importNoRecover(t *testing.T, what string, data []byte) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: panic got past the verifier: %v\n%s", what, r, debug.Stack())
			err = fmt.Errorf("panic")
		}
	}()
	g, err := importModel("corrupt.tflite", data, importers.Options{})
	if err == nil {
		if verr := g.Validate(); verr != nil {
			t.Errorf("%s: import succeeded with an invalid graph: %v", what, verr)
		}
	}
	return err
}

// tally counts outcomes of a corruption sweep.
type tally struct{ ok, verifier, other int }

func (c *tally) add(err error) {
	switch {
	case err == nil:
		c.ok++
	case strings.Contains(err.Error(), "corrupt file") || strings.Contains(err.Error(), "not a TFLite model"):
		c.verifier++
	default:
		c.other++
	}
}

func (c tally) String() string {
	return fmt.Sprintf("%d imported, %d refused by the verifier, %d refused by later checks", c.ok, c.verifier, c.other)
}

func readShared(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(testutil.Shared(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Helpers that find things in a valid buffer, for targeted corruption.

func u32at(b []byte, at int64) int64 { return int64(binary.LittleEndian.Uint32(b[at:])) }

// fieldAt returns the position of field id of the table at pos, or -1.
func fieldAt(b []byte, pos int64, id int) int64 {
	vt := pos - int64(int32(u32at(b, pos)))
	slot := vt + 4 + 2*int64(id)
	if 4+2*int64(id)+2 > int64(binary.LittleEndian.Uint16(b[vt:])) {
		return -1
	}
	off := int64(binary.LittleEndian.Uint16(b[slot:]))
	if off == 0 {
		return -1
	}
	return pos + off
}

// follow returns the target of the uoffset field id of the table at pos.
func follow(b []byte, pos int64, id int) int64 {
	at := fieldAt(b, pos, id)
	return at + u32at(b, at)
}

// element returns the table at element i of the table vector at vec.
func element(b []byte, vec int64, i int) int64 {
	at := vec + 4 + 4*int64(i)
	return at + u32at(b, at)
}

// dataRanges lists the byte ranges of the model's buffer contents.
func dataRanges(b []byte) [][2]int64 {
	root := u32at(b, 0)
	bufs := follow(b, root, 4)
	var out [][2]int64
	for i := 0; i < int(u32at(b, bufs)); i++ {
		buf := element(b, bufs, i)
		if fieldAt(b, buf, 0) < 0 {
			continue
		}
		vec := follow(b, buf, 0)
		out = append(out, [2]int64{vec + 4, vec + 4 + u32at(b, vec)})
	}
	return out
}

func TestCorruptTinyEveryByte(t *testing.T) {
	data := tinyModel().Build()
	if err := importNoRecover(t, "intact", data); err != nil {
		t.Fatal(err)
	}
	var c tally
	mut := make([]byte, len(data))
	for i := range data {
		for _, v := range []byte{0x00, 0xFF, data[i] ^ 0x80, data[i] + 1, data[i] - 1, 0x7F} {
			if v == data[i] {
				continue
			}
			copy(mut, data)
			mut[i] = v
			c.add(importNoRecover(t, fmt.Sprintf("byte %d = %#x", i, v), mut))
		}
		for bit := 0; bit < 8; bit++ {
			copy(mut, data)
			mut[i] ^= 1 << bit
			c.add(importNoRecover(t, fmt.Sprintf("byte %d bit %d", i, bit), mut))
		}
	}
	for n := 0; n < len(data); n++ {
		err := importNoRecover(t, fmt.Sprintf("truncated to %d", n), data[:n])
		if err == nil {
			t.Errorf("truncated to %d bytes: imported", n)
		}
		c.add(err)
	}
	t.Logf("%d-byte tiny model: %v", len(data), c)
}

func TestCorruptSharedTruncations(t *testing.T) {
	data := readShared(t, smallestShared)
	var c tally
	for n := 0; n < len(data); n += 97 {
		err := importNoRecover(t, fmt.Sprintf("truncated to %d", n), data[:n])
		if err == nil {
			t.Errorf("truncated to %d bytes: imported", n)
		}
		c.add(err)
	}
	t.Logf("truncations of %s: %v", smallestShared, c)
}

// TestCorruptSharedMutations makes about 2000 deterministic single-byte
// mutations of the smallest shared model: half anywhere, half outside the
// weight bytes (where the tables, vtables and offsets live), and the first
// 256 bytes (header, root table, vtables) bit by bit.
func TestCorruptSharedMutations(t *testing.T) {
	data := readShared(t, smallestShared)
	ranges := dataRanges(data)
	slices.SortFunc(ranges, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	var structural []int64
	next := int64(0)
	for _, r := range ranges {
		for p := next; p < r[0]; p++ {
			structural = append(structural, p)
		}
		next = max(next, r[1])
	}
	for p := next; p < int64(len(data)); p++ {
		structural = append(structural, p)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	mut := make([]byte, len(data))
	var c tally
	start := time.Now()
	const n, budget = 2000, 20 * time.Second
	done := 0
	for ; done < n && time.Since(start) < budget; done++ {
		pos := rng.Int64N(int64(len(data)))
		if done%2 == 0 {
			pos = structural[rng.IntN(len(structural))]
		}
		v := byte(rng.UintN(256))
		if v == data[pos] {
			v ^= 0x55
		}
		copy(mut, data)
		mut[pos] = v
		c.add(importNoRecover(t, fmt.Sprintf("byte %d = %#x", pos, v), mut))
	}
	for i := 0; i < 256*8 && time.Since(start) < budget; i++ {
		copy(mut, data)
		mut[i/8] ^= 1 << (i % 8)
		c.add(importNoRecover(t, fmt.Sprintf("byte %d bit %d", i/8, i%8), mut))
	}
	if done < n {
		t.Logf("stopped after %d mutations (time budget %v)", done, budget)
	}
	t.Logf("%s (%d structural bytes of %d): %v in %v", smallestShared, len(structural), len(data), c, time.Since(start).Round(time.Millisecond))
}

func TestCorruptRandomBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var c tally
	for i := 0; i < 500; i++ {
		b := make([]byte, rng.IntN(4096))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		if i%2 == 0 && len(b) >= 8 {
			copy(b[4:], "TFL3")
			// A plausible root offset, so the walk gets somewhere.
			binary.LittleEndian.PutUint32(b, uint32(rng.IntN(len(b)/4+1)*4))
		}
		err := importNoRecover(t, fmt.Sprintf("random %d", i), b)
		if err == nil {
			t.Errorf("random buffer %d imported", i)
		}
		c.add(err)
	}
	t.Logf("random buffers: %v", c)
}

// TestCorruptTargeted: corruptions aimed at specific fields give the
// verifier's errors.
func TestCorruptTargeted(t *testing.T) {
	base := tinyModel().Build()
	root := u32at(base, 0)
	subgraph := element(base, follow(base, root, 2), 0)
	tensors := follow(base, subgraph, 0)
	tensor0 := element(base, tensors, 0)
	cases := []struct {
		name string
		edit func(b []byte)
		want string
	}{
		{"wrong identifier", func(b []byte) { copy(b[4:], "TFL2") }, `not a TFLite model: file identifier "TFL2"`},
		{"empty", nil, "too short"},
		{"root past end", func(b []byte) { binary.LittleEndian.PutUint32(b, uint32(len(b))) }, "past the end"},
		{"root misaligned", func(b []byte) { binary.LittleEndian.PutUint32(b, uint32(root+2)) }, "not 4-byte aligned"},
		{"huge tensor vector", func(b []byte) { binary.LittleEndian.PutUint32(b[tensors:], 0xFFFFFFFF) }, "more than the limit"},
		{"tensor vector past end", func(b []byte) { binary.LittleEndian.PutUint32(b[tensors:], 100000) }, "runs past the end"},
		{"huge shape", func(b []byte) { binary.LittleEndian.PutUint32(b[follow(b, tensor0, 0):], 1<<30) }, "Tensor.shape"},
		{"huge name", func(b []byte) { binary.LittleEndian.PutUint32(b[follow(b, tensor0, 3):], 1<<31) }, "Tensor.name"},
		{"vtable far away", func(b []byte) { binary.LittleEndian.PutUint32(b[tensor0:], 0x80000000) }, "Tensor vtable"},
		{"vtable size odd", func(b []byte) {
			vt := tensor0 - int64(int32(u32at(b, tensor0)))
			binary.LittleEndian.PutUint16(b[vt:], 7)
		}, "has size 7"},
		{"field outside table", func(b []byte) {
			vt := tensor0 - int64(int32(u32at(b, tensor0)))
			binary.LittleEndian.PutUint16(b[vt+4:], 0xFFF0)
		}, "lies outside its"},
		{"huge buffers vector", func(b []byte) { binary.LittleEndian.PutUint32(b[follow(b, root, 4):], 1<<31-1) }, "Model.buffers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			if tc.edit != nil {
				b = append([]byte(nil), base...)
				tc.edit(b)
			}
			err := importNoRecover(t, tc.name, b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			// The same file through the public entry point gives the same
			// verifier error (the recover played no part).
			if _, err2 := Import("corrupt.tflite", b, importers.Options{}); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("Import: %v, importModel: %v", err2, err)
			}
		})
	}
}

// TestVerifierBudget: shared tables cannot make verification quadratic.
// Here 1000 subgraph entries all point at one subgraph whose 100000 tensor
// entries all point at one tensor: 10^8 table visits from a 400 KB file,
// unless the table budget (a quarter of the file size) stops the walk.
func TestVerifierBudget(t *testing.T) {
	const k, m = 1000, 100000
	b := flatbuffers.NewBuilder(1 << 18)
	fb.TensorStart(b)
	fb.TensorAddBuffer(b, 0)
	tensor := fb.TensorEnd(b)
	fb.SubGraphStartTensorsVector(b, m)
	for i := 0; i < m; i++ {
		b.PrependUOffsetT(tensor)
	}
	tensors := b.EndVector(m)
	fb.SubGraphStart(b)
	fb.SubGraphAddTensors(b, tensors)
	sg := fb.SubGraphEnd(b)
	fb.ModelStartSubgraphsVector(b, k)
	for i := 0; i < k; i++ {
		b.PrependUOffsetT(sg)
	}
	sgs := b.EndVector(k)
	fb.ModelStart(b)
	fb.ModelAddSubgraphs(b, sgs)
	b.FinishWithFileIdentifier(fb.ModelEnd(b), []byte(fb.FileIdentifier))
	data := b.FinishedBytes()

	start := time.Now()
	err := importNoRecover(t, "shared tables", data)
	if err == nil || !strings.Contains(err.Error(), "more tables than a file of") {
		t.Fatalf("error %v, want the table budget to run out", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusing took %v", d)
	}
	t.Logf("%d-byte file refused in %v: %v", len(data), time.Since(start).Round(time.Microsecond), err)
}
