/**
 * `openpds plan/apply` against a cluster: every object of the folder goes through a server-side apply
 * (with dryRun=All for plan) under one field manager, and the answer is compared with the live object, so
 * the plan shows what the API server itself would do: its defaults, its validation, its admission.
 *
 * Pruning needs an explicit apply set (`--set NAME`, kubectl's `--prune --applyset=`): its parent
 * ConfigMap records the group-kinds and namespaces of its members (cluster-applyset.ts), and members of
 * the set that left the folder are deleted. A folder's name is no identity: team-a/prod and team-b/prod
 * would prune each other. Without a set nothing is ever deleted. A CRD or Namespace is pruned only with
 * pruneCascading, since the server deletes every object of its kind or in it too (cluster-cascade.ts).
 */
import type { KubeClient, KubeObject } from '../kube/kube-client';
import { applySetId, APPLYSET_PART_OF_LABEL, groupKindOf, LEGACY_PARENT_NAMESPACE, parentName, readLegacyParent, readParent, writeParent, type ApplySetRecord, type ApplySetRef, type ParentState } from './cluster-applyset';
import { cascades, describeCascade } from './cluster-cascade';
import { crdKindsOf, kindKey, waitUntilServed, type CrdKind } from './cluster-crds';
import { deleteOne, displayName, findPrunable, memberIdentity, type Prunable, type PruneEntry, type PruneScope } from './cluster-prune';
import { createResourceResolver, isStatus, pathOf, serverMessage, type Resource, type ResourceResolver } from './cluster-resources';
import type { ManifestDocument } from './manifests';
import { diffObjects, type ObjectChange } from './object-diff';

export const CLI_FIELD_MANAGER = 'openpds-cli';
/** The set's name, kept on members beside the applyset id for `kubectl get -l openpds.io/apply-set=NAME`. */
export const APPLY_SET_LABEL = 'openpds.io/apply-set';

/** Applied before the rest: the objects others live in or are made of. */
const FIRST_KINDS = new Set(['Namespace', 'CustomResourceDefinition']);

/** How long apply waits for a CRD of the folder to be served before its objects are applied. */
const CRD_WAIT = { timeoutMs: 10_000, intervalMs: 200 };

/** kept: labelled as a member but not provably one (a copy, a legacy parent's): reported, never deleted. */
export type ClusterAction = 'create' | 'update' | 'unchanged' | 'delete' | 'error' | 'kept';

export interface ClusterPlanEntry {
  action: ClusterAction;
  kind: string;
  /** `namespace/name`, or the name of a cluster-scoped object. */
  name: string;
  changes: ObjectChange[];
  /** Why it failed (the server's message), or a remark on a create. */
  message?: string;
  /** Lines under the entry: what a cascading delete takes with it. */
  details?: string[];
  /** The file of DIR the object's manifest is in (shown on errors). */
  where?: string;
}

export interface ClusterPlanOptions {
  client: KubeClient;
  documents: ManifestDocument[];
  /** The apply set to prune: undefined applies without pruning. */
  set?: ApplySetRef;
  /** For objects that name none (the kubeconfig context's namespace, or `-n`). */
  namespace: string;
  dryRun: boolean;
  /** Take over fields another manager owns (kubectl's --force-conflicts) instead of failing. */
  forceConflicts: boolean;
  /** Prune CustomResourceDefinitions and Namespaces too, with everything the server deletes with them. */
  pruneCascading?: boolean;
  /** Documents of the folder that could not even be parsed (counted, they hold back pruning). */
  unreadable?: number;
  crdWait?: { timeoutMs: number; intervalMs: number };
}

interface Desired {
  index: number;
  resource: Resource;
  namespace: string | undefined;
  object: KubeObject;
  /** A kind the server does not serve yet, defined by a CRD of the folder. */
  pendingCrd?: CrdKind;
}

export interface ClusterPlan {
  entries: ClusterPlanEntry[];
  /** Why nothing was pruned, when something held it back. */
  pruneSkipped?: string;
  /** Remarks on the set (a legacy parent found). */
  notes?: string[];
  /** apply only: why nothing was written (some object failed the server's dry run of the whole folder). */
  refused?: string;
}

