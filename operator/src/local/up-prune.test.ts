import type { Drive } from '../domain-types';
import { describePending, formatDuration, parseDuration, stepPrunes, type PruneInput } from './up-prune';

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
