/**
 * What a server-side apply would change in a live object, field by field, for `openpds plan` in cluster
 * mode. Both sides come from the API server (the live object and the dry run's answer), so a default the
 * server fills in appears on both and never shows as a change; only what the apply itself moves does.
 */

export interface ObjectChange {
  /** `spec.quota.totalSize`, `metadata.labels["app.kubernetes.io/name"]`, `spec.ports[0].port`. */
  path: string;
  before?: unknown;
  after?: unknown;
  /** A Secret's value: shown as `(sensitive value)`, as terraform does (kubectl diff masks it too). */
  sensitive?: boolean;
}

/** Bookkeeping the server rewrites on every write: never a change the user made. */
const IGNORED_METADATA = new Set(['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink']);

export function diffObjects(live: Record<string, unknown>, next: Record<string, unknown>): ObjectChange[] {
  const changes: ObjectChange[] = [];
  walk(comparable(live), comparable(next), '', changes);
  if (!isSecret(live) && !isSecret(next)) return changes;
  // A plan is pasted into CI logs and pull requests: that a key changed is the plan's business, its value is not.
  return changes.map((c) => (SECRET_PATHS.test(c.path) ? { ...c, sensitive: true } : c));
}

const isSecret = (o: Record<string, unknown>) => o.apiVersion === 'v1' && o.kind === 'Secret';

/**
 * A Secret's values: data and stringData, and the annotation where a client-side `kubectl apply` kept a
 * copy of the whole manifest (its stringData in clear).
 */
const SECRET_PATHS = /^(data|stringData)([.[]|$)|^metadata\.annotations\["kubectl\.kubernetes\.io\/last-applied-configuration"\]$/;

/** The object without status (the apply never writes it) and without the server's bookkeeping. */
function comparable(object: Record<string, unknown>): Record<string, unknown> {
  const { status: _status, metadata, ...rest } = object;
  if (!isPlainObject(metadata)) return rest;
  const kept = Object.fromEntries(Object.entries(metadata).filter(([key]) => !IGNORED_METADATA.has(key)));
  return { ...rest, metadata: kept };
}

function walk(before: unknown, after: unknown, path: string, out: ObjectChange[]): void {
  // A map that appears or goes whole (the first labels of an object) shows key by key: as one value it
  // would be cut short at 80 characters, and the keys are what the reader looks for.
  const appears = before === undefined && isPlainObject(after) && Object.keys(after).length > 0;
  const goes = after === undefined && isPlainObject(before) && Object.keys(before).length > 0;
  if ((isPlainObject(before) && isPlainObject(after)) || appears || goes) {
    const b = isPlainObject(before) ? before : {};
    const a = isPlainObject(after) ? after : {};
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
    for (const key of keys) walk(b[key], a[key], join(path, key), out);
    return;
  }
  // Lists of equal length are compared item by item (a changed port shows as `ports[0].port`); a list
  // that grew or shrank shows whole, since which item moved is a guess without the list's merge key.
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    before.forEach((item, i) => walk(item, after[i], `${path}[${i}]`, out));
    return;
  }
  if (equal(before, after)) return;
  out.push({ path, ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) });
}

const SIMPLE_KEY = /^[A-Za-z_$][\w$]*$/;

function join(path: string, key: string): string {
  const part = SIMPLE_KEY.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (!path) return part;
  return part.startsWith('[') ? `${path}${part}` : `${path}.${part}`;
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => equal(item, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => equal(a[k], b[k]));
  }
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `spec.replicas: 1 -> 3`, `metadata.labels.tier: (none) -> "web"`; large values are cut short. */
export function describeObjectChange(change: ObjectChange): string {
  const shown = (value: unknown) => (change.sensitive && value !== undefined ? '(sensitive value)' : show(value));
  return `${change.path}: ${shown(change.before)} -> ${shown(change.after)}`;
}

function show(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
