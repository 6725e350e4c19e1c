/**
 * Reads the openpds.io resources of a folder the way `kubectl apply -f DIR` would see them: every YAML
 * file (multi-document) and JSON file, kustomization.yaml ignored, each object defaulted and validated
 * against its CRD's openAPIV3Schema (as the API server does on admission), strictly: a field the schema
 * does not declare is an error, as `kubectl apply --server-side` (fieldValidation=Strict) makes it, not
 * silently dropped.
 * Then every CEL rule of the CRD (x-kubernetes-validations), with the API server's own evaluator
 * (operator/src/kube/cel.ts, the one the Kubernetes API test server runs): a Domain name too long for its
 * Services, a quota past the data plane's safe integers, storage settings that contradict each other. The
 * transition rules (oldSelf: domainRef, owner immutable…) are checked against the object as last applied,
 * when the caller has it (`up`'s drives.json): a Drive moved to another Domain or owner is refused as the
 * API server refuses it, never run as a new drive.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import YAML from 'yaml';
import { storageClaimProblem } from '../charts/storage-claim';
import { API_VERSION, type Domain, type Drive } from '../domain-types';
import { celCauses, type CelSchema } from '../kube/cel';
import { compareCodeUnits } from '../code-unit-order';

/**
 * A manifest's `namespace/name` (namespace `default` when it names none or an empty one, as kubectl reads
 * it): how plans, records and output key a Domain or Drive.
 */
export const manifestKey = (o: { metadata: { namespace?: string; name: string } }) => `${o.metadata.namespace || 'default'}/${o.metadata.name}`;

export const DEFAULT_CRD_DIR = path.resolve(__dirname, '../../../crds');

/** A document of the folder that is not run: where it is, what it is (when that could be read) and why. */
export interface ManifestProblem {
  /** The file, relative to the folder. */
  where: string;
  kind?: string;
  /** `namespace/name` when the object names one. */
  name?: string;
  message: string;
}

export interface Manifests {
  domains: Domain[];
  drives: Drive[];
  /**
   * Documents that could not be parsed, or openpds.io objects the schema refuses. Any one of them may be a
   * Drive whose drive exists: while there is one, nothing may be taken for removed from the folder.
   */
  invalid: ManifestProblem[];
  /** Valid objects of a kind local mode does not run yet (nothing of the folder is hidden by them). */
  notRun: ManifestProblem[];
}

/** `drives.yaml Drive/default/team: spec.quota.totalSize …`, or `drives.yaml: <YAML error>`. */
export function describeProblem(p: ManifestProblem): string {
  return `${p.where}${p.kind ? ` ${p.kind}/${p.name ?? '?'}` : ''}: ${p.message}`;
}

/** Objects as last applied, by kind then `namespace/name`: what transition rules compare with. */
export type PreviousObjects = Readonly<Record<string, Readonly<Record<string, object>>>>;

export interface ReadOptions {
  /** A folder with no manifests is what it says (every Drive removed), not a problem: `--allow-empty`. */
  allowEmpty?: boolean;
}

