// The CEL evaluator of test/kube-api/cel.ts, in a worker thread: the CEL library is ESM-only and the
// server also runs inside jest's CommonJS module system, which cannot load it; a worker thread has
// Node's own loader. Requests arrive on parentPort; each answer is posted on the shared port and then
// signalled through the shared Int32Array, so the server can wait for it synchronously.
// Request: [{ rule, self, oldSelf? } | { rule, compileOnly: true }]  Answer: [true | false | "error message"] in
// the same order.
import { parentPort, workerData } from 'node:worker_threads';
import { Environment } from '@marcbachmann/cel-js';
import { registerQuantityLibrary } from './cel-quantity.mjs';

const { port, signal } = workerData;
// What cel-js's own parse() uses (undeclared variables such as self and oldSelf are dyn), plus the
// Kubernetes libraries the CRDs use that cel-js lacks: quantity (cel-quantity.mjs).
const env = registerQuantityLibrary(new Environment({ unlistedVariablesAreDyn: true }));
const compiled = new Map();

function evaluate({ rule, self, oldSelf, compileOnly }) {
  try {
    let program = compiled.get(rule);
    if (!program) {
      program = env.parse(rule);
      compiled.set(rule, program);
    }
    if (compileOnly) {
      // The apiserver type-checks a rule when it accepts the CRD: an unknown function or method fails there.
      const checked = program.check();
      return checked.valid ? true : String(checked.error.message).split('\n')[0];
    }
    return program(oldSelf === undefined ? { self } : { self, oldSelf }) === true;
  } catch (error) {
    return String(error.message).split('\n')[0];
  }
}

parentPort.on('message', (tasks) => {
  port.postMessage(tasks.map(evaluate));
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
});
