import type { Drive } from '../domain-types';
import type { DomainTargets } from './domain-targets';
import { formatUnmarked } from './plan-command';
import { failureOf, identityConflicts, planDrives, pruneScope } from './plan-drives';
import { fakeDrivesClient } from './testing/fake-drives-client';

const drive = (name: string, spec: Partial<Drive['spec']> = {}): Drive => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Drive',
  metadata: { name, namespace: 'default' },
  spec: { domainRef: { name: 'd' }, owner: { kind: 'Group', name: 'team' }, name: 'Team', ...spec },
});
const keyOf = (d: Drive) => `default/${d.metadata.name}`;

test('Drives with one namespace, domainRef, owner and drive name are each an error naming all of them', () => {
  const errors = identityConflicts([drive('a'), drive('b'), drive('c', { name: 'Other' }), drive('x', { owner: { kind: 'Group', name: 'other' } }), drive('y', { domainRef: { name: 'e' } })], keyOf);
  expect([...errors.keys()]).toEqual(['default/a', 'default/b']);
  expect(errors.get('default/a')).toBe('NameConflict: Drives default/a and default/b have the same domainRef (d), owner (Group team) and drive name "Team", so they would be one drive; give each a distinct spec.name, or remove one');
  // The drive name defaults to metadata.name, as the reconciler's does.
  expect([...identityConflicts([drive('Team'), drive('a')], keyOf).keys()]).toEqual(['default/Team', 'default/a']);
  expect(identityConflicts([drive('a', { name: undefined as never }), drive('b', { name: undefined as never })], keyOf).size).toBe(0);
});

test('plan and apply leave both alone: nothing is created, the others go ahead', async () => {
  const { client, created } = fakeDrivesClient();
  const targets: DomainTargets = { access: () => ({ state: 'Ready', client }) };
  const drives = [drive('a'), drive('b'), drive('c', { name: 'Other' })];
  for (const dryRun of [true, false]) {
    const plan = await planDrives({ drives, domains: [] }, targets, { dryRun, now: () => new Date('2030-01-01T00:00:00Z') });
    expect(plan.entries.map((e) => [e.key, failureOf(e)?.split(':')[0]])).toEqual([['default/a', 'NameConflict'], ['default/b', 'NameConflict'], ['default/c', undefined]]);
  }
  expect(created).toEqual(['Other']);
});

test('a create beside a drive of the same owner without an ownership marker is flagged (it may be this Drive\'s, renamed by hand)', async () => {
  const { client } = fakeDrivesClient([
    { drive_id: 'drv-hacked', drive_name: 'Hacked', owner: 'team', owner_type: 'group', description: 'replaced by hand', default: false },
    { drive_id: 'drv-other-group', drive_name: 'Else', owner: 'other', owner_type: 'group', description: '', default: false },
    { drive_id: 'drv-default', drive_name: 'team', owner: 'team', owner_type: 'group', description: '', default: true },
  ]);
  const targets: DomainTargets = { access: () => ({ state: 'Ready', client }) };
  const plan = await planDrives({ drives: [drive('team', { name: 'Team drive' })], domains: [] }, targets, { dryRun: true });
  expect(plan.entries).toEqual([expect.objectContaining({ key: 'default/team', unmarked: [{ driveId: 'drv-hacked', name: 'Hacked' }] })]);
  expect(plan.entries[0]!.result.actions.map((a) => a.action)).toEqual(['create']);
  expect(formatUnmarked('default/team', plan.entries[0]!.unmarked!, true)).toBe(
    '! warning Drive default/team: drive drv-hacked "Hacked" of the same owner has no ownership marker (renamed or edited by hand?); if it is this Drive\'s drive, the create below makes a second, empty drive: give it back the Drive\'s drive name first, and apply adopts it with its files',
  );
  // Another owner's unmarked drive is nobody's business here.
  const other = await planDrives({ drives: [drive('x', { name: 'X', owner: { kind: 'Group', name: 'nobody' } })], domains: [] }, targets, { dryRun: true });
  expect(other.entries[0]!.unmarked).toBeUndefined();
});

test('with a set, the Domains named on the command line are in the prune scope: a folder whose last Drive left still prunes its drives there', async () => {
  const { client } = fakeDrivesClient([
    { drive_id: 'drv-team', drive_name: 'Team', owner: 'team', owner_type: 'group', description: 'openpds.io/uid=local.default.team; reclaimPolicy=Retain; set=demo', default: false },
    { drive_id: 'drv-other-set', drive_name: 'Other', owner: 'team', owner_type: 'group', description: 'openpds.io/uid=local.default.other; reclaimPolicy=Delete; set=prod', default: false },
    { drive_id: 'drv-other-ns', drive_name: 'Ops', owner: 'team', owner_type: 'group', description: 'openpds.io/uid=local.ops.x; reclaimPolicy=Delete; set=demo', default: false },
  ]);
  const asked: string[] = [];
  const targets: DomainTargets = {
    access: (namespace, domain) => {
      asked.push(`${namespace}/${domain}`);
      return { state: 'Ready', client };
    },
  };
  const empty = { drives: [], domains: [] };
  const plan = await planDrives(empty, targets, { dryRun: true, set: 'demo', pruneDomains: [{ namespace: 'default', domain: 'quickstart' }] });
  // Only the set's member of that namespace: another set's drive and another namespace's are not this run's.
  expect(plan.entries.map((e) => [e.key, e.result.actions.map((a) => [a.action, a.driveId])])).toEqual([['default/team', [['release', 'drv-team']]]]);
  expect([...new Set(asked)]).toEqual(['default/quickstart']);
  // Nothing named, nothing in scope: nothing is looked at (the command refuses this, see plan-command.test.ts).
  asked.length = 0;
  expect((await planDrives(empty, targets, { dryRun: true, set: 'demo' })).entries).toEqual([]);
  expect(asked).toEqual([]);
  expect(pruneScope([], [], [])).toEqual([]);
  expect(pruneScope([drive('a')], [], [{ namespace: 'default', domain: 'd' }, { namespace: 'ops', domain: 'd' }])).toEqual([
    { namespace: 'default', domain: 'd' },
    { namespace: 'ops', domain: 'd' },
  ]);
});

test('a user written by user name in one Drive and by user id in another is one owner: a NameConflict, also with a set', async () => {
  const { client, created } = fakeDrivesClient();
  const bob = { user_id: 'u-bob', user_name: 'bob' };
  (client as unknown as { findUser: (n: string) => Promise<unknown> }).findUser = async (name) => ([bob.user_id, bob.user_name].includes(name) ? bob : undefined);
  const targets: DomainTargets = { access: () => ({ state: 'Ready', client }) };
  const drives = [drive('by-name', { owner: { kind: 'User', name: 'bob' } }), drive('by-id', { owner: { kind: 'User', name: 'u-bob' } }), drive('carol', { owner: { kind: 'User', name: 'carol' } })];
  for (const set of [undefined, 'demo']) {
    for (const dryRun of [true, false]) {
      const plan = await planDrives({ drives, domains: [] }, targets, { dryRun, ...(set ? { set } : {}), now: () => new Date('2030-01-01T00:00:00Z') });
      expect(plan.entries.map((e) => [e.key, failureOf(e)?.split(':')[0]])).toEqual([['default/by-name', 'NameConflict'], ['default/by-id', 'NameConflict'], ['default/carol', 'OwnerNotFound']]);
      expect(plan.entries[0]!.error).toContain('owner (User bob and u-bob, one user)');
    }
  }
  expect(created).toEqual([]);
});
