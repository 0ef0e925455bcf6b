'use strict';
// Shared by ort_run.js and tflite_run.js: the spec file that package refrt
// writes, the binary input files it names, and the result it reads back.
//
// Spec (JSON): { model, threads, repeat, out_dir,
//                samples: [[{ name, dtype, shape, file }, ...], ...] }
// Result: out_dir/result.json = { runtime, outputs: [{ name, dtype, shape }],
//                                 samples: [{ ms }] }
//         out_dir/out_S_K.bin  = output K of sample S as little-endian float32
//                                (integer outputs hold their raw values).
const fs = require('fs');
const path = require('path');

function readSpec(p) {
  return JSON.parse(fs.readFileSync(p, 'utf8'));
}

const arrayTypes = {
  float32: Float32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int32: Int32Array,
  int64: BigInt64Array,
};

// readInput returns the typed array held by an input's binary file, checking
// its length against the declared shape.
function readInput(inp) {
  const T = arrayTypes[inp.dtype];
  if (!T) throw new Error(`input ${inp.name || ''}: unsupported dtype ${inp.dtype}`);
  const buf = fs.readFileSync(inp.file);
  const n = inp.shape.reduce((a, d) => a * d, 1);
  if (buf.length !== n * T.BYTES_PER_ELEMENT) {
    throw new Error(`input ${inp.name || ''}: file has ${buf.length} bytes, shape ${inp.shape} of ${inp.dtype} needs ${n * T.BYTES_PER_ELEMENT}`);
  }
  // Copy into a fresh buffer: a pooled Buffer may start at an offset that is
  // not aligned for the element size.
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  return new T(ab);
}

function writeOutput(outDir, s, k, data) {
  const f = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) f[i] = Number(data[i]);
  fs.writeFileSync(path.join(outDir, `out_${s}_${k}.bin`), Buffer.from(f.buffer));
}

function writeResult(outDir, result) {
  fs.writeFileSync(path.join(outDir, 'result.json'), JSON.stringify(result));
}

// timeRuns calls run() n times and returns the mean milliseconds per call.
async function timeRuns(n, run) {
  if (!(n > 0)) return 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await run();
  return Number(process.hrtime.bigint() - t0) / 1e6 / n;
}

function fail(e) {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(1);
}

module.exports = { readSpec, readInput, writeOutput, writeResult, timeRuns, fail };
