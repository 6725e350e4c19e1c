/** `openpds plan/apply --set` over a folder with no manifests left (`--allow-empty`): which Domains it prunes on. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AdminApiError } from '../admin-client/admin-api-error';
import type { AdminClient } from '../admin-client/admin-client';
import type { TargetOptions } from './domain-targets';
import { runApplyCommand, runPlanCommand } from './plan-command';
import { fakeDrivesClient } from './testing/fake-drives-client';

/** One data plane at http://quickstart.invalid holding a drive apply set demo made, whose Drive left the folder. */
function fakeDataPlane() {
  const { client, deleted } = fakeDrivesClient([
    { drive_id: 'drv-team', drive_name: 'Team', owner: 'team', owner_type: 'group', description: 'openpds.io/uid=local.default.team; reclaimPolicy=Delete; set=demo', default: false },
  ]);
  const down = {
    async *listAllDrives() {
      throw new Error('connect ECONNREFUSED');
    },
  } as unknown as AdminClient;
  // Routed as createDomainTargets routes: by namespace/name, then by name alone.
  const createTargets = (options: TargetOptions) => ({
    access: (namespace: string, domain: string) => {
      const url = 'endpoints' in options ? (options.endpoints[`${namespace}/${domain}`] ?? options.endpoints[domain]) : undefined;
      if (url === 'http://down.invalid') return { state: 'Ready' as const, client: down };
      return url === 'http://quickstart.invalid' ? { state: 'Ready' as const, client } : { state: 'NotFound' as const, message: `no --endpoint for Domain ${namespace}/${domain}` };
    },
  });
  return { deleted, createTargets };
}

