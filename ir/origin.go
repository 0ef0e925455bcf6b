package ir

// Origin identifies the source-file operator a node was made from. An
// importer that reads one operator as several nodes (TFLite's
// FULLY_CONNECTED as Reshape, Gemm, Reshape) gives them all the same
// non-zero Origin, so that an exporter can write them back as that one
// operator; nodes with different Origins, or Origin zero, came from
// different operators (or from none). Passes and the quantizer keep a
// node's Origin when they rewrite it in place or copy it.
type Origin uint32

// SameOrigin reports whether a and b were made from one source operator.
func SameOrigin(a, b *Node) bool { return a.Origin != 0 && a.Origin == b.Origin }
