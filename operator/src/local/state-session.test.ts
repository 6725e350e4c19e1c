import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Drive } from '../domain-types';
import type { PlanEntry } from './plan-drives';
import { recordApplied } from './state-session';
import { readDriveRecords, writeDriveRecords, type DriveRecord } from './state-dir';

const drive = (name: string, generation?: number): Drive => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Drive',
  metadata: { name, namespace: 'default', ...(generation ? { generation } : {}) },
  spec: { domainRef: { name: 'd' }, owner: { kind: 'Group', name: 'team' }, name: 'Team drive' },
});
const ready = (status: 'True' | 'False', driveId?: string) => ({
  ...(driveId ? { driveId } : {}),
  conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'Applied' : 'DomainNotFound', lastTransitionTime: '2026-12-06T12:00:00Z' }],
});
const entry = (key: string, status: ReturnType<typeof ready>, extra: Partial<PlanEntry> = {}): PlanEntry =>
  ({ key, result: { status, events: [], actions: [], requeueAfterMs: 0, atResync: false, failed: false, driftCorrected: [] }, ...extra }) as PlanEntry;
const record = (d: Drive, status: ReturnType<typeof ready>): DriveRecord => ({ specHash: 'old', drive: { ...d, status } as Drive });

test('what an apply did is recorded as an up pass records it: moves, prunes and failures', () => {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-state-session-'));
  writeDriveRecords(state, {
    'default/old': record(drive('old', 3), ready('True', 'A')),
    'default/gone': record(drive('gone', 1), ready('True', 'B')),
    'default/bad': record(drive('bad', 2), ready('True', 'C')),
  });
  recordApplied(state, [drive('new'), drive('bad'), drive('fresh')], [
    entry('default/new', ready('True', 'A'), { move: { from: 'default/old', driveId: 'A', changes: [] } }),
    entry('default/gone', ready('True', 'B')), // an orphan of the set, deleted
    entry('default/bad', ready('False')),
    entry('default/fresh', ready('True', 'D')),
  ]);
  const records = readDriveRecords(state);
  expect(Object.keys(records).sort()).toEqual(['default/bad', 'default/fresh', 'default/new']);
  expect(records['default/bad']!.drive.status).toEqual(ready('True', 'C'));
  expect(records['default/new']!.drive).toMatchObject({ metadata: { name: 'new', generation: 1 }, status: { driveId: 'A', observedGeneration: 1 } });
  expect(records['default/fresh']!.drive.status!.conditions![0]).toMatchObject({ type: 'Ready', status: 'True', observedGeneration: 1 });

  // The same apply again: nothing moves, not even a condition's transition time.
  const before = fs.readFileSync(path.join(state, 'up/drives.json'), 'utf8');
  recordApplied(state, [drive('fresh')], [entry('default/fresh', { ...ready('True', 'D'), conditions: [{ ...ready('True').conditions[0]!, lastTransitionTime: '2026-12-06T13:00:00Z' }] })]);
  expect(fs.readFileSync(path.join(state, 'up/drives.json'), 'utf8')).toBe(before);
});
