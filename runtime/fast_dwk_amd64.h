// The rows x taps loop of the generic depthwise kernels (fast_dwk_amd64.s,
// fast_dwk512_amd64.s) around BODY, one tap's products from AX (input)
// and R14 (weights). X and W are the first tap's input and weights; ROWS
// and TAPS the counts (rows 0 for none, else taps at least 1); WSTEP the
// bytes of one tap's weights. R12 steps the input from tap to tap, R11
// and BX the input and weights from a row's last tap to the next row's
// first; DI and SI count.
#define DWK_TAPS(BODY, X, W, ROWS, TAPS, WSTEP, ROW, TAP, DONE) \
	MOVQ  X, AX       \
	MOVQ  W, R14      \
	MOVQ  ROWS, DI    \
	TESTQ DI, DI      \
	JLE   DONE        \
ROW:                  \
	MOVQ  TAPS, SI    \
TAP:                  \
	BODY              \
	ADDQ  R12, AX     \
	ADDQ  $WSTEP, R14 \
	DECQ  SI          \
	JNZ   TAP         \
	ADDQ  R11, AX     \
	ADDQ  BX, R14     \
	DECQ  DI          \
	JNZ   ROW         \
DONE:

// A dwkPixZ or dwkPix pixel's pointers and steps from its dwkPx (R10):
// R8 its output, R13 its input, R9 its weights, R11 and BX as above.
#define DWKP_PIXEL \
	MOVQ out+0(FP), R8  \
	ADDQ 0(R10), R8     \
	MOVQ in+8(FP), R13  \
	ADDQ 8(R10), R13    \
	MOVQ w+16(FP), R9   \
	ADDQ 16(R10), R9    \
	MOVQ 40(R10), R11   \
	MOVQ 48(R10), BX
