// `openpds plan` and `openpds apply` against a real data plane: plan mutates nothing and says what apply
// then does; edits and hand-made changes show as updates; Drives of an apply set (--set) that leave the
// folder are released (Retain) or deleted (Delete), and without --set nothing is; two folders applied to
// one domain and namespace never prune each other; a bad target is an error, not a crash.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runApplyCommand, runPlanCommand } from '../../operator/src/local/plan-command';
import { domainDir } from '../../operator/src/local/state-dir';
import { lockStateDir } from '../../operator/src/local/up-state-lock';
import { ADMIN_PASSWORD, startTestServer } from '../support/test-server';

const GiB = 1024 ** 3;

const drive = (name: string, spec: string) => `apiVersion: openpds.io/v1alpha1
kind: Drive
metadata:
  name: ${name}
spec:
  domainRef: {name: d}
${spec}`;

describe('openpds plan / apply against a running domain', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let token: string;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-plan-'));
  const dir = path.join(work, 'manifests');

  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
    token = (await server.api.login('admin', ADMIN_PASSWORD)).access_token;
    await server.api.ok('/v2/user/create', { user_name: 'alice', password: 'alice-password' }, token);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'team.yaml'), drive('team', '  owner: {kind: Group, name: team}\n  name: Team drive\n  quota: {totalSize: 5Gi}\n'));
    fs.writeFileSync(path.join(dir, 'alice.yaml'), drive('alice-files', '  owner: {kind: User, name: alice}\n  quota: {totalSize: 1Gi}\n  reclaimPolicy: Delete\n'));
    fs.writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources: [team.yaml, alice.yaml]\n');
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function cli(command: typeof runPlanCommand, ...extra: string[]) {
    const lines: string[] = [];
    const code = await command(['-f', dir, '--endpoint', server.url, '--username', 'admin', ...extra], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: { OPENPDS_ADMIN_PASSWORD: ADMIN_PASSWORD } });
    return { code, text: lines.join('\n') };
  }
  const managedDrives = async () =>
    (await server.api.ok('/v2/drive/list', {}, token)).items.filter((d: { description: string }) => d.description.includes('openpds.io/uid=local.default.'));
  const byName = async (name: string) => (await managedDrives()).find((d: { drive_name: string }) => d.drive_name === name);

  it('plans two creations without creating anything, then apply creates them', async () => {
    const plan = await cli(runPlanCommand, '--detailed-exitcode');
    expect(plan.code).toBe(2);
    expect(plan.text).toContain('+ create  Drive default/team: "Team drive", owner group team, quota 5Gi');
    expect(plan.text).toContain('+ create  Drive default/alice-files: "alice-files", owner user alice, quota 1Gi');
    expect(plan.text).toContain('Plan: 2 to create, 0 to change, 0 to delete, 0 unchanged.');
    expect(await managedDrives()).toEqual([]);

    const apply = await cli(runApplyCommand);
    expect(apply).toMatchObject({ code: 0, text: expect.stringContaining('Apply complete: 2 created, 0 changed, 0 deleted or released, 0 unchanged.') });
    expect(await byName('Team drive')).toMatchObject({ owner_type: 'group', owner: 'team', total_size: 5 * GiB });
    expect(await byName('alice-files')).toMatchObject({ owner_type: 'user', total_size: GiB });

    const again = await cli(runPlanCommand, '--detailed-exitcode');
    expect(again).toMatchObject({ code: 0, text: expect.stringContaining('Plan: 0 to create, 0 to change, 0 to delete, 2 unchanged.') });
  });

  it('shows a manifest edit and a hand-made change as updates, and apply makes them', async () => {
    fs.writeFileSync(path.join(dir, 'team.yaml'), fs.readFileSync(path.join(dir, 'team.yaml'), 'utf8').replace('5Gi', '7Gi'));
    const alice = await byName('alice-files');
    await server.api.ok('/v2/drive/update', { drive_id: alice.drive_id, drive_name: 'renamed by hand' }, token);

    const plan = await cli(runPlanCommand);
    expect(plan.text).toMatch(/~ update  Drive default\/team \(\w+\): total_size 5Gi -> 7Gi/);
    expect(plan.text).toContain(`~ update  Drive default/alice-files (${alice.drive_id}): drive_name "renamed by hand" -> "alice-files"`);
    expect(plan.text).toContain('Plan: 0 to create, 2 to change, 0 to delete, 0 unchanged.');

    expect((await cli(runApplyCommand)).code).toBe(0);
    expect(await byName('Team drive')).toMatchObject({ total_size: 7 * GiB });
    expect(await byName('alice-files')).toMatchObject({ drive_id: alice.drive_id });
  });

  it('Drives removed from the folder: nothing without --set; with it, Retain is released (kept), Delete is deleted', async () => {
    const team = await byName('Team drive');
    const alice = await byName('alice-files');
    // Applied without a set so far: --set adds it to each marker, an update the plan names.
    const join = await cli(runPlanCommand, '--set', 'demo');
    expect(join.text).toContain(`~ update  Drive default/alice-files (${alice.drive_id}): apply set (none) -> demo`);
    expect(join.text).toContain('Plan: 0 to create, 2 to change, 0 to delete, 0 unchanged.');
    expect(join.text).not.toContain('note: nothing is');
    expect((await cli(runApplyCommand, '--set', 'demo')).code).toBe(0);
    expect((await byName('alice-files')).description).toBe('openpds.io/uid=local.default.alice-files; reclaimPolicy=Delete; set=demo');
    // Without --set again: the drives keep their set (no change), and nothing is pruned.
    expect(await cli(runPlanCommand, '--detailed-exitcode')).toMatchObject({ code: 0, text: expect.stringContaining('Plan: 0 to create, 0 to change, 0 to delete, 2 unchanged.') });

    fs.rmSync(path.join(dir, 'team.yaml'));
    fs.rmSync(path.join(dir, 'alice.yaml'));
    // The Domain stays in the folder: it is what puts its drives in scope once no Drive names it.
    fs.writeFileSync(path.join(dir, 'domain.yaml'), 'apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {storage: {volume: {size: 1Gi}}}\n');

    const unset = await cli(runPlanCommand, '--detailed-exitcode');
    expect(unset.code).toBe(0);
    expect(unset.text).toContain('  note: nothing is planned for deletion or release without --set NAME (the apply set whose drives that left DIR are deleted or released)');
    expect(unset.text).toContain('Plan: 0 to create, 0 to change, 0 to delete, 0 unchanged.');
    expect((await cli(runApplyCommand)).text).toContain('Apply complete: 0 created, 0 changed, 0 deleted or released, 0 unchanged.');
    expect(await managedDrives()).toHaveLength(2);
    // Another set's prune is not this one's either.
    expect((await cli(runPlanCommand, '--set', 'other')).text).toContain('Plan: 0 to create, 0 to change, 0 to delete, 0 unchanged.');

    const plan = await cli(runPlanCommand, '--set', 'demo');
    expect(plan.text).toContain(`- release Drive default/team (${team.drive_id}): reclaimPolicy Retain, the drive and its files are kept`);
    expect(plan.text).toContain(`- delete  Drive default/alice-files (${alice.drive_id}): reclaimPolicy Delete, the drive and its files are deleted`);
    expect(plan.text).toContain('Plan: 0 to create, 0 to change, 2 to delete, 0 unchanged.');

    expect((await cli(runApplyCommand, '--set', 'demo')).code).toBe(0);
    expect(await managedDrives()).toEqual([]);
    expect((await server.api.ok('/v2/drive/get', { drive_id: team.drive_id }, token)).drive_name).toBe('Team drive');
    expect((await server.api.call('/v2/drive/get', { drive_id: alice.drive_id }, token)).status).toBe(404);
  });

  it('reads endpoints and passwords from an `openpds up` state dir; bad targets are errors with a reason', async () => {
    fs.writeFileSync(path.join(dir, 'team.yaml'), drive('team', '  owner: {kind: Group, name: team}\n  name: Team drive\n'));
    const state = path.join(work, 'state');
    fs.mkdirSync(domainDir(state, 'default', 'd'), { recursive: true });
    fs.writeFileSync(path.join(domainDir(state, 'default', 'd'), 'domain.json'), JSON.stringify({ url: server.url, port: 0 }));
    fs.writeFileSync(path.join(domainDir(state, 'default', 'd'), 'admin-password'), ADMIN_PASSWORD);
    const lines: string[] = [];
    // As beside a running `openpds up`, which holds the state: plan reads through the data plane it records
    // (free, plan would run the state's Domains itself: plan-state.e2e.test.ts).
    const release = lockStateDir(state, dir);
    const code = await runPlanCommand(['-f', dir, '--state', state], { out: (l) => lines.push(l), err: (l) => lines.push(l) }).finally(release);
    expect(code).toBe(0);
    // The retained drive has no marker any more: the manifest adopts it again (owner and name match).
    expect(lines.join('\n')).toMatch(/~ adopt   Drive default\/team \(\w+\): an existing drive with this owner and name; total_size 7Gi -> 10Gi/);

    const wrong = await cli(runPlanCommand, '--password', 'wrong-password');
    expect(wrong).toMatchObject({ code: 1, text: expect.stringContaining('! error   Drive default/team: AdminCredentialsRejected') });
    // Said once (its Warning was the same words again), then what to give; no running up serves this URL.
    expect(wrong.text.match(/AdminCredentialsRejected/g)).toHaveLength(1);
    expect(wrong.text).toContain(`  note: ${server.url} refused user admin with that password: give the Domain's superadmin with --username (default admin) and its password with --password (or $OPENPDS_ADMIN_PASSWORD)`);
    const missing: string[] = [];
    expect(await runPlanCommand(['-f', dir, '--state', path.join(work, 'nothing')], { out: (l) => missing.push(l), err: (l) => missing.push(l) })).toBe(1);
    expect(missing.join('\n')).toContain('does not exist: plan reads the state of an openpds up and creates none'); // nothing created either
    expect(await runPlanCommand(['-f', dir], { err: () => {} })).toBe(2);
  });

  it('a folder whose last manifest left (--allow-empty) prunes the set on the Domain --endpoint NAME=URL names; a bare URL is refused, nothing deleted', async () => {
    const folder = path.join(work, 'newcomer');
    fs.mkdirSync(folder);
    const run = async (command: typeof runPlanCommand, endpoint: string, ...extra: string[]) => {
      const lines: string[] = [];
      const code = await command(['-f', folder, '--endpoint', endpoint, '--set', 'demo', ...extra], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: { OPENPDS_ADMIN_PASSWORD: ADMIN_PASSWORD } });
      return { code, text: lines.join('\n') };
    };
    fs.writeFileSync(path.join(folder, 'drive.yaml'), drive('newcomer', '  owner: {kind: Group, name: team}\n  name: Newcomer drive\n  reclaimPolicy: Delete\n'));
    expect((await run(runApplyCommand, server.url)).code).toBe(0);
    const made = await byName('Newcomer drive');
    fs.rmSync(path.join(folder, 'drive.yaml'));

    // The folder names no Domain any more, and a bare URL none either: which Domain's members go is not guessed.
    for (const command of [runPlanCommand, runApplyCommand]) {
      const bare = await run(command, server.url, '--allow-empty');
      expect(bare.code).toBe(1);
      expect(bare.text).toContain(`! error   --set demo: the folder names no Domain (it holds no Drive or Domain manifest), and a bare --endpoint ${server.url} cannot say which Domain's drives of set demo to prune`);
    }
    expect(await byName('Newcomer drive')).toMatchObject({ drive_id: made.drive_id });

    const plan = await run(runPlanCommand, `d=${server.url}`, '--allow-empty', '--detailed-exitcode');
    expect(plan.code).toBe(2);
    expect(plan.text).toContain(`- delete  Drive default/newcomer (${made.drive_id}): reclaimPolicy Delete, the drive and its files are deleted`);
    expect(await run(runApplyCommand, `d=${server.url}`, '--allow-empty')).toMatchObject({ code: 0, text: expect.stringContaining('Apply complete: 0 created, 0 changed, 1 deleted or released, 0 unchanged.') });
    expect((await server.api.call('/v2/drive/get', { drive_id: made.drive_id }, token)).status).toBe(404);
  });
});

