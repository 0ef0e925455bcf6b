package ir

import "reflect"

// AttrsOK reports whether a is of the attribute type the op takes: any
// value (nil included) for an op without attributes, else a non-nil Attrs of
// exactly NewAttrs' type.
func (i OpInfo) AttrsOK(a Attrs) bool {
	if i.NewAttrs == nil {
		return true
	}
	return a != nil && reflect.TypeOf(a) == reflect.TypeOf(i.NewAttrs())
}
