// The CEL evaluator of test/kube-api/cel.ts, in a worker thread: the CEL library is ESM-only and the
// server also runs inside jest's CommonJS module system, which cannot load it; a worker thread has
// Node's own loader. Requests arrive on parentPort; each answer is posted on the shared port and then
// signalled through the shared Int32Array, so the server can wait for it synchronously.
// Request: [{ rule, self, oldSelf? } | { rule, compileOnly: true }]  Answer: [true | false | "error message"] in
// the same order.
import { parentPort, workerData } from 'node:worker_threads';
import { parse } from '@marcbachmann/cel-js';

const { port, signal } = workerData;
const compiled = new Map();

function evaluate({ rule, self, oldSelf, compileOnly }) {
  try {
    let program = compiled.get(rule);
    if (!program) {
      program = parse(rule);
      compiled.set(rule, program);
    }
    if (compileOnly) return true;
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
