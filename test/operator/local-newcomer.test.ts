// Local mode as a newcomer walks the README: `up` says how to log in (where the password is, never the
// password); `plan`/`apply --endpoint` aimed at a Domain a running `up` serves warn, before the plan, that
// up puts its own folder's manifests back (and it does), and a password that Domain refuses is said once,
// with the file that holds the right one.
import fs from 'node:fs';
import path from 'node:path';
import { runApplyCommand, runPlanCommand } from '../../operator/src/local/plan-command';
import { adminPasswordFile } from '../../operator/src/local/state-dir';
import { upHarness, waitFor } from './support/up-harness';

const GiB = 1024 ** 3;
const DRIVE = (quota: string) => `apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: team}\nspec: {domainRef: {name: d}, owner: {kind: Group, name: team}, name: Team drive, quota: {totalSize: ${quota}}}\n`;

describe('openpds up, then plan/apply --endpoint at the Domain it serves', () => {
  const h = upHarness('openpds-local-newcomer-');
  const other = path.join(h.work, 'other');
  const passwordFile = path.join(h.state, 'up/default/d/admin-password');
  let up: ReturnType<typeof h.start> | undefined;
  let url = '';

  beforeAll(async () => {
    h.writeFolder({ 'drive.yaml': DRIVE('1Gi') });
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'drive.yaml'), DRIVE('2Gi'));
    up = h.start();
    await waitFor('the Drive Ready', () => h.ready('default/team'));
    url = (await h.logged((l) => l.startsWith('Domain default/d: data plane listening on '))).split(' on ')[1]!;
  });
  afterAll(async () => {
    up?.stop();
    await up?.exited;
  });

  async function cli(command: typeof runPlanCommand, dir: string, password: string) {
    const lines: string[] = [];
    const code = await command(['-f', dir, '--endpoint', url, '--password', password], { out: (l) => lines.push(l), err: (l) => lines.push(`ERR ${l}`), upStateDir: h.state });
    return { code, lines };
  }

  it('up prints where the admin password is, right under the URL, never the password', () => {
    const listening = h.lines.indexOf(`Domain default/d: data plane listening on ${url}`);
    expect(h.lines[listening + 1]).toBe(`Domain default/d: log in at ${url} as admin, with the password in ${passwordFile}`);
    expect(h.lines.join('\n')).not.toContain(fs.readFileSync(passwordFile, 'utf8').trim());
    // In the state dir's own terms: the default state dir gives the path the README names.
    expect(adminPasswordFile('.openpds', 'default', 'quickstart')).toBe('.openpds/up/default/quickstart/admin-password');
  });

  it('apply from another folder warns first that up corrects it back, which up then does', async () => {
    const password = fs.readFileSync(passwordFile, 'utf8').trim();
    const seen = h.lines.length;
    const apply = await cli(runApplyCommand, other, password);
    expect(apply.code).toBe(0);
    const warning = `! warning Domain default/d at ${url} is run by openpds up (pid ${process.pid}) from ${h.dir}: at its next pass (every --resync, 10 s by default), up corrects the drives of that folder's Drives back to its manifests (DriftDetected ... correcting), undoing what this apply changes in them`;
    expect(apply.lines[0]).toContain(warning);
    expect(apply.lines[0]).toContain(`Edit ${h.dir} instead (up applies it; openpds plan -f ${h.dir} --state ${h.state} shows what it will do), or stop that up and plan/apply -f ${h.dir} --state ${h.state}`);
    expect(apply.lines.at(-1)).toMatch(/^Apply complete: 0 created, 1 changed/);
    // What the warning says: up's drift correction puts its own quota back.
    const { api, token } = await h.domainApi();
    const id = h.driveStatus('default/team').driveId as string;
    await waitFor('up to put 1Gi back', async () => ((await api.ok('/v2/drive/get', { drive_id: id }, token)).total_size === GiB ? true : undefined));
    await h.logged((l) => l.startsWith('Drive default/team: Warning DriftDetected') && l.endsWith('; correcting'), seen);

    const plan = await cli(runPlanCommand, h.dir, password);
    expect(plan.code).toBe(0);
    expect(plan.lines[0]).toBe(`! warning Domain default/d at ${url} is run by openpds up (pid ${process.pid}) from ${h.dir}, this folder: up applies it itself on every change and corrects drift back to it, so this plan is not needed (openpds plan -f ${h.dir} --state ${h.state} shows what up does)`);
  });

  it('a refused password is said once, with the file of the one that logs in (not the password)', async () => {
    const wrong = await cli(runPlanCommand, other, 'wrong-password');
    expect(wrong.code).toBe(1);
    expect(wrong.lines.filter((l) => l.includes('AdminCredentialsRejected'))).toEqual([expect.stringMatching(/^! error {3}Drive default\/team: AdminCredentialsRejected: /)]);
    const note = wrong.lines.indexOf(`  note: ${url} is Domain default/d of the openpds up running from ${h.dir}: its superadmin is admin and its password is in ${passwordFile} (--password "$(cat ${passwordFile})")`);
    expect(note).toBe(wrong.lines.findIndex((l) => l.includes('AdminCredentialsRejected')) + 1);
    expect(wrong.lines.join('\n')).not.toContain(fs.readFileSync(passwordFile, 'utf8').trim());
  });

  it('no warning for a URL up does not serve, nor once up has stopped', async () => {
    const lines: string[] = [];
    await runPlanCommand(['-f', other, '--endpoint', 'http://127.0.0.1:1', '--password', 'x'], { out: (l) => lines.push(l), err: (l) => lines.push(l), upStateDir: h.state });
    expect(lines.filter((l) => l.startsWith('! warning'))).toEqual([]);
    up!.stop();
    expect(await up!.exited).toBe(0);
    up = undefined;
    const after = await cli(runPlanCommand, other, 'x');
    expect(after.code).toBe(1); // nothing answers there now
    expect(after.lines.filter((l) => l.startsWith('! warning'))).toEqual([]);
  });
});
