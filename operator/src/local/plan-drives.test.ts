import type { AdminClient } from '../admin-client/admin-client';
import type { Drive } from '../domain-types';
import type { DomainTargets } from './domain-targets';
import { failureOf, identityConflicts, planDrives } from './plan-drives';

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
  const created: string[] = [];
  const client = {
    async *listAllDrives() {},
    async createDrive(input: { drive_name: string }) {
      created.push(input.drive_name);
      return { domain_id: 'd', drive_id: `drv-${created.length}` };
    },
  } as unknown as AdminClient;
  const targets: DomainTargets = { access: () => ({ state: 'Ready', client }) };
  const drives = [drive('a'), drive('b'), drive('c', { name: 'Other' })];
  for (const dryRun of [true, false]) {
    const plan = await planDrives({ drives, domains: [] }, targets, { dryRun, now: () => new Date('2030-01-01T00:00:00Z') });
    expect(plan.entries.map((e) => [e.key, failureOf(e)?.split(':')[0]])).toEqual([['default/a', 'NameConflict'], ['default/b', 'NameConflict'], ['default/c', undefined]]);
  }
  expect(created).toEqual(['Other']);
});
