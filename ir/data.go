package ir

// Take returns the elements of d at idx, in order, of whichever dtype d
// holds: the gather that constant folding (a slice, a tile, a gather)
// reduces to once it has listed the source index of each output element.
func (d *Data) Take(idx []int) *Data {
	out := &Data{}
	switch {
	case d.F32 != nil:
		out.F32 = takeSlice(d.F32, idx)
	case d.I8 != nil:
		out.I8 = takeSlice(d.I8, idx)
	case d.U8 != nil:
		out.U8 = takeSlice(d.U8, idx)
	case d.I32 != nil:
		out.I32 = takeSlice(d.I32, idx)
	case d.I64 != nil:
		out.I64 = takeSlice(d.I64, idx)
	}
	return out
}

func takeSlice[T any](src []T, idx []int) []T {
	out := make([]T, len(idx))
	for j, i := range idx {
		out[j] = src[i]
	}
	return out
}

// ConcatData returns the elements of ds back to back (all of one dtype).
func ConcatData(ds ...*Data) *Data {
	out := &Data{}
	for _, d := range ds {
		out.F32 = append(out.F32, d.F32...)
		out.I8 = append(out.I8, d.I8...)
		out.U8 = append(out.U8, d.U8...)
		out.I32 = append(out.I32, d.I32...)
		out.I64 = append(out.I64, d.I64...)
	}
	return out
}