export async function planCluster(options: ClusterPlanOptions): Promise<ClusterPlan> {
  const resolver = createResourceResolver(options.client);
  const entries: ClusterPlanEntry[] = new Array(options.documents.length);
  const desired = await resolveDocuments(options, resolver, entries);
  const unresolved = options.documents.length - desired.length;
  const inFiles = (list: ClusterPlanEntry[]) => list.map((e, i) => (e && options.documents[i] ? { ...e, where: options.documents[i].where } : e));
  if (!options.dryRun) {
    // All or nothing, as kubectl reads every file before it applies one: an apply that stopped at a bad
    // manifest in the middle left the folder half applied (its Drive made, its Secret not). So the whole
    // folder goes through the server's dry run first, and a single failure (or a file that cannot be
    // read or resolved) writes nothing, the apply set's parent included.
    const checked = [...entries];
    await applyAll({ ...options, dryRun: true }, resolver, desired.map((d) => ({ ...d })), checked);
    const failures = inFiles(checked).filter((e) => e?.action === 'error');
    const failed = failures.length + (options.unreadable ?? 0);
    if (failed > 0) return { entries: failures, refused: `nothing applied: ${failed} manifest${failed === 1 ? '' : 's'} of the folder failed the server's dry run or could not be read (an apply writes all of the folder or none of it)` };
  }

  let parent: ParentState = { record: { groupKinds: [], namespaces: [] }, exists: false, legacy: false };
  if (options.set) {
    const read = await readParent(options.client, options.set);
    if ('error' in read) return { entries: [parentError(options.set, read.error)] };
    parent = read;
  }
  // A parent an older openpds wrote in default may have been shared by runs from every context namespace:
  // its record's other namespaces may be another team's, so only namespace default is taken from it (the
  // record rewritten below keeps no more, and marks the parent as this version's).
  const sharedLegacy = parent.exists && parent.legacy && options.set?.namespace === LEGACY_PARENT_NAMESPACE;
  const record: ApplySetRecord = sharedLegacy ? { groupKinds: parent.record.groupKinds, namespaces: [LEGACY_PARENT_NAMESPACE] } : parent.record;
  // Before any member is written, as kubectl does: an apply cut short still leaves every kind it may
  // have created on the record, so the next run can find and prune it. When the folder creates the
  // parent's namespace, after the Namespaces and CRDs instead (the parent cannot exist before).
  const set = options.set;
  const writeRecord = async () => (set && !options.dryRun ? writeParent(options.client, set, union(record, recordOf(desired)), CLI_FIELD_MANAGER) : undefined);
  const createsParentNamespace = desired.some((d) => d.resource.kind === 'Namespace' && d.resource.apiVersion === 'v1' && d.object.metadata?.name === set?.namespace);
  const early = await writeRecord();
  if (early && !createsParentNamespace) return { entries: [parentError(set!, early)] };
  const late = await applyAll(options, resolver, desired, entries, early ? writeRecord : undefined);
  entries.splice(0, entries.length, ...inFiles(entries));
  if (late) return { entries: [...entries.filter(Boolean), parentError(set!, late)] };

  if (!set) return { entries: entries.filter(Boolean) };
  // A manifest that could not be read or resolved is still in the folder, but its live object would look
  // removed: pruning now would delete what a YAML typo or a missing CRD merely hid. (A manifest the server
  // refuses is no such case: its identity is known, so its live object is never taken for removed.)
  const unread = (options.unreadable ?? 0) + unresolved;
  if (unread > 0) {
    return { entries: entries.filter(Boolean), pruneSkipped: `${unread} manifest${unread === 1 ? '' : 's'} of the folder could not be read or resolved, so nothing is deleted` };
  }
  const wanted = recordOf(desired);
  const scope = (id: string, groupKinds: string[], namespaces: string[], clusterScoped: boolean): PruneScope => ({
    id,
    setName: set.name,
    groupKinds,
    namespaces: [...new Set(namespaces)],
    clusterScoped,
    fieldManager: CLI_FIELD_MANAGER,
    wanted: new Set(desired.map((d) => memberIdentity(groupKindOf(d.resource.apiVersion, d.resource.kind), d.namespace, d.object.metadata!.name!))),
  });
  const kinds = [...record.groupKinds, ...wanted.groupKinds];
  // kubectl's rule: the parent's namespace and those it records (the folder's are recorded by now).
  const prunes = await findPrunable(options.client, resolver, scope(applySetId(set), kinds, sharedLegacy ? [set.namespace] : [set.namespace, ...record.namespaces, ...wanted.namespaces], !sharedLegacy));
  const { kept, notes } = await legacyMembers(options, resolver, sharedLegacy, wanted, kinds, scope, parent.exists);
  const pruned: Prunable[] = [];
  for (const p of prunes) {
    const checked = await withCascade(options, p);
    const entry = checked.action === 'delete' && !options.dryRun ? await deleteOne(options.client, { ...p, entry: checked }) : checked;
    entries.push(entry);
    pruned.push({ ...p, entry });
  }
  entries.push(...kept);
  if (!options.dryRun) {
    // The record shrinks to what the folder holds and what could not be deleted or listed.
    const left = pruned.filter((p) => p.entry.action === 'error');
    const next = union(wanted, { groupKinds: left.map((p) => p.groupKind), namespaces: left.flatMap((p) => (p.namespace ? [p.namespace] : [])) });
    const error = await writeParent(options.client, set, next, CLI_FIELD_MANAGER);
    if (error) entries.push(parentError(set, error));
  }
  return { entries: entries.filter(Boolean), ...(notes.length > 0 ? { notes } : {}) };
}

