import type { AdminDrive } from '../admin-client/admin-client';
import type { Drive } from '../domain-types';
import { APPLY_SET_ANNOTATION, buildDesiredDrive, bytesToQuantity, describeChange, diffDrive, parseMarker, patchFor, stripMarker, withApplySet, withMarker } from './drive-desired';
import { backoffMs } from './drive-status';

const cr = (spec: Partial<Drive['spec']> = {}, uid?: string): Drive => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Drive',
  metadata: { name: 'team', namespace: 'prod', ...(uid ? { uid } : {}) },
  spec: { domainRef: { name: 'd' }, owner: { kind: 'Group', name: 'team' }, ...spec },
});

test('applies the same defaults as the CRD: name from metadata, 10Gi, Retain; "0" is unlimited', () => {
  expect(buildDesiredDrive(cr())).toMatchObject({ uid: 'local.prod.team', drive_name: 'team', owner_type: 'group', total_size: 10 * 1024 ** 3, reclaimPolicy: 'Retain' });
  expect(buildDesiredDrive(cr({ quota: { totalSize: '0' }, owner: { kind: 'User', name: 'u1' } }, 'abc-1'))).toMatchObject({ uid: 'abc-1', total_size: null, owner_type: 'user' });
  expect(() => buildDesiredDrive(cr({ quota: { totalSize: 'lots' } }))).toThrow(/quantity/);
  // Past the data plane's safe integers: refused here too (a Drive stored before the CRD rule).
  expect(buildDesiredDrive(cr({ quota: { totalSize: '9007199254740991' } })).total_size).toBe(9007199254740991);
  for (const totalSize of ['9007199254740992', '99999999999Pi', '8Pi']) expect(() => buildDesiredDrive(cr({ quota: { totalSize } }))).toThrow(/more than 9007199254740991 bytes/);
});

test('the marker round-trips, survives free text, and never pushes the description past 1024', () => {
  const d = withMarker('line one\nline two', 'uid-1', 'Delete');
  expect(parseMarker(d)).toEqual({ uid: 'uid-1', reclaimPolicy: 'Delete', origin: 'Created' });
  expect(stripMarker(d)).toBe('line one\nline two');
  expect(parseMarker(withMarker('', 'uid-2', 'Retain'))).toEqual({ uid: 'uid-2', reclaimPolicy: 'Retain', origin: 'Created' });
  expect(parseMarker('mentions openpds.io/uid=x; reclaimPolicy=Retain in passing, not as its last line\nmore')).toBeUndefined();
  const long = withMarker('x'.repeat(1024), 'uid-3', 'Retain');
  expect(long.length).toBe(1024);
  expect(parseMarker(long)?.uid).toBe('uid-3');
});

test('the cut for the marker falls between characters, never inside a surrogate pair (the data plane refuses half an emoji)', () => {
  const emoji = '\u{1F4C1}'; // two UTF-16 units
  for (const text of ['a' + emoji.repeat(511), emoji.repeat(1024), 'ab' + emoji.repeat(600)]) {
    for (const uid of ['u', 'uid-12', '0a1b2c3d-0000-4000-8000-000000000001']) {
      const marked = withMarker(text, uid, 'Retain');
      expect(marked.length).toBeLessThanOrEqual(1024);
      expect(marked).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
      expect(parseMarker(marked)?.uid).toBe(uid);
      expect(text.startsWith(stripMarker(marked))).toBe(true);
    }
  }
});

test('diffs only the managed fields and patches exactly those', () => {
  const desired = buildDesiredDrive(cr({ name: 'Team', quota: { totalSize: '5Gi' } }, 'u'));
  const observed = { drive_id: 'd1', drive_name: 'Team', description: desired.description, total_size: 1024 ** 3, used_size: 0, status: 'enabled' } as AdminDrive;
  const changes = diffDrive(desired, observed);
  expect(changes).toEqual([{ field: 'total_size', from: 1024 ** 3, to: 5 * 1024 ** 3 }]);
  expect(patchFor(changes, desired)).toEqual({ total_size: 5 * 1024 ** 3 });
  expect(describeChange(changes[0]!)).toBe('total_size 1Gi -> 5Gi');
  expect(describeChange({ field: 'total_size', from: null, to: 1 })).toBe('total_size unlimited -> 1');
});

test('a drive disabled in the data plane differs from every Drive (none says disabled): enabled again', () => {
  const desired = buildDesiredDrive(cr({ name: 'Team' }, 'u'));
  const observed = { drive_id: 'd1', drive_name: 'Team', description: desired.description, total_size: desired.total_size, used_size: 0, status: 'disabled' } as AdminDrive;
  const changes = diffDrive(desired, observed);
  expect(changes).toEqual([{ field: 'status', from: 'disabled', to: 'enabled' }]);
  expect(patchFor(changes, desired)).toEqual({ status: 'enabled' });
  expect(describeChange(changes[0]!)).toBe('status "disabled" -> "enabled"');
  expect(diffDrive(desired, { ...observed, status: 'enabled' })).toEqual([]);
});

