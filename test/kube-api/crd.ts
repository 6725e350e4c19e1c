import { isObject, type JsonObject } from './json';
import type { StatusCause } from './status';
import type { KubeObject, PrinterColumn, ResourceType } from './types';

// CustomResourceDefinitions are ordinary stored objects; these helpers turn one into the resource types
// it serves (one per served version) and check the parts of its spec the server depends on.
interface CrdNames {
  plural?: string;
  singular?: string;
  kind?: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: JsonObject };
  subresources?: { status?: JsonObject };
  additionalPrinterColumns?: PrinterColumn[];
  selectableFields?: { jsonPath: string }[];
}

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: CrdNames;
  versions?: CrdVersion[];
}

function specOf(crd: KubeObject): CrdSpec {
  return (isObject(crd.spec) ? crd.spec : {}) as CrdSpec;
}

export function resourceTypesOfCrd(crd: KubeObject): ResourceType[] {
  const spec = specOf(crd);
  const names = spec.names ?? {};
  const group = spec.group ?? '';
  const plural = names.plural ?? '';
  return (spec.versions ?? [])
    .filter((v) => v.served !== false)
    .map((v) => ({
      group,
      version: v.name,
      kind: names.kind ?? '',
      listKind: names.listKind ?? `${names.kind}List`,
      plural,
      singular: names.singular ?? (names.kind ?? '').toLowerCase(),
      namespaced: spec.scope !== 'Cluster',
      ...(names.shortNames ? { shortNames: names.shortNames } : {}),
      ...(names.categories ? { categories: names.categories } : {}),
      statusSubresource: v.subresources?.status !== undefined,
      generation: true,
      custom: true,
      storageKey: `${group}/${plural}`,
      ...(v.schema?.openAPIV3Schema ? { schema: v.schema.openAPIV3Schema } : {}),
      ...(v.additionalPrinterColumns ? { printerColumns: v.additionalPrinterColumns } : {}),
      ...(v.selectableFields ? { selectableFields: v.selectableFields.map((f) => f.jsonPath.replace(/^\./, '')) } : {}),
    }));
}

export function validateCrd(crd: KubeObject): StatusCause[] {
  const spec = specOf(crd);
  const causes: StatusCause[] = [];
  const names = spec.names ?? {};
  const required = (field: string, value: unknown) => {
    if (!value) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field });
  };
  required('spec.group', spec.group);
  required('spec.names.plural', names.plural);
  required('spec.names.kind', names.kind);
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: "${spec.scope ?? ''}": supported values: "Cluster", "Namespaced"`, field: 'spec.scope' });
  }
  if (names.plural && spec.group && crd.metadata.name !== `${names.plural}.${spec.group}`) {
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${crd.metadata.name}": must be spec.names.plural+"."+spec.group`, field: 'metadata.name' });
  }
  const versions = spec.versions ?? [];
  if (versions.length === 0) causes.push({ reason: 'FieldValueRequired', message: 'Required value: must have exactly one version marked as storage version', field: 'spec.versions' });
  else if (versions.filter((v) => v.storage).length !== 1) {
    causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: must have exactly one version marked as storage version', field: 'spec.versions' });
  }
  versions.forEach((v, i) => {
    if (!v.schema?.openAPIV3Schema) causes.push({ reason: 'FieldValueRequired', message: 'Required value: schemas are required', field: `spec.versions[${i}].schema.openAPIV3Schema` });
  });
  return causes;
}

/** What the apiextensions controllers write into a new CRD's status once its names are accepted. */
export function establishedStatus(crd: KubeObject, now: string): JsonObject {
  const spec = specOf(crd);
  const condition = (type: string, reason: string, message: string) => ({ type, status: 'True', lastTransitionTime: now, reason, message });
  return {
    acceptedNames: (spec.names ?? {}) as JsonObject,
    conditions: [condition('NamesAccepted', 'NoConflicts', 'no conflicts found'), condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted')],
    storedVersions: (spec.versions ?? []).filter((v) => v.storage).map((v) => v.name),
  };
}