export function loadManifests(dir: string, crdDir = DEFAULT_CRD_DIR, previous: PreviousObjects = {}, options: ReadOptions = {}): Manifests {
  const validators = loadValidators(crdDir);
  const documents = readManifestDocuments(dir, options);
  const out: Manifests = { domains: [], drives: [], invalid: [...documents.problems], notRun: [] };
  const firstFiles = new Map<string, string>(); // `Kind/namespace/name` -> the file defining it first
  for (const { where, object } of documents.objects) {
    const name = object.metadata?.name;
    const key = typeof name === 'string' && name ? manifestKey({ metadata: { namespace: object.metadata?.namespace, name } }) : undefined;
    const problem = (message: string): ManifestProblem => ({
      where,
      ...(typeof object.kind === 'string' && object.kind ? { kind: object.kind } : {}),
      ...(key ? { name: key } : {}),
      message,
    });
    if (object.apiVersion !== API_VERSION || typeof object.kind !== 'string' || !object.kind) {
      // Ours in all but the served version (v1beta1, a typo in the group), one of our kinds under another
      // apiVersion or none, or no kind at all: skipping it silently would take its Drive for one removed.
      const notServed = notServedReason(object, validators);
      if (notServed) out.invalid.push(problem(notServed));
      continue; // other APIs (Secrets, Argo CD…) are not ours to run
    }
    const schema = validators.get(String(object.kind));
    if (!schema) {
      out.invalid.push(problem(`unknown kind ${String(object.kind)} of ${API_VERSION}`));
      continue;
    }
    // Before ajv fills in defaults: a misspelt field must not hide behind the default of the real one.
    const errors = unknownFields(schema.schema, object).map((field) => `unknown field "${field}"`);
    if (!schema.validate(object)) errors.push(...(schema.validate.errors ?? []).map((e) => `${fieldPath(e.instancePath)} ${e.message}`));
    if (typeof name !== 'string' || !name) errors.push('metadata.name is required');
    else errors.push(...objectMetaErrors(object.metadata!));
    const old = key ? previous[String(object.kind)]?.[key] : undefined;
    // As on the API server, the rules run only on an object the schema accepts (defaults filled in).
    if (errors.length === 0) errors.push(...celErrors(schema.schema, object, old));
    // What no schema sees, the reconciler checks; so does this (storage-claim.ts).
    const claimProblem = object.kind === 'Domain' && object.metadata ? storageClaimProblem(object as unknown as Domain) : undefined;
    if (claimProblem) errors.push(claimProblem);
    if (errors.length > 0) {
      out.invalid.push(problem(errors.join('; ')));
      continue;
    }
    if (!object.metadata!.namespace) object.metadata!.namespace = 'default';
    // As the API server ignores status and these system fields on create: an exported object (kubectl get
    // -o yaml) starts afresh. A cluster uid kept here would also replace the Drive's local uid, so its
    // drive would look removed from the folder (pruned) and a new one be created.
    delete object.status;
    for (const field of SERVER_SET_METADATA) delete object.metadata![field];
    if (object.kind !== 'Domain' && object.kind !== 'Drive') {
      out.notRun.push(problem(`local mode does not run ${object.kind} yet (it has no reconciler)`));
      continue;
    }
    const kindKey = `${object.kind}/${key!}`;
    const other = firstFiles.get(kindKey);
    if (other !== undefined) out.invalid.push(problem(`also defined in ${other}`));
    else {
      firstFiles.set(kindKey, where);
      if (object.kind === 'Domain') out.domains.push(object as unknown as Domain);
      else out.drives.push(object as unknown as Drive);
    }
  }
  return withoutDuplicates(out, firstFiles);
}

/**
 * One namespace/name is one object in a cluster: two documents defining it are one overwriting the other,
 * never two drives or two data planes. Neither is run (which one the author meant is theirs to say), and
 * both are reported: the later one above, the first one here, as an invalid manifest, so nothing is
 * pruned meanwhile (a duplicated Domain's Drives then wait for it, as for a Domain missing from the folder).
 */
function withoutDuplicates(out: Manifests, firstFiles: Map<string, string>): Manifests {
  const duplicated = new Map<string, string>(); // `Kind/namespace/name` -> the file of a later definition
  for (const p of out.invalid) if ((p.kind === 'Drive' || p.kind === 'Domain') && p.name && p.message.startsWith('also defined in ')) duplicated.set(`${p.kind}/${p.name}`, p.where);
  if (duplicated.size === 0) return out;
  const keyOf = (kind: string, o: Domain | Drive) => `${kind}/${manifestKey(o)}`;
  const firstsOf = (kind: string, objects: (Domain | Drive)[]): ManifestProblem[] =>
    objects.filter((o) => duplicated.has(keyOf(kind, o))).map((o) => ({ where: firstFiles.get(keyOf(kind, o))!, kind, name: manifestKey(o), message: `also defined in ${duplicated.get(keyOf(kind, o))!}` }));
  return {
    ...out,
    domains: out.domains.filter((d) => !duplicated.has(keyOf('Domain', d))),
    drives: out.drives.filter((d) => !duplicated.has(keyOf('Drive', d))),
    invalid: [...out.invalid, ...firstsOf('Domain', out.domains), ...firstsOf('Drive', out.drives)],
  };
}