test('sizes read as quantities', () => {
  expect([0, 1, 1023, 1024, 1536, 5 * 1024 ** 3, 1.5 * 1024 ** 3, null].map(bytesToQuantity)).toEqual(['0', '1', '1023', '1Ki', '1.5Ki', '5Gi', '1.5Gi', '0']);
});

test('backoff grows with how long Ready has been False, from 5 s to 5 min', () => {
  const since = '2030-01-01T00:00:00Z';
  const at = (s: number) => backoffMs([{ type: 'Ready', status: 'False', reason: 'X', lastTransitionTime: since }], new Date(Date.parse(since) + s * 1000));
  expect([0, 3, 20, 80, 10_000].map(at)).toEqual([5_000, 5_000, 20_000, 80_000, 300_000]);
});

test('an adopted drive says so on its marker; a created one keeps the marker it always had', () => {
  expect(withMarker('', 'uid-1', 'Delete')).toBe('openpds.io/uid=uid-1; reclaimPolicy=Delete');
  const adopted = withMarker('made by hand', 'uid-1', 'Delete', 'Adopted');
  expect(adopted).toBe('made by hand\nopenpds.io/uid=uid-1; reclaimPolicy=Delete; origin=Adopted');
  expect(parseMarker(adopted)).toEqual({ uid: 'uid-1', reclaimPolicy: 'Delete', origin: 'Adopted' });
  expect(stripMarker(adopted)).toBe('made by hand');
  expect(parseMarker('openpds.io/uid=uid-1; reclaimPolicy=Delete; origin=Stolen')).toBeUndefined();
  expect(buildDesiredDrive(cr({}, 'u'), 'Adopted')).toMatchObject({ origin: 'Adopted', description: 'openpds.io/uid=u; reclaimPolicy=Retain; origin=Adopted' });
  expect(buildDesiredDrive(cr({}, 'u')).origin).toBe('Created');
});

test('a description the spec leaves out is the data plane\'s: only the marker is wanted; one the spec sets is enforced', () => {
  const silent = buildDesiredDrive(cr({}, 'u'), 'Adopted');
  const handMade = { drive_id: 'd1', drive_name: 'team', description: 'made by hand', total_size: 10 * 1024 ** 3, used_size: 0 } as AdminDrive;
  const adopt = diffDrive(silent, handMade);
  expect(adopt).toEqual([{ field: 'description', from: 'made by hand', to: 'made by hand\nopenpds.io/uid=u; reclaimPolicy=Retain; origin=Adopted' }]);
  expect(patchFor(adopt, silent)).toEqual({ description: 'made by hand\nopenpds.io/uid=u; reclaimPolicy=Retain; origin=Adopted' });
  expect(diffDrive(silent, { ...handMade, description: 'edited later\nopenpds.io/uid=u; reclaimPolicy=Retain; origin=Adopted' })).toEqual([]);

  const set = buildDesiredDrive(cr({ description: 'shared files' }, 'u'));
  expect(diffDrive(set, { ...handMade, description: 'edited later\nopenpds.io/uid=u; reclaimPolicy=Retain' })).toEqual([
    { field: 'description', from: 'edited later\nopenpds.io/uid=u; reclaimPolicy=Retain', to: 'shared files\nopenpds.io/uid=u; reclaimPolicy=Retain' },
  ]);
  // An explicit empty description is set, not silent: it clears the text.
  expect(diffDrive(buildDesiredDrive(cr({ description: '' }, 'u')), { ...handMade, description: 'x\nopenpds.io/uid=u; reclaimPolicy=Retain' })[0]?.to).toBe('openpds.io/uid=u; reclaimPolicy=Retain');
});

