/**
 * Schema-driven fuzz of the data plane's HTTP API, on PGlite and on PostgreSQL. The product rule it holds
 * the server to: bad input gets a clear error and loses nothing, a 4xx with a stable code and a message,
 * never a 5xx, a stack trace, SQL or a server path in the answer, a half-written file or a corrupted tree.
 *
 * The operations and their request schemas come from the server's own GET /v2/openapi.json, so a route
 * added later is fuzzed without touching this file (and one the document lists but this file cannot reach
 * fails the coverage check). For each operation and caller (a user, an admin, the superadmin; the two
 * GET downloads too, by query parameter and Range header) a seeded list of
 * bodies is generated from the schema: every required field missing, every field given each other JSON
 * type, boundary and hostile numbers (1e308, 1e400, -0, 2^64, fractions), numeric strings, empty, 10 kB
 * and 1 MB strings (within the body limits of shared/json-body.ts), odd Unicode, nesting at and past
 * MAX_BODY_NESTING, unknown fields, top-level non-objects. The bodies start from a valid one that names
 * real fixtures (drive, folder, file with two revisions, open upload, trashed file, other users' ids), so
 * the handlers' deeper paths run, not only the zod layer. The list is then sampled. After the fuzz the
 * fuzzed drives' tree, trash and accounting are checked, and every available file downloads whole.
 *
 * Every call runs in turn, so a seed replays the same calls. Reproduce a failure with its seed:
 * FUZZ_SEED=<seed> (the seed is in the test name). FUZZ_CASES=<n> changes the sampled bodies per operation
 * and caller (the default keeps a database's run within about a minute on two cores); FUZZ_STATS=1 prints
 * each operation's answers by status and code (what the fuzz reached); FUZZ_TRACE=<text> prints every
 * call whose label holds the text (`FUZZ_TRACE=file/complete`) with its answer.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../../api-server/src/db/db';
import { accountingDrift } from '../support/accounting';
import { ADMIN_PASSWORD, createLoggedInUser, startTestServer, type ApiClient, type TestServer } from '../support/test-server';
import { JSON_BODY_LIMIT_BYTES, SMALL_BODY_PATHS, SMALL_JSON_BODY_LIMIT_BYTES } from '../../api-server/src/shared/json-body';
import { MAX_BODY_NESTING } from '../../api-server/src/shared/rpc';

const SEED = (Number(process.env.FUZZ_SEED ?? 20261207) >>> 0) || 1;
/** Bodies per operation and caller, besides the fixed ones (the valid body, required fields missing). */
const CASES = Number(process.env.FUZZ_CASES ?? 8);

/**
 * Ids and calls kept out of the fuzz, each with why. Everything else in the document is fuzzed.
 * - No caller's own or other caller's user_id is a target of an admin's user/update and user/delete: an
 *   admin's password reset, disable, demotion or delete of a caller ends the session the rest of the run
 *   needs (and the superadmin's own is allowed once the fuzz has made another superadmin, which
 *   user/create with role superadmin may). Victim users stand in, made afresh when used up. The user's own
 *   id is a target of its own calls (a user cannot change its role or status, and a password change needs
 *   old_password, which the fuzz never knows). A session that ends anyway fails the run.
 * - account/login fuzzes a user of its own ('loginfuzz'), never the admin, and its failures stay below
 *   the per-address limit (MAX_ADDRESS_FAILURES, 100 in 15 min) the fixtures' logins also count against.
 * - account/token fuzzes a refresh token of its own user ('tokenfuzz'): a right one rotates.
 */
const USER_TARGETING_OPS = ['/v2/user/update', '/v2/user/delete'];
const SMALL_LIMIT_OPS = SMALL_BODY_PATHS.map((p) => `/v2${p}`);
const LOGIN_CASES = 40;