const API_GROUP = API_VERSION.split('/')[0]!;

/**
 * Why an object that is not of API_VERSION is nevertheless refused: it has no kind (the API server and
 * kubectl refuse it: "Object 'Kind' is missing"), its group is openpds.io (any case) but its version is
 * not served, or it is one of our kinds (Domain, Drive, UserSystem, OAuthApp) under any other apiVersion
 * or none. A typo in the group (`OpenPDS.io`, `openpds.io.v1alpha1`) must not make a Drive someone else's
 * object: skipped, it would look removed from the folder and its drive be pruned with its files.
 * Undefined: another API's object (a Secret, an Argo CD Application…), not ours to run.
 */
function notServedReason(object: ManifestDocument['object'], validators: Map<string, KindSchema>): string | undefined {
  const { apiVersion, kind } = object;
  if (kind === undefined || kind === null || kind === '') return 'kind is not set (the API server refuses an object without one)';
  if (typeof kind !== 'string') return 'kind is not a string';
  const group = typeof apiVersion === 'string' && apiVersion.includes('/') ? apiVersion.split('/')[0]! : undefined;
  if (group?.toLowerCase() === API_GROUP) return `apiVersion ${apiVersion} is not served (${API_GROUP} serves ${API_VERSION})`;
  if (!validators.has(kind)) return undefined;
  if (apiVersion === undefined || apiVersion === null || apiVersion === '') return `apiVersion is not set (${kind} is ${API_VERSION})`;
  return `apiVersion ${String(apiVersion)} is not served (${kind} is ${API_VERSION}; a ${kind} of another API is refused, not skipped, so that a typo is never taken for a ${kind} removed from the folder)`;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * What the API server checks of every object's name and namespace before any schema (kubectl's words):
 * the namespace a DNS-1123 label, the name a DNS-1123 subdomain (a Domain's CRD rules then narrow it to a
 * DNS-1035 label). Local mode names folders of the state dir after them: `namespace: ../../x` put a
 * Domain's database, blobs and password outside it, and a name with `/` or `..` would do the same.
 */
export function objectMetaErrors(metadata: { name?: unknown; namespace?: unknown }): string[] {
  const errors: string[] = [];
  const { name, namespace } = metadata;
  // An empty namespace is none, as kubectl reads it (the default one).
  if (namespace !== undefined && namespace !== '' && (typeof namespace !== 'string' || namespace.length > 63 || !DNS1123_LABEL.test(namespace))) {
    errors.push(`metadata.namespace: Invalid value: ${JSON.stringify(namespace)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character, and be at most 63 characters`);
  }
  if (typeof name === 'string' && (name.length > 253 || !DNS1123_SUBDOMAIN.test(name))) {
    errors.push(`metadata.name: Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', start and end with an alphanumeric character, and be at most 253 characters`);
  }
  return errors;
}

/** ajv's `/spec/quota/totalSize` as kubectl names a field: `spec.quota.totalSize`. */
function fieldPath(instancePath: string): string {
  return instancePath ? instancePath.slice(1).replaceAll('/', '.') : '(the object)';
}

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

/** Metadata the API server sets itself, whatever a manifest says (kubectl get -o yaml writes them). */
const SERVER_SET_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink'] as const;

/** ObjectMeta's fields: the API server decodes metadata itself, strictly too, whatever the CRD says of it. */
const OBJECT_META_FIELDS = new Set(['name', 'generateName', 'namespace', 'labels', 'annotations', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'ownerReferences', 'finalizers', 'managedFields', 'selfLink']);

