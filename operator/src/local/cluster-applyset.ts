/**
 * The apply set of `openpds apply --set NAME`, as kubectl's ApplySet (KEP-3659) keeps it: a parent
 * ConfigMap `openpds-applyset-NAME` that records, in annotations, which group-kinds and namespaces the
 * set's members live in, and an id label every member carries (`applyset.kubernetes.io/part-of`). The id
 * is derived from the parent's name, namespace, kind and group, so `prod` in one namespace is never `prod`
 * in another, and kubectl itself recognises (and leaves alone) a set another tool made.
 *
 * The parent lives in the namespace the set's namespace-less objects go to (-n, else the context's, else
 * default), as kubectl's does. Before that, openpds kept every parent without -n in `default`, whatever the
 * context namespace: two teams applying `--set prod` from team-a and team-b shared one parent and pruned
 * each other. Parents written since carry SCOPE_ANNOTATION; one in `default` without it (a legacy parent)
 * may speak for several teams, so it is trusted for namespace `default` only (cluster-plan.ts).
 */
import { createHash } from 'node:crypto';
import { VERSION } from '../../../api-server/src/version';
import type { KubeClient, KubeObject } from '../kube/kube-client';
import { isStatus, serverMessage } from './cluster-resources';

export const APPLYSET_ID_LABEL = 'applyset.kubernetes.io/id';
export const APPLYSET_PART_OF_LABEL = 'applyset.kubernetes.io/part-of';
export const APPLYSET_TOOLING_ANNOTATION = 'applyset.kubernetes.io/tooling';
export const APPLYSET_KINDS_ANNOTATION = 'applyset.kubernetes.io/contains-group-kinds';
export const APPLYSET_NAMESPACES_ANNOTATION = 'applyset.kubernetes.io/additional-namespaces';
/** On parents that live in their members' default namespace (every parent written since the move). */
export const SCOPE_ANNOTATION = 'openpds.io/applyset-scope';
const SCOPE = 'namespace';
/** Where openpds kept every parent without -n before the parent moved to the objects' namespace. */
export const LEGACY_PARENT_NAMESPACE = 'default';

/** kubectl's ApplySet tooling stamp: this tool and its release. */
export const TOOLING = `openpds/${VERSION}`;
const TOOLING_NAME = 'openpds/';

export interface ApplySetRef {
  name: string;
  /** The parent ConfigMap's namespace. */
  namespace: string;
}

/** What the parent records: group-kinds as `Kind.group` (`ConfigMap`, `Domain.openpds.io`), and namespaces. */
export interface ApplySetRecord {
  groupKinds: string[];
  namespaces: string[];
}

export function parentName(set: ApplySetRef): string {
  return `openpds-applyset-${set.name}`;
}

/** kubectl's id: `applyset-<base64url(sha256(name.namespace.Kind.group))>-v1`, 55 characters, a label value. */
export function applySetId(set: ApplySetRef): string {
  const digest = createHash('sha256').update(`${parentName(set)}.${set.namespace}.ConfigMap.`).digest('base64url');
  return `applyset-${digest}-v1`;
}

export function parentPath(set: ApplySetRef, withName = true): string {
  return `/api/v1/namespaces/${encodeURIComponent(set.namespace)}/configmaps${withName ? `/${encodeURIComponent(parentName(set))}` : ''}`;
}

/** The parent as a server-side apply body: the annotations are the record, sorted so a rewrite is a no-op. */
export function parentObject(set: ApplySetRef, record: ApplySetRecord): KubeObject {
  const namespaces = [...new Set(record.namespaces)].filter((ns) => ns !== set.namespace).sort();
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: parentName(set),
      namespace: set.namespace,
      labels: { [APPLYSET_ID_LABEL]: applySetId(set) },
      annotations: {
        [APPLYSET_TOOLING_ANNOTATION]: TOOLING,
        [APPLYSET_KINDS_ANNOTATION]: [...new Set(record.groupKinds)].sort().join(','),
        [APPLYSET_NAMESPACES_ANNOTATION]: namespaces.join(','),
        [SCOPE_ANNOTATION]: SCOPE,
      },
    },
  };
}

export interface ParentState {
  record: ApplySetRecord;
  exists: boolean;
  /** Written before the parent moved to its members' namespace (no SCOPE_ANNOTATION). */
  legacy: boolean;
}

/** The record of a live parent (empty when there is none yet), or why it is not this set's parent. */
export async function readParent(client: KubeClient, set: ApplySetRef): Promise<ParentState | { error: string }> {
  let live: KubeObject;
  try {
    live = await client.request<KubeObject>('GET', parentPath(set));
  } catch (error) {
    if (isStatus(error, 404)) return { record: { groupKinds: [], namespaces: [] }, exists: false, legacy: false };
    return { error: `cannot read the apply set's parent: ${serverMessage(error)}` };
  }
  const labels = live.metadata?.labels ?? {};
  const annotations = live.metadata?.annotations ?? {};
  // A ConfigMap of that name made by someone else, or a set another tool manages: never prune on its word.
  if (labels[APPLYSET_ID_LABEL] !== applySetId(set) || !annotations[APPLYSET_TOOLING_ANNOTATION]?.startsWith(TOOLING_NAME)) {
    return { error: `exists but is not the parent of openpds apply set ${set.name} (label ${APPLYSET_ID_LABEL}=${applySetId(set)}, annotation ${APPLYSET_TOOLING_ANNOTATION}=openpds/...)` };
  }
  const list = (value: string | undefined) => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    record: { groupKinds: list(annotations[APPLYSET_KINDS_ANNOTATION]), namespaces: [set.namespace, ...list(annotations[APPLYSET_NAMESPACES_ANNOTATION])] },
    exists: true,
    legacy: annotations[SCOPE_ANNOTATION] !== SCOPE,
  };
}

/**
 * The legacy parent of a set that now lives outside `default`: the one an older openpds wrote in
 * `default` for runs without -n. Undefined when there is none (or it cannot be read: it is only ever
 * used to report the objects it labelled, never to delete them).
 */
export async function readLegacyParent(client: KubeClient, set: ApplySetRef): Promise<{ ref: ApplySetRef; record: ApplySetRecord } | undefined> {
  if (set.namespace === LEGACY_PARENT_NAMESPACE) return undefined;
  const ref = { name: set.name, namespace: LEGACY_PARENT_NAMESPACE };
  const parent = await readParent(client, ref);
  if ('error' in parent || !parent.exists || !parent.legacy) return undefined;
  return { ref, record: parent.record };
}

export async function writeParent(client: KubeClient, set: ApplySetRef, record: ApplySetRecord, fieldManager: string): Promise<string | undefined> {
  try {
    await client.request('PATCH', parentPath(set), { body: parentObject(set, record), contentType: 'application/apply-patch+yaml', query: { fieldManager, force: true } });
    return undefined;
  } catch (error) {
    return `cannot write the apply set's parent: ${serverMessage(error)}`;
  }
}

/** `Kind.group` as the annotation spells it: the core group has no suffix (`ConfigMap`). */
export function groupKindOf(apiVersion: string, kind: string): string {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return group ? `${kind}.${group}` : kind;
}

export function splitGroupKind(groupKind: string): { group: string; kind: string } {
  const dot = groupKind.indexOf('.');
  return dot < 0 ? { group: '', kind: groupKind } : { group: groupKind.slice(dot + 1), kind: groupKind.slice(0, dot) };
}