// ---------------------------------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: small, fast, and the same sequence for a seed on every machine. */
function createRandom(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const shuffle = <T>(xs: readonly T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  return { next, int, pick, shuffle, sample: <T>(xs: readonly T[], n: number) => shuffle(xs).slice(0, n) };
}
type Random = ReturnType<typeof createRandom>;

// ---------------------------------------------------------------------------------------------------
// Values, and bodies as JSON text (some values have no JavaScript spelling that JSON.stringify writes)

/** A value written into the body as this JSON text: `-0`, `1e400`, `1.0`, an exact 2^64. */
class Raw {
  constructor(readonly json: string) {}
}
const raw = (json: string) => new Raw(json);

function toJson(v: unknown): string {
  if (v instanceof Raw) return v.json;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

const decodeURIComponentSafe = (s: string) => {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
};

/** A short, readable name of a value for the failure report. */
function describeValue(v: unknown): string {
  if (v instanceof Raw) return `raw(${v.json.length > 40 ? `${v.json.slice(0, 40)}…` : v.json})`;
  if (typeof v === 'string') return v.length > 40 ? `string(${v.length}: ${JSON.stringify(v.slice(0, 20))}…)` : JSON.stringify(v);
  const json = toJson(v);
  return json.length > 60 ? `${json.slice(0, 60)}…(${json.length} chars)` : json;
}

const nested = (depth: number, leaf: unknown, kind: 'array' | 'object'): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { a: v };
  return v;
};
const KB10 = 'k'.repeat(10_000);
const MB1 = 'm'.repeat(1024 * 1024);

/** Text that breaks assumptions: controls, bidi, zero-width, combining, astral, case folding, SQL, paths. */
const ODD_STRINGS = [
  '', ' ', '  padded  ', '\t', '\n', 'a\u0000b', '\u0000', '\ud800', 'x\udfff', '\ud83d', '\u0001\u001f\u007f', '\u0085\u2028\u2029',
  '\u202e\u2066evil', '\u200b\u200d\ufeff', 'e\u0301\u0301\u0301', '\ufdfa', '\uffff\ufffe', '😀👩‍👩‍👧‍👦', 'İıß', 'Ⅻ', '١٢٣',
  '.', '..', '../..', '/', 'a/b', '\\', 'C:\\x', '%00', '%zz', '%', '_', 'a%_\\', "' OR 1=1 --", '"; DROP TABLE files; --', '$1',
  '${x}', '<script>', 'root', 'null', 'undefined', 'NaN', 'true', '[]', '{}', '__proto__', 'constructor', 'toString',
  '2026-02-30T00:00:00Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59-14:00', 'application/json; charset=utf-8\r\nX: y',
];
const NUMBERS: unknown[] = [
  0, -1, 1, 1.5, -2.5, 1e308, -1e308, 5e-324, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21,
  raw('-0'), raw('-0.0'), raw('1.0'), raw('1E2'), raw('0.1e1'), raw('1e400'), raw('-1e400'), raw('18446744073709551616'), raw('123456789012345678901234567890'),
];
const NUMERIC_STRINGS = ['5', '-1', '0', '1.5', '1e3', '0x10', ' 5', '5 ', '+5', '00012', '١٢', '9007199254740993', 'Infinity', '-0'];
const TYPE_SWAPS: unknown[] = ['x', 7, true, false, null, [], ['a', 1], {}, { a: 1 }];

/** A JSON schema as the document has it (the parts used here). */
interface Schema {
  type?: string;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  default?: unknown;
  additionalProperties?: unknown;
}

/** Every hostile value a field of `schema` gets tried with; `limit` is the body limit of its route. */
function hostileValues(schema: Schema, limit: number, ids: string[]): unknown[] {
  const out: unknown[] = [...TYPE_SWAPS, ...NUMBERS, ...NUMERIC_STRINGS, ...ODD_STRINGS, KB10, ...ids];
  if (limit > MB1.length + 1000) out.push(MB1);
  out.push(nested(MAX_BODY_NESTING - 1, 1, 'array'), nested(MAX_BODY_NESTING + 1, 1, 'array'), nested(MAX_BODY_NESTING, 'x', 'object'), nested(500, 1, 'object'));
  const s = schema.anyOf?.find((x) => x.type !== 'null') ?? schema;
  // A string field with no length bound gets one just under the body limit: whatever bounds it (names.ts,
  // a pattern) must do so in time and answer a short message.
  if (s.type === 'string' && s.maxLength === undefined && !s.enum && s.const === undefined) out.push('n'.repeat(limit - 64 * 1024));
  if (s.type === 'string') {
    for (const n of [s.minLength, s.maxLength].filter((n): n is number => n !== undefined)) out.push('a'.repeat(n), 'a'.repeat(n + 1), '😀'.repeat(n), n > 0 ? 'a'.repeat(n - 1) : '');
    for (const v of s.enum ?? []) if (typeof v === 'string') out.push(v.toUpperCase(), ` ${v}`, `${v}\u0000`);
  }
  if (s.type === 'integer' || s.type === 'number') {
    for (const n of [s.minimum, s.maximum].filter((n): n is number => n !== undefined)) out.push(n, n - 1, n + 1, n + 0.5, String(n));
  }
  if (s.type === 'array') {
    const max = s.maxItems ?? 100;
    out.push([null], [[]], [{}], ['x'], Array.from({ length: max + 1 }, () => 'a'), ...TYPE_SWAPS.map((v) => [v]));
    if (s.items?.properties) for (const [k, field] of Object.entries(s.items.properties)) for (const v of [...TYPE_SWAPS, ...NUMBERS.slice(0, 12), field.maximum]) out.push([{ [k]: v }]);
  }
  if (s.type === 'object' || s.additionalProperties !== undefined) {
    out.push({ '': 1 }, { 'k\u0000': 1 }, { k: '\u0000' }, { ['__proto__']: { admin: true } }, { constructor: 1, toString: 'x' });
    out.push(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])), { k: KB10 }, { k: nested(MAX_BODY_NESTING + 2, 1, 'array') });
  }
  return out;
}

/**
 * Whether `v` passes `schema` as the server's zod schema checks it (string lengths in UTF-16 units, as
 * zod counts them): the values that get past validation into the handlers. Roughly: what it misses only
 * moves a value from one half of the sample to the other.
 */
