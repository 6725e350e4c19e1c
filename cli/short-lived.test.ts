/**
 * Which commands open PGlite as a short-lived process (PgliteOptions.shortLived: Liftoff kept, a start in
 * less than half the time) and which as a server (TurboFan alone: less resident code for as long as it runs).
 * pglite-short-lived.int.test.ts checks what the option does; this checks who passes it. No PGlite starts:
 * createPgliteDb records its options and fails, and each caller fails its start with that.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPgliteDb } from '../api-server/src/db/pglite.db';
import { loadConfig } from '../api-server/src/config/config';
import { openCommandDb, runMigrations, startServer } from '../api-server/src/main';
import { loadManifests } from '../operator/src/local/manifests';
import { writeDomainRecord } from '../operator/src/local/state-dir';
import { openStateSession } from '../operator/src/local/state-session';
import { createUpRunner } from '../operator/src/local/up-runner';

jest.mock('../api-server/src/db/pglite.db', () => ({ createPgliteDb: jest.fn(() => Promise.reject(new Error('PGlite is not started in this test'))) }));

const opened = jest.mocked(createPgliteDb);
/** The shortLived of every PGlite opened so far (false when not given), and forgets them. */
const shortLivedChoices = () => {
  const choices = opened.mock.calls.map(([, options]) => options?.shortLived ?? false);
  opened.mockClear();
  return choices;
};

let work: string;
beforeEach(() => void (work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-short-lived-'))));
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

const env = () => ({ OPENPDS_DATA_DIR: path.join(work, 'data'), OPENPDS_PORT: '0', OPENPDS_HOST: '127.0.0.1', OPENPDS_LOG_LEVEL: 'silent' });

/** A folder with Domain `d`, and a state dir in which it ran before (as plan/apply --state need). */
function folderWithDomain() {
  const dir = path.join(work, 'manifests');
  const state = path.join(work, 'state');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'domain.yaml'), 'apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {storage: {volume: {size: 1Gi}}}\n');
  const domains = loadManifests(dir).domains;
  writeDomainRecord(state, 'default', 'd', { url: 'http://127.0.0.1:1', port: 1, domain: domains[0]! });
  return { dir, state, domains };
}

test('migrate, jobs and admin open the database short-lived', async () => {
  await expect(runMigrations(env())).rejects.toThrow('PGlite is not started');
  // `openpds jobs` and `openpds admin` hand this to their commands as openDb (cli/main.ts).
  await expect(openCommandDb(loadConfig(env()))).rejects.toThrow('PGlite is not started');
  expect(shortLivedChoices()).toEqual([true, true]);
});

test('serve does not: it runs for as long as it is up', async () => {
  // cli/main.ts starts `serve` as startServer(process.env, { routeProcessWarnings: true }): no shortLived.
  await expect(startServer(env(), { routeProcessWarnings: true })).rejects.toThrow('PGlite is not started');
  expect(shortLivedChoices()).toEqual([false]);
});

test.each(['plan', 'apply'] as const)('the data planes %s --state starts for its run are short-lived', async (command) => {
  const { dir, state, domains } = folderWithDomain();
  const session = openStateSession({ command, stateDir: state, dir, adopt: true, logLevel: 'silent' });
  try {
    const targets = await session.targets(domains);
    expect(targets.access('default', 'd')).toMatchObject({ state: 'NotReady', message: expect.stringContaining('PGlite is not started') });
  } finally {
    await session.close();
  }
  expect(shortLivedChoices()).toEqual([true]);
});

test("up's data planes are not: they run for as long as up does", async () => {
  const { dir, state } = folderWithDomain();
  const lines: string[] = [];
  const runner = createUpRunner({ dir, stateDir: state, basePort: 0, logLevel: 'silent', log: (line) => lines.push(line) });
  try {
    await runner.sync();
  } finally {
    await runner.stop();
  }
  expect(lines.join('\n')).toContain('PGlite is not started');
  expect(shortLivedChoices()).toEqual([false]);
});
