/**
 * Test support for the CRDs: loads crds/*.yaml, compiles each openAPIV3Schema with ajv (applying schema
 * defaults, as the API server does before validation) and evaluates the CEL rules with the Kubernetes API test
 * server's evaluator.
 * Shared by crds.test.ts and the examples' tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import YAML from 'yaml';
import { celCauses } from '../../test/kube-api/cel';
import type { JsonObject } from '../../test/kube-api/json';

export const CRD_DIR = path.resolve(__dirname, '..');
export const REPO_ROOT = path.resolve(CRD_DIR, '..');

export interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  required?: string[];
  default?: unknown;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string }[];
  [keyword: string]: unknown;
}

export interface Crd {
  file: string;
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string; plural: string; shortNames?: string[]; categories?: string[] };
    scope: string;
    versions: {
      name: string;
      subresources?: { status?: object };
      additionalPrinterColumns?: { name: string; jsonPath: string; type: string }[];
      schema: { openAPIV3Schema: JsonSchema };
    }[];
  };
}

export function loadCrds(): Crd[] {
  return fs
    .readdirSync(CRD_DIR)
    .filter((f) => /^openpds\.io_.*\.yaml$/.test(f))
    .sort()
    .map((file) => ({ file, ...(YAML.parse(fs.readFileSync(path.join(CRD_DIR, file), 'utf8')) as Omit<Crd, 'file'>) }));
}

/** Every YAML document under a folder, recursively, with the file it came from. */
export function loadYamlDocs(dir: string): { file: string; doc: Record<string, unknown> }[] {
  const out: { file: string; doc: Record<string, unknown> }[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...loadYamlDocs(full));
    else if (/\.ya?ml$/.test(entry.name)) {
      for (const d of YAML.parseAllDocuments(fs.readFileSync(full, 'utf8'))) {
        const doc = d.toJS() as Record<string, unknown> | null;
        if (doc) out.push({ file: path.relative(REPO_ROOT, full), doc });
      }
    }
  }
  return out;
}

// ajv knows nothing of Kubernetes' extensions; they are declared so strict mode still catches typos in
// real keywords. int64/int32 are Kubernetes' integer formats, checked by `type: integer` already.
function createAjv(): Ajv {
  const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addFormat('int64', true).addFormat('int32', true);
  for (const keyword of [
    'x-kubernetes-validations',
    'x-kubernetes-int-or-string',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
  ]) {
    ajv.addKeyword(keyword);
  }
  return ajv;
}

const ajv = createAjv();
const validators = new Map<string, ValidateFunction>();

export function schemaOf(kind: string): JsonSchema {
  const crd = loadCrds().find((c) => c.spec.names.kind === kind);
  if (!crd) throw new Error(`no CRD for kind ${kind}`);
  return crd.spec.versions[0]!.schema.openAPIV3Schema;
}

/** Applies schema defaults to `object` in place and returns the schema errors ([] when valid). */
export function validateWithDefaults(kind: string, object: unknown): string[] {
  let validate = validators.get(kind);
  if (!validate) {
    validate = ajv.compile(schemaOf(kind));
    validators.set(kind, validate);
  }
  if (validate(object)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

/** Validates a value against one schema node (with defaults); used to check the schema's own defaults. */
export function validateAgainst(schema: JsonSchema, value: unknown): string[] {
  const validate = ajv.compile(schema);
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

/**
 * Runs the CEL rules of each kind's schema against (already defaulted) new objects, with the Kubernetes API
 * test server's evaluator (test/kube-api/cel.ts): one list of `field: message` failures per object.
 */
export function celFailures(cases: { kind: string; object: unknown }[]): string[][] {
  return cases.map(({ kind, object }) => celCauses(schemaOf(kind) as JsonObject, object as JsonObject, undefined).map((c) => `${c.field}: ${c.message}`));
}

/** Every x-kubernetes-validations rule of a schema, wherever it sits. */
export function rulesOf(schema: JsonSchema): string[] {
  const nested = [...Object.values(schema.properties ?? {}), ...(schema.items ? [schema.items] : []), ...(typeof schema.additionalProperties === 'object' ? [schema.additionalProperties] : [])];
  return [...(schema['x-kubernetes-validations'] ?? []).map((v) => v.rule), ...nested.flatMap(rulesOf)];
}

/** Schema defaults, then schema validation, then CEL: what `kubectl apply` of a new object goes through. */
export function admit(kind: string, object: unknown): string[] {
  const errors = validateWithDefaults(kind, object);
  return errors.length > 0 ? errors : celFailures([{ kind, object }])[0]!;
}
