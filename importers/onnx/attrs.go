package onnx

import (
	"fmt"

	pb "github.com/mnconv/mnconv/format/onnx/onnxpb"
)

// attrs indexes a node's attributes by name. Accessors check the declared
// type, so a file that stores `group` as a float gets an error, not a zero.
type attrs map[string]*pb.AttributeProto

func newAttrs(n *pb.NodeProto) (attrs, error) {
	if len(n.Attribute) > MaxAttrs {
		return nil, fmt.Errorf("has %d attributes, more than the limit %d", len(n.Attribute), MaxAttrs)
	}
	m := make(attrs, len(n.Attribute))
	for _, a := range n.Attribute {
		if a.GetRefAttrName() != "" {
			return nil, fmt.Errorf("attribute %q refers to a function attribute, which only functions may do", a.GetName())
		}
		if len(a.Ints) > MaxAttrList || len(a.Floats) > MaxAttrList || len(a.Strings) > MaxAttrList {
			return nil, fmt.Errorf("attribute %q has more than %d values", a.GetName(), MaxAttrList)
		}
		if _, dup := m[a.GetName()]; dup {
			return nil, fmt.Errorf("attribute %q appears twice", a.GetName())
		}
		m[a.GetName()] = a
	}
	return m, nil
}

func (m attrs) has(name string) bool { return m[name] != nil }

func (m attrs) typed(name string, want pb.AttributeProto_AttributeType) (*pb.AttributeProto, error) {
	a := m[name]
	if a == nil {
		return nil, nil
	}
	if a.GetType() != want {
		return nil, fmt.Errorf("attribute %q is %v, want %v", name, a.GetType(), want)
	}
	return a, nil
}

func (m attrs) int(name string, def int64) (int64, error) {
	a, err := m.typed(name, pb.AttributeProto_INT)
	if a == nil || err != nil {
		return def, err
	}
	return a.GetI(), nil
}

func (m attrs) float(name string, def float32) (float32, error) {
	a, err := m.typed(name, pb.AttributeProto_FLOAT)
	if a == nil || err != nil {
		return def, err
	}
	return a.GetF(), nil
}

func (m attrs) str(name, def string) (string, error) {
	a, err := m.typed(name, pb.AttributeProto_STRING)
	if a == nil || err != nil {
		return def, err
	}
	return string(a.GetS()), nil
}

// ints returns nil (and no error) when the attribute is absent.
func (m attrs) ints(name string) ([]int64, error) {
	a, err := m.typed(name, pb.AttributeProto_INTS)
	if a == nil || err != nil {
		return nil, err
	}
	return a.Ints, nil
}

func (m attrs) floats(name string) ([]float32, error) {
	a, err := m.typed(name, pb.AttributeProto_FLOATS)
	if a == nil || err != nil {
		return nil, err
	}
	return a.Floats, nil
}

func (m attrs) tensor(name string) (*pb.TensorProto, error) {
	a, err := m.typed(name, pb.AttributeProto_TENSOR)
	if a == nil || err != nil {
		return nil, err
	}
	return a.T, nil
}

// ints2 reads a two-element spatial attribute (strides, dilations, kernel
// shape), defaulting to def when absent.
func (m attrs) ints2(name string, def int) ([2]int, error) {
	v, err := m.ints(name)
	if err != nil {
		return [2]int{}, err
	}
	if v == nil {
		return [2]int{def, def}, nil
	}
	if len(v) != 2 {
		return [2]int{}, fmt.Errorf("attribute %q has %d values, want 2 (only 2D windows are supported)", name, len(v))
	}
	out := [2]int{}
	for i, x := range v {
		if x < 1 || x > MaxElements {
			return [2]int{}, fmt.Errorf("attribute %q value %d out of range", name, x)
		}
		out[i] = int(x)
	}
	return out, nil
}

// normAxis maps an ONNX axis (negative counts from the end) into [0, rank);
// unlike the ir's, it refuses every axis of a scalar.
func normAxis(axis, rank int) (int, error) {
	if axis < -rank || axis >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}
