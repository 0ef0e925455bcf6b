package ir

// Window is the geometry of a Conv's or a pool's sliding window over H and W
// of an NHWC input: derived and validated once here, read by shape inference
// and by every conv and pool kernel's Prepare. Pads are explicit (SAME is
// resolved at import).
type Window struct {
	InH, InW                             int
	KH, KW                               int
	StrideY, StrideX                     int
	DilY, DilX                           int
	PadTop, PadLeft, PadBottom, PadRight int
	OutH, OutW                           int // ConvOutSize along each axis
}

// Window derives the window of a Windowed node (Conv, AvgPool, MaxPool)
// from its attributes, its input's H and W and, for a Conv, its weight's KH
// and KW, and validates it: strides and dilations at least 1 (a pool's unset
// dilations mean 1), pads not negative, a pool's kernel at least 1, an
// output of at least one pixel. The caller has checked that input 0 (and a
// Conv's weight) is rank 4. The errors name the node.
func (n *Node) Window() (Window, error) {
	x := n.In(0)
	if x == nil || x.Rank() != 4 {
		return Window{}, n.Errorf("input has no NHWC shape")
	}
	switch a := n.Attrs.(type) {
	case *ConvAttrs:
		w := n.In(1)
		if n.Op != OpConv || w == nil || w.Rank() != 4 {
			break
		}
		win, err := newWindow(n, x, [2]int{w.Shape[1], w.Shape[2]}, a.Strides, a.Dilations, a.Pads, false)
		if err != nil {
			return win, err
		}
		if win.OutH < 1 || win.OutW < 1 {
			return win, n.Errorf("kernel %dx%d is larger than the padded input %dx%d", win.KH, win.KW, win.InH+win.PadTop+win.PadBottom, win.InW+win.PadLeft+win.PadRight)
		}
		return win, nil
	case *PoolAttrs:
		if n.Op != OpAvgPool && n.Op != OpMaxPool {
			break
		}
		dil := a.Dilations
		if dil == [2]int{} {
			dil = [2]int{1, 1} // unset means none
		}
		win, err := newWindow(n, x, a.Kernel, a.Strides, dil, a.Pads, a.CeilMode)
		if err != nil {
			return win, err
		}
		if a.Kernel[0] < 1 || a.Kernel[1] < 1 {
			return win, n.Errorf("kernel %v must be >= 1", a.Kernel)
		}
		if win.OutH < 1 || win.OutW < 1 {
			return win, n.Errorf("kernel %v is larger than the padded input", a.Kernel)
		}
		return win, nil
	}
	return Window{}, n.Errorf("has attributes %T: not a Conv or pool window", n.Attrs)
}

func newWindow(n *Node, x *Tensor, kernel, strides, dilations [2]int, pads [4]int, ceil bool) (Window, error) {
	for i := 0; i < 2; i++ {
		if strides[i] < 1 || dilations[i] < 1 {
			return Window{}, n.Errorf("strides %v and dilations %v must be >= 1", strides, dilations)
		}
	}
	for _, p := range pads {
		if p < 0 {
			return Window{}, n.Errorf("negative padding %v", pads)
		}
	}
	w := Window{
		InH: x.Shape[1], InW: x.Shape[2],
		KH: kernel[0], KW: kernel[1],
		StrideY: strides[0], StrideX: strides[1],
		DilY: dilations[0], DilX: dilations[1],
		PadTop: pads[0], PadLeft: pads[1], PadBottom: pads[2], PadRight: pads[3],
	}
	w.OutH = ConvOutSize(w.InH, w.KH, w.StrideY, w.DilY, w.PadTop, w.PadBottom, ceil)
	w.OutW = ConvOutSize(w.InW, w.KW, w.StrideX, w.DilX, w.PadLeft, w.PadRight, ceil)
	return w, nil
}

// Fits reports whether y is w's NHWC output: H and W as the window gives.
func (w Window) Fits(y *Tensor) bool {
	return y != nil && y.Rank() == 4 && y.Shape[1] == w.OutH && y.Shape[2] == w.OutW
}

// ConvOutSize is the output length of a convolution or pooling window along
// one axis: (in + padBefore + padAfter - dilation*(k-1) - 1) / stride + 1,
// rounded up when ceil is set.
func ConvOutSize(in, k, stride, dilation, padBefore, padAfter int, ceil bool) int {
	span := dilation*(k-1) + 1
	num := in + padBefore + padAfter - span
	if num < 0 {
		return 0
	}
	if ceil {
		out := (num+stride-1)/stride + 1
		// The last window must start inside the input or the leading padding.
		if (out-1)*stride >= in+padBefore {
			out--
		}
		return out
	}
	return num/stride + 1
}
