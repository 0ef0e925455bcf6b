// Package tflite is what mnconv knows of the TFLite flatbuffer format, once,
// for both directions: the verifier that checks a file before the generated
// readers of tflitefb touch it (Verify, with the limits a file may declare),
// and the tables between the file's codes and the IR: builtin operator <->
// ir.Op (OpCodes), tensor type <-> ir.DType, fused activation <->
// ir.Activation, SAME padding, operator code fields, the option tables both
// directions read and write, and the depthwise weight's layout
// ([1,KH,KW,C*M] in the file, [C*M,KH,KW,1] in the IR).
//
// Phase: format facts. importers/tflite (bytes -> ir.Graph) and
// exporters/tflite (ir.Graph -> bytes) use it; it imports ir and the
// generated code, nothing else of mnconv. The generated code is in tflitefb;
// test models written byte by byte are built with tflitetest.
package tflite
