import type { Drive } from '../domain-types';
import { describeMove, describePending, formatDuration, matchMoves, moveIdentity, parseDuration, stepPrunes, type PruneInput } from './up-prune';

const drive = (name: string, spec: Partial<Drive['spec']> = {}, status?: object): Drive => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Drive',
  metadata: { name, namespace: 'default' },
  spec: { domainRef: { name: 'd' }, owner: { kind: 'Group', name: 'team' }, ...spec },
  ...(status ? { status } : {}),
});

const OPS = drive('ops', { reclaimPolicy: 'Delete' }, { driveId: 'dr1' });
const base: PruneInput = { recorded: { 'default/ops': OPS }, present: new Map(), pending: new Map(), now: 1_000, graceMs: 30_000, suspended: false };

describe('stepPrunes: a Drive that left the folder is pruned only after the grace', () => {
  it('turns pending when first seen missing (at start-up too), and says when it falls due', () => {
    const step = stepPrunes(base);
    expect(step).toMatchObject({ started: ['default/ops'], due: [], cancelled: [], nextDueMs: 30_000 });
    expect([...step.pending]).toEqual([['default/ops', 1_000]]);
  });

  it('stays pending, said once, until the grace is over; then it is due and no longer pending', () => {
    const first = stepPrunes(base);
    const later = stepPrunes({ ...base, pending: first.pending, now: 30_999 });
    expect(later).toMatchObject({ started: [], due: [], nextDueMs: 1 });
    const due = stepPrunes({ ...base, pending: later.pending, now: 31_000 });
    expect(due).toMatchObject({ started: [], due: ['default/ops'] });
    expect(due.pending.size).toBe(0);
    expect(due.nextDueMs).toBeUndefined();
  });

  it('a manifest back within the grace cancels the prune', () => {
    const first = stepPrunes(base);
    const back = stepPrunes({ ...base, present: new Map([['default/ops', OPS]]), pending: first.pending, now: 1_600 });
    expect(back).toMatchObject({ cancelled: ['default/ops'], due: [], started: [] });
    expect(back.pending.size).toBe(0);
    // Gone again later: a fresh grace, not the rest of the old one.
    const again = stepPrunes({ ...base, pending: back.pending, now: 40_000 });
    expect(again).toMatchObject({ started: ['default/ops'], due: [] });
    expect(again.pending.get('default/ops')).toBe(40_000);
  });

  it('a grace of 0 prunes at once, without a pending notice', () => {
    expect(stepPrunes({ ...base, graceMs: 0 })).toMatchObject({ started: [], due: ['default/ops'] });
  });

  it('nothing turns pending or falls due while the folder has an invalid manifest; the grace restarts once fixed', () => {
    const first = stepPrunes(base);
    const suspended = stepPrunes({ ...base, pending: first.pending, now: 60_000, suspended: true });
    expect(suspended).toMatchObject({ started: [], due: [], cancelled: [] });
    expect(suspended.pending.size).toBe(0);
    expect(stepPrunes({ ...base, pending: suspended.pending, now: 70_000 })).toMatchObject({ started: ['default/ops'], due: [] });
  });

  it('leaves Drives still in the folder alone', () => {
    expect(stepPrunes({ ...base, present: new Map([['default/ops', OPS]]) })).toMatchObject({ started: [], due: [], cancelled: [] });
  });
});