describe('openpds plan / apply with Drives of several domains', () => {
  let a: Awaited<ReturnType<typeof startTestServer>>;
  let b: Awaited<ReturnType<typeof startTestServer>>;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-plan-domains-'));
  const teamDrive = (name: string, domain: string) => `apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: ${name}}\nspec:\n  domainRef: {name: ${domain}}\n  owner: {kind: Group, name: team}\n`;

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestServer('pglite', 'local'), startTestServer('pglite', 'local')]);
    fs.writeFileSync(path.join(work, 'domain-a.yaml'), 'apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: a}\nspec: {storage: {volume: {size: 1Gi}}}\n');
    fs.writeFileSync(path.join(work, 'drives.yaml'), [teamDrive('drive-a', 'a'), teamDrive('drive-b', 'b'), teamDrive('drive-c', 'c')].join('---\n'));
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function cli(command: typeof runPlanCommand, ...extra: string[]) {
    const lines: string[] = [];
    const code = await command(['-f', work, ...extra], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: { OPENPDS_ADMIN_PASSWORD: ADMIN_PASSWORD } });
    return { code, text: lines.join('\n') };
  }
  const driveNames = async (server: typeof a) => {
    const token = (await server.api.login('admin', ADMIN_PASSWORD)).access_token;
    return (await server.api.ok('/v2/drive/list', {}, token)).items.map((d: { drive_name: string }) => d.drive_name).filter((n: string) => n.startsWith('drive-'));
  };

  it('routes each Drive to the endpoint of its domainRef; a Drive whose Domain has none is an error naming it', async () => {
    const plan = await cli(runPlanCommand, '--endpoint', `a=${a.url}`, '--endpoint', `default/b=${b.url}`);
    expect(plan.code).toBe(1);
    expect(plan.text).toContain('  not applied Domain default/a: a Domain is provisioned by the operator or `openpds up`');
    expect(plan.text).toContain('+ create  Drive default/drive-a: "drive-a", owner group team');
    expect(plan.text).toContain('+ create  Drive default/drive-b: "drive-b", owner group team');
    expect(plan.text).toContain('! error   Drive default/drive-c: DomainNotFound: no --endpoint for Domain default/c (give --endpoint c=URL)');
    expect(plan.text).toContain('Plan: 2 to create, 0 to change, 0 to delete, 0 unchanged, 1 failed.');

    fs.writeFileSync(path.join(work, 'drives.yaml'), [teamDrive('drive-a', 'a'), teamDrive('drive-b', 'b')].join('---\n'));
    const apply = await cli(runApplyCommand, '--endpoint', `a=${a.url}`, '--endpoint', `b=${b.url}`);
    expect(apply).toMatchObject({ code: 0, text: expect.stringContaining('Apply complete: 2 created, 0 changed, 0 deleted or released, 0 unchanged.') });
    expect(await driveNames(a)).toEqual(['drive-a']);
    expect(await driveNames(b)).toEqual(['drive-b']);
    const again = await cli(runPlanCommand, '--endpoint', `a=${a.url}`, '--endpoint', `b=${b.url}`, '--detailed-exitcode');
    expect(again).toMatchObject({ code: 0, text: expect.stringContaining('Plan: 0 to create, 0 to change, 0 to delete, 2 unchanged.') });
  });

  it('a bare URL is refused when the Drives reference more than one Domain; malformed endpoints are usage errors', async () => {
    // The folder declares Domain a: the bare URL is a's, and drive-b, of a Domain the folder does not declare, is an error.
    const declared = await cli(runPlanCommand, '--endpoint', a.url);
    expect(declared.code).toBe(1);
    expect(declared.text).toContain(`! error   Drive default/drive-b: DomainNotFound: Domain default/b is not declared in the folder (it declares default/a)`);
    expect(declared.text).toContain('Plan: 0 to create, 0 to change, 0 to delete, 1 unchanged, 1 failed.');
    const domainA = fs.readFileSync(path.join(work, 'domain-a.yaml'), 'utf8');
    fs.rmSync(path.join(work, 'domain-a.yaml'));
    const bare = await cli(runPlanCommand, '--endpoint', a.url);
    fs.writeFileSync(path.join(work, 'domain-a.yaml'), domainA);
    expect(bare.code).toBe(2);
    expect(bare.text).toContain(`--endpoint ${a.url} is ambiguous: the Drives reference Domains default/a, default/b; give --endpoint NAME=URL for each`);
    // With --detailed-exitcode 2 means "changes": a usage error there is 1, as with terraform, never read as drift.
    fs.rmSync(path.join(work, 'domain-a.yaml'));
    const bareDetailed = await cli(runPlanCommand, '--endpoint', a.url, '--detailed-exitcode');
    fs.writeFileSync(path.join(work, 'domain-a.yaml'), domainA);
    expect(bareDetailed.code).toBe(1);
    expect((await cli(runPlanCommand, '--endpoint', `a=${a.url}`, '--kubeconfig', 'x', '--detailed-exitcode')).code).toBe(1);
    expect(await runPlanCommand(['-f', '/nonexistent', '--detailed-exitcode'], { err: () => {} })).toBe(1);
    expect(await runPlanCommand(['--no-such-option', '--detailed-exitcode'], { err: () => {} })).toBe(1);
    expect(await driveNames(a)).toEqual(['drive-a']);

    expect((await cli(runPlanCommand, '--endpoint', 'a=ftp://example.com')).text).toContain('--endpoint a=ftp://example.com: expected URL or NAME=URL with an http(s) URL');
    expect((await cli(runPlanCommand, '--endpoint', a.url, '--endpoint', `b=${b.url}`)).text).toContain('give one --endpoint URL, or one --endpoint NAME=URL per Domain');
    expect((await cli(runPlanCommand, '--endpoint', `a=${a.url}`, '--kubeconfig', 'x')).code).toBe(2);
    const badSet = await cli(runPlanCommand, '--endpoint', `a=${a.url}`, '--set', 'Team_A');
    expect(badSet).toMatchObject({ code: 2, text: expect.stringContaining('--set Team_A: the apply set name must be lower-case letters, digits, - and . inside, at most 63 characters') });

    // One Domain only: the bare URL keeps working.
    fs.writeFileSync(path.join(work, 'drives.yaml'), teamDrive('drive-a', 'a'));
    expect(await cli(runPlanCommand, '--endpoint', a.url)).toMatchObject({ code: 0, text: expect.stringContaining('Plan: 0 to create, 0 to change, 0 to delete, 1 unchanged.') });
  });
});