function conforms(v: unknown, schema: Schema): boolean {
  if (schema.anyOf) return schema.anyOf.some((s) => conforms(v, s));
  if (v instanceof Raw) {
    try {
      return conforms(JSON.parse(v.json), schema);
    } catch {
      return false;
    }
  }
  if (schema.const !== undefined) return v === schema.const;
  if (schema.enum) return schema.enum.includes(v);
  switch (schema.type) {
    case 'string':
      return typeof v === 'string' && v.length >= (schema.minLength ?? 0) && v.length <= (schema.maxLength ?? Infinity) && (!schema.pattern || new RegExp(schema.pattern).test(v)) && !/\0|[\ud800-\udfff]/.test(v.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
    case 'integer':
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) && (schema.type === 'number' || Number.isSafeInteger(v)) && v >= (schema.minimum ?? -Infinity) && v <= (schema.maximum ?? Infinity);
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    case 'array':
      return Array.isArray(v) && v.length <= (schema.maxItems ?? Infinity) && (!schema.items || v.every((x) => conforms(x, schema.items!)));
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v) && (schema.required ?? []).every((k) => k in v) && Object.entries(schema.properties ?? {}).every(([k, s]) => !(k in v) || conforms((v as Record<string, unknown>)[k], s));
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// The server: fixtures, calls, checks

/** The fuzz's callers: a user, an admin (whose power stops at users' drives), the superadmin. */
type Role = 'user' | 'admin' | 'superadmin';
const ROLES: Role[] = ['user', 'admin', 'superadmin'];
/** Whose ids each caller's bodies name besides its own. */
const OTHER: Record<Role, Role> = { user: 'superadmin', admin: 'user', superadmin: 'user' };

interface Caller {
  role: Role;
  token: string;
  userId: string;
  /** A drive of the caller's own holding its fixtures. */
  driveId: string;
  folderId: string;
  subFolderId: string;
  fileId: string;
  /** The file's revisions, older first. */
  revisionIds: string[];
  fileBytes: Buffer;
  /** SHA-1 of the file's bytes, and of their first KiB (rapid upload's content_hash and pre_hash). */
  fileSha1: string;
  filePreHash: string;
  /** An upload of one part, uploaded, not completed. */
  uploadFileId: string;
  uploadId: string;
  trashedFileId: string;
}

interface Response {
  status: number;
  text: string;
  json: unknown;
}

interface Case {
  label: string;
  /** The body's JSON text (or any text: a top-level non-object, broken JSON). */
  text: string;
}

/** A case in a pool to sample from, its text made only when sampled. */
interface LazyCase {
  label: string;
  text: () => string;
}

const LEAK = [
  [/\n\s+at\s|\bat [\w.<>]+ \(|\.(ts|js):\d+/, 'a stack trace'],
  [/\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|WHERE|SQLSTATE|syntax error|violates|relation "|column "|duplicate key)\b/, 'SQL or database text'],
  [/\/(work|home|tmp|usr|var|opt|root)\/|node_modules|api-server\/src/, 'a server path'],
] as const;

/** Longest message that still reads as one (a message quoting a whole 1 MB field does not). */
const MAX_MESSAGE_LENGTH = 1000;

/** What is wrong with an answer to a request of body or query `sent`, or undefined. */
function problemWith(r: Response, sent: string): string | undefined {
  if (r.status >= 500) return `status ${r.status}`;
  if (r.status < 400) return undefined;
  const body = r.json as { code?: unknown; message?: unknown } | undefined;
  if (!body || typeof body !== 'object') return `status ${r.status} with a body that is not a JSON object`;
  if (typeof body.code !== 'string' || !/^[A-Z][A-Za-z]*(\.[A-Za-z0-9]+)*$/.test(body.code)) return `status ${r.status} without a stable code`;
  if (typeof body.message !== 'string' || body.message.length === 0) return `status ${r.status} without a message`;
  // The error middleware's answer to a value the database refused (error-middleware.ts isBadValue): a 400,
  // but one that names no field, for a value that got past validation (the server logs it as a check to add).
  if (body.code === 'InvalidParameter') return `status ${r.status} InvalidParameter naming no field: a value reached the database unchecked`;
  if (body.message.length > MAX_MESSAGE_LENGTH) return `status ${r.status} with a message of ${body.message.length} characters`;
  // What the message quotes from the request (an id echoed back) is not a leak.
  for (const [re, what] of LEAK) {
    const found = re.exec(body.message);
    if (found && !sent.includes(found[0])) return `status ${r.status} whose message shows ${what}`;
  }
  return undefined;
}

describe.each(['pglite', 'pg'] as const)(`API fuzz (seed ${SEED}) on %s`, (dbKind) => {
  let server: TestServer;
  let api: ApiClient;
  let db: Queryable;
  const callers = {} as Record<Role, Caller>;
  /** The superadmin, who repairs what the fuzz used up. */
  const root = () => callers.superadmin;
  let loginUser: { name: string; password: string };
  let refreshToken: string;
  let doc: { paths: Record<string, Record<string, { requestBody?: { content: { 'application/json': { schema: Schema } } }; parameters?: { name: string; required: boolean }[] }>> };
  const fuzzedDrives = new Set<string>();
  const fuzzedOperations = new Set<string>();
  const failures: string[] = [];
  let victims = 0;
  let calls = 0;
  const stats = new Map<string, number>();
  let slowest = { ms: 0, label: '' };

  async function send(method: 'POST' | 'GET', path: string, token: string | undefined, text?: string, headers: Record<string, string> = {}): Promise<Response> {
    calls++;
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { ...(text !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: text,
      redirect: 'manual',
    });
    const body = await res.text();
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, text: body, json };
  }

  async function upload(token: string, driveId: string, parent: string, name: string, bytes: Buffer, fileId?: string) {
    const created = await api.ok('/v2/file/create', { drive_id: driveId, parent_file_id: parent, name, type: 'file', size: bytes.length, check_name_mode: 'auto_rename', ...(fileId ? { file_id: fileId } : {}) }, token);
    const put = await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: bytes });
    if (put.status !== 200) throw new Error(`fixture upload answered ${put.status}`);
    return api.ok('/v2/file/complete', { drive_id: driveId, file_id: created.file_id, upload_id: created.upload_id }, token);
  }

  /** A drive of `owner`'s with a folder, a subfolder, a file of two revisions, an open upload and a trashed file. */
  async function makeFixtures(token: string, role: Caller['role'], userId: string, driveId: string): Promise<Caller> {
    const n = ++victims;
    const mkdir = async (parent: string, name: string) => (await api.ok('/v2/file/create', { drive_id: driveId, parent_file_id: parent, name, type: 'folder', check_name_mode: 'auto_rename' }, token)).file_id as string;
    const folderId = await mkdir('root', `folder-${n}`);
    const subFolderId = await mkdir(folderId, 'sub');
    const first = await upload(token, driveId, folderId, 'file.txt', Buffer.from(`first revision ${n}`));
    const fileBytes = Buffer.from(`second revision ${n}, a little longer`);
    await upload(token, driveId, folderId, 'file.txt', fileBytes, first.file_id);
    const revisions = await api.ok('/v2/file/revision/list', { drive_id: driveId, file_id: first.file_id }, token);
    const open = await api.ok('/v2/file/create', { drive_id: driveId, parent_file_id: subFolderId, name: 'open.bin', type: 'file', size: 12 }, token);
    if ((await fetch(open.part_info_list[0].upload_url, { method: 'PUT', body: 'twelve bytes' })).status !== 200) throw new Error('fixture part upload failed');
    const trashed = await upload(token, driveId, 'root', `trashed-${n}.txt`, Buffer.from('in the bin'));
    await api.ok('/v2/recyclebin/trash', { drive_id: driveId, file_id: trashed.file_id }, token);
    fuzzedDrives.add(driveId);
    return {
      role, token, userId, driveId, folderId, subFolderId, fileId: first.file_id, fileBytes,
      fileSha1: createHash('sha1').update(fileBytes).digest('hex'), filePreHash: createHash('sha1').update(fileBytes.subarray(0, 1024)).digest('hex'),
      revisionIds: revisions.items.map((r: { revision_id: string }) => r.revision_id).reverse(),
      uploadFileId: open.file_id, uploadId: open.upload_id, trashedFileId: trashed.file_id,
    };
  }

  /**
   * Puts back what a batch of calls used up or changed (fixtures deleted, trashed or moved away, the upload
   * completed, the drive disabled or its quota lowered), and checks that both sessions still work: a fuzz
   * call ending one would be a finding (see the notes at the top on which ids are never targets).
   */
  async function restore(c: Caller, label: string): Promise<Caller> {
    const me = await send('POST', '/v2/user/get', c.token, toJson({ user_id: c.userId }));
    if (me.status !== 200) {
      failures.push(`${label}: the ${c.role}'s session ended (user/get answered ${me.status} ${me.text.slice(0, 200)})`);
      throw new Error(failures.at(-1));
    }
    const [drive] = await db.query<{ status: string; total_size: string | null }>(`SELECT status, total_size FROM drives WHERE drive_id = $1`, [c.driveId]);
    let driveId = c.driveId;
    if (!drive) driveId = (await api.ok('/v2/drive/create', { drive_name: `fuzz-${c.role}`, owner: c.userId }, root().token)).drive_id;
    else if (drive.status !== 'enabled' || drive.total_size !== null) await api.ok('/v2/drive/update', { drive_id: driveId, status: 'enabled', total_size: null }, root().token);
    const intact = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM files f
        WHERE f.drive_id = $1 AND f.trashed_at IS NULL AND (
          (f.file_id = $2 AND f.parent_file_id = 'root') OR (f.file_id = $3 AND f.parent_file_id = $2) OR
          (f.file_id = $4 AND f.status = 'available' AND f.revision_id = $5 AND (SELECT count(*) FROM file_revisions r WHERE r.file_id = f.file_id) = 2) OR
          (f.file_id = $6 AND EXISTS (SELECT 1 FROM upload_sessions u WHERE u.upload_id = $7 AND u.status = 'open')))`,
      [driveId, c.folderId, c.subFolderId, c.fileId, c.revisionIds[1], c.uploadFileId, c.uploadId],
    );
    const trashed = await db.query(`SELECT 1 FROM files WHERE file_id = $1 AND trashed_at IS NOT NULL AND trash_root_id = file_id`, [c.trashedFileId]);
    if (driveId === c.driveId && intact[0]!.n === 4 && trashed.length === 1) return c;
    return makeFixtures(c.token, c.role, c.userId, driveId);
  }

  /** A user (and its drive and files) for the admins' calls to change or delete. */
  async function makeVictim(): Promise<{ userId: string; driveId: string; fileId: string }> {
    const created = await api.ok('/v2/user/create', { user_name: `victim-${++victims}` }, root().token);
    const file = await upload(root().token, created.default_drive_id, 'root', 'victim.txt', Buffer.from('victim'));
    fuzzedDrives.add(created.default_drive_id);
    return { userId: created.user_id, driveId: created.default_drive_id, fileId: file.file_id };
  }

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    db = server.deps.db;
    const superadmin = await api.login('admin', ADMIN_PASSWORD);
    const fuzzUser = await createLoggedInUser(api, 'fuzzer');
    const fuzzAdmin = await createLoggedInUser(api, 'fuzzadmin');
    await api.ok('/v2/user/update', { user_id: fuzzAdmin.user_id, role: 'admin' }, superadmin.access_token);
    await createLoggedInUser(api, 'loginfuzz');
    loginUser = { name: 'loginfuzz', password: 'loginfuzz-password' };
    refreshToken = (await createLoggedInUser(api, 'tokenfuzz')).refresh_token;
    const superadminDrive = (await api.ok('/v2/drive/create', { drive_name: 'fuzz-superadmin', owner: superadmin.user_id }, superadmin.access_token)).drive_id;
    callers.superadmin = await makeFixtures(superadmin.access_token, 'superadmin', superadmin.user_id, superadminDrive);
    callers.admin = await makeFixtures(fuzzAdmin.access_token, 'admin', fuzzAdmin.user_id, fuzzAdmin.default_drive_id);
    callers.user = await makeFixtures(fuzzUser.access_token, 'user', fuzzUser.user_id, fuzzUser.default_drive_id);
    doc = (await send('GET', '/v2/openapi.json', undefined)).json as typeof doc;
  }, 60_000);
  afterAll(() => server?.stop());

  /** The valid value of a field: a real id where the field names one, else one its schema takes. */
  function validValue(op: string, field: string, schema: Schema, c: Caller, other: Caller, victim: { userId: string; driveId: string; fileId: string }, rnd: Random): unknown {
    const revisionOp = op.includes('/revision/');
    switch (field) {
      case 'drive_id':
      case 'to_drive_id':
        return op.startsWith('/v2/drive/') && c.role !== 'user' && op !== '/v2/drive/get' ? rnd.pick([victim.driveId, c.driveId]) : c.driveId;
      case 'file_id':
        if (op === '/v2/file/create') return c.fileId;
        if (revisionOp) return c.fileId;
        if (op.includes('upload') || op === '/v2/file/complete') return c.uploadFileId;
        if (op === '/v2/recyclebin/restore') return c.trashedFileId;
        return rnd.pick([c.fileId, c.folderId, c.subFolderId]);
      case 'parent_file_id':
      case 'to_parent_file_id':
        return rnd.pick(['root', c.folderId, c.subFolderId]);
      case 'upload_id':
        return c.uploadId;
      case 'revision_id':
        return rnd.pick(c.revisionIds);
      case 'user_id':
        if (op === '/v2/user/create') return `fuzz-${rnd.int(1e9)}`;
        if (op === '/v2/user/update' || op === '/v2/user/delete') return c.role !== 'user' ? victim.userId : rnd.pick([c.userId, other.userId]);
        return rnd.pick([c.userId, other.userId]);
      case 'owner':
        return op === '/v2/drive/create' ? rnd.pick([c.userId, victim.userId, `group-${rnd.int(100)}`]) : c.userId;
      case 'username':
        return loginUser.name;
      case 'password':
        return op === '/v2/account/login' ? loginUser.password : `new-password-${rnd.int(1e6)}`;
      case 'refresh_token':
        return refreshToken;
      case 'user_name':
        return op === '/v2/user/create' ? `fuzz-name-${rnd.int(1e9)}` : 'fuzzer';
      case 'name':
      case 'new_name':
      case 'drive_name':
      case 'file_name':
        return `fuzz ${rnd.int(1e6)}.txt`;
      case 'marker':
        return '';
      case 'size':
        return rnd.pick([0, 1, 12, 1000, c.fileBytes.length]);
      case 'content_hash':
        return rnd.pick([c.fileSha1, other.fileSha1, 'a'.repeat(40)]);
      case 'pre_hash':
        return rnd.pick([c.filePreHash, other.filePreHash, 'A'.repeat(40)]);
      case 'content_hash_name':
        return rnd.pick(['sha1', 'SHA1', 'sha256']);
      case 'proof_version':
        return rnd.pick(op === '/v2/file/complete' ? ['v2'] : ['v1', 'v2']);
    }
    return valueOf(schema, rnd);
  }

  function valueOf(schema: Schema, rnd: Random): unknown {
    const s = schema.anyOf ? rnd.pick(schema.anyOf) : schema;
    if (s.const !== undefined) return s.const;
    if (s.enum) return rnd.pick(s.enum);
    if (s.pattern?.includes('[0-9a-fA-F]{40}')) return 'a'.repeat(40);
    if (s.pattern?.includes('\\d{4}')) return '2026-01-02T03:04:05Z';
    switch (s.type) {
      case 'string':
        return 'x'.repeat(Math.max(1, s.minLength ?? 1, Math.min(8, s.maxLength ?? 8)));
      case 'integer':
        return Math.max(s.minimum ?? 0, Math.min(1, s.maximum ?? 1));
      case 'number':
        return 1;
      case 'boolean':
        return rnd.next() < 0.5;
      case 'null':
        return null;
      case 'array':
        return s.items ? [valueOf(s.items, rnd)] : [];
      case 'object':
        return s.properties ? Object.fromEntries(Object.entries(s.properties).filter(([k]) => s.required?.includes(k)).map(([k, v]) => [k, valueOf(v, rnd)])) : { k: 'v' };
    }
    return 'x';
  }

  /** The bodies for one operation and caller: fixed cases first, then a sample of the mutations. */
  function casesFor(op: string, schema: Schema, c: Caller, other: Caller, victim: { userId: string; driveId: string; fileId: string }, rnd: Random): Case[] {
    const props = schema.properties ?? {};
    const required = schema.required ?? [];
    const limit = SMALL_LIMIT_OPS.includes(op) ? SMALL_JSON_BODY_LIMIT_BYTES : JSON_BODY_LIMIT_BYTES;
    // The required fields, and now and then some optional ones (each may refuse the others: proof_code
    // without proof_version, a folder with a size).
    const base = (optional = rnd.next() < 0.4 ? 0.3 : 0): Record<string, unknown> => {
      const body: Record<string, unknown> = {};
      for (const [k, s] of Object.entries(props)) if (required.includes(k) || rnd.next() < optional) body[k] = validValue(op, k, s, c, other, victim, rnd);
      return body;
    };
    const fixed: Case[] = [{ label: 'a valid body', text: toJson(base(0)) }, { label: 'a valid body with optional fields', text: toJson(base(0.5)) }];
    for (const k of required) {
      const body = base();
      delete body[k];
      fixed.push({ label: `${k} missing`, text: toJson(body) });
    }
    // The admins change or delete victims only, never the other callers (see the notes at the top).
    const otherUser = c.role !== 'user' && USER_TARGETING_OPS.includes(op) ? victim.userId : other.userId;
    const ids = [c.driveId, c.fileId, c.folderId, c.subFolderId, c.trashedFileId, c.uploadFileId, c.uploadId, c.revisionIds[0]!, other.driveId, other.fileId, other.uploadId, other.revisionIds[1]!, otherUser, victim.driveId, victim.fileId, victim.userId];
    // The pools hold each body's making, not its text: only the sampled ones are built (JSON text of the
    // pools' 1 MB and 4 MB strings, for every field of every operation and caller, was most of the run's CPU).
    const breaking: LazyCase[] = [
      { label: 'no body', text: () => '' },
      ...['null', '[]', '"x"', '7', 'true', '{', '{"a":1,}', "{'a':1}", '{"a":1}{', '\ufeff{}', '[{}]'].map((text) => ({ label: `body ${JSON.stringify(text)}`, text: () => text })),
      { label: 'all fields null', text: () => toJson(Object.fromEntries(Object.keys(props).map((k) => [k, null]))) },
      { label: 'unknown fields', text: () => toJson({ ...base(), extra: 1, Drive_ID: 'x', DRIVE_ID: 'x', constructor: { prototype: 1 }, toString: 'x' }) },
      { label: 'a __proto__ field', text: () => toJson({ ...base(), ['__proto__']: { role: 'superadmin' } }) },
      { label: '20,000 unknown fields', text: () => toJson({ ...Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`f${i}`, i])), ...base() }) },
      { label: 'every field doubled in the text', text: () => toJson(base()).replace(/^\{/, `{${Object.keys(props).map((k) => `${JSON.stringify(k)}:${toJson(rnd.pick(TYPE_SWAPS))},`).join('')}`) },
    ];
    // Values the schema takes (they reach the handlers: boundaries, odd text, other fixtures' ids), and
    // values it refuses (they test the validation and its answer); half of the sample from each.
    const conforming: LazyCase[] = [];
    const values = Object.fromEntries(Object.entries(props).map(([k, s]) => [k, hostileValues(s, limit, ids)]));
    for (const [k, s] of Object.entries(props))
      for (const v of values[k]!) (conforms(v, s) ? conforming : breaking).push({ label: `${k} = ${describeValue(v)}`, text: () => toJson({ ...base(), [k]: v }) });
    // Two or three fields changed at once, each to a value the schema takes (some all, some not).
    const keys = Object.keys(props);
    for (let i = 0; i < 40 && keys.length > 1; i++) {
      const body = base();
      const changed = rnd.sample(keys, 2 + rnd.int(2)).map((k) => {
        const takes = values[k]!.filter((x) => conforms(x, props[k]!));
        const v = rnd.pick(takes.length && rnd.next() < 0.8 ? takes : values[k]!.filter((x) => typeof x !== 'string' || x.length < 100_000));
        body[k] = v;
        return `${k} = ${describeValue(v)}`;
      });
      conforming.push({ label: changed.join(', '), text: () => toJson(body) });
    }
    const built = (pool: LazyCase[], n: number): Case[] => rnd.sample(pool, n).map((c) => ({ label: c.label, text: c.text() }));
    return [...fixed, ...built(conforming, Math.ceil(CASES / 2)), ...built(breaking, Math.floor(CASES / 2))];
  }

  async function check(label: string, sent: string, call: () => Promise<Response>): Promise<Response> {
    const start = Date.now();
    const r = await call();
    if (Date.now() - start > slowest.ms) slowest = { ms: Date.now() - start, label: label.split('\n')[0]! };
    const key = `${label.split(' with ')[0]} -> ${r.status} ${(r.json as { code?: string } | undefined)?.code ?? ''}`;
    stats.set(key, (stats.get(key) ?? 0) + 1);
    if (process.env.FUZZ_TRACE && label.includes(process.env.FUZZ_TRACE)) console.log(`${label}\n  -> ${r.status} ${r.text.slice(0, 200)}`);
    const problem = problemWith(r, sent);
    if (problem) failures.push(`${label}: ${problem}: ${r.text.slice(0, 300)}`);
    return r;
  }

  it('answers every malformed or boundary body of every operation with a 4xx and a stable code, or a success', async () => {
    const rnd = createRandom(SEED);
    const started = Date.now();
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ path, method, operation })));
    expect(ops.length).toBeGreaterThan(30);
    // Login and token last: their failures count against the address's login limit (see the notes at the top).
    const last = (p: string) => (SMALL_LIMIT_OPS.includes(p) ? 1 : 0);
    ops.sort((a, b) => last(a.path) - last(b.path));
    let victim = await makeVictim();
    let counts = 0;
    for (const { path, method, operation } of ops) {
      if (method === 'get') {
        // The bearer-token download as each caller; the signed link is public (no token), once.
        for (const role of path === '/v2/file/download' ? ROLES : ['user' as const]) await fuzzDownload(path, callers[role], callers[OTHER[role]], rnd);
        fuzzedOperations.add(`${method} ${path}`);
        continue;
      }
      const schema = operation.requestBody!.content['application/json'].schema;
      for (const role of ROLES) {
        if (SMALL_LIMIT_OPS.includes(path) && role !== 'user') continue; // no token: the same calls once
        const [c, other] = [callers[role], callers[OTHER[role]]];
        let cases = casesFor(path, schema, c, other, victim, rnd);
        if (path === '/v2/account/login') cases = cases.slice(0, LOGIN_CASES);
        for (const { label, text } of cases) {
          await check(`${role} POST ${path} with ${label}\n    body: ${text.length > 400 ? `${text.slice(0, 400)}… (${text.length} chars)` : text}`, text, () =>
            send('POST', path, SMALL_LIMIT_OPS.includes(path) ? undefined : c.token, text),
          );
          counts++;
        }
        for (const r of ROLES) callers[r] = await restore(callers[r], `after ${role} ${path}`);
        const gone = await db.query(`SELECT 1 FROM users WHERE user_id = $1 AND status = 'enabled' AND role = 'user'`, [victim.userId]);
        if (gone.length === 0) victim = await makeVictim();
      }
      fuzzedOperations.add(`${method} ${path}`);
    }
    console.log(`[api-fuzz] ${dbKind}: seed ${SEED}, ${ops.length} operations, ${counts} bodies, ${calls} calls in ${((Date.now() - started) / 1000).toFixed(1)} s; slowest ${slowest.ms} ms: ${slowest.label.slice(0, 120)}`);
    if (process.env.FUZZ_STATS) console.log([...stats].sort().map(([k, n]) => `${k}: ${n}`).join('\n'));
    expect(failures).toEqual([]);
    expect([...fuzzedOperations].sort()).toEqual(ops.map((o) => `${o.method} ${o.path}`).sort());
  }, 300_000);

  /** The GET downloads: each query parameter missing, repeated, or hostile, and hostile Range headers. */
  async function fuzzDownload(path: string, c: Caller, other: Caller, rnd: Random) {
    const link = await api.ok('/v2/file/get_download_url', { drive_id: c.driveId, file_id: c.fileId }, c.token);
    const signed = new URL(link.url).searchParams;
    const base = path === '/v2/file/download' ? new URLSearchParams({ drive_id: c.driveId, file_id: c.fileId }) : signed;
    const names = [...new Set([...base.keys(), 'revision_id', 'name', 'type'])];
    const values = ['', 'x', KB10.slice(0, 2000), '%', '%00', '\u0000', '\ud800', '😀', '..', '-1', '1e400', c.revisionIds[0]!, other.fileId, other.driveId];
    const cases: { label: string; query: URLSearchParams; headers?: Record<string, string> }[] = [{ label: 'as issued', query: new URLSearchParams(base) }];
    for (const name of names) {
      const missing = new URLSearchParams(base);
      missing.delete(name);
      cases.push({ label: `${name} missing`, query: missing });
      const twice = new URLSearchParams(base);
      twice.append(name, 'again');
      cases.push({ label: `${name} twice`, query: twice });
      for (const v of rnd.sample(values, 4)) {
        const q = new URLSearchParams(base);
        q.set(name, v);
        cases.push({ label: `${name} = ${describeValue(v)}`, query: q });
      }
    }
    for (const range of ['bytes=abc', 'bytes=5-1', 'bytes=-0', 'bytes=0-99999999999999999999', 'bytes=0-0,1-1,2-2', 'bytes=1e3-', 'items=0-1', 'bytes=-99999999999999999999'])
      cases.push({ label: `Range ${range}`, query: new URLSearchParams(base), headers: { range } });
    cases.push({ label: 'If-None-Match junk', query: new URLSearchParams(base), headers: { 'if-none-match': '"\u00ff", *, W/' } });
    for (const { label, query, headers } of cases) {
      const qs = query.toString().replace(/%25/g, rnd.next() < 0.5 ? '%' : '%25'); // a raw % sometimes: malformed escapes
      await check(`${c.role} GET ${path} with ${label}\n    query: ${qs.slice(0, 300)}`, decodeURIComponentSafe(qs), () => send('GET', `${path}?${qs}`, path === '/v2/file/download' ? c.token : undefined, undefined, headers));
    }
  }

  it('leaves the fuzzed drives whole: a tree, a consistent trash, accounting equal to a recount, files that download in full', async () => {
    const drives = [...fuzzedDrives];
    expect(await accountingDrift(db)).toEqual([]);
    const orphans = await db.query(
      `SELECT c.file_id, c.name FROM files c WHERE c.drive_id = ANY($1) AND c.parent_file_id <> 'root'
         AND NOT EXISTS (SELECT 1 FROM files p WHERE p.drive_id = c.drive_id AND p.file_id = c.parent_file_id AND p.type = 'folder')`,
      [drives],
    );
    expect(orphans).toEqual([]);
    const loops = await db.query(
      `WITH RECURSIVE up AS (SELECT file_id AS start, parent_file_id AS at, 0 AS depth FROM files WHERE drive_id = ANY($1)
         UNION ALL SELECT up.start, f.parent_file_id, up.depth + 1 FROM up JOIN files f ON f.file_id = up.at WHERE up.depth < 200)
       SELECT DISTINCT start FROM up WHERE depth >= 200`,
      [drives],
    );
    expect(loops).toEqual([]);
    const liveUnderTrashed = await db.query(
      `SELECT c.file_id FROM files c JOIN files p ON p.file_id = c.parent_file_id WHERE c.drive_id = ANY($1) AND c.trashed_at IS NULL AND p.trashed_at IS NOT NULL`,
      [drives],
    );
    expect(liveUnderTrashed).toEqual([]);
    const strandedTrash = await db.query(
      `SELECT f.file_id FROM files f WHERE f.drive_id = ANY($1) AND f.trashed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM files r WHERE r.file_id = f.trash_root_id AND r.trashed_at IS NOT NULL)`,
      [drives],
    );
    expect(strandedTrash).toEqual([]);
    const halfWritten = await db.query(
      `SELECT f.file_id FROM files f LEFT JOIN file_revisions r ON r.revision_id = f.revision_id
        WHERE f.drive_id = ANY($1) AND f.type = 'file' AND f.status = 'available' AND (r.revision_id IS NULL OR r.size <> f.size OR r.content_hash <> f.content_hash)`,
      [drives],
    );
    expect(halfWritten).toEqual([]);
    const stuck = await db.query(`SELECT upload_id FROM upload_sessions WHERE drive_id = ANY($1) AND status = 'completing'`, [drives]);
    expect(stuck).toEqual([]);
    // Every available file downloads whole (the superadmin may read every drive), the fixture's exactly.
    const available = await db.query<{ drive_id: string; file_id: string; size: string }>(
      `SELECT drive_id, file_id, size FROM files WHERE drive_id = ANY($1) AND type = 'file' AND status = 'available' AND trashed_at IS NULL ORDER BY file_id LIMIT 300`,
      [drives],
    );
    for (const f of available) {
      const { url } = await api.ok('/v2/file/get_download_url', { drive_id: f.drive_id, file_id: f.file_id }, root().token);
      const bytes = Buffer.from(await (await fetch(url)).arrayBuffer());
      expect([f.file_id, bytes.length]).toEqual([f.file_id, Number(f.size)]);
      for (const c of Object.values(callers)) if (f.file_id === c.fileId) expect(bytes.equals(c.fileBytes)).toBe(true);
    }
  }, 120_000);
});
