// `openpds plan` and `openpds apply` against a real data plane: plan mutates nothing and says what apply
// then does; edits and hand-made changes show as updates; Drives that leave the folder are released
// (Retain) or deleted (Delete); a bad target is an error, not a crash.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runApplyCommand, runPlanCommand } from '../../operator/src/local/plan-command';
import { domainDir } from '../../operator/src/local/state-dir';
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

  it('Drives removed from the folder: Retain is released (kept), Delete is deleted', async () => {
    const team = await byName('Team drive');
    const alice = await byName('alice-files');
    fs.rmSync(path.join(dir, 'team.yaml'));
    fs.rmSync(path.join(dir, 'alice.yaml'));
    // The Domain stays in the folder: it is what puts its drives in scope once no Drive names it.
    fs.writeFileSync(path.join(dir, 'domain.yaml'), 'apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {storage: {volume: {size: 1Gi}}}\n');

    const plan = await cli(runPlanCommand);
    expect(plan.text).toContain(`- release Drive default/team (${team.drive_id}): reclaimPolicy Retain, the drive and its files are kept`);
    expect(plan.text).toContain(`- delete  Drive default/alice-files (${alice.drive_id}): reclaimPolicy Delete, the drive and its files are deleted`);
    expect(plan.text).toContain('Plan: 0 to create, 0 to change, 2 to delete, 0 unchanged.');

    expect((await cli(runApplyCommand)).code).toBe(0);
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
    const code = await runPlanCommand(['-f', dir, '--state', state], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
    expect(code).toBe(0);
    // The retained drive has no marker any more: the manifest adopts it again (owner and name match).
    expect(lines.join('\n')).toMatch(/~ adopt   Drive default\/team \(\w+\): an existing drive with this owner and name; total_size 7Gi -> 10Gi/);

    const wrong = await cli(runPlanCommand, '--password', 'wrong-password');
    expect(wrong).toMatchObject({ code: 1, text: expect.stringContaining('! error   Drive default/team: AdminCredentialsRejected') });
    const missing: string[] = [];
    expect(await runPlanCommand(['-f', dir, '--state', path.join(work, 'nothing')], { out: (l) => missing.push(l), err: (l) => missing.push(l) })).toBe(1);
    expect(missing.join('\n')).toContain('DomainNotFound');
    expect(await runPlanCommand(['-f', dir], { err: () => {} })).toBe(2);
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
    const bare = await cli(runPlanCommand, '--endpoint', a.url);
    expect(bare.code).toBe(2);
    expect(bare.text).toContain(`--endpoint ${a.url} is ambiguous: the Drives reference Domains default/a, default/b; give --endpoint NAME=URL for each`);
    expect(await driveNames(a)).toEqual(['drive-a']);

    expect((await cli(runPlanCommand, '--endpoint', 'a=ftp://example.com')).text).toContain('--endpoint a=ftp://example.com: expected URL or NAME=URL with an http(s) URL');
    expect((await cli(runPlanCommand, '--endpoint', a.url, '--endpoint', `b=${b.url}`)).text).toContain('give one --endpoint URL, or one --endpoint NAME=URL per Domain');
    expect((await cli(runPlanCommand, '--endpoint', `a=${a.url}`, '--kubeconfig', 'x')).code).toBe(2);

    // One Domain only: the bare URL keeps working.
    fs.writeFileSync(path.join(work, 'drives.yaml'), teamDrive('drive-a', 'a'));
    expect(await cli(runPlanCommand, '--endpoint', a.url)).toMatchObject({ code: 0, text: expect.stringContaining('Plan: 0 to create, 0 to change, 0 to delete, 1 unchanged.') });
  });
});