/**
 * A CRD or Namespace member to prune, with what the server deletes with it; refused (an error, so the
 * set keeps recording it) unless pruneCascading.
 */
async function withCascade(options: ClusterPlanOptions, p: Prunable): Promise<PruneEntry> {
  if (p.entry.action !== 'delete' || !cascades(p.groupKind)) return p.entry;
  const cascade = await describeCascade(options.client, p.groupKind, p.name);
  const what = cascade.count === undefined ? 'objects that could not be counted' : `${cascade.count} other object${cascade.count === 1 ? '' : 's'}`;
  const details = cascade.lines.map((line) => `with it: ${line}`);
  if (options.pruneCascading) return { ...p.entry, message: `deletes ${what} with it`, details };
  return { ...p.entry, action: 'error', message: `not deleted: the server would delete ${what} with it; give --prune-cascading to delete it`, details };
}

/**
 * Objects labelled by a legacy parent (see cluster-applyset.ts) that the folder no longer holds, in the
 * folder's namespaces: reported as kept, never deleted, since that parent may speak for another team.
 * - The set's parent is the shared one in default: its members outside default and cluster-scoped ones.
 * - The set's parent moved out of default (no parent here yet, a legacy one there): that one's members.
 */
async function legacyMembers(options: ClusterPlanOptions, resolver: ResourceResolver, sharedLegacy: boolean, wanted: ApplySetRecord, kinds: string[], scope: (id: string, groupKinds: string[], namespaces: string[], clusterScoped: boolean) => PruneScope, parentExists: boolean): Promise<{ kept: ClusterPlanEntry[]; notes: string[] }> {
  const set = options.set!;
  const kept = (found: Prunable[], why: string) => found.map((p): ClusterPlanEntry => (p.entry.action === 'delete' ? { ...p.entry, action: 'kept', message: why } : p.entry));
  if (sharedLegacy) {
    const namespaces = wanted.namespaces.filter((ns) => ns !== set.namespace);
    const found = await findPrunable(options.client, resolver, scope(applySetId(set), kinds, namespaces, true));
    return { kept: kept(found, `labelled by the set's parent from an older openpds, which runs from any context namespace shared: not deleted, delete it by hand if it is this set's`), notes: [] };
  }
  if (parentExists) return { kept: [], notes: [] };
  const legacy = await readLegacyParent(options.client, set);
  if (!legacy) return { kept: [], notes: [] };
  const where = `${legacy.ref.namespace}/${parentName(legacy.ref)}`;
  const found = await findPrunable(options.client, resolver, scope(applySetId(legacy.ref), [...legacy.record.groupKinds, ...wanted.groupKinds], [set.namespace, ...wanted.namespaces], true));
  return {
    kept: kept(found, `labelled by the older parent ${where}: not deleted, delete it by hand if it is this set's`),
    notes: [
      `note: set ${set.name} now keeps its parent in ${set.namespace}/${parentName(set)}; an older openpds kept it in ${where}, shared by runs from every context namespace, so nothing is deleted on its word (objects it labelled that left DIR are listed as kept). Delete ${where} once no one applies set ${set.name} with an older openpds.`,
    ],
  };
}