describe('openpds plan / apply against a running domain with an invalid manifest in the folder', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let token: string;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-plan-invalid-'));
  const DOMAIN = 'apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {storage: {volume: {size: 1Gi}}}\n';
  const KEEP = drive('keep', '  owner: {kind: Group, name: team}\n  name: Keep\n  quota: {totalSize: 1Gi}\n  reclaimPolicy: Delete\n');
  const HOLD = drive('hold', '  owner: {kind: Group, name: team}\n  name: Hold\n  quota: {totalSize: 1Gi}\n');

  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
    token = (await server.api.login('admin', ADMIN_PASSWORD)).access_token;
    fs.writeFileSync(path.join(work, 'domain.yaml'), DOMAIN);
    fs.writeFileSync(path.join(work, 'keep.yaml'), KEEP);
    fs.writeFileSync(path.join(work, 'hold.yaml'), HOLD);
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function cli(command: typeof runPlanCommand, ...extra: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    // With a set: what an invalid manifest suspends is that set's prune (without one nothing is pruned anyway).
    const code = await command(['-f', work, '--endpoint', server.url, '--set', 'invalid-demo', ...extra], { out: (l) => out.push(l), err: (l) => err.push(l), env: { OPENPDS_ADMIN_PASSWORD: ADMIN_PASSWORD } });
    return { code, lines: out, text: out.join('\n'), err: err.join('\n') };
  }
  const drives = async () => (await server.api.ok('/v2/drive/list', {}, token)).items.filter((d: { drive_name: string }) => ['Keep', 'Hold'].includes(d.drive_name));
  const filesIn = async (driveId: string) => (await server.api.ok('/v2/file/list', { drive_id: driveId, parent_file_id: 'root' }, token)).items.map((f: { name: string }) => f.name);

  it('a Drive manifest the schema refuses is an error in the plan, fails the run, and no drive is deleted or released', async () => {
    expect((await cli(runApplyCommand)).code).toBe(0);
    const before = await drives();
    expect(before.map((d: { drive_name: string }) => d.drive_name).sort()).toEqual(['Hold', 'Keep']);
    const keep = before.find((d: { drive_name: string }) => d.drive_name === 'Keep');
    const hold = before.find((d: { drive_name: string }) => d.drive_name === 'Hold');
    await server.api.ok('/v2/file/create', { drive_id: keep.drive_id, parent_file_id: 'root', name: 'precious', type: 'folder' }, token);

    // reclaimPolicy Delete: taking the broken manifest for a removed Drive would delete the drive and its files.
    fs.writeFileSync(path.join(work, 'keep.yaml'), KEEP.replace('totalSize: 1Gi', 'totalSize: lots'));
    fs.writeFileSync(path.join(work, 'hold.yaml'), HOLD.replace('  name: Hold\n', '  name: Hold\n  quotaa: 1Gi\n'));
    const plan = await cli(runPlanCommand, '--detailed-exitcode');
    expect(plan.code).toBe(1);
    expect(plan.text).toMatch(/^! error {3}keep\.yaml Drive\/default\/keep: spec\.quota\.totalSize must match pattern/m);
    expect(plan.text).toContain('! error   hold.yaml Drive/default/hold: unknown field "spec.quotaa"');
    expect(plan.text).toContain('! deletes skipped: 2 manifests of the folder could not be read or are invalid, so no drive is planned for deletion or release');
    expect(plan.text).not.toMatch(/^- (delete|release)/m);
    expect(plan.lines.at(-1)).toBe('Plan: 0 to create, 0 to change, 0 to delete, 0 unchanged, 2 failed.');
    expect(plan.err).toBe('');

    const apply = await cli(runApplyCommand);
    expect(apply.code).toBe(1);
    expect(apply.text).not.toContain('Deleted');
    expect(apply.text).not.toContain('Retained');
    expect(apply.lines.at(-2)).toBe('! deletes skipped: 2 manifests of the folder could not be read or are invalid, so no drive is deleted or released (fix them first: a Drive that cannot be read is not a Drive removed)');
    expect(apply.lines.at(-1)).toBe('Apply complete: 0 created, 0 changed, 0 deleted or released, 0 unchanged, 2 failed.');
    expect(await filesIn(keep.drive_id)).toEqual(['precious']);
    const after = await drives();
    expect(after.find((d: { drive_id: string }) => d.drive_id === keep.drive_id).description).toContain('openpds.io/uid=local.default.keep');
    expect(after.find((d: { drive_id: string }) => d.drive_id === hold.drive_id).description).toContain('openpds.io/uid=local.default.hold');

    // A YAML error too: the file's Drive cannot even be named.
    fs.writeFileSync(path.join(work, 'keep.yaml'), `${KEEP}  broken: [unclosed\n`);
    fs.writeFileSync(path.join(work, 'hold.yaml'), HOLD);
    const unreadable = await cli(runApplyCommand);
    expect(unreadable.code).toBe(1);
    expect(unreadable.text).toMatch(/^! error {3}keep\.yaml: /m);
    expect(unreadable.text).toContain('no drive is deleted or released');
    expect(await filesIn(keep.drive_id)).toEqual(['precious']);

    // Fixed: the same drives, still the Drives' own (not adopted), nothing to do.
    fs.writeFileSync(path.join(work, 'keep.yaml'), KEEP);
    const fixed = await cli(runPlanCommand, '--detailed-exitcode');
    expect(fixed).toMatchObject({ code: 0, text: expect.stringContaining('Plan: 0 to create, 0 to change, 0 to delete, 2 unchanged.') });
    expect(fixed.text).not.toContain('adopt');
  });

  it("a Domain the CRD's CEL rules refuse (a 49-character name) is an error in the plan with the CRD's message, as kubectl prints it", async () => {
    const folder = path.join(work, 'long-name');
    const long = 'a'.repeat(49);
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'domain.yaml'), DOMAIN);
    fs.writeFileSync(path.join(folder, 'long.yaml'), DOMAIN.replace('{name: d}', `{name: ${long}}`));
    fs.writeFileSync(path.join(folder, 'keep.yaml'), KEEP);
    const out: string[] = [];
    expect(await runPlanCommand(['-f', folder, '--endpoint', server.url], { out: (l) => out.push(l), err: (l) => out.push(l), env: { OPENPDS_ADMIN_PASSWORD: ADMIN_PASSWORD } })).toBe(1);
    expect(out).toContain(`! error   long.yaml Domain/default/${long}: <nil>: Invalid value: "object": metadata.name must be at most 48 characters: the Service <name>-worker-metrics built from it must fit a 63-character DNS label`);
  });

  it('with a bare --endpoint, a Drive whose Domain the folder does not declare is a DomainNotFound error, not a Drive of that domain', async () => {
    // The walkthrough's case: a Drive names a Domain the folder does not declare.
    const typo = path.join(work, 'typo');
    fs.mkdirSync(typo);
    fs.writeFileSync(path.join(typo, 'domain.yaml'), DOMAIN);
    fs.writeFileSync(path.join(typo, 'keep.yaml'), KEEP);
    fs.writeFileSync(path.join(typo, 'hold.yaml'), HOLD.replace('domainRef: {name: d}', 'domainRef: {name: elsewhere}'));
    const out: string[] = [];
    expect(await runPlanCommand(['-f', typo, '--endpoint', server.url], { out: (l) => out.push(l), err: (l) => out.push(l), env: { OPENPDS_ADMIN_PASSWORD: ADMIN_PASSWORD } })).toBe(1);
    expect(out).toContain(`! error   Drive default/hold: DomainNotFound: Domain default/elsewhere is not declared in the folder (it declares default/d), and --endpoint ${server.url} stands for a Domain of the folder; fix the domainRef, or give --endpoint elsewhere=URL`);
    expect(out.at(-1)).toBe('Plan: 0 to create, 0 to change, 0 to delete, 1 unchanged, 1 failed.');

    // A folder of Drives only (the Domain runs elsewhere): the URL is the one Domain they reference, as --help says.
    const drivesOnly = path.join(work, 'drives-only');
    fs.mkdirSync(drivesOnly);
    fs.writeFileSync(path.join(drivesOnly, 'hold.yaml'), HOLD);
    fs.writeFileSync(path.join(drivesOnly, 'keep.yaml'), KEEP);
    const lines: string[] = [];
    expect(await runPlanCommand(['-f', drivesOnly, '--endpoint', server.url], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: { OPENPDS_ADMIN_PASSWORD: ADMIN_PASSWORD } })).toBe(0);
    expect(lines.join('\n')).toContain('Plan: 0 to create, 0 to change, 0 to delete, 2 unchanged.');
    const help: string[] = [];
    await runPlanCommand(['--help'], { out: (l) => help.push(l) });
    expect(help.join('\n')).toContain('when DIR holds Drives only, the URL is the Domain they reference');
    expect(help.join('\n')).toContain('and while there is one,\nor while a Drive fails, no drive is planned for deletion or release.');
    expect(help.join('\n')).toContain('A Drive renamed (metadata.name)\nkeeps the drive of its set with the same owner and drive name (~ move, files kept)');
    expect(help.join('\n')).toContain('the drives of that set whose Drives DIR no longer holds\nare planned for deletion (reclaimPolicy Delete) or release (Retain: the drive and its files are kept);\nwithout it nothing is planned for deletion or release, and drives other folders applied are never touched.');
    expect(help.join('\n')).toContain('  --set                the apply set to prune (same name rule as for a cluster); no default');
  });
});

