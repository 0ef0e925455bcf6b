package onnx

import (
	"encoding/binary"
	"fmt"
	onnxfmt "github.com/mnconv/mnconv/format/onnx"
	"math"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
	"github.com/mnconv/mnconv/ir"
)

// checkShape validates declared dimensions against the limits before any
// allocation and converts them to ints.
func checkShape(dims []int64) ([]int, int64, error) {
	if len(dims) > MaxRank {
		return nil, 0, fmt.Errorf("rank %d is more than the limit %d", len(dims), MaxRank)
	}
	n, err := ir.CheckedElements(dims, MaxElements)
	if err != nil {
		return nil, 0, err
	}
	shape := make([]int, len(dims))
	for i, d := range dims {
		shape[i] = int(d)
	}
	return shape, n, nil
}

// tensorFromProto decodes an initializer, a Constant's value or a test
// data file into an ir constant. Sizes are checked against the declared
// shape before the element slice is allocated; external data is refused.
func tensorFromProto(tp *pb.TensorProto) (*ir.Tensor, error) {
	name := tp.GetName()
	if tp.GetDataLocation() == pb.TensorProto_EXTERNAL || len(tp.ExternalData) > 0 {
		return nil, fmt.Errorf("tensor %q keeps its data in an external file, which mnconv does not read (save the model with its data embedded)", name)
	}
	dt, err := onnxfmt.DType(tp.GetDataType())
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %v", name, err)
	}
	shape, n64, err := checkShape(tp.Dims)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %v", name, err)
	}
	n := int(n64)
	d := &ir.Data{}
	raw := tp.RawData
	// A field present with the wrong count is a malformed file, not
	// something to pad or truncate silently.
	count := func(got int) error {
		if got != n {
			return fmt.Errorf("tensor %q holds %d elements, its shape %v needs %d", name, got, shape, n)
		}
		return nil
	}
	if raw != nil {
		if int64(len(raw)) != n64*int64(dt.Size()) {
			return nil, fmt.Errorf("tensor %q has %d bytes of raw data, shape %v of %v needs %d", name, len(raw), shape, dt, n64*int64(dt.Size()))
		}
		switch dt {
		case ir.Float32:
			d.F32 = make([]float32, n)
			for i := range d.F32 {
				d.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case ir.Uint8:
			d.U8 = append([]uint8(nil), raw...)
		case ir.Int8:
			d.I8 = make([]int8, n)
			for i, b := range raw {
				d.I8[i] = int8(b)
			}
		case ir.Int32:
			d.I32 = make([]int32, n)
			for i := range d.I32 {
				d.I32[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case ir.Int64:
			d.I64 = make([]int64, n)
			for i := range d.I64 {
				d.I64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		}
		return &ir.Tensor{Name: name, DType: dt, Shape: shape, Data: d}, nil
	}
	switch dt {
	case ir.Float32:
		if err := count(len(tp.FloatData)); err != nil {
			return nil, err
		}
		d.F32 = append(make([]float32, 0, n), tp.FloatData...)
	case ir.Int64:
		if err := count(len(tp.Int64Data)); err != nil {
			return nil, err
		}
		d.I64 = append(make([]int64, 0, n), tp.Int64Data...)
	case ir.Int32, ir.Int8, ir.Uint8:
		// int32_data carries every integer type of 32 bits or less.
		if err := count(len(tp.Int32Data)); err != nil {
			return nil, err
		}
		lo, hi := dt.Range()
		for i, v := range tp.Int32Data {
			if int64(v) < lo || int64(v) > hi {
				return nil, fmt.Errorf("tensor %q element %d is %d, outside the %v range", name, i, v, dt)
			}
		}
		switch dt {
		case ir.Int32:
			d.I32 = append(make([]int32, 0, n), tp.Int32Data...)
		case ir.Int8:
			d.I8 = make([]int8, n)
			for i, v := range tp.Int32Data {
				d.I8[i] = int8(v)
			}
		case ir.Uint8:
			d.U8 = make([]uint8, n)
			for i, v := range tp.Int32Data {
				d.U8[i] = uint8(v)
			}
		}
	}
	return &ir.Tensor{Name: name, DType: dt, Shape: shape, Data: d}, nil
}