/** Each document checked and resolved to its REST resource (or to the CRD of the folder that defines it). */
async function resolveDocuments(options: ClusterPlanOptions, resolver: ResourceResolver, entries: ClusterPlanEntry[]): Promise<Desired[]> {
  const crdKinds = crdKindsOf(options.documents.map((d) => d.object as KubeObject));
  const desired: (Desired & { key: string })[] = [];
  const seen = new Map<string, string>();
  const duplicated = new Map<string, string>(); // key -> the file of a later definition
  for (const [index, { where, object }] of options.documents.entries()) {
    const kind = String(object.kind ?? '?');
    const name = object.metadata?.name;
    if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof name !== 'string' || !name) {
      entries[index] = { action: 'error', kind, name: `${where}`, changes: [], message: 'apiVersion, kind and metadata.name are required' };
      continue;
    }
    const resolved = await resolver.resolve(object.apiVersion, object.kind);
    const pendingCrd = 'error' in resolved ? crdKinds.get(kindKey(object.apiVersion, object.kind)) : undefined;
    if ('error' in resolved && !pendingCrd) {
      entries[index] = { action: 'error', kind, name: displayName(object.metadata?.namespace ?? options.namespace, name), changes: [], message: resolved.error };
      continue;
    }
    const resource = 'resource' in resolved ? resolved.resource : pendingCrd!.resource;
    const namespace = resource.namespaced ? (object.metadata?.namespace ?? options.namespace) : undefined;
    const key = memberIdentity(groupKindOf(resource.apiVersion, resource.kind), namespace, name);
    const earlier = seen.get(key);
    if (earlier) {
      entries[index] = { action: 'error', kind, name: displayName(namespace, name), changes: [], message: `also defined in ${earlier}: one object, one manifest` };
      if (!duplicated.has(key)) duplicated.set(key, where);
      continue;
    }
    seen.set(key, where);
    desired.push({ key, index, resource, namespace, object: stamp(object as KubeObject, namespace, options.set), ...(pendingCrd ? { pendingCrd } : {}) });
  }
  // Neither definition is applied, the first one no more than the later (which one the author meant is
  // theirs to say): applying the first and refusing the second applied half a mistake. Both count as
  // unresolved, so nothing is pruned meanwhile (the object would look removed from the folder).
  for (const d of desired) {
    const later = duplicated.get(d.key);
    if (later) entries[d.index] = { action: 'error', kind: d.resource.kind, name: displayName(d.namespace, d.object.metadata!.name!), changes: [], message: `also defined in ${later}: one object, one manifest` };
  }
  return desired.filter((d) => !duplicated.has(d.key)).map(({ key: _key, ...d }) => d);
}

/** Namespaces and CRDs first, then the rest; objects of a CRD of the folder once their kind is served. */
async function applyAll(options: ClusterPlanOptions, resolver: ResourceResolver, desired: Desired[], entries: ClusterPlanEntry[], betweenPhases?: () => Promise<string | undefined>): Promise<string | undefined> {
  const creatingNamespaces = new Set<string>();
  const failedCrds = new Set<string>();
  const served = new Map<string, Promise<Resource | undefined>>();
  const phases = [desired.filter((d) => FIRST_KINDS.has(d.resource.kind)), desired.filter((d) => !FIRST_KINDS.has(d.resource.kind))];
  for (const [i, phase] of phases.entries()) {
    if (i === 1 && betweenPhases) {
      const error = await betweenPhases();
      if (error) return error;
    }
    for (const d of phase) {
      const base = { kind: d.resource.kind, name: displayName(d.namespace, d.object.metadata!.name!), changes: [] as ObjectChange[] };
      if (d.pendingCrd) {
        const crd = d.pendingCrd.crdName;
        if (options.dryRun) {
          entries[d.index] = { ...base, action: 'create', message: `CRD ${crd} in this plan; the server checks it on apply` };
          continue;
        }
        if (failedCrds.has(crd)) {
          entries[d.index] = { ...base, action: 'error', message: `its CustomResourceDefinition ${crd} was not applied` };
          continue;
        }
        const key = kindKey(d.resource.apiVersion, d.resource.kind);
        if (!served.has(key)) served.set(key, waitUntilServed(resolver, d.resource.apiVersion, d.resource.kind, options.crdWait ?? CRD_WAIT));
        const resource = await served.get(key)!;
        if (!resource) {
          const seconds = Math.round((options.crdWait ?? CRD_WAIT).timeoutMs / 1000);
          entries[d.index] = { ...base, action: 'error', message: `the server does not serve kind ${d.resource.kind} of ${d.resource.apiVersion} ${seconds} s after CustomResourceDefinition ${crd} was applied` };
          continue;
        }
        d.resource = resource;
      }
      const entry = await applyOne(options, d, creatingNamespaces);
      entries[d.index] = entry;
      if (entry.action === 'error' && d.resource.kind === 'CustomResourceDefinition') failedCrds.add(d.object.metadata!.name!);
      if (entry.action === 'create' && d.resource.kind === 'Namespace' && d.resource.apiVersion === 'v1') creatingNamespaces.add(d.object.metadata!.name!);
    }
  }
  return undefined;
}

