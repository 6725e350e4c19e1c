// `openpds plan/apply --state DIR` beside `openpds up` on DIR, every command a real CLI process and every
// data plane a real one on loopback: apply while up runs (or beside another apply) is refused in one line
// naming the holder and changes nothing; plan reads through up's data planes instead of waiting; with up
// stopped, apply runs the state's Domains itself; a changed domainRef or owner is refused as up refuses it;
// a state is one folder's for plan and apply too.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApiClient } from '../support/test-server';
import { seedDomainDatabase } from './support/up-seed';

const ROOT = path.resolve(__dirname, '../..');
const DOMAIN = 'apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {storage: {volume: {size: 1Gi}}}\n';
const TEAM = (domain = 'd', owner = 'team') =>
  `apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: team}\nspec:\n  domainRef: {name: ${domain}}\n  owner: {kind: Group, name: ${owner}}\n  name: Team drive\n  quota: {totalSize: 1Gi}\n  reclaimPolicy: Delete\n`;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Run {
  pid: number;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/**
 * argon2 at its cheapest, as in every test data plane, for every command: up's data plane and those plan
 * and apply start check the admin password, and a login with a hash of another cost stores it again (so
 * an apply at the default cost after an up at this one hashed it twice more, and every later check with it).
 */
const HASH_COST = { OPENPDS_PASSWORD_HASH_MEMORY_KIB: '1024', OPENPDS_PASSWORD_HASH_ITERATIONS: '1' };

/** `node bin/openpds.js ARGS` in the test's folder. */
function openpds(cwd: string, ...args: string[]): Run {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/openpds.js'), ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...HASH_COST }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  // Without a build, bin/openpds.js runs the sources; after a stale one it says so on stderr first.
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr: stderr.replace(/^openpds: dist\/ is older than the sources.*\n/, '') })),
  );
  return { pid: child.pid!, done };
}

