'use strict';
// Times ONNX Runtime (onnxruntime-node, CPU execution provider) for
// `mnconv bench`: the model is loaded once, then the Go side asks for runs
// one batch at a time, so that its own runs and these can be interleaved.
//
// usage: node ort_bench.js SPEC.json
//   SPEC: { model, threads, input: { dtype, shape, file }, out_file }
// stdin, one command per line:
//   run N   run N times; print {"ms":[...]} (one entry per run)
//   quit    exit
// On start it prints {"runtime": "...", "input": NAME} once the session is
// ready, and writes the first output of one run to out_file (float32,
// little-endian) so that the caller can check both runtimes agree.
const fs = require('fs');
const readline = require('readline');
const ort = require('onnxruntime-node');

const arrayTypes = { float32: Float32Array, int8: Int8Array, uint8: Uint8Array, int32: Int32Array };

function say(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function main() {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const opts = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
  if (spec.threads > 0) {
    opts.intraOpNumThreads = spec.threads;
    opts.interOpNumThreads = 1;
  }
  const sess = await ort.InferenceSession.create(spec.model, opts);
  const T = arrayTypes[spec.input.dtype];
  if (!T) throw new Error(`unsupported input dtype ${spec.input.dtype}`);
  const buf = fs.readFileSync(spec.input.file);
  const data = new T(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const feeds = { [sess.inputNames[0]]: new ort.Tensor(spec.input.dtype, data, spec.input.shape) };
  const out = await sess.run(feeds);
  const first = out[sess.outputNames[0]];
  fs.writeFileSync(spec.out_file, Buffer.from(Float32Array.from(first.data, Number).buffer));
  say({ runtime: `onnxruntime-node ${require('onnxruntime-node/package.json').version} (CPU EP) under Node ${process.version}`, input: sess.inputNames[0] });

  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'quit') break;
    if (cmd !== 'run') throw new Error(`unknown command ${line}`);
    const ms = [];
    for (let i = 0; i < Number(arg); i++) {
      const t0 = process.hrtime.bigint();
      await sess.run(feeds);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    say({ ms });
  }
  rl.close();
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(1);
});
