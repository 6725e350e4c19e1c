import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import path from 'node:path';
import { deepEqual, isObject, type Json, type JsonObject } from './json';
import type { StatusCause } from './status';

// x-kubernetes-validations, as the apiserver runs them after schema validation: each rule with `self`
// bound to the value at its schema node, only where that value exists. Transition rules (those naming
// `oldSelf`) run on updates only, where the old object has a value at the same place; array items are
// not correlated with old items (the apiserver correlates only map-type lists, which no CRD here has).
// Ratcheting, as since Kubernetes 1.30: a value that did not change in an update is not re-checked,
// so an object stored before a rule existed can still have its other fields (or its status) written.

type Task = { rule: string; self: Json; oldSelf?: Json } | { rule: string; compileOnly: true };
type Rule = { rule: string; message?: string };

const TRANSITION = /\boldSelf\b/;

/** The failures of every rule in the CRD's `schema` for `object`, with the stored object `old` on updates. */
export function celCauses(schema: JsonObject, object: JsonObject, old: JsonObject | undefined): StatusCause[] {
  const tasks: Task[] = [];
  const where: { path: string; rule: Rule; self: Json }[] = [];
  collect(schema, object, old, '', tasks, where);
  if (tasks.length === 0) return [];
  const answers = evaluate(tasks);
  const causes: StatusCause[] = [];
  answers.forEach((answer, i) => {
    if (answer === true) return;
    const { path, rule, self } = where[i]!;
    const message = typeof answer === 'string' ? `Invalid value: "${typeName(self)}": rule compile or evaluation error: ${answer}` : `Invalid value: "${typeName(self)}": ${rule.message ?? `failed rule: ${rule.rule}`}`;
    causes.push({ reason: 'FieldValueInvalid', message, field: path || '<nil>' });
  });
  return causes;
}

/** Each rule that does not compile, with the compiler's message; [] when all do. */
export function compileErrors(rules: readonly string[]): string[] {
  if (rules.length === 0) return [];
  const answers = evaluate(rules.map((rule) => ({ rule, compileOnly: true as const })));
  return answers.flatMap((answer, i) => (answer === true ? [] : [`${rules[i]}: ${String(answer)}`]));
}

function collect(schema: JsonObject, value: Json | undefined, old: Json | undefined, path: string, tasks: Task[], where: { path: string; rule: Rule; self: Json }[]): void {
  if (value === undefined || value === null) return;
  if (old !== undefined && deepEqual(value, old)) return; // ratcheting: unchanged values are not re-checked
  const rules = Array.isArray(schema['x-kubernetes-validations']) ? (schema['x-kubernetes-validations'] as unknown as Rule[]) : [];
  for (const rule of rules) {
    if (TRANSITION.test(rule.rule)) {
      if (old === undefined || old === null) continue;
      tasks.push({ rule: rule.rule, self: value, oldSelf: old });
    } else {
      tasks.push({ rule: rule.rule, self: value });
    }
    where.push({ path, rule, self: value });
  }
  if (isObject(value)) {
    const properties = isObject(schema.properties) ? schema.properties : {};
    const additional = isObject(schema.additionalProperties) ? schema.additionalProperties : undefined;
    for (const [key, child] of Object.entries(value)) {
      const childSchema = isObject(properties[key]) ? properties[key] : additional;
      if (childSchema) collect(childSchema, child, isObject(old) ? old[key] : undefined, path ? `${path}.${key}` : key, tasks, where);
    }
  } else if (Array.isArray(value) && isObject(schema.items)) {
    const items = schema.items;
    value.forEach((item, i) => collect(items, item, undefined, `${path}[${i}]`, tasks, where));
  }
}

function typeName(value: Json): string {
  if (Array.isArray(value)) return 'array';
  if (isObject(value)) return 'object';
  return typeof value;
}

let bridge: { worker: Worker; port: MessagePort; signal: Int32Array } | undefined;

/** Evaluates the tasks in the worker, waiting for its answer synchronously (admission is synchronous). */
function evaluate(tasks: Task[]): (true | false | string)[] {
  if (!bridge) {
    const { port1, port2 } = new MessageChannel();
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(path.join(__dirname, 'cel-worker.mjs'), { workerData: { port: port2, signal }, transferList: [port2] });
    worker.unref();
    port1.unref();
    bridge = { worker, port: port1, signal };
  }
  Atomics.store(bridge.signal, 0, 0);
  bridge.worker.postMessage(tasks);
  // The first call also waits for the worker to start and load the library (~100 ms).
  if (Atomics.wait(bridge.signal, 0, 0, 30_000) === 'timed-out') throw new Error('CEL worker did not answer in 30 s');
  const reply = receiveMessageOnPort(bridge.port);
  if (!reply) throw new Error('CEL worker signalled without an answer');
  return reply.message as (true | false | string)[];
}
