import type { Drive } from '../domain-types';
import { formatUpPrune, upPrunes } from './plan-up-prunes';

const drive = (name: string, reclaimPolicy: 'Delete' | 'Retain', status: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): Drive =>
  ({
    apiVersion: 'openpds.io/v1alpha1',
    kind: 'Drive',
    metadata: { name, namespace: 'default' },
    spec: { domainRef: { name: 'd' }, owner: { kind: 'Group', name: 'team' }, name, reclaimPolicy, ...spec },
    status: { driveId: `id-${name}`, ...status },
  }) as unknown as Drive;

test('the recorded Drives the folder lost are what the next up deletes or releases, each as its reclaimPolicy says', () => {
  const recorded = { 'default/a': drive('a', 'Delete'), 'default/b': drive('b', 'Retain'), 'default/c': drive('c', 'Delete', { origin: 'Adopted' }), 'default/kept': drive('kept', 'Delete') };
  const prunes = upPrunes(recorded, [drive('kept', 'Delete')], 0);
  expect(prunes.map((p) => [p.key, p.action])).toEqual([['default/a', 'delete'], ['default/b', 'release'], ['default/c', 'release']]);
  expect(prunes.map((p) => formatUpPrune(p, 'next'))).toEqual([
    '- delete  Drive default/a (id-a): left the folder; reclaimPolicy Delete, the drive and its files are deleted (by the next openpds up, after --prune-after)',
    '- release Drive default/b (id-b): left the folder; reclaimPolicy Retain, the drive and its files are kept (by the next openpds up, after --prune-after)',
    '- release Drive default/c (id-c): left the folder; reclaimPolicy Delete, but the drive was adopted: it and its files are kept (by the next openpds up, after --prune-after)',
  ]);
});

test('nothing while a manifest is invalid (up suspends its prunes), and a renamed Drive is a move, not a delete', () => {
  const recorded = { 'default/a': drive('a', 'Delete', {}, { name: 'Photos' }) };
  expect(upPrunes(recorded, [], 1)).toEqual([]);
  const renamed = { ...drive('a-renamed', 'Delete', {}, { name: 'Photos' }), status: undefined } as unknown as Drive;
  expect(upPrunes(recorded, [renamed], 0)).toEqual([]);
});
