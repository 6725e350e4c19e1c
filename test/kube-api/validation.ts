import { clone, isObject, type Json, type JsonObject } from './json';
import type { StatusCause } from './status';

// Structural-schema processing of custom resources, in the apiserver's order: prune unknown fields, drop
// nulls that are not nullable, apply defaults, then validate. Pruning is reported (not only done) because
// fieldValidation=Strict turns unknown fields into a 400 and Warn into a warning header.
export interface SchemaResult {
  object: JsonObject;
  causes: StatusCause[];
  unknownFields: string[];
}

type Schema = JsonObject;

const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

export function processCustomResource(input: JsonObject, schema: Schema, options: { defaults: boolean }): SchemaResult {
  const result: SchemaResult = { object: {}, causes: [], unknownFields: [] };
  // The root is walked without apiVersion/kind/metadata: ObjectMeta is validated by the server itself.
  const body: JsonObject = {};
  for (const [key, value] of Object.entries(input)) if (!ROOT_FIELDS.has(key)) body[key] = clone(value);
  const walked = walk(body, { ...schema, required: filterRequired(schema) }, '', result, options);
  for (const key of ROOT_FIELDS) if (input[key] !== undefined) result.object[key] = clone(input[key]!);
  if (isObject(walked)) Object.assign(result.object, walked);
  return result;
}

function filterRequired(schema: Schema): Json {
  return Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === 'string' && !ROOT_FIELDS.has(r)) : [];
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(value: Json): string {
  return JSON.stringify(value);
}

function fail(result: SchemaResult, path: string, reason: string, message: string): void {
  result.causes.push({ reason, message, field: path });
}

// Schema patterns compiled once: every write of a custom resource checks each string field that has one.
const patterns = new Map<string, RegExp>();
function patternOf(source: string): RegExp {
  let pattern = patterns.get(source);
  if (!pattern) patterns.set(source, (pattern = new RegExp(source, 'u')));
  return pattern;
}

/** Returns the processed value, or undefined when it must be dropped (pruned null). */
function walk(value: Json, schema: Schema, path: string, result: SchemaResult, options: { defaults: boolean }): Json | undefined {
  if (value === null) {
    if (schema.nullable === true) return null;
    return undefined; // non-nullable nulls are pruned before defaulting, like the apiserver does
  }
  const type = schema.type;
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  if (intOrString) {
    if (!(typeof value === 'string' || Number.isInteger(value))) {
      fail(result, path, 'FieldValueTypeInvalid', `Invalid value: ${describe(value)}: ${path} in body must be of type integer-or-string: ${describe(value)}`);
    }
  } else if (typeof type === 'string' && !hasType(value, type)) {
    const actual = Array.isArray(value) ? 'array' : typeof value === 'number' ? 'number' : typeof value;
    fail(result, path, 'FieldValueTypeInvalid', `Invalid value: "${actual}": ${path} in body must be of type ${type}: "${actual}"`);
    return value;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some(sameJson(describe(value)))) {
    fail(result, path, 'FieldValueNotSupported', `Unsupported value: ${describe(value)}: supported values: ${schema.enum.map(describe).join(', ')}`);
  }
  if (isObject(value)) return walkObject(value, schema, path, result, options);
  if (Array.isArray(value)) {
    checkBounds(value.length, schema, 'minItems', 'maxItems', 'items', path, result);
    const items = isObject(schema.items) ? schema.items : undefined;
    if (!items) return value;
    return value.map((item, i) => walk(item, items, `${path}[${i}]`, result, options) ?? null);
  }
  if (typeof value === 'string') {
    // Characters (code points), as the apiserver counts them (utf8.RuneCountInString): not UTF-16 units.
    checkBounds(characterCount(value), schema, 'minLength', 'maxLength', 'chars', path, result);
    if (typeof schema.pattern === 'string' && !patternOf(schema.pattern).test(value)) {
      fail(result, path, 'FieldValueInvalid', `Invalid value: ${describe(value)}: ${path} in body should match '${schema.pattern}'`);
    }
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && (schema.exclusiveMinimum === true ? value <= schema.minimum : value < schema.minimum)) {
      fail(result, path, 'FieldValueInvalid', `Invalid value: ${value}: ${path} in body should be greater than or equal to ${schema.minimum}`);
    }
    if (typeof schema.maximum === 'number' && (schema.exclusiveMaximum === true ? value >= schema.maximum : value > schema.maximum)) {
      fail(result, path, 'FieldValueInvalid', `Invalid value: ${value}: ${path} in body should be less than or equal to ${schema.maximum}`);
    }
  }
  return value;
}

function walkObject(value: JsonObject, schema: Schema, path: string, result: SchemaResult, options: { defaults: boolean }): JsonObject {
  const out: JsonObject = {};
  const properties = isObject(schema.properties) ? schema.properties : undefined;
  const additional = isObject(schema.additionalProperties) ? schema.additionalProperties : undefined;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true || schema.additionalProperties === true;
  for (const [key, child] of Object.entries(value)) {
    const childSchema = properties?.[key];
    if (isObject(childSchema)) {
      const walked = walk(child, childSchema, join(path, key), result, options);
      if (walked !== undefined) out[key] = walked;
    } else if (additional) {
      const walked = walk(child, additional, join(path, key), result, options);
      if (walked !== undefined) out[key] = walked;
    } else if (preserve) {
      out[key] = child;
    } else {
      // Structural schemas prune anything not declared, including under a bare `type: object`.
      result.unknownFields.push(join(path, key));
    }
  }
  if (options.defaults && properties) {
    for (const [key, childSchema] of Object.entries(properties)) {
      if (!(key in out) && isObject(childSchema) && childSchema.default !== undefined) {
        const walked = walk(clone(childSchema.default), childSchema, join(path, key), result, options);
        if (walked !== undefined) out[key] = walked;
      }
    }
  }
  if (Array.isArray(schema.required)) {
    for (const key of schema.required) {
      if (typeof key === 'string' && !(key in out)) {
        result.causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: join(path, key) });
      }
    }
  }
  checkBounds(Object.keys(out).length, schema, 'minProperties', 'maxProperties', 'properties', path, result);
  return out;
}

const sameJson = (json: string) => (candidate: Json) => JSON.stringify(candidate) === json;

function hasType(value: Json, type: string): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function checkBounds(size: number, schema: Schema, minKey: string, maxKey: string, unit: string, path: string, result: SchemaResult): void {
  const min = schema[minKey];
  const max = schema[maxKey];
  if (typeof min === 'number' && size < min) {
    result.causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${size}: ${path} in body should have at least ${min} ${unit}`, field: path });
  }
  if (typeof max === 'number' && size > max) {
    result.causes.push({ reason: 'FieldValueTooLong', message: `Too many: ${size}: must have at most ${max} ${unit}`, field: path });
  }
}