test('the marker may name an apply set: it round-trips, old markers still parse, and 1024 still holds', () => {
  const marked = withMarker('notes', 'local.prod.team', 'Delete', 'Created', 'team-a');
  expect(marked).toBe('notes\nopenpds.io/uid=local.prod.team; reclaimPolicy=Delete; set=team-a');
  expect(parseMarker(marked)).toEqual({ uid: 'local.prod.team', reclaimPolicy: 'Delete', origin: 'Created', set: 'team-a' });
  expect(stripMarker(marked)).toBe('notes');
  const adopted = withMarker('', 'local.prod.team', 'Retain', 'Adopted', 'prod.v2');
  expect(adopted).toBe('openpds.io/uid=local.prod.team; reclaimPolicy=Retain; origin=Adopted; set=prod.v2');
  expect(parseMarker(adopted)).toEqual({ uid: 'local.prod.team', reclaimPolicy: 'Retain', origin: 'Adopted', set: 'prod.v2' });
  // Markers written before sets existed belong to no set.
  expect(parseMarker('openpds.io/uid=local.prod.team; reclaimPolicy=Delete')).toEqual({ uid: 'local.prod.team', reclaimPolicy: 'Delete', origin: 'Created' });
  // Not a set name, or parts out of order: not a marker, so never pruned on its word.
  expect(parseMarker('openpds.io/uid=u; reclaimPolicy=Delete; set=Team_A')).toBeUndefined();
  expect(parseMarker('openpds.io/uid=u; reclaimPolicy=Delete; set=')).toBeUndefined();
  expect(parseMarker('openpds.io/uid=u; reclaimPolicy=Delete; set=a; origin=Adopted')).toBeUndefined();
  expect(parseMarker(`openpds.io/uid=u; reclaimPolicy=Delete; set=${'a'.repeat(64)}`)).toBeUndefined();
  const long = withMarker('x'.repeat(1024), 'local.prod.team', 'Retain', 'Adopted', 'a'.repeat(63));
  expect(long.length).toBe(1024);
  expect(parseMarker(long)).toMatchObject({ uid: 'local.prod.team', set: 'a'.repeat(63) });
});

test('the CLI puts a local Drive in a set through an annotation; a cluster Drive (real uid) never gets one', () => {
  const local = withApplySet(cr({ description: 'shared' }), 'team-a');
  expect(local.metadata.annotations).toEqual({ [APPLY_SET_ANNOTATION]: 'team-a' });
  expect(buildDesiredDrive(local)).toMatchObject({ set: 'team-a', description: 'shared\nopenpds.io/uid=local.prod.team; reclaimPolicy=Retain; set=team-a' });
  expect(withApplySet(local, undefined).metadata.annotations).toBeUndefined();
  expect(buildDesiredDrive(withApplySet(cr({}, 'abc-1'), 'team-a'))).toMatchObject({ description: 'openpds.io/uid=abc-1; reclaimPolicy=Retain' });
  expect(buildDesiredDrive(withApplySet(cr({}, 'abc-1'), 'team-a')).set).toBeUndefined();
});

test('without a set the drive keeps the set its own marker names; with one, the set is added or replaced', () => {
  const observed = (description: string) => ({ drive_id: 'd1', drive_name: 'team', description, total_size: 10 * 1024 ** 3, used_size: 0 }) as AdminDrive;
  const inA = 'text\nopenpds.io/uid=local.prod.team; reclaimPolicy=Retain; set=a';
  // Spec silent on the description, or setting it: either way no set given is no change of set.
  expect(diffDrive(buildDesiredDrive(cr()), observed(inA))).toEqual([]);
  expect(diffDrive(buildDesiredDrive(cr({ description: 'text' })), observed(inA))).toEqual([]);
  expect(diffDrive(buildDesiredDrive(cr({ description: 'new' })), observed(inA))[0]?.to).toBe('new\nopenpds.io/uid=local.prod.team; reclaimPolicy=Retain; set=a');
  // Another Drive's marker (adoption) lends it no set.
  expect(diffDrive(buildDesiredDrive(cr(), 'Adopted'), observed('text\nopenpds.io/uid=local.prod.other; reclaimPolicy=Retain; set=a'))[0]?.to).toBe('text\nopenpds.io/uid=local.prod.team; reclaimPolicy=Retain; origin=Adopted');
  // --set: added to a drive of no set, moved from another set.
  expect(diffDrive(buildDesiredDrive(withApplySet(cr(), 'b')), observed('text\nopenpds.io/uid=local.prod.team; reclaimPolicy=Retain'))[0]?.to).toBe('text\nopenpds.io/uid=local.prod.team; reclaimPolicy=Retain; set=b');
  expect(diffDrive(buildDesiredDrive(withApplySet(cr(), 'b')), observed(inA))[0]).toEqual({ field: 'description', from: inA, to: 'text\nopenpds.io/uid=local.prod.team; reclaimPolicy=Retain; set=b' });
  // A spec text cut to fit the marker is cut to fit the longer marker with the kept set, and stays stable.
  const long = buildDesiredDrive(cr({ description: 'y'.repeat(1024) }));
  const kept = withMarker('y'.repeat(1024), 'local.prod.team', 'Retain', 'Created', 'a');
  expect(diffDrive(long, observed(kept))).toEqual([]);
});
