/**
 * x-kubernetes-validations, as the apiserver runs them after schema validation: each rule with `self` bound
 * to the value at its schema node, only where that value exists. Transition rules (those naming `oldSelf`)
 * run on updates only, where the old object has a value at the same place; array items are not correlated
 * with old items (the apiserver correlates only map-type lists, which no CRD here has). Ratcheting, as since
 * Kubernetes 1.30: a value that did not change in an update is not re-checked, so an object stored before a
 * rule existed can still have its other fields (or its status) written.
 *
 * One evaluator (cel-js with the Kubernetes quantity library) for the Kubernetes API test server and for
 * local mode (`openpds up`, endpoint-mode `plan`/`apply`): what one accepts, the other does, with the same
 * `field: message` kubectl prints (`message`, `messageExpression`, `fieldPath` and `reason` as there).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Environment } from '@marcbachmann/cel-js' with { 'resolution-mode': 'import' };
import { registerQuantityLibrary } from './cel-quantity';

/** A failure as the apiserver reports it in a Status' details.causes (kubectl prints `field: message`). */
export interface CelCause {
  reason: string;
  message: string;
  field: string;
}

/** A schema node, as far as the rules care (the CRD's openAPIV3Schema, structural). */
export interface CelSchema {
  type?: unknown;
  properties?: unknown;
  additionalProperties?: unknown;
  items?: unknown;
  'x-kubernetes-validations'?: unknown;
  [key: string]: unknown;
}

interface Rule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
}

interface Check {
  path: string;
  rule: Rule;
  type: string;
  vars: { self: unknown; oldSelf?: unknown };
}

const TRANSITION = /\boldSelf\b/;

/** The failures of every rule in the CRD's `schema` for `object`, with the stored object `old` on updates. */
export function celCauses(schema: CelSchema, object: object, old: object | undefined): CelCause[] {
  object = ofThisRealm(object);
  old = old && ofThisRealm(old);
  const checks: Check[] = [];
  collect(schema, object, old, '', checks);
  const causes: CelCause[] = [];
  for (const { path, rule, type, vars } of checks) {
    const answer = evaluate(rule.rule, vars);
    if (answer === true) continue;
    if (answer !== false) {
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${type}": rule compile or evaluation error: ${answer.error}`, field: path || '<nil>' });
      continue;
    }
    const field = joinFieldPath(path, rule.fieldPath);
    causes.push({ reason: rule.reason ?? 'FieldValueInvalid', message: describe(rule.reason, type, messageOf(rule, vars)), field: field || '<nil>' });
  }
  return causes;
}

/** Each rule that does not compile, with the compiler's message; [] when all do. */
export function compileErrors(rules: readonly string[]): string[] {
  return rules.flatMap((rule) => {
    try {
      // The apiserver type-checks a rule when it accepts the CRD: an unknown function or method fails there.
      const checked = compile(rule).check();
      return checked.valid ? [] : [`${rule}: ${String(checked.error?.message).split('\n')[0]}`];
    } catch (error) {
      return [`${rule}: ${String((error as Error).message).split('\n')[0]}`];
    }
  });
}

function collect(schema: CelSchema, value: unknown, old: unknown, path: string, checks: Check[]): void {
  if (value === undefined || value === null) return;
  if (old !== undefined && isDeepStrictEqual(value, old)) return; // ratcheting: unchanged values are not re-checked
  const rules = Array.isArray(schema['x-kubernetes-validations']) ? (schema['x-kubernetes-validations'] as Rule[]) : [];
  const type = typeof schema.type === 'string' ? schema.type : typeName(value);
  for (const rule of rules) {
    const transition = TRANSITION.test(rule.rule) || (rule.messageExpression !== undefined && TRANSITION.test(rule.messageExpression));
    if (transition && (old === undefined || old === null)) continue;
    checks.push({ path, rule, type, vars: transition ? { self: value, oldSelf: old } : { self: value } });
  }
  if (isObject(value)) {
    const properties = isObject(schema.properties) ? schema.properties : {};
    const additional = isObject(schema.additionalProperties) ? (schema.additionalProperties as CelSchema) : undefined;
    for (const [key, child] of Object.entries(value)) {
      const childSchema = isObject(properties[key]) ? (properties[key] as CelSchema) : additional;
      if (childSchema) collect(childSchema, child, isObject(old) ? old[key] : undefined, path ? `${path}.${key}` : key, checks);
    }
  } else if (Array.isArray(value) && isObject(schema.items)) {
    const items = schema.items as CelSchema;
    value.forEach((item, i) => collect(items, item, undefined, `${path}[${i}]`, checks));
  }
}

