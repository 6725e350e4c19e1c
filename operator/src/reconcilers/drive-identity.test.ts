import type { Drive } from '../domain-types';
import { driveIdentity, identityHolder, isOlder, ownerAliases, summarizeDrive, tieSettleMs } from './drive-identity';

const drive = (name: string, created: string, spec: Partial<Drive['spec']> = {}, namespace = 'ns'): Drive => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Drive',
  metadata: { name, namespace, creationTimestamp: created } as Drive['metadata'],
  spec: { domainRef: { name: 'd' }, owner: { kind: 'User', name: 'alice' }, name: 'team', ...spec },
});

test('the identity is namespace, domainRef, owner kind and name, and the effective drive name', () => {
  const base = driveIdentity(drive('a', 't'));
  expect(driveIdentity(drive('b', 't'))).toBe(base); // metadata.name is not part of it when spec.name is set
  expect(driveIdentity(drive('b', 't', { name: undefined as never }))).not.toBe(driveIdentity(drive('a', 't', { name: undefined as never })));
  expect(driveIdentity(drive('team', 't', { name: undefined as never }))).toBe(base); // spec.name defaults to metadata.name
  for (const other of [{ domainRef: { name: 'e' } }, { owner: { kind: 'Group' as const, name: 'alice' } }, { owner: { kind: 'User' as const, name: 'bob' } }, { name: 'other' }]) {
    expect(driveIdentity(drive('b', 't', other))).not.toBe(base);
  }
  expect(driveIdentity(drive('b', 't', {}, 'ns2'))).not.toBe(base);
});

test('the oldest Drive holds the identity; a tie in creationTimestamp goes to the smaller name', () => {
  const a = summarizeDrive(drive('zeta', '2030-01-01T00:00:00Z'));
  const b = summarizeDrive(drive('alpha', '2030-01-01T00:00:05Z'));
  const c = summarizeDrive(drive('beta', '2030-01-01T00:00:05Z'));
  const unrelated = summarizeDrive(drive('old', '2020-01-01T00:00:00Z', { name: 'else' }));
  const all = [a, b, c, unrelated];
  expect(identityHolder(a, all)).toBeUndefined();
  expect(identityHolder(b, all)).toBe(a);
  expect(identityHolder(c, all)).toBe(a); // named after the holder, not the next older
  expect(identityHolder(c, [b, c])).toBe(b);
  expect(identityHolder(b, [b, c])).toBeUndefined();
  expect(isOlder(b, c)).toBe(true);
  expect(identityHolder(unrelated, all)).toBeUndefined();
});

test('timestamps compare as instants whether the watch gave a Date or a string', () => {
  const fromDate = summarizeDrive({ ...drive('a', ''), metadata: { name: 'a', namespace: 'ns', creationTimestamp: new Date('2030-01-01T00:00:00Z') } as never });
  expect(fromDate.creationTimestamp).toBe('2030-01-01T00:00:00.000Z');
  expect(summarizeDrive(drive('b', '2030-01-01T00:00:00Z')).creationTimestamp).toBe('2030-01-01T00:00:00.000Z');
});

test('a Drive with no drive yet waits out the second it was created in (plus skew), never longer than 2 s', () => {
  const created = summarizeDrive(drive('a', '2030-01-01T00:00:00Z'));
  expect(tieSettleMs(created, new Date('2030-01-01T00:00:00.500Z'))).toBe(1500);
  expect(tieSettleMs(created, new Date('2030-01-01T00:00:02Z'))).toBe(0);
  expect(tieSettleMs(created, new Date('2029-12-31T23:00:00Z'))).toBe(2000); // a clock behind: bounded
  expect(tieSettleMs(summarizeDrive({ ...drive('b', ''), metadata: { name: 'b' } }), new Date())).toBe(0);
  // OperatorOptions.driveTieSettleMs: another bound, 0 none at all.
  expect(tieSettleMs(created, new Date('2030-01-01T00:00:00.500Z'), 1000)).toBe(500);
  expect(tieSettleMs(created, new Date('2029-12-31T23:00:00Z'), 1000)).toBe(1000);
  expect(tieSettleMs(created, new Date('2030-01-01T00:00:00.500Z'), 0)).toBe(0);
});

test('a User owner written by id in one Drive and by user name in another is one owner once resolved (aliases)', () => {
  const byName = drive('by-name', '2030-01-01T00:00:00Z');
  const byId = drive('by-id', '2030-01-01T00:00:05Z', { owner: { kind: 'User', name: 'u-alice' } });
  const alice = { user_id: 'u-alice', user_name: 'alice' };
  expect(ownerAliases(byId, alice)).toEqual(['alice']);
  expect(ownerAliases(byName, alice)).toEqual(['u-alice']);
  expect(ownerAliases(drive('g', 't', { owner: { kind: 'Group', name: 'g-1' } }), alice)).toEqual([]); // a group id is as is
  expect(ownerAliases(byName, undefined)).toEqual([]);
  const [older, newer] = [summarizeDrive(byName), summarizeDrive(byId)];
  expect(identityHolder(newer, [older, newer])).toBeUndefined(); // as written: two owners
  const aliases = ownerAliases(byId, alice).map((a) => driveIdentity(byId, a));
  expect(identityHolder(newer, [older, newer], aliases)).toMatchObject({ name: 'by-name', ownerName: 'alice' });
  // The older one is not in conflict with the newer through its alias either.
  expect(identityHolder(older, [older, newer], ownerAliases(byName, alice).map((a) => driveIdentity(byName, a)))).toBeUndefined();
});
