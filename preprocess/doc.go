// Package preprocess turns image files into model inputs. It is the one
// place where crop, resize, value mapping and layout are decided, so that
// calibration (quantize) and evaluation (eval) can never disagree.
//
// Phase: input preparation, shared by quantize, eval and the CLI. It reads
// image files and builds runtime tensors; it never touches a graph.
//
// The pipeline has two steps. First, pixels: Decode (JPEG, PNG, BMP to RGB)
// and a Preset (Slim, Torch, Full) give uint8 RGB pixels, HWC, at the
// model's size. Decoding and resampling reproduce what Pillow 9.4 (with
// libjpeg-turbo) computed for the references in shared/, bit for bit: a
// libjpeg-turbo-compatible JPEG decoder (integer IDCT, fancy upsampling) and
// Pillow's antialiased bilinear resampling in its 22-bit fixed point.
// Second, values: a Target (from TargetFor, which reads a graph input) maps
// pixels to the input's dtype and layout under a Mode (tf, unit, torch, raw;
// quantized inputs take raw pixels, or the mode's value quantized with the
// input's scale and zero point).
package preprocess