/**
 * The rule's message as the apiserver words it: messageExpression's string when it evaluates to one that is
 * not blank and has no line break, else `message`, else `failed rule: <rule>` (an error in messageExpression
 * is logged there and falls back the same way).
 */
function messageOf(rule: Rule, vars: Check['vars']): string {
  if (rule.messageExpression !== undefined) {
    try {
      const text = compile(rule.messageExpression)(vars);
      if (typeof text === 'string' && text.trim() !== '' && !/[\r\n]/.test(text)) return text;
    } catch {
      // as the apiserver: fall back to message
    }
  }
  return rule.message ?? `failed rule: ${rule.rule}`;
}

/** field.Invalid / Forbidden / Required / Duplicate, as k8s.io/apimachinery's field.Error prints them. */
function describe(reason: string | undefined, type: string, message: string): string {
  switch (reason) {
    case 'FieldValueForbidden':
      return `Forbidden: ${message}`;
    case 'FieldValueRequired':
      return `Required value: ${message}`;
    case 'FieldValueDuplicate':
      return `Duplicate value: ${JSON.stringify(message)}`;
    default:
      return `Invalid value: "${type}": ${message}`;
  }
}

/** A rule's fieldPath (`.spec.replicas`, `.labels['a.b']`, relative to the rule's node) appended to `path`. */
function joinFieldPath(path: string, fieldPath: string | undefined): string {
  if (!fieldPath) return path;
  const relative = fieldPath.replace(/\['([^']*)'\]/g, '.$1').replace(/^\./, '');
  return path ? `${path}.${relative}` : relative;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (isObject(value)) return 'object';
  return typeof value;
}

/**
 * cel-js types a value by its constructor (Object, Array): an object made in another realm (under jest,
 * structuredClone is the outer realm's, and tests build objects from such clones) would be "Unsupported
 * type: Object". Copied into this realm then; a walk that allocates nothing finds out.
 */
function ofThisRealm<T extends object>(value: T): T {
  return isOfThisRealm(value) ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function isOfThisRealm(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return Object.getPrototypeOf(value) === Array.prototype && value.every(isOfThisRealm);
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key in value) if (!isOfThisRealm((value as Record<string, unknown>)[key])) return false;
  return true;
}

// Compiled once per rule text, as the apiserver compiles a CRD's rules once when it is stored: parsing is
// most of a rule's cost, and every write of a Domain runs its rules.
type Program = ReturnType<Environment['parse']>;
let environment: Environment | undefined;
const compiled = new Map<string, Program>();

function compile(expression: string): Program {
  let program = compiled.get(expression);
  if (!program) {
    if (!environment) {
      // ESM-only, loaded through require when first needed: Node >= 20.19 loads ES modules that way (the
      // compiled CommonJS in dist/ too), and jest transpiles it (transformIgnorePatterns in jest.config.js).
      // Undeclared variables such as self and oldSelf are dyn, as in cel-js's own parse().
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const cel = require('@marcbachmann/cel-js') as typeof import('@marcbachmann/cel-js', { with: { 'resolution-mode': 'import' } });
      environment = registerQuantityLibrary(new cel.Environment({ unlistedVariablesAreDyn: true }));
    }
    compiled.set(expression, (program = environment.parse(expression)));
  }
  return program;
}

/** true (holds), false (fails), or the compile or evaluation error's first line. */
function evaluate(rule: string, vars: Check['vars']): boolean | { error: string } {
  try {
    return compile(rule)(vars) === true;
  } catch (error) {
    return { error: String((error as Error).message).split('\n')[0]! };
  }
}