/**
 * The paths (`spec.quotaa`, `metadata.lables`) of fields a structural schema does not declare: the API
 * server prunes them, and refuses them under fieldValidation=Strict with `unknown field "<path>"`.
 */
export function unknownFields(schema: SchemaNode, value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return schema.items ? value.flatMap((item, i) => unknownFields(schema.items!, item, `${path}[${i}]`)) : [];
  if (typeof value !== 'object' || value === null) return [];
  if (schema['x-kubernetes-preserve-unknown-fields'] || schema.additionalProperties === true) return [];
  const out: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (!path && key === 'metadata') {
      if (typeof child === 'object' && child !== null && !Array.isArray(child)) out.push(...Object.keys(child).filter((k) => !OBJECT_META_FIELDS.has(k)).map((k) => `metadata.${k}`));
      continue;
    }
    const declared = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (declared) out.push(...unknownFields(declared, child, at));
    else out.push(at);
  }
  return out;
}

export interface ManifestDocument {
  /** The file, relative to the folder. */
  where: string;
  object: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; [field: string]: unknown }; [field: string]: unknown };
}

/**
 * Every object of every manifest file in the folder (*.yaml, *.yml and *.json, kubectl's and Argo CD's
 * extensions), of any kind, as written (no defaults, no validation): what `kubectl apply -f DIR` would
 * send. As kubectl does, symlinks are followed and lists (`kind: List`, what `kubectl get -o yaml` or
 * `-o json` writes, or any `...List` with `items`) are expanded into their items. Empty documents between
 * others are skipped; unparsable ones are problems (a .json file that is not JSON too).
 *
 * A file with no object at all (empty, only comments or `---`) is a problem too, not nothing: it is far
 * more often a write caught half-way (an editor, `>` redirect, a generator that failed) than a folder's
 * way of saying "no Drives here", and reading it as nothing would let a prune take its Drives for removed
 * and delete them with their files. Failing the run (deleting the file is the explicit way) is the safe side.
 * So is a folder with no object at all (no manifest file, or only empty lists): a checkout of another branch,
 * an unmounted volume, `rm *.yaml` in the wrong folder. As `kubectl apply` ("no objects passed to apply"),
 * it is refused unless the caller says it means it (`allowEmpty`, the commands' `--allow-empty`).
 */
export function readManifestDocuments(dir: string, options: ReadOptions = {}): { objects: ManifestDocument[]; problems: ManifestProblem[] } {
  const files = manifestFiles(dir);
  const out: { objects: ManifestDocument[]; problems: ManifestProblem[] } = { objects: [], problems: [...files.problems] };
  for (const file of files.files) {
    const where = path.relative(dir, file);
    let docs: YAML.Document.Parsed[];
    try {
      const text = fs.readFileSync(file, 'utf8');
      const notJson = file.endsWith('.json') ? jsonProblem(text) : undefined;
      if (notJson) {
        out.problems.push({ where, message: notJson });
        continue;
      }
      // Valid JSON is one YAML document of the same value: the YAML path below then treats a JSON file as
      // it treats a YAML one (a List expanded, `null` as no manifests, a key given twice as an error where
      // JSON.parse would silently keep the last: two "items" of a List would drop the first one's Drives).
      docs = YAML.parseAllDocuments(text);
    } catch (error) {
      out.problems.push({ where, message: (error as Error).message });
      continue;
    }
    let found = 0;
    for (const doc of docs) {
      if (doc.errors.length > 0) {
        out.problems.push({ where, message: doc.errors[0]!.message });
        found++;
        continue;
      }
      let object: ManifestDocument['object'] | null;
      try {
        object = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as ManifestDocument['object'] | null;
      } catch (error) {
        // An alias with no anchor (a half-saved edit, an anchor in another document) or an alias bomb: only
        // toJS finds them. Thrown, they failed the whole run (every pass of `up`) with no file named.
        out.problems.push({ where, message: `YAML aliases: ${(error as Error).message}` });
        found++;
        continue;
      }
      if (object === null || object === undefined) continue;
      found++;
      if (typeof object !== 'object' || Array.isArray(object)) {
        out.problems.push({ where, message: 'a document is not an object' });
        continue;
      }
      for (const item of expandList(object)) {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) out.problems.push({ where, message: `an item of ${String(object.kind)} is not an object` });
        else out.objects.push({ where, object: item as ManifestDocument['object'] });
      }
    }
    if (found === 0) out.problems.push({ where, message: 'no manifests (an empty file is not taken as its Drives removed: delete the file to remove them)' });
  }
  if (out.objects.length === 0 && out.problems.length === 0 && !options.allowEmpty) out.problems.push({ where: '.', message: EMPTY_FOLDER });
  return out;
}