describe('openpds plan / apply --state beside openpds up', () => {
  const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-plan-state-')));
  const dir = path.join(work, 'manifests');
  const state = path.join(work, 'state');
  const run = (...args: string[]) => openpds(work, ...args).done;
  let up: Run | undefined;
  let upProcess: ReturnType<typeof spawn> | undefined;
  let teamId = '';

  beforeAll(async () => {
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'domain.yaml'), DOMAIN);
    fs.writeFileSync(path.join(dir, 'team.yaml'), TEAM());
    // Domain d's database from the initdb template, migrated by its data plane: up.e2e.test.ts covers
    // the first start that creates one (up-seed.ts).
    await seedDomainDatabase(state, 'd');
  });
  afterAll(async () => {
    upProcess?.kill('SIGTERM');
    await up?.done;
    fs.rmSync(work, { recursive: true, force: true });
  });

  const status = () => {
    const file = path.join(state, 'up/status.json');
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
  };
  const teamStatus = () => status()?.drives.find((d: { key: string }) => d.key === 'default/team')?.drive.status;

  /**
   * `up` as its own process, until its Drive is Ready in a pass of this run; what it printed so far. With
   * argon2 at its cheapest (HASH_COST): its data plane's start and each login checked the admin password at
   * the default cost, over a second of wall time each on the busy cores.
   */
  async function startUp(): Promise<string> {
    if (fs.existsSync(path.join(state, 'up/status.json'))) fs.rmSync(path.join(state, 'up/status.json'));
    const env = { PATH: process.env.PATH ?? '', ...HASH_COST };
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/openpds.js'), 'up', '-f', dir, '--state-dir', state, '--base-port', '0', '--resync', '1'], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    upProcess = child;
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    up = { pid: child.pid!, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout: output, stderr: '' }))) };
    await waitFor(`up Ready (${output})`, () => (teamStatus()?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ? true : undefined), 180_000);
    return output;
  }
  async function stopUp(): Promise<void> {
    upProcess!.kill('SIGTERM');
    expect((await up!.done).code).toBe(0);
    up = upProcess = undefined;
  }
  /** The drives of group `team` in the running up's Domain. */
  async function teamDrives() {
    const domain = path.join(state, 'up/default/d');
    const api = createApiClient(JSON.parse(fs.readFileSync(path.join(domain, 'domain.json'), 'utf8')).url);
    const { access_token } = await api.login('admin', fs.readFileSync(path.join(domain, 'admin-password'), 'utf8').trim());
    return (await api.ok('/v2/drive/list', { owner: 'team' }, access_token)).items as { drive_id: string; description: string }[];
  }

  it('while up runs: apply is refused in one line naming it and changes nothing; plan reads through its data planes, immutable fields included', async () => {
    // up hands its OPENPDS_PASSWORD_HASH_* to its data planes, as serve reads them: the data plane says so.
    expect(await startUp()).toContain("password hashing is set below OWASP's minimum for argon2id (19456 KiB, 2 iterations): 1024 KiB, 1 iteration(s)");
    teamId = teamStatus().driveId;
    const records = fs.readFileSync(path.join(state, 'up/drives.json'), 'utf8');

    // Side by side (a CLI process each, seconds to start): neither takes the state dir up holds, and the
    // refused apply changes nothing the plan reads.
    const [apply, plan] = await Promise.all([run('apply', '-f', dir, '--state', state, '--set', 'demo'), run('plan', '-f', dir, '--state', state, '--set', 'demo', '--detailed-exitcode')]);
    expect(apply.code).toBe(1);
    expect(apply.stdout).toBe('');
    expect(apply.stderr).toMatch(new RegExp(`^openpds apply: the state dir ${state} is in use by openpds up \\(pid ${up!.pid} on ${os.hostname()}, -f ${dir}\\): stop it first \\(a running openpds up applies its folder itself on every change; openpds plan --state reads through it\\)\\. If it no longer runs, delete ${state}/up\\.lock \\(a lock not touched for 120 s is taken over by itself\\)\\.\\n$`));
    expect(await teamDrives()).toEqual([expect.objectContaining({ drive_id: teamId, description: 'openpds.io/uid=local.default.team; reclaimPolicy=Delete' })]);
    expect(fs.readFileSync(path.join(state, 'up/drives.json'), 'utf8')).toBe(records);

    expect(plan).toMatchObject({ code: 2, stderr: '' });
    expect(plan.stdout).toContain(`  note: reading through the data planes of openpds up (pid ${up!.pid} on ${os.hostname()}, -f ${dir}), which holds the state dir; nothing is changed\n`);
    expect(plan.stdout).toContain(`~ update  Drive default/team (${teamId}): apply set (none) -> demo\n`);
    expect(plan.stdout).toContain('Plan: 0 to create, 1 to change, 0 to delete, 0 unchanged.');

    // As up refuses it (up.e2e.test.ts), against the Drive as up last applied it.
    fs.writeFileSync(path.join(dir, 'team.yaml'), TEAM('d', 'ops'));
    const owner = await run('plan', '-f', dir, '--state', state);
    fs.writeFileSync(path.join(dir, 'team.yaml'), TEAM());
    expect(owner.code).toBe(1);
    expect(owner.stdout).toContain('! error   team.yaml Drive/default/team: spec.owner: Invalid value: "object": owner is immutable');
    expect(owner.stdout).toContain('Plan: 0 to create, 0 to change, 0 to delete, 0 unchanged, 1 failed.');
    expect(await teamDrives()).toEqual([expect.objectContaining({ drive_id: teamId })]);
    await stopUp();
  }, 400_000);

  it('with up stopped: one of two applies at once runs the Domains from the state, the other is refused naming it; what apply made is recorded, its domainRef then immutable', async () => {
    const [a, b] = [openpds(work, 'apply', '-f', dir, '--state', state, '--set', 'demo'), openpds(work, 'apply', '-f', dir, '--state', state, '--set', 'demo')];
    const results = await Promise.all([a.done, b.done]);
    const winner = results.findIndex((r) => r.code === 0);
    expect(winner).toBeGreaterThanOrEqual(0);
    const [won, lost] = [results[winner]!, results[1 - winner]!];
    expect(won.stdout).toContain('  not applied Domain default/d: a Domain is provisioned by the operator or `openpds up`; run from the state dir for this apply only\n');
    expect(won.stdout).toContain('Apply complete: 0 created, 1 changed, 0 deleted or released, 0 unchanged.');
    expect(lost).toMatchObject({ code: 1, stdout: '' });
    expect(lost.stderr).toMatch(new RegExp(`^openpds apply: the state dir ${state} is in use by openpds apply \\(pid ${[a, b][winner]!.pid} on ${os.hostname()}, -f ${dir}\\): stop it first .*\\n$`));
    expect(fs.existsSync(path.join(state, 'up.lock'))).toBe(false);


    // A Drive apply creates is recorded as up records it, so its immutable fields are checked from then on.
    const ops = TEAM('d', 'ops').replace('{name: team}', '{name: ops}');
    fs.writeFileSync(path.join(dir, 'ops.yaml'), ops);
    const created = await run('apply', '-f', dir, '--state', state);
    expect(created.stdout).toContain('Apply complete: 1 created, 0 changed, 0 deleted or released, 1 unchanged.');
    const records = JSON.parse(fs.readFileSync(path.join(state, 'up/drives.json'), 'utf8'));
    expect(records['default/ops'].drive).toMatchObject({ metadata: { name: 'ops', generation: 1 }, spec: { owner: { name: 'ops' } }, status: { driveId: expect.any(String) } });
    expect(records['default/team'].drive.status.driveId).toBe(teamId);
    expect(records['default/team'].drive.metadata.annotations).toBeUndefined();

    fs.writeFileSync(path.join(dir, 'ops.yaml'), ops.replace('{name: d}', '{name: d2}'));
    const moved = await run('apply', '-f', dir, '--state', state);
    fs.writeFileSync(path.join(dir, 'ops.yaml'), ops);
    expect(moved.code).toBe(1);
    expect(moved.stdout).toContain('! error   ops.yaml Drive/default/ops: spec.domainRef: Invalid value: "object": domainRef is immutable');
    expect(moved.stdout).toContain('Apply complete: 0 created, 0 changed, 0 deleted or released, 1 unchanged, 1 failed.');
    expect(JSON.parse(fs.readFileSync(path.join(state, 'up/drives.json'), 'utf8'))).toEqual(records);
  }, 400_000);

  it('a state is one folder\'s: apply over another folder is refused in one line; plan --adopt-state only shows it', async () => {
    const other = path.join(work, 'other');
    fs.mkdirSync(other);
    fs.copyFileSync(path.join(dir, 'domain.yaml'), path.join(other, 'domain.yaml'));
    const refused = await run('apply', '-f', other, '--state', state, '--set', 'demo');
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toMatch(new RegExp(`^openpds apply: the state dir ${state} belongs to the manifests in ${dir}, not ${other}: .* pass --adopt-state\\.\\n$`));

    const plan = await run('plan', '-f', other, '--state', state, '--set', 'demo', '--adopt-state');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(`  note: planned as if the state dir ${state} belonged to ${other} (--adopt-state; it is ${dir}'s): plan records nothing, apply --adopt-state hands it over\n`);
    expect(plan.stdout).toContain(`- delete  Drive default/team (${teamId}): reclaimPolicy Delete, the drive and its files are deleted`);
    expect(JSON.parse(fs.readFileSync(path.join(state, 'up/folder.json'), 'utf8'))).toEqual({ folder: dir });

    // Nothing above touched the drive but the one apply that held the state: up finds it, in set demo.
    await startUp();
    expect(teamStatus().driveId).toBe(teamId);
    expect(await teamDrives()).toEqual([expect.objectContaining({ drive_id: teamId, description: 'openpds.io/uid=local.default.team; reclaimPolicy=Delete; set=demo' })]);
    await stopUp();
  }, 400_000);
});