describe('stepPrunes: a rename is a move', () => {
  const RENAMED = drive('ops-renamed', { reclaimPolicy: 'Retain', name: 'ops' });
  const OPS_NAMED = drive('ops', { reclaimPolicy: 'Delete', name: 'ops' }, { driveId: 'dr1' });
  const renamed = { ...base, recorded: { 'default/ops': OPS_NAMED }, present: new Map([['default/ops-renamed', RENAMED]]) };

  it('a new Drive with the same namespace, Domain, owner and drive name takes the drive over: nothing pending or pruned', () => {
    const step = stepPrunes(renamed);
    expect(step).toMatchObject({ moves: [{ from: 'default/ops', to: 'default/ops-renamed', driveId: 'dr1' }], started: [], due: [] });
    expect(step.pending.size).toBe(0);
    expect(describeMove(step.moves[0]!)).toBe('Drive default/ops moved to default/ops-renamed: drive dr1 and its files kept');
  });

  it('also when the old Drive is already pending (renamed in two steps), and with a grace of 0', () => {
    const first = stepPrunes({ ...renamed, present: new Map() });
    expect(stepPrunes({ ...renamed, pending: first.pending, now: 5_000 }).moves).toHaveLength(1);
    expect(stepPrunes({ ...renamed, graceMs: 0 })).toMatchObject({ moves: [{ from: 'default/ops' }], due: [] });
  });

  it('no move while the folder has an invalid manifest', () => {
    expect(stepPrunes({ ...renamed, suspended: true }).moves).toEqual([]);
  });

  it('a different owner, drive name, Domain or namespace is not the same drive', () => {
    for (const spec of [{ owner: { kind: 'Group' as const, name: 'other' } }, { name: 'other' }, { domainRef: { name: 'e' } }, { owner: { kind: 'User' as const, name: 'team' } }]) {
      expect(stepPrunes({ ...renamed, present: new Map([['default/x', drive('x', { name: 'ops', ...spec })]]) }).moves).toEqual([]);
    }
    const elsewhere = { ...drive('ops-renamed', { name: 'ops' }), metadata: { name: 'ops-renamed', namespace: 'fin' } };
    expect(moveIdentity(elsewhere)).not.toEqual(moveIdentity(OPS_NAMED));
    // Without spec.name the drive name is metadata.name: renaming it renames the drive, so it is no move.
    expect(stepPrunes({ ...base, present: new Map([['default/ops-renamed', drive('ops-renamed')]]) }).moves).toEqual([]);
  });

  it('only one to one, and only a drive that exists', () => {
    const twoNew = new Map([['default/a', drive('a', { name: 'ops' })], ['default/b', drive('b', { name: 'ops' })]]);
    expect(matchMoves([{ key: 'default/ops', drive: OPS_NAMED }], [...twoNew].map(([key, d]) => ({ key, drive: d })))).toEqual([]);
    const twoOld = [{ key: 'default/ops', drive: OPS_NAMED }, { key: 'default/ops2', drive: drive('ops2', { name: 'ops' }, { driveId: 'dr2' }) }];
    expect(matchMoves(twoOld, [{ key: 'default/ops-renamed', drive: RENAMED }])).toEqual([]);
    expect(matchMoves([{ key: 'default/ops', drive: drive('ops', { name: 'ops' }) }], [{ key: 'default/ops-renamed', drive: RENAMED }])).toEqual([]);
  });

  it('a Drive recorded with a drive of its own is never a move target; one recorded without (a NameConflict while the original was there) is', () => {
    const withDrive = drive('ops-renamed', { reclaimPolicy: 'Retain', name: 'ops' }, { driveId: 'dr9' });
    const both = { ...renamed, present: new Map([['default/ops-renamed', withDrive]]), recorded: { 'default/ops': OPS_NAMED, 'default/ops-renamed': withDrive } };
    expect(stepPrunes(both)).toMatchObject({ moves: [], started: ['default/ops'] });
    const waiting = drive('ops-renamed', { reclaimPolicy: 'Retain', name: 'ops' }, { conditions: [{ type: 'Ready', status: 'False', reason: 'NameConflict' }] });
    const copy = { ...renamed, present: new Map([['default/ops-renamed', waiting]]), recorded: { 'default/ops': OPS_NAMED, 'default/ops-renamed': waiting } };
    expect(stepPrunes(copy)).toMatchObject({ moves: [{ from: 'default/ops', to: 'default/ops-renamed', driveId: 'dr1' }], started: [] });
  });
});

describe('describePending', () => {
  it('says what will happen to the drive, and when', () => {
    expect(describePending('default/ops', OPS, 30_000)).toBe('Drive default/ops left the folder: its drive will be deleted (reclaimPolicy Delete) in 30 s unless it comes back');
    expect(describePending('default/ops', drive('ops'), 1_500)).toBe('Drive default/ops left the folder: its drive will be released (reclaimPolicy Retain) in 1.5 s unless it comes back');
    expect(describePending('default/ops', drive('ops', { reclaimPolicy: 'Delete' }, { origin: 'Adopted' }), 300_000)).toBe(
      'Drive default/ops left the folder: its drive will be released (reclaimPolicy Delete, but it was adopted) in 5 min unless it comes back',
    );
  });
});

describe('parseDuration (--prune-after)', () => {
  it.each([
    ['30s', 30_000],
    ['0', 0],
    ['30', 30_000],
    ['1.5s', 1_500],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 'soon', '-1s', '30 s s', '1d', 's'])('refuses %j', (text) => expect(parseDuration(text)).toBeUndefined());

  it('formats for people', () => {
    expect([formatDuration(30_000), formatDuration(500), formatDuration(120_000), formatDuration(90_000)]).toEqual(['30 s', '0.5 s', '2 min', '90 s']);
  });
});