describe('openpds plan / apply of two folders to one domain and namespace', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let token: string;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-plan-folders-'));
  const [folderA, folderB] = [path.join(work, 'a'), path.join(work, 'b')];
  const DOMAIN = 'apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {storage: {volume: {size: 1Gi}}}\n';
  const deleteDrive = (name: string, title: string) => drive(name, `  owner: {kind: Group, name: team}\n  name: ${title}\n  quota: {totalSize: 1Gi}\n  reclaimPolicy: Delete\n`);

  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
    token = (await server.api.login('admin', ADMIN_PASSWORD)).access_token;
    for (const [folder, name, title] of [[folderA, 'a-files', 'A files'], [folderB, 'b-files', 'B files']] as const) {
      fs.mkdirSync(folder);
      fs.writeFileSync(path.join(folder, 'domain.yaml'), DOMAIN);
      fs.writeFileSync(path.join(folder, 'drive.yaml'), deleteDrive(name, title));
    }
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function cli(command: typeof runPlanCommand, folder: string, ...extra: string[]) {
    const lines: string[] = [];
    const code = await command(['-f', folder, '--endpoint', server.url, ...extra], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: { OPENPDS_ADMIN_PASSWORD: ADMIN_PASSWORD } });
    return { code, text: lines.join('\n') };
  }
  const byName = async (name: string) => (await server.api.ok('/v2/drive/list', {}, token)).items.find((d: { drive_name: string }) => d.drive_name === name);
  const filesIn = async (driveId: string) => (await server.api.ok('/v2/file/list', { drive_id: driveId, parent_file_id: 'root' }, token)).items.map((f: { name: string }) => f.name);

  it('without --set, neither folder deletes the other\'s drives, nor its own removed ones; with --set each prunes only its own set', async () => {
    expect((await cli(runApplyCommand, folderA)).code).toBe(0);
    const a = await byName('A files');
    await server.api.ok('/v2/file/create', { drive_id: a.drive_id, parent_file_id: 'root', name: 'precious', type: 'folder' }, token);

    // B sees A's drive (same domain, same namespace): not its business, not even a line in its plan.
    const planB = await cli(runPlanCommand, folderB);
    expect(planB.text).toContain('+ create  Drive default/b-files: "B files", owner group team, quota 1Gi');
    expect(planB.text).toContain('Plan: 1 to create, 0 to change, 0 to delete, 0 unchanged.');
    expect(planB.text).not.toContain('a-files');
    const applyB = await cli(runApplyCommand, folderB);
    expect(applyB).toMatchObject({ code: 0, text: expect.stringContaining('Apply complete: 1 created, 0 changed, 0 deleted or released, 0 unchanged.') });
    expect(applyB.text).not.toContain('a-files');
    expect(await byName('A files')).toMatchObject({ drive_id: a.drive_id });
    expect(await filesIn(a.drive_id)).toEqual(['precious']);

    // B's own Drive removed, no --set: nothing is deleted, and the plan says why.
    const b = await byName('B files');
    fs.rmSync(path.join(folderB, 'drive.yaml'));
    const unset = await cli(runPlanCommand, folderB, '--detailed-exitcode');
    expect(unset.code).toBe(0);
    expect(unset.text).toContain('  note: nothing is planned for deletion or release without --set NAME');
    expect(unset.text).toContain('Plan: 0 to create, 0 to change, 0 to delete, 0 unchanged.');
    expect((await cli(runApplyCommand, folderB)).text).toContain('Apply complete: 0 created, 0 changed, 0 deleted or released, 0 unchanged.');
    expect(await byName('B files')).toMatchObject({ drive_id: b.drive_id });
    expect(await byName('A files')).toMatchObject({ drive_id: a.drive_id });

    // Each folder in its own set: the drives join them (an update of the marker), nothing else moves.
    fs.writeFileSync(path.join(folderB, 'drive.yaml'), deleteDrive('b-files', 'B files'));
    expect((await cli(runApplyCommand, folderA, '--set', 'a')).code).toBe(0);
    const joinB = await cli(runPlanCommand, folderB, '--set', 'b');
    expect(joinB.text).toContain(`~ update  Drive default/b-files (${b.drive_id}): apply set (none) -> b`);
    expect(joinB.text).toContain('Plan: 0 to create, 1 to change, 0 to delete, 0 unchanged.');
    expect((await cli(runApplyCommand, folderB, '--set', 'b')).code).toBe(0);
    expect((await byName('A files')).description).toMatch(/openpds\.io\/uid=local\.default\.a-files; reclaimPolicy=Delete; set=a$/);
    expect((await byName('B files')).description).toMatch(/openpds\.io\/uid=local\.default\.b-files; reclaimPolicy=Delete; set=b$/);

    // B's Drive removed again: set b prunes B's drive, and set a's drive is no member of b.
    fs.rmSync(path.join(folderB, 'drive.yaml'));
    const prune = await cli(runPlanCommand, folderB, '--set', 'b');
    expect(prune.text).toContain(`- delete  Drive default/b-files (${b.drive_id}): reclaimPolicy Delete, the drive and its files are deleted`);
    expect(prune.text).not.toContain('a-files');
    expect(prune.text).toContain('Plan: 0 to create, 0 to change, 1 to delete, 0 unchanged.');
    expect((await cli(runApplyCommand, folderB, '--set', 'b')).text).toContain('Apply complete: 0 created, 0 changed, 1 deleted or released, 0 unchanged.');
    expect((await server.api.call('/v2/drive/get', { drive_id: b.drive_id }, token)).status).toBe(404);
    expect(await byName('A files')).toMatchObject({ drive_id: a.drive_id });
    expect(await filesIn(a.drive_id)).toEqual(['precious']);
    // And A's own set has nothing to prune: its Drive is still in its folder.
    expect((await cli(runPlanCommand, folderA, '--set', 'a', '--detailed-exitcode'))).toMatchObject({ code: 0, text: expect.stringContaining('Plan: 0 to create, 0 to change, 0 to delete, 1 unchanged.') });
  });
});