describe('an empty folder with --set and --allow-empty', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-plan-empty-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function cli(command: typeof runPlanCommand, plane: ReturnType<typeof fakeDataPlane>, ...extra: string[]) {
    const lines: string[] = [];
    const code = await command(['-f', dir, '--allow-empty', '--set', 'demo', ...extra], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: { OPENPDS_ADMIN_PASSWORD: 'unused' }, createTargets: plane.createTargets, upStateDir: path.join(dir, 'no-up') });
    return { code, lines };
  }

  it('with a bare --endpoint URL is refused: no Domain to prune the set on, exit 1, nothing deleted', async () => {
    const plane = fakeDataPlane();
    const error = '! error   --set demo: the folder names no Domain (it holds no Drive or Domain manifest), and a bare --endpoint http://quickstart.invalid cannot say which Domain\'s drives of set demo to prune, so none is; give --endpoint NAME=URL (or NAMESPACE/NAME=URL) for the Domain the set\'s drives are on';
    for (const detailed of [[], ['--detailed-exitcode']]) {
      const plan = await cli(runPlanCommand, plane, '--endpoint', 'http://quickstart.invalid', ...detailed);
      expect(plan).toEqual({ code: 1, lines: [error, 'Plan: 0 to create, 0 to change, 0 to delete, 0 unchanged, 1 failed.'] });
    }
    const apply = await cli(runApplyCommand, plane, '--endpoint', 'http://quickstart.invalid');
    expect(apply).toEqual({ code: 1, lines: [error, 'Apply complete: 0 created, 0 changed, 0 deleted or released, 0 unchanged, 1 failed.'] });
    expect(plane.deleted).toEqual([]);
  });

  it('with --endpoint NAME=URL prunes the set\'s drives on that Domain (NAME alone: namespace default, as plan reads it)', async () => {
    for (const endpoint of ['quickstart=http://quickstart.invalid', 'default/quickstart=http://quickstart.invalid']) {
      const plane = fakeDataPlane();
      const plan = await cli(runPlanCommand, plane, '--endpoint', endpoint, '--detailed-exitcode');
      expect(plan.code).toBe(2);
      expect(plan.lines).toContain('- delete  Drive default/team (drv-team): reclaimPolicy Delete, the drive and its files are deleted');
      expect(plan.lines.at(-1)).toBe('Plan: 0 to create, 0 to change, 1 to delete, 0 unchanged.');
      expect(plane.deleted).toEqual([]);

      const apply = await cli(runApplyCommand, plane, '--endpoint', endpoint);
      expect(apply.code).toBe(0);
      expect(apply.lines.at(-1)).toBe('Apply complete: 0 created, 0 changed, 1 deleted or released, 0 unchanged.');
      expect(plane.deleted).toEqual(['drv-team']);
    }
    // A Domain of another namespace named on the command line is looked at there only: default's members stay.
    const plane = fakeDataPlane();
    const other = await cli(runPlanCommand, plane, '--endpoint', 'ops/quickstart=http://quickstart.invalid');
    expect(other).toEqual({ code: 0, lines: ['Plan: 0 to create, 0 to change, 0 to delete, 0 unchanged.'] });
  });

  it('a Domain named by --endpoint NAME=URL whose drives cannot be listed is an error, not "0 to delete"; the other Domain is still pruned', async () => {
    const plane = fakeDataPlane();
    const args = ['--endpoint', 'quickstart=http://quickstart.invalid', '--endpoint', 'backup=http://down.invalid'];
    const plan = await cli(runPlanCommand, plane, ...args);
    expect(plan.code).toBe(1);
    expect(plan.lines).toContain('! error   Domain default/backup: its drives of set demo cannot be listed, so none is planned for deletion or release: connect ECONNREFUSED');
    expect(plan.lines.at(-1)).toBe('Plan: 0 to create, 0 to change, 1 to delete, 0 unchanged, 1 failed.');
    const apply = await cli(runApplyCommand, plane, ...args);
    expect(apply.code).toBe(1);
    expect(apply.lines).toContain('! error   Domain default/backup: its drives of set demo cannot be listed, so none is deleted or released: connect ECONNREFUSED');
    expect(plane.deleted).toEqual(['drv-team']);
  });

  it('with --state is refused too: only the folder\'s Domains are reached, and it names none', async () => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-plan-empty-state-'));
    try {
      for (const command of [runPlanCommand, runApplyCommand]) {
        const run = await cli(command, fakeDataPlane(), '--state', state);
        expect(run.code).toBe(1);
        expect(run.lines).toContain('! error   --set demo: the folder names no Domain (it holds no Drive or Domain manifest), so no Domain of the state dir is reached and no drive of set demo can be pruned; keep the Domain\'s manifest in the folder to prune its drives of the set');
      }
    } finally {
      fs.rmSync(state, { recursive: true, force: true });
    }
  });
});

test('credentials of a user who is no admin: the note says so, not that the password was refused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-plan-not-admin-'));
  try {
    fs.writeFileSync(path.join(dir, 'drive.yaml'), 'apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: team}\nspec: {domainRef: {name: quickstart}, owner: {kind: Group, name: team}}\n');
    const refused = new AdminApiError(403, 'Forbidden.NotAdmin', 'user "bob" logged in but is not an admin of the domain (role user)');
    const client = {
      async *listAllDrives() {
        throw refused;
      },
    } as unknown as AdminClient;
    const lines: string[] = [];
    const code = await runPlanCommand(['-f', dir, '--endpoint', 'quickstart=http://quickstart.invalid', '--username', 'bob'], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: { OPENPDS_ADMIN_PASSWORD: 'p' }, createTargets: () => ({ access: () => ({ state: 'Ready', client }) }), upStateDir: path.join(dir, 'no-up') });
    expect(code).toBe(1);
    expect(lines).toContain(`! error   Drive default/team: AdminCredentialsRejected: Forbidden.NotAdmin: ${refused.message}`);
    expect(lines).toContain("  note: http://quickstart.invalid took user bob's password, but bob is no admin of that Domain: give the Domain's superadmin with --username (default admin) and its password with --password (or $OPENPDS_ADMIN_PASSWORD)");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
