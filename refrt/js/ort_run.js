'use strict';
// Runs an ONNX model with onnxruntime-node (CPU execution provider).
// usage: node ort_run.js SPEC.json   (see common.js)
const ort = require('onnxruntime-node');
const c = require('./common.js');

async function main() {
  const spec = c.readSpec(process.argv[2]);
  const opts = { executionProviders: ['cpu'] };
  // 0 keeps ORT's default (one intra-op thread per core); benchmarks pin it.
  if (spec.threads > 0) {
    opts.intraOpNumThreads = spec.threads;
    opts.interOpNumThreads = 1;
  }
  const sess = await ort.InferenceSession.create(spec.model, opts);
  const result = {
    runtime: `onnxruntime-node ${require('onnxruntime-node/package.json').version} (CPU EP) under Node ${process.version}`,
    outputs: [],
    samples: [],
  };
  for (let s = 0; s < spec.samples.length; s++) {
    const feeds = {};
    spec.samples[s].forEach((inp, i) => {
      const name = inp.name || sess.inputNames[i];
      if (name === undefined) throw new Error(`the model has ${sess.inputNames.length} inputs, got more`);
      feeds[name] = new ort.Tensor(inp.dtype, c.readInput(inp), inp.shape);
    });
    const out = await sess.run(feeds);
    sess.outputNames.forEach((name, k) => {
      const t = out[name];
      if (s === 0) result.outputs.push({ name, dtype: t.type, shape: t.dims.map(Number) });
      c.writeOutput(spec.out_dir, s, k, t.data);
    });
    const ms = await c.timeRuns(spec.repeat, () => sess.run(feeds));
    result.samples.push({ ms });
  }
  c.writeResult(spec.out_dir, result);
}

main().catch(c.fail);
