import type { JsonObject } from './json';

// The shapes the server stores and serves. Everything beyond metadata stays generic JSON: the server has no
// controllers for built-in kinds, so it never needs their typed fields (tests set Deployment status themselves).
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** A printer column as declared in a CRD (additionalPrinterColumns). */
export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  format?: string;
  priority?: number;
}

/** One served group/version/resource. Several versions of one CRD share a storageKey (same objects). */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Status subresource: writes to the object ignore status, writes to /status ignore the rest. */
  statusSubresource: boolean;
  /** Whether metadata.generation is tracked (ConfigMaps, Secrets, Namespaces, Leases… have none). */
  generation: boolean;
  /** Custom resources: merge/JSON/apply patches only, resourceVersion required on PUT, schema validation. */
  custom: boolean;
  /** Group + plural: the identity of the stored collection, shared by every served version. */
  storageKey: string;
  schema?: JsonObject;
  printerColumns?: PrinterColumn[];
  /** Field selectors the kind supports besides metadata.name and metadata.namespace. */
  selectableFields?: string[];
}

export function apiVersionOf(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

export function qualifiedKind(type: Pick<ResourceType, 'group' | 'kind'>): string {
  return type.group ? `${type.kind}.${type.group}` : type.kind;
}

export function qualifiedResource(type: Pick<ResourceType, 'group' | 'plural'>): string {
  return type.group ? `${type.plural}.${type.group}` : type.plural;
}