/**
 * Why a .json file is not valid JSON, with the line and column; undefined when it is, or when it holds
 * nothing (then it is "no manifests", as an empty YAML file). Checked with JSON.parse, not left to the YAML
 * parser, which also takes `kind: Drive`: a .json file says JSON, and a half-written
 * one must be an error naming it, never read as something else. A leading BOM is allowed (kubectl, whose
 * decoder takes a file not starting with `{` for YAML, reads such a file too).
 */
function jsonProblem(text: string): string | undefined {
  const json = text.replace(/^\uFEFF/, '');
  if (json.trim() === '') return undefined;
  try {
    JSON.parse(json);
    return undefined;
  } catch (error) {
    const message = (error as Error).message;
    const at = /at position (\d+)/.exec(message);
    if (!at) return `not valid JSON: ${message}`;
    const before = json.slice(0, Number(at[1])).split('\n');
    return `not valid JSON: ${message} (line ${before.length}, column ${before.at(-1)!.length + 1})`;
  }
}

/**
 * Aliases a document may expand (the `yaml` library's default, said here so it stays): a few anchors
 * nested in each other ("billion laughs") would otherwise expand to gigabytes, in `up`'s own process.
 */
const MAX_ALIAS_COUNT = 100;

export const EMPTY_FOLDER = 'no manifests in the folder (an empty folder is not taken as every Drive removed: pass --allow-empty to mean it)';

/** kubectl's FlattenListVisitor: a list object (kind `List` or `<Kind>List`, with `items`) is its items, nested lists too. */
function expandList(object: ManifestDocument['object']): unknown[] {
  if (typeof object.kind !== 'string' || !object.kind.endsWith('List') || !Array.isArray(object.items)) return [object];
  return object.items.flatMap((item) => (typeof item === 'object' && item !== null && !Array.isArray(item) ? expandList(item as ManifestDocument['object']) : [item]));
}

/** kubectl's extensions (and Argo CD's): a manifest moved from x.yaml to x.json is the same manifest. */
const MANIFEST_FILE = /\.(ya?ml|json)$/;

/**
 * The manifest files under `dir` and its folders (not those whose name starts with a dot, nor the state of
 * an `up`: isUpState), symlinks followed (kubectl reads a symlinked file like any other) and each real
 * folder read once, so a link cycle ends. A link that leads nowhere is a problem: it may be a Drive.
 */
function manifestFiles(dir: string, root = dir, seen = new Set<string>()): { files: string[]; problems: ManifestProblem[] } {
  const out: { files: string[]; problems: ManifestProblem[] } = { files: [], problems: [] };
  const real = fs.realpathSync(dir);
  if (seen.has(real)) return out;
  seen.add(real);
  // By code unit, as kubectl walks a folder (Go's lexical order), never localeCompare: its order follows
  // the locale of the process ($LANG), so a plan listed `aa.yaml` after `z.yaml` on a Danish laptop and
  // before it in CI, and a GitOps diff of two plans of one folder showed changes that were not there.
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareCodeUnits(a.name, b.name))) {
    const full = path.join(dir, entry.name);
    let stat: fs.Stats = entry as unknown as fs.Stats;
    if (entry.isSymbolicLink()) {
      try {
        stat = fs.statSync(full);
      } catch (error) {
        if (MANIFEST_FILE.test(entry.name)) out.problems.push({ where: path.relative(root, full), message: `cannot read the symlink's target: ${(error as Error).message}` });
        continue;
      }
    }
    if (stat.isDirectory() && !entry.name.startsWith('.') && !(entry.name === 'up' && isUpState(dir))) {
      const sub = manifestFiles(full, root, seen);
      out.files.push(...sub.files);
      out.problems.push(...sub.problems);
    } else if (stat.isFile() && MANIFEST_FILE.test(entry.name) && !/^kustomization\.ya?ml$/.test(entry.name)) out.files.push(full);
  }
  return out;
}

