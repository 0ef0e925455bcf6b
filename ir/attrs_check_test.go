package ir

import "testing"

func TestAttrsOK(t *testing.T) {
	conv := OpConv.Info()
	if !conv.AttrsOK(&ConvAttrs{}) || conv.AttrsOK(nil) || conv.AttrsOK(&GemmAttrs{}) {
		t.Errorf("Conv's AttrsOK is wrong")
	}
	if !OpRelu.Info().AttrsOK(nil) {
		t.Errorf("an op without attributes refuses nil")
	}
}
