'use strict';
// Runs a .tflite model with TFLite compiled to WebAssembly
// (@tensorflow/tfjs-tflite: XNNPACK delegate, single-threaded build).
// usage: node tflite_run.js SPEC.json   (see common.js)
const fs = require('fs');
const { tf, tflite } = require('./tflite_shim.js');
const c = require('./common.js');

async function main() {
  const spec = c.readSpec(process.argv[2]);
  await tf.setBackend('cpu');
  const b = fs.readFileSync(spec.model);
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  // The non-threaded WASM build ignores more threads; 1 says so plainly.
  const m = await tflite.loadTFLiteModel(ab, { numThreads: 1 });
  // tfjs reports 8-bit tensors as int32; the runner knows their real type.
  const runnerOut = m.modelRunner && m.modelRunner.getOutputs ? m.modelRunner.getOutputs() : [];
  const result = {
    runtime: `@tensorflow/tfjs-tflite ${require('@tensorflow/tfjs-tflite/package.json').version} (TFLite WASM, XNNPACK, 1 thread) under Node ${process.version}`,
    outputs: [],
    samples: [],
  };
  for (let s = 0; s < spec.samples.length; s++) {
    const xs = new Array(m.inputs.length);
    spec.samples[s].forEach((inp, i) => {
      let j = i;
      if (inp.name) {
        j = m.inputs.findIndex((mi) => mi.name === inp.name);
        if (j < 0) throw new Error(`the model has no input named ${inp.name}`);
      }
      const data = c.readInput(inp);
      // tfjs has no 8-bit dtypes: integers travel as int32 and the model
      // casts them to its input type.
      if (inp.dtype === 'float32') xs[j] = tf.tensor(data, inp.shape, 'float32');
      else if (inp.dtype === 'int64') throw new Error('int64 inputs are not supported by tfjs-tflite');
      else xs[j] = tf.tensor(Int32Array.from(data), inp.shape, 'int32');
    });
    if (xs.some((x) => x === undefined)) throw new Error(`the model has ${m.inputs.length} inputs, got ${spec.samples[s].length}`);
    const run = () => m.predict(xs.length === 1 ? xs[0] : xs);
    const y = run();
    m.outputs.forEach((o, k) => {
      const t = y instanceof tf.Tensor ? y : y[o.name];
      if (!t) throw new Error(`output ${o.name} missing from the result`);
      if (s === 0) {
        const dtype = runnerOut[k] && runnerOut[k].dataType ? runnerOut[k].dataType : t.dtype;
        result.outputs.push({ name: o.name, dtype, shape: t.shape });
      }
      c.writeOutput(spec.out_dir, s, k, t.dataSync());
    });
    tf.dispose(y);
    const ms = await c.timeRuns(spec.repeat, () => tf.dispose(run()));
    result.samples.push({ ms });
    tf.dispose(xs);
  }
  c.writeResult(spec.out_dir, result);
}

main().catch(c.fail);
