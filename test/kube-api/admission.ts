import { isObject, type JsonObject } from './json';
import { badRequest, invalid, type StatusCause } from './status';
import type { KubeObject, ResourceType } from './types';
import { processCustomResource } from './validation';
import { validateCrd } from './crd';
import { celCauses } from './cel';

// What the apiserver does to an object between decoding and storing: kind-specific defaulting and
// normalisation, schema processing for custom resources, and metadata validation. Only the behaviour the
// operator can observe is reproduced (e.g. Secret stringData folding), not every built-in default.
export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export interface AdmissionContext {
  fieldValidation: FieldValidation;
  /** Collected `Warning` headers (fieldValidation=Warn). */
  warnings: string[];
  creating: boolean;
  /** The stored object, on updates: CEL transition rules (oldSelf) and ratcheting compare with it. */
  old?: KubeObject;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function admit(type: ResourceType, input: KubeObject, ctx: AdmissionContext): KubeObject {
  let object = input;
  if (type.custom && type.schema) object = applySchema(type, object, ctx);
  normalizeBuiltin(type, object, ctx.creating);
  const causes = [...validateMetadata(type, object), ...(type.kind === 'CustomResourceDefinition' && !type.custom ? validateCrd(object) : []), ...immutableCauses(type, object, ctx.old)];
  if (causes.length > 0) throw invalid(type, object.metadata.name ?? '', causes);
  return object;
}

function applySchema(type: ResourceType, object: KubeObject, ctx: AdmissionContext): KubeObject {
  const result = processCustomResource(object as unknown as JsonObject, type.schema!, { defaults: true });
  if (result.unknownFields.length > 0) {
    if (ctx.fieldValidation === 'Strict') {
      const fields = result.unknownFields.map((f) => `unknown field "${f}"`).join(', ');
      throw badRequest(`${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: strict decoding error: ${fields}`);
    }
    if (ctx.fieldValidation === 'Warn') ctx.warnings.push(...result.unknownFields.map((f) => `unknown field "${f}"`));
  }
  if (result.causes.length > 0) throw invalid(type, object.metadata.name ?? '', result.causes);
  // CEL runs only on an object the schema accepted, as on the apiserver.
  const cel = celCauses(type.schema!, result.object, ctx.old as unknown as JsonObject | undefined);
  if (cel.length > 0) throw invalid(type, object.metadata.name ?? '', cel);
  return result.object as unknown as KubeObject;
}

function normalizeBuiltin(type: ResourceType, object: KubeObject, creating: boolean): void {
  if (type.custom) return;
  if (type.group === '' && type.kind === 'Secret') {
    // The apiserver folds write-only stringData into base64 data and never stores stringData.
    // A copy: a patched object shares its unchanged maps with the stored one, which must not change here.
    const data: Record<string, string> = { ...(isObject(object.data) ? (object.data as Record<string, string>) : {}) };
    if (isObject(object.stringData)) {
      for (const [k, v] of Object.entries(object.stringData)) data[k] = Buffer.from(String(v)).toString('base64');
      object.data = data;
    }
    delete object.stringData;
    object.type ??= 'Opaque';
  }
  if (type.group === '' && type.kind === 'Namespace' && creating) {
    object.spec = { finalizers: ['kubernetes'], ...(isObject(object.spec) ? object.spec : {}) };
    object.status = { phase: 'Active' };
    object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': object.metadata.name! };
  }
  if (type.group === 'apps' && type.kind === 'Deployment' && isObject(object.spec)) object.spec.replicas ??= 1;
}

/**
 * ConfigMaps and Secrets with `immutable: true` (Kubernetes 1.21+): their data (and binaryData) and the
 * flag itself never change again; metadata still may. The apiserver's ValidateConfigMapUpdate and
 * ValidateSecretUpdate, with their messages; data is compared as reflect.DeepEqual would, an absent map
 * unequal to an empty one.
 */
function immutableCauses(type: ResourceType, object: KubeObject, old: KubeObject | undefined): StatusCause[] {
  if (type.custom || type.group !== '' || (type.kind !== 'ConfigMap' && type.kind !== 'Secret') || old?.immutable !== true) return [];
  const forbidden = (field: string): StatusCause => ({ reason: 'FieldValueForbidden', message: 'Forbidden: field is immutable when `immutable` is set', field });
  const causes: StatusCause[] = [];
  if (object.immutable !== true) causes.push(forbidden('immutable'));
  for (const field of ['data', 'binaryData']) if (!sameMap(old[field], object[field])) causes.push(forbidden(field));
  return causes;
}

function sameMap(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((k) => Object.hasOwn(right, k) && left[k] === right[k]);
}

function validateMetadata(type: ResourceType, object: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = object.metadata.name ?? '';
  const pattern = type.kind === 'Namespace' && type.group === '' ? DNS_LABEL : DNS_SUBDOMAIN;
  if (!name) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
  } else if (!pattern.test(name) || name.length > (pattern === DNS_LABEL ? 63 : 253)) {
    const what = pattern === DNS_LABEL ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character" : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${name}": ${what}`, field: 'metadata.name' });
  }
  for (const [key, value] of Object.entries(object.metadata.labels ?? {})) {
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${String(value)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`, field: `metadata.labels` });
    }
    if (key.length === 0) causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: "": name part must be non-empty', field: 'metadata.labels' });
  }
  return causes;
}