// The red-team findings: every way a folder can hide a Drive, move it or fail it must keep the drive and
// its files (reclaimPolicy Delete throughout, applied with --set: the worst case for a prune).
describe('openpds plan / apply --set never takes a hidden, failed or moved Drive for a removed one', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let token: string;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-plan-safety-'));
  const DOMAIN = 'apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {storage: {volume: {size: 1Gi}}}\n';
  const FINANCE = drive('finance', '  owner: {kind: Group, name: finance}\n  name: Finance\n  quota: {totalSize: 1Gi}\n  reclaimPolicy: Delete\n');

  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
    token = (await server.api.login('admin', ADMIN_PASSWORD)).access_token;
    for (const user of ['alice', 'bob']) await server.api.ok('/v2/user/create', { user_name: user, password: `${user}-password` }, token);
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function cli(command: typeof runPlanCommand, folder: string, set: string, ...extra: string[]) {
    const out: string[] = [];
    const code = await command(['-f', folder, '--endpoint', server.url, '--set', set, ...extra], { out: (l) => out.push(l), err: (l) => out.push(l), env: { OPENPDS_ADMIN_PASSWORD: ADMIN_PASSWORD } });
    return { code, lines: out, text: out.join('\n') };
  }
  const allDrives = async () => (await server.api.ok('/v2/drive/list', {}, token)).items as { drive_id: string; drive_name: string; owner: string; description: string }[];
  const filesIn = async (driveId: string) => (await server.api.ok('/v2/file/list', { drive_id: driveId, parent_file_id: 'root' }, token)).items.map((f: { name: string }) => f.name);
  /** A folder with the Domain and `files`, applied in `set`; returns the drive of `driveName` with a file put in it. */
  async function appliedFolder(name: string, set: string, files: Record<string, string>, driveName: string) {
    const folder = path.join(work, name);
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'domain.yaml'), DOMAIN);
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(folder, file), text);
    expect((await cli(runApplyCommand, folder, set)).code).toBe(0);
    const made = (await allDrives()).find((d) => d.drive_name === driveName && d.description.includes(`set=${set}`))!;
    await server.api.ok('/v2/file/create', { drive_id: made.drive_id, parent_file_id: 'root', name: 'precious', type: 'folder' }, token);
    return { folder, drive: made };
  }

  it('a Drive the loader cannot take as one (unknown openpds.io version, empty file) is an error that suspends the prune; List and symlinks are read', async () => {
    const { folder, drive: finance } = await appliedFolder('hidden', 'hidden', { 'finance.yaml': FINANCE }, 'Finance');
    const file = path.join(folder, 'finance.yaml');

    fs.writeFileSync(file, FINANCE.replace('openpds.io/v1alpha1', 'openpds.io/v1beta1'));
    const beta = await cli(runPlanCommand, folder, 'hidden');
    expect(beta.code).toBe(1);
    expect(beta.text).toContain('! error   finance.yaml Drive/default/finance: apiVersion openpds.io/v1beta1 is not served (openpds.io serves openpds.io/v1alpha1)');
    expect(beta.text).toContain('! deletes skipped: 1 manifest of the folder could not be read or is invalid, so no drive is planned for deletion or release');
    expect(beta.text).not.toMatch(/^- (delete|release)/m);
    expect((await cli(runApplyCommand, folder, 'hidden')).code).toBe(1);
    expect(await filesIn(finance.drive_id)).toEqual(['precious']);

    fs.writeFileSync(file, '');
    const empty = await cli(runApplyCommand, folder, 'hidden');
    expect(empty.code).toBe(1);
    expect(empty.text).toContain('! error   finance.yaml: no manifests (an empty file is not taken as its Drives removed: delete the file to remove them)');
    expect(empty.text).toContain('so no drive is deleted or released');
    expect(await filesIn(finance.drive_id)).toEqual(['precious']);

    // What `kubectl get drives -o yaml` writes: a List. Its item is the Drive, unchanged.
    fs.writeFileSync(file, `apiVersion: v1\nkind: List\nitems:\n- ${FINANCE.trimEnd().replaceAll('\n', '\n  ')}\n`);
    expect(await cli(runPlanCommand, folder, 'hidden', '--detailed-exitcode')).toMatchObject({ code: 0, text: expect.stringContaining('Plan: 0 to create, 0 to change, 0 to delete, 1 unchanged.') });

    // A symlink to the manifest, kept elsewhere: read like kubectl reads it.
    const kept = path.join(work, 'kept-finance.yaml');
    fs.writeFileSync(kept, FINANCE);
    fs.rmSync(file);
    fs.symlinkSync(kept, file);
    expect(await cli(runApplyCommand, folder, 'hidden')).toMatchObject({ code: 0, text: expect.stringContaining('Apply complete: 0 created, 0 changed, 0 deleted or released, 1 unchanged.') });
    expect(await filesIn(finance.drive_id)).toEqual(['precious']);
  });

  it('a Drive that fails (moved to a namespace without its Domain) suspends every delete and release; apply exits 1 and keeps the drive', async () => {
    // Its own drive (another metadata.name than the test above, which applied default/finance).
    const LEDGER = FINANCE.replace('name: finance\n', 'name: ledger\n').replace('name: Finance', 'name: Ledger');
    const { folder, drive: ledger } = await appliedFolder('failed', 'failed', { 'ledger.yaml': LEDGER }, 'Ledger');
    fs.writeFileSync(path.join(folder, 'ledger.yaml'), LEDGER.replace('  name: ledger\n', '  name: ledger\n  namespace: fin\n'));
    const plan = await cli(runPlanCommand, folder, 'failed');
    expect(plan.code).toBe(1);
    expect(plan.text).toContain('! error   Drive fin/ledger: DomainNotFound: Domain fin/d is not declared in the folder');
    expect(plan.text).toContain('! deletes skipped: 1 Drive of the folder failed, so no drive is planned for deletion or release (fix it first: a Drive that failed may be one that moved)');
    expect(plan.text).not.toMatch(/^- (delete|release)/m);
    expect(plan.lines.at(-1)).toBe('Plan: 0 to create, 0 to change, 0 to delete, 0 unchanged, 1 failed.');
    const apply = await cli(runApplyCommand, folder, 'failed');
    expect(apply.code).toBe(1);
    expect(apply.text).toContain('! deletes skipped: 1 Drive of the folder failed, so no drive is deleted or released');
    expect(apply.lines.at(-1)).toBe('Apply complete: 0 created, 0 changed, 0 deleted or released, 0 unchanged, 1 failed.');
    expect(await filesIn(ledger.drive_id)).toEqual(['precious']);
    expect((await allDrives()).find((d) => d.drive_id === ledger.drive_id)!.description).toBe('openpds.io/uid=local.default.ledger; reclaimPolicy=Delete; set=failed');
  });

  it('a renamed Drive (same owner and drive name) is a move: the drive and its files are kept under the new name, nothing is created or deleted', async () => {
    const OPS = drive('ops', '  owner: {kind: Group, name: opsgroup}\n  name: Ops drive\n  quota: {totalSize: 1Gi}\n  reclaimPolicy: Delete\n');
    const { folder, drive: ops } = await appliedFolder('renamed', 'renamed', { 'ops.yaml': OPS }, 'Ops drive');
    // Renamed, and (as people do in the same edit) a larger quota and Retain.
    fs.writeFileSync(path.join(folder, 'ops.yaml'), OPS.replace('name: ops\n', 'name: ops-renamed\n').replace('1Gi', '2Gi').replace('Delete', 'Retain'));
    const plan = await cli(runPlanCommand, folder, 'renamed', '--detailed-exitcode');
    expect(plan.code).toBe(2);
    expect(plan.text).toContain(`~ move    Drive default/ops -> default/ops-renamed (drive ${ops.drive_id}, files kept): total_size 1Gi -> 2Gi`);
    expect(plan.text).not.toMatch(/^[+-] /m);
    expect(plan.lines.at(-1)).toBe('Plan: 0 to create, 1 to change, 0 to delete, 0 unchanged.');

    const apply = await cli(runApplyCommand, folder, 'renamed');
    expect(apply.code).toBe(0);
    expect(apply.text).toContain(`Drive default/ops-renamed: Normal Moved: took over drive ${ops.drive_id} of Drive default/ops (same owner and drive name): its files are kept`);
    expect(apply.lines.at(-1)).toBe('Apply complete: 0 created, 1 changed, 0 deleted or released, 0 unchanged.');
    const opsDrives = (await allDrives()).filter((d) => d.drive_name === 'Ops drive');
    expect(opsDrives).toEqual([expect.objectContaining({ drive_id: ops.drive_id, total_size: 2 * GiB, description: 'openpds.io/uid=local.default.ops-renamed; reclaimPolicy=Retain; set=renamed' })]);
    expect(await filesIn(ops.drive_id)).toEqual(['precious']);
    expect(await cli(runPlanCommand, folder, 'renamed', '--detailed-exitcode')).toMatchObject({ code: 0, text: expect.stringContaining('Plan: 0 to create, 0 to change, 0 to delete, 1 unchanged.') });
  });

  it('a move that cannot be told apart (two Drives for one lost drive) is an error, never a guess; a move goes ahead while another manifest is invalid', async () => {
    const TWIN = drive('twin', '  owner: {kind: Group, name: twins}\n  name: Twin\n  quota: {totalSize: 1Gi}\n  reclaimPolicy: Delete\n');
    const { folder, drive: twin } = await appliedFolder('ambiguous', 'ambiguous', { 'twin.yaml': TWIN }, 'Twin');
    fs.writeFileSync(path.join(folder, 'twin.yaml'), [TWIN.replace('name: twin\n', 'name: twin-a\n'), TWIN.replace('name: twin\n', 'name: twin-b\n')].join('---\n'));
    const plan = await cli(runPlanCommand, folder, 'ambiguous');
    expect(plan.code).toBe(1);
    const why = `ambiguous move: Drives default/twin-a, default/twin-b and lost drives default/twin (${twin.drive_id}) of set ambiguous have the same owner and drive name; give each a distinct spec.name, or remove one`;
    expect(plan.text).toContain(`! error   Drive default/twin-a: ${why}`);
    expect(plan.text).toContain(`! error   Drive default/twin-b: ${why}`);
    expect(plan.text).toContain('! deletes skipped: 2 Drives of the folder failed');
    expect(plan.lines.at(-1)).toBe('Plan: 0 to create, 0 to change, 0 to delete, 0 unchanged, 2 failed.');
    expect((await cli(runApplyCommand, folder, 'ambiguous')).code).toBe(1);
    expect((await allDrives()).filter((d) => d.drive_name === 'Twin').map((d) => d.drive_id)).toEqual([twin.drive_id]);

    // One rename, and an unrelated manifest broken in the same edit: the move is made (no empty second
    // drive that a later, fixed apply would keep while pruning the one with the files), the run fails.
    fs.writeFileSync(path.join(folder, 'twin.yaml'), TWIN.replace('name: twin\n', 'name: twin-a\n'));
    fs.writeFileSync(path.join(folder, 'broken.yaml'), TWIN.replace('name: twin\n', 'name: other\n').replace('1Gi', 'lots'));
    const apply = await cli(runApplyCommand, folder, 'ambiguous');
    expect(apply.code).toBe(1);
    expect(apply.text).toContain(`Drive default/twin-a: Normal Moved: took over drive ${twin.drive_id} of Drive default/twin`);
    expect(apply.lines.at(-1)).toBe('Apply complete: 0 created, 1 changed, 0 deleted or released, 0 unchanged, 1 failed.');
    expect((await allDrives()).filter((d) => d.drive_name === 'Twin')).toEqual([expect.objectContaining({ drive_id: twin.drive_id, description: 'openpds.io/uid=local.default.twin-a; reclaimPolicy=Delete; set=ambiguous' })]);
    expect(await filesIn(twin.drive_id)).toEqual(['precious']);
  });

  it('an owner change is a replacement: the old owner\'s drive is released with its files (even with Delete), a new one created; a later removal deletes only the new one', async () => {
    const PHOTOS = drive('photos', '  owner: {kind: User, name: alice}\n  name: Photos\n  quota: {totalSize: 1Gi}\n  reclaimPolicy: Delete\n');
    const { folder, drive: alices } = await appliedFolder('owner', 'owner', { 'photos.yaml': PHOTOS }, 'Photos');
    fs.writeFileSync(path.join(folder, 'photos.yaml'), PHOTOS.replace('name: alice', 'name: bob'));
    const plan = await cli(runPlanCommand, folder, 'owner');
    expect(plan.code).toBe(0);
    expect(plan.text).toContain(`-/+ replace Drive default/photos: owner user alice -> user bob; drive ${alices.drive_id} of user alice is released whatever its reclaimPolicy (Delete): the drive and its files are kept for user alice, and a new drive "Photos" is created for user bob, quota 1Gi`);
    expect(plan.text).not.toContain('+ create');
    expect(plan.lines.at(-1)).toBe('Plan: 1 to create, 0 to change, 1 to delete, 0 unchanged.');

    const apply = await cli(runApplyCommand, folder, 'owner');
    expect(apply.code).toBe(0);
    expect(apply.lines.at(-1)).toBe('Apply complete: 1 created, 0 changed, 1 deleted or released, 0 unchanged.');
    const photos = (await allDrives()).filter((d) => d.drive_name === 'Photos');
    expect(photos).toHaveLength(2);
    expect(photos.find((d) => d.drive_id === alices.drive_id)!.description).toBe('');
    const bobs = photos.find((d) => d.drive_id !== alices.drive_id)!;
    expect(bobs.description).toBe('openpds.io/uid=local.default.photos; reclaimPolicy=Delete; set=owner');
    expect(await filesIn(alices.drive_id)).toEqual(['precious']);

    // Removed later: one delete, bob's; alice's drive is no Drive's any more.
    fs.rmSync(path.join(folder, 'photos.yaml'));
    const removal = await cli(runPlanCommand, folder, 'owner');
    expect(removal.text).toContain(`- delete  Drive default/photos (${bobs.drive_id}): reclaimPolicy Delete, the drive and its files are deleted`);
    expect(removal.text).not.toContain(alices.drive_id);
    expect(removal.lines.at(-1)).toBe('Plan: 0 to create, 0 to change, 1 to delete, 0 unchanged.');
  });

  it('the same Drive in two files is an error naming both: neither is applied, and nothing is pruned', async () => {
    const SHARED = drive('shared', '  owner: {kind: User, name: alice}\n  name: Shared\n  quota: {totalSize: 1Gi}\n  reclaimPolicy: Delete\n');
    const { folder, drive: shared } = await appliedFolder('duplicate', 'duplicate', { 'a.yaml': SHARED }, 'Shared');
    fs.writeFileSync(path.join(folder, 'b.yaml'), SHARED.replace('name: alice', 'name: bob'));
    const plan = await cli(runPlanCommand, folder, 'duplicate');
    expect(plan.code).toBe(1);
    expect(plan.text).toContain('! error   b.yaml Drive/default/shared: also defined in a.yaml');
    expect(plan.text).toContain('! error   a.yaml Drive/default/shared: also defined in b.yaml');
    expect(plan.text).toContain('! deletes skipped: 2 manifests of the folder could not be read or are invalid');
    expect(plan.text).not.toMatch(/^[+~-]/m);
    expect(plan.lines.at(-1)).toBe('Plan: 0 to create, 0 to change, 0 to delete, 0 unchanged, 2 failed.');
    expect((await cli(runApplyCommand, folder, 'duplicate')).code).toBe(1);
    expect((await allDrives()).filter((d) => d.drive_name === 'Shared').map((d) => d.drive_id)).toEqual([shared.drive_id]);
    expect(await filesIn(shared.drive_id)).toEqual(['precious']);
  });
});
