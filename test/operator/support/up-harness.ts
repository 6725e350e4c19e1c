/**
 * `openpds up` in-process over a folder of the test's own (manifests/ and state/ under a temp dir), for the
 * local-mode suites: its output lines, its status file, and the admin API of its Domains' data planes.
 * OPENPDS_TEST_DEBUG=1 prints what up said after the suite.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runUpCommand } from '../../../operator/src/local/up-command';
import { createApiClient } from '../../support/test-server';
import { seedDomainDatabase, seedFolderDomains } from './up-seed';

/**
 * Polls until `probe` returns something. 60 s: the first wait includes starting a Domain's data plane,
 * which on a busy 2-core machine (the whole suite running) took more than 15 s; a passing wait returns as
 * soon as its probe does.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * argon2 at its cheapest in up's data planes, as in every test data plane (test/support/test-server.ts):
 * at the default cost each start's check of the admin password and each login took 0.2–0.8 s of CPU and
 * over a second of wall time on the busy cores, and these suites are not about passwords. up's first start
 * of a Domain makes the admin's hash with it, so later checks are cheap too. Acknowledged as meant: the
 * data planes log to jest's own stdout (not through `out`), and each start printed the below-OWASP warning
 * there. A user's data plane without it still warns (plan-state.e2e.test.ts).
 */
export const UP_TEST_DATA_PLANE_ENV = { OPENPDS_PASSWORD_HASH_MEMORY_KIB: '1024', OPENPDS_PASSWORD_HASH_ITERATIONS: '1', OPENPDS_PASSWORD_HASH_LOW_COST_ACKNOWLEDGED: 'true' };

/**
 * up's --resync in these suites: a pass every 250 ms, so a wait for the next pass (`passes(n)`, a pending
 * prune coming due, a status after a restart) takes a quarter of what it did at 1 s.
 */
const RESYNC = '0.25';

export const DOMAIN_YAML = (name: string) => `apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: ${name}}\nspec: {storage: {volume: {size: 1Gi}}}\n`;

export interface UpHarnessOptions {
  /** up's --prune-after (default 0). */
  pruneAfter?: string;
  /** The Domain domainApi() and drivesOf() talk to by default (default `d`). */
  domain?: string;
  /**
   * Whether start() seeds the database of each Domain in the folder that has none yet (up-seed.ts; default
   * true). false: `up` creates it as on a user's first start.
   */
  seed?: boolean;
}

export function upHarness(prefix: string, options: UpHarnessOptions = {}) {
  const { pruneAfter = '0', domain = 'd', seed = true } = options;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const dir = path.join(work, 'manifests');
  const state = path.join(work, 'state');
  const lines: string[] = [];
  fs.mkdirSync(dir);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
  if (process.env.OPENPDS_TEST_DEBUG) afterAll(() => console.log(lines.join('\n')));
  /** up over the folder (its new Domains' databases seeded first); `stop()` is its Ctrl-C. */
  function start(...flags: string[]) {
    const controller = new AbortController();
    const seeded = seed ? seedFolderDomains(dir, state) : Promise.resolve();
    const exited = seeded.then(() =>
      runUpCommand(['-f', dir, '--state-dir', state, '--base-port', '0', '--resync', RESYNC, '--prune-after', pruneAfter, ...flags], { signal: controller.signal, out: (l) => lines.push(l), err: (l) => lines.push(`ERR ${l}`), dataPlaneEnv: UP_TEST_DATA_PLANE_ENV }),
    );
    return { exited, stop: () => controller.abort() };
  }
  const status = () => {
    const file = path.join(state, 'up/status.json');
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
  };
  const driveStatus = (key: string) => status()?.drives.find((d: { key: string }) => d.key === key)?.drive.status;
  const ready = (key: string) => driveStatus(key)?.conditions?.find((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
  /** Waits for a line up printed (from line `from` on): the exact text, or one `expected` accepts. */
  const logged = (expected: string | ((line: string) => boolean), from = 0) =>
    waitFor(typeof expected === 'string' ? JSON.stringify(expected) : `a line matching ${expected}`, () => lines.slice(from).find((l) => (typeof expected === 'string' ? l === expected : expected(l))));
  /** Waits for `n` more passes (each rewrites the status file). */
  const passes = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const before = status()?.updatedAt;
      await waitFor('a pass', () => (status()?.updatedAt !== before ? true : undefined));
    }
  };
  /**
   * Waits for a whole pass begun after `at` (epoch ms): one that saw a grace ending then run out. The
   * status is written at the end of a pass, so the pass after the first one stamped past `at` began past it.
   */
  const passBegunAfter = async (at: number) => {
    await waitFor('a pass past the grace', () => (Date.parse(status()?.updatedAt ?? '') > at ? true : undefined));
    await passes(1);
  };
  /**
   * Logins by data plane start (its URL and when domain.json was written, which each start does): these
   * suites are not about logging in. Each start still gets a login of its own.
   */
  const logins = new Map<string, Promise<string>>();
  /** The admin API of a Domain's data plane, logged in with the password up keeps for it. */
  async function domainApi(name = domain) {
    const domainDir = path.join(state, `up/default/${name}`);
    const record = path.join(domainDir, 'domain.json');
    const { url } = await waitFor('domain.json', () => (fs.existsSync(record) ? JSON.parse(fs.readFileSync(record, 'utf8')) : undefined));
    const api = createApiClient(url);
    const key = `${url} ${fs.statSync(record).mtimeMs}`;
    let login = logins.get(key);
    if (!login) {
      login = api.login('admin', fs.readFileSync(path.join(domainDir, 'admin-password'), 'utf8').trim()).then((r: { access_token: string }) => r.access_token);
      logins.set(key, login);
      login.catch(() => logins.delete(key)); // a failed login is tried again next time
    }
    return { api, token: await login };
  }
  /** The owner's drives with the names of their root's files: what a user checks after a scare. */
  async function drivesOf(owner: string) {
    const { api, token } = await domainApi();
    const drives = (await api.ok('/v2/drive/list', { owner }, token)).items as { drive_id: string; description: string }[];
    return Promise.all(drives.map(async (d) => ({ id: d.drive_id, description: d.description, files: (await api.ok('/v2/file/list', { drive_id: d.drive_id, parent_file_id: 'root' }, token)).items.map((f: { name: string }) => f.name) })));
  }
  /** The folder: Domain `d` (on a volume) and the given files. */
  function writeFolder(files: Record<string, string>) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'domain.yaml'), DOMAIN_YAML('d'));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  }
  /** A folder `precious` in the drive: what a user would not want to lose. */
  async function addPrecious(driveId: string) {
    const { api, token } = await domainApi();
    await api.ok('/v2/file/create', { drive_id: driveId, parent_file_id: 'root', name: 'precious', type: 'folder' }, token);
  }
  /** Seeds a Domain's database before the running up sees it in the folder (start() seeds the others). */
  const seedDomain = (name: string) => (seed ? seedDomainDatabase(state, name) : Promise.resolve());
  return { work, dir, state, lines, start, seedDomain, status, driveStatus, ready, logged, passes, passBegunAfter, domainApi, drivesOf, writeFolder, addPrecious };
}