async function applyOne(options: ClusterPlanOptions, d: Desired, creatingNamespaces: Set<string>): Promise<ClusterPlanEntry> {
  const name = d.object.metadata!.name!;
  const base = { kind: d.resource.kind, name: displayName(d.namespace, name), changes: [] as ObjectChange[] };
  const path = pathOf(d.resource, d.namespace, name);
  try {
    const live = await options.client.request<KubeObject>('GET', path).catch((error: unknown) => {
      if (isStatus(error, 404)) return undefined;
      throw error;
    });
    let next: KubeObject;
    try {
      next = await options.client.request<KubeObject>('PATCH', path, {
        body: options.set ? d.object : keepMembership(d.object, live),
        contentType: 'application/apply-patch+yaml',
        // Strict: a misspelt field is an error, as with `kubectl apply --server-side`, not silently pruned.
        query: { fieldManager: CLI_FIELD_MANAGER, force: options.forceConflicts, fieldValidation: 'Strict', ...(options.dryRun ? { dryRun: 'All' } : {}) },
      });
    } catch (error) {
      // A dry run cannot create an object in a namespace that the same plan only creates: the apply will.
      if (options.dryRun && !live && d.namespace && creatingNamespaces.has(d.namespace) && isStatus(error, 404)) {
        return { ...base, action: 'create', message: `namespace ${d.namespace} is created by this plan: the server checks this object on apply` };
      }
      throw error;
    }
    if (!live) return { ...base, action: 'create' };
    const changes = diffObjects(live, next);
    return { ...base, action: changes.length > 0 ? 'update' : 'unchanged', changes };
  } catch (error) {
    // Fields another manager owns (`kubectl apply` without --server-side, a controller): say the way out, as kubectl does.
    const conflict = isStatus(error, 409) && !options.forceConflicts ? '; to take these fields over, run again with --force-conflicts (as `kubectl apply --server-side --force-conflicts`)' : '';
    return { ...base, action: 'error', message: `${serverMessage(error)}${conflict}` };
  }
}

/**
 * The object as applied: in its namespace and, with a set, labelled as its member. No label the user did
 * not write otherwise (kubectl adds none either): the field manager already records who applied what, and
 * an extra label would make the first plan after a `kubectl apply` of the same files an update, never `=`.
 */
function stamp(object: KubeObject, namespace: string | undefined, set: ApplySetRef | undefined): KubeObject {
  const metadata = { ...object.metadata };
  if (namespace) metadata.namespace = namespace;
  else delete metadata.namespace;
  if (set) metadata.labels = { ...metadata.labels, [APPLY_SET_LABEL]: set.name, [APPLYSET_PART_OF_LABEL]: applySetId(set) };
  return { ...object, metadata };
}

/**
 * Without --set an object keeps the set it is a member of: an apply drops the labels it no longer writes,
 * and an object that left its set that way would never be pruned by the set's next apply.
 */
function keepMembership(object: KubeObject, live: KubeObject | undefined): KubeObject {
  const labels = live?.metadata?.labels ?? {};
  const kept = Object.fromEntries([APPLYSET_PART_OF_LABEL, APPLY_SET_LABEL].flatMap((key) => (labels[key] === undefined ? [] : [[key, labels[key]!] as const])));
  if (Object.keys(kept).length === 0) return object;
  return { ...object, metadata: { ...object.metadata, labels: { ...object.metadata?.labels, ...kept } } };
}

function recordOf(desired: Desired[]): ApplySetRecord {
  return {
    groupKinds: desired.map((d) => groupKindOf(d.resource.apiVersion, d.resource.kind)),
    namespaces: desired.flatMap((d) => (d.namespace ? [d.namespace] : [])),
  };
}

function union(a: ApplySetRecord, b: ApplySetRecord): ApplySetRecord {
  return { groupKinds: [...new Set([...a.groupKinds, ...b.groupKinds])], namespaces: [...new Set([...a.namespaces, ...b.namespaces])] };
}

function parentError(set: ApplySetRef, message: string): ClusterPlanEntry {
  return { action: 'error', kind: 'ConfigMap', name: `${set.namespace}/${parentName(set)}`, changes: [], message };
}
