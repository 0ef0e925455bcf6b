'use strict';
// Loads @tensorflow/tfjs-tflite, a browser build of TFLite compiled to
// WebAssembly, inside Node. The package expects a browser: it fetches its
// .wasm by URL and injects its Emscripten loader with a <script> tag. We give
// it just enough of a window to do both from the local node_modules, and we
// make MessageChannel unusable so that it picks the single-threaded WASM
// binary (the threaded one needs browser workers).
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const pkgDir = path.dirname(require.resolve('@tensorflow/tfjs-tflite/package.json'));
const wasmDir = path.join(pkgDir, 'wasm') + path.sep;

function localPath(url) {
  const s = String(url);
  if (s.startsWith('file://')) return s.slice('file://'.length);
  return path.isAbsolute(s) ? s : path.join(wasmDir, s);
}

globalThis.window = globalThis;
globalThis.location = { origin: 'file://', href: 'file://' + wasmDir + 'index.html' };
globalThis.MessageChannel = function () { throw new Error('refrt: threads are not available'); };
globalThis.fetch = async function (url) {
  const p = localPath(url);
  if (/^https?:/.test(String(url))) throw new Error('refrt: no network access for ' + url);
  const type = p.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream';
  return new Response(fs.readFileSync(p), { status: 200, headers: { 'Content-Type': type } });
};
globalThis.document = {
  currentScript: null,
  head: { appendChild() {}, removeChild() {} },
  createElement() {
    const el = {
      attrs: {},
      getAttribute(k) { return this.attrs[k]; },
      setAttribute(k, v) {
        this.attrs[k] = v;
        if (k !== 'src') return;
        // A script tag: evaluate the file in this context, then fire onload
        // asynchronously as a browser would.
        const p = localPath(v);
        try {
          vm.runInThisContext(fs.readFileSync(p, 'utf8'), { filename: p });
          setImmediate(() => el.onload && el.onload());
        } catch (e) {
          setImmediate(() => el.onerror && el.onerror(e));
        }
      },
    };
    return el;
  },
};

const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tflite = require('@tensorflow/tfjs-tflite');
tflite.setWasmPath(wasmDir);

module.exports = { tf, tflite };