/**
 * Whether `dir` is the state dir of an `up` (or `plan`/`apply --state`), whose `up/` folder holds its
 * state: drives.json, folder.json, status.json, each Domain's domain.json and data (state-dir.ts). The
 * default `.openpds` is skipped as a dot-folder, but `--state-dir state` inside the manifests folder is
 * not: its JSON files, read as manifests, would be objects without a kind, errors that stop every prune.
 * Known by what `up` writes before it reads the folder: the lock while it runs (`up.lock`), the folder it
 * belongs to (`up/folder.json`, kept). A user's folder named `up` is read unless its neighbour is such a
 * lock or it holds such a record: skipping a user's manifests would take its Drives for removed.
 */
function isUpState(dir: string): boolean {
  if (fs.existsSync(path.join(dir, 'up.lock'))) return true;
  try {
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'up', 'folder.json'), 'utf8')) as { folder?: unknown; kind?: unknown } | null;
    return typeof record?.folder === 'string' && record.kind === undefined;
  } catch {
    return false; // none, or unreadable: then its files are read, and a problem stops the prunes
  }
}

// Compiled once per CRD folder: compiling the four schemas costs more than reading a folder of manifests.
interface KindSchema {
  schema: SchemaNode;
  validate: ValidateFunction;
}

/**
 * The CRD's CEL rules (x-kubernetes-validations at every level: on the whole object, on fields, and the
 * transition rules reading oldSelf when `old` is the object as last applied), with the API server's
 * evaluator and in kubectl's words (`spec.domainRef: Invalid value: "object": domainRef is immutable`).
 * As there, the status a manifest carries is not the object's: on create it is dropped, on an update the
 * stored one stays (so `has(self.status) || …`, Domain's name rules, hold on updates). Values unchanged
 * since `old` are not re-checked (ratcheting, in operator/src/kube/cel.ts).
 */
function celErrors(schema: SchemaNode, object: ManifestDocument['object'], old: object | undefined): string[] {
  const { status: _ignored, ...admitted } = object;
  const stored = (old as { status?: unknown } | undefined)?.status;
  const self = stored === undefined ? admitted : { ...admitted, status: stored };
  return celCauses(schema as CelSchema, self, old).map((c) => `${c.field}: ${c.message}`);
}

const cache = new Map<string, Map<string, KindSchema>>();

function loadValidators(crdDir: string): Map<string, KindSchema> {
  const cached = cache.get(crdDir);
  if (cached) return cached;
  const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false });
  addFormats(ajv);
  // Kubernetes' integer formats and extensions, unknown to ajv.
  ajv.addFormat('int64', true).addFormat('int32', true);
  for (const keyword of ['x-kubernetes-validations', 'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys']) {
    ajv.addKeyword(keyword);
  }
  const validators = new Map<string, KindSchema>();
  for (const file of fs.readdirSync(crdDir).filter((f) => /^openpds\.io_.*\.yaml$/.test(f))) {
    const crd = YAML.parse(fs.readFileSync(path.join(crdDir, file), 'utf8')) as {
      spec: { names: { kind: string }; versions: { schema: { openAPIV3Schema: SchemaNode } }[] };
    };
    const schema = crd.spec.versions[0]!.schema.openAPIV3Schema;
    validators.set(crd.spec.names.kind, { schema, validate: ajv.compile(schema) });
  }
  cache.set(crdDir, validators);
  return validators;
}
