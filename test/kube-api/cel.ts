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
  object = ofThisRealm(object);
  old = old && ofThisRealm(old);
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

/**
 * cel-js types a value by its constructor (Object, Array): an object made in another realm (under jest,
 * structuredClone is the outer realm's, and tests build objects from such clones) would be "Unsupported
 * type: Object". Copied into this realm then; a walk that allocates nothing finds out.
 */
function ofThisRealm(value: JsonObject): JsonObject {
  return isOfThisRealm(value) ? value : (JSON.parse(JSON.stringify(value)) as JsonObject);
}

function isOfThisRealm(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return Object.getPrototypeOf(value) === Array.prototype && value.every(isOfThisRealm);
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key in value) if (!isOfThisRealm((value as Record<string, unknown>)[key])) return false;
  return true;
}

function typeName(value: Json): string {
  if (Array.isArray(value)) return 'array';
  if (isObject(value)) return 'object';
  return typeof value;
}

// Compiled once per rule text, as the apiserver compiles a CRD's rules once when it is stored: parsing is
// most of a rule's cost, and every write of a Domain runs its rules.
let environment: { parse(rule: string): Program } | undefined;
type Program = ((context: Record<string, unknown>) => unknown) & { check(): { valid: boolean; error?: { message: string } } };
const compiled = new Map<string, Program>();

function environmentOf(): { parse(rule: string): Program } {
  if (!environment) {
    // ESM-only packages, loaded through require: Node >= 20.19 loads ES modules that way, and jest
    // transpiles them (transformIgnorePatterns in jest.config.js). What cel-js's own parse() uses
    // (undeclared variables such as self and oldSelf are dyn), plus the Kubernetes quantity library.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Environment } = require('@marcbachmann/cel-js') as { Environment: new (options: object) => unknown };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { registerQuantityLibrary } = require('./cel-quantity.mjs') as { registerQuantityLibrary(env: unknown): { parse(rule: string): Program } };
    environment = registerQuantityLibrary(new Environment({ unlistedVariablesAreDyn: true }));
  }
  return environment;
}

/** Each task's answer: true (holds), false (fails), or the compile or evaluation error's first line. */
function evaluate(tasks: Task[]): (true | false | string)[] {
  return tasks.map((task) => {
    try {
      let program = compiled.get(task.rule);
      if (!program) compiled.set(task.rule, (program = environmentOf().parse(task.rule)));
      if ('compileOnly' in task) {
        // The apiserver type-checks a rule when it accepts the CRD: an unknown function or method fails there.
        const checked = program.check();
        return checked.valid ? true : String(checked.error?.message).split('\n')[0]!;
      }
      return program(task.oldSelf === undefined ? { self: task.self } : { self: task.self, oldSelf: task.oldSelf }) === true;
    } catch (error) {
      return String((error as Error).message).split('\n')[0]!;
    }
  });
}
