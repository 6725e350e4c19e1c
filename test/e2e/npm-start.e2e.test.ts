/**
 * The README's first command, as a newcomer runs it: `npm start` in a checkout compiles the sources to dist/,
 * then `bin/openpds.js serve` runs the compiled JavaScript with the embedded defaults (PGlite + local disk),
 * creates the superadmin, and serves uploads and downloads. A second start finds everything in place.
 *
 * It runs in a copy of the sources (node_modules linked), so its dist/ never changes what the other tests'
 * `bin/openpds.js` picks while they run. Its initdb cache (the default `auto`, under $XDG_CACHE_HOME) is
 * in the copy too, filled from the test template as a machine that ran openpds before has one: with the
 * runner's ~/.cache the first start ran initdb or not (4–7 s of CPU) as that machine's history had it, and
 * left a cache in the runner's home. A first start that fills the cache: test/api/pglite-initdb-cache.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { seedPgliteInitdbCache } from '../support/pglite-template';
import { createApiClient } from '../support/test-server';
import { freePort } from './support/child-server';

const REPO = path.resolve(__dirname, '../..');
const COPIED = ['cli', 'api-server/src', 'workers/src', 'operator/src', 'crds', 'bin', 'package.json'];
const PASSWORD = 'newcomer-password';

jest.setTimeout(180_000);

let checkout: string;
let child: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  checkout = mkdtempSync(path.join(tmpdir(), 'openpds-npm-start-'));
  for (const p of COPIED) cpSync(path.join(REPO, p), path.join(checkout, p), { recursive: true, filter: (src) => !src.endsWith('.test.ts') });
  symlinkSync(path.join(REPO, 'node_modules'), path.join(checkout, 'node_modules'));
  await seedPgliteInitdbCache(path.join(checkout, '.xdg-cache', 'openpds'));
});

afterAll(async () => {
  await stop();
  rmSync(checkout, { recursive: true, force: true });
});

/** `npm start` in the copy; resolves once /readyz answers. */
async function npmStart(port: number): Promise<string> {
  output = '';
  child = spawn('npm', ['start'], {
    cwd: checkout,
    detached: true, // its own process group: npm, the shell and node stop together
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? checkout, XDG_CACHE_HOME: path.join(checkout, '.xdg-cache'), OPENPDS_PORT: String(port), OPENPDS_HOST: '127.0.0.1', OPENPDS_ADMIN_PASSWORD: PASSWORD, OPENPDS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 150_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return url;
    if (Date.now() > deadline) throw new Error(`npm start was not ready in time:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stop(): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child!.once('exit', r));
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
}

it('npm start compiles, starts the embedded data plane, and it stores and serves a file', async () => {
  const api = createApiClient(await npmStart(await freePort()));
  // It ran the compiled JavaScript, not the TypeScript through tsx.
  expect(output).not.toContain('running them through tsx');
  const admin = await api.login('admin', PASSWORD);
  const content = Buffer.from('hello from a newcomer\n');
  const created = await api.ok('/v2/file/create', { drive_id: admin.default_drive_id, parent_file_id: 'root', name: 'hello.txt', type: 'file', size: content.length }, admin.access_token);
  expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).ok).toBe(true);
  await api.ok('/v2/file/complete', { drive_id: admin.default_drive_id, file_id: created.file_id, upload_id: created.upload_id }, admin.access_token);
  const { url } = await api.ok('/v2/file/get_download_url', { drive_id: admin.default_drive_id, file_id: created.file_id }, admin.access_token);
  expect(Buffer.from(await (await fetch(url)).arrayBuffer())).toEqual(content);
  await stop();
  const stamp = () => statSync(path.join(checkout, 'dist/.build-stamp')).mtimeMs;
  const built = stamp();

  // A second start: nothing to compile (no build at all: bin/build-if-stale.js) or create, the same admin and file.
  const again = createApiClient(await npmStart(await freePort()));
  expect(stamp()).toBe(built);
  const session = await again.login('admin', PASSWORD);
  const list = await again.ok('/v2/file/list', { drive_id: session.default_drive_id, parent_file_id: 'root' }, session.access_token);
  expect(list.items.map((f: { name: string }) => f.name)).toEqual(['hello.txt']);
});
