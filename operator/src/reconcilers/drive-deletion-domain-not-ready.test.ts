// A Drive deleted while its Domain does not serve (Stopped: apiServer.replicas 0, or not Ready yet).
import type { Drive } from '../domain-types';
import { findCondition } from '../kube/conditions';
import { reconcileDriveDeletion } from './drive';

const cr = (reclaimPolicy: 'Retain' | 'Delete'): Drive => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Drive',
  metadata: { name: 'team', namespace: 'ns', uid: 'u-1', generation: 3 },
  spec: { domainRef: { name: 'd' }, owner: { kind: 'Group', name: 'team' }, reclaimPolicy },
  status: { driveId: 'd-1', observedGeneration: 3 },
});
const ctx = { domain: { state: 'NotReady' as const, message: 'Domain ns/d is not ready (Stopped)' }, clock: { now: () => new Date('2030-01-01T00:00:00Z') } };

test('reclaimPolicy Retain: the Drive goes at once, the drive and its files stay (no data plane needed)', async () => {
  const result = await reconcileDriveDeletion(cr('Retain'), ctx);
  expect(result.removeFinalizer).toBe(true);
  expect(result.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'Retained', message: expect.stringContaining('drive d-1 and its files are kept') })]);
  // plan: nothing would be done, and the finalizer stays (plan changes nothing).
  expect(await reconcileDriveDeletion(cr('Retain'), { ...ctx, dryRun: true })).toMatchObject({ removeFinalizer: false, actions: [{ action: 'none', driveId: 'd-1', reason: 'DomainNotReady' }] });
});

test('reclaimPolicy Delete: the deletion waits, and the condition says for what and what the operator can do', async () => {
  const result = await reconcileDriveDeletion(cr('Delete'), ctx);
  expect(result.removeFinalizer).toBe(false);
  const ready = findCondition(result.status.conditions, 'Ready');
  expect(ready).toMatchObject({ status: 'False', reason: 'DomainNotReady' });
  expect(ready?.message).toContain('deletion waits for Domain ns/d to serve again (Domain ns/d is not ready (Stopped))');
  expect(ready?.message).toContain('Start the Domain');
  expect(ready?.message).toContain('remove the finalizer openpds.io/drive-cleanup by hand');
  expect(ready?.message).toContain('keep the drive and its files');
  expect(result).toMatchObject({ failed: false, requeueAfterMs: 5_000 }); // a wait, retried
});
