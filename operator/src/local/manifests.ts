/**
 * Reads the openpds.io resources of a folder the way `kubectl apply -f DIR` would see them: every YAML
 * file (multi-document), kustomization.yaml ignored, each object defaulted and validated against its CRD's
 * openAPIV3Schema (as the API server does on admission). CEL rules are not evaluated here: they only
 * guard transitions (immutable fields) or need a cluster-side evaluator.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import YAML from 'yaml';
import { API_VERSION, type Domain, type Drive } from '../domain-types';

export const DEFAULT_CRD_DIR = path.resolve(__dirname, '../../../crds');

export interface Manifests {
  domains: Domain[];
  drives: Drive[];
  /** Objects skipped, with why (invalid, or a kind local mode does not run yet). */
  problems: string[];
}

export function loadManifests(dir: string, crdDir = DEFAULT_CRD_DIR): Manifests {
  const validators = loadValidators(crdDir);
  const documents = readManifestDocuments(dir);
  const out: Manifests = { domains: [], drives: [], problems: documents.problems };
  for (const { where, object } of documents.objects) {
    if (object.apiVersion !== API_VERSION) continue; // other APIs (Secrets, Argo CD…) are not ours to run
    const id = `${where} ${object.kind}/${object.metadata?.name ?? '?'}`;
    const validate = validators.get(String(object.kind));
    if (!validate) {
      out.problems.push(`${id}: unknown kind`);
      continue;
    }
    if (!validate(object)) {
      out.problems.push(`${id}: ${(validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`);
      continue;
    }
    if (!object.metadata?.name) {
      out.problems.push(`${id}: metadata.name is required`);
      continue;
    }
    object.metadata.namespace ??= 'default';
    // As the API server ignores status on create: an exported object (kubectl get -o yaml) starts afresh.
    delete object.status;
    if (object.kind === 'Domain') out.domains.push(object as unknown as Domain);
    else if (object.kind === 'Drive') out.drives.push(object as unknown as Drive);
    else out.problems.push(`${id}: local mode does not run ${object.kind} yet (it has no reconciler)`);
  }
  return out;
}

export interface ManifestDocument {
  /** The file, relative to the folder. */
  where: string;
  object: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; [field: string]: unknown }; [field: string]: unknown };
}

/**
 * Every object of every YAML file in the folder, of any kind, as written (no defaults, no validation):
 * what `kubectl apply -f DIR` would send. Empty documents are skipped; unparsable ones are problems.
 */
export function readManifestDocuments(dir: string): { objects: ManifestDocument[]; problems: string[] } {
  const out: { objects: ManifestDocument[]; problems: string[] } = { objects: [], problems: [] };
  for (const file of yamlFiles(dir)) {
    const where = path.relative(dir, file);
    let docs: YAML.Document.Parsed[];
    try {
      docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      out.problems.push(`${where}: ${(error as Error).message}`);
      continue;
    }
    for (const doc of docs) {
      if (doc.errors.length > 0) {
        out.problems.push(`${where}: ${doc.errors[0]!.message}`);
        continue;
      }
      const object = doc.toJS() as ManifestDocument['object'] | null;
      if (object === null || object === undefined) continue;
      if (typeof object !== 'object' || Array.isArray(object)) {
        out.problems.push(`${where}: a document is not an object`);
        continue;
      }
      out.objects.push({ where, object });
    }
  }
  return out;
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && !entry.name.startsWith('.')) out.push(...yamlFiles(full));
    else if (entry.isFile() && /\.ya?ml$/.test(entry.name) && !/^kustomization\.ya?ml$/.test(entry.name)) out.push(full);
  }
  return out;
}

// Compiled once per CRD folder: compiling the four schemas costs more than reading a folder of manifests.
const cache = new Map<string, Map<string, ValidateFunction>>();

function loadValidators(crdDir: string): Map<string, ValidateFunction> {
  const cached = cache.get(crdDir);
  if (cached) return cached;
  const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false });
  addFormats(ajv);
  // Kubernetes' integer formats and extensions, unknown to ajv.
  ajv.addFormat('int64', true).addFormat('int32', true);
  for (const keyword of ['x-kubernetes-validations', 'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys']) {
    ajv.addKeyword(keyword);
  }
  const validators = new Map<string, ValidateFunction>();
  for (const file of fs.readdirSync(crdDir).filter((f) => /^openpds\.io_.*\.yaml$/.test(f))) {
    const crd = YAML.parse(fs.readFileSync(path.join(crdDir, file), 'utf8')) as {
      spec: { names: { kind: string }; versions: { schema: { openAPIV3Schema: object } }[] };
    };
    validators.set(crd.spec.names.kind, ajv.compile(crd.spec.versions[0]!.schema.openAPIV3Schema));
  }
  cache.set(crdDir, validators);
  return validators;
}
