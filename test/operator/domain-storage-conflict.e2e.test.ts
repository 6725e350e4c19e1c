/**
 * A Domain held back with StorageConflict starts as soon as the Domain holding its S3 keyspace is gone, not
 * at its next retry: the operator here retries a failed reconcile after 60 s at the earliest, so only the
 * keyspace index's wake (operator/src/reconcilers/domain-keyspaces.ts) can start it within the test's wait.
 */
import type { Domain } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { defaultReconcilers } from '../../operator/src/reconcilers/drive.registration';
import { withDomainSuite } from './support/domain-suite';
import { eventually } from './support/kube';
import { kubectl } from './support/kubectl';

const NS = 'keyspaces';
const suite = withDomainSuite({
  namespace: NS,
  domains: ['holder', 'waiting', 'elsewhere'],
  dataPlane: 'refused',
  operator: { reconcilers: defaultReconcilers(), baseBackoffMs: 60_000, maxBackoffMs: 120_000 },
});

const onS3 = (name: string, prefix: string) =>
  `apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: { name: ${name}, namespace: ${NS} }\nspec:\n  storage: { mode: standard, s3: { endpoint: "http://rgw.storage.svc:7480", bucket: media, prefix: ${prefix} } }\n  database: { urlSecretRef: { name: shared-db } }\n`;
const getDomain = (name: string) => suite.kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name });
const ready = async (name: string) => (await getDomain(name)).status?.conditions?.find((c) => c.type === 'Ready');
const apiDeployment = (name: string) => suite.kube.client.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: `${name}-api` });

test('a Domain held back by another on its keyspace applies as soon as that one is deleted, without waiting for its retry', async () => {
  await suite.apply(`apiVersion: v1\nkind: Secret\nmetadata: { name: shared-db, namespace: ${NS} }\nstringData: { url: "postgres://openpds@db:5432/media" }\n`);
  await suite.apply(onS3('holder', 'team/'));
  await eventually(async () => expect(await apiDeployment('holder')).toBeDefined());
  // Inside the holder's prefix: held back. Beside it (a sibling prefix): applied at once.
  await suite.apply(onS3('waiting', 'team/photos/'));
  await suite.apply(onS3('elsewhere', 'team-b/'));
  await eventually(async () => expect(await ready('waiting')).toMatchObject({ status: 'False', reason: 'StorageConflict', message: expect.stringContaining(`overlaps Domain ${NS}/holder, whose data plane runs there`) }));
  await eventually(async () => expect(await apiDeployment('elsewhere')).toBeDefined());
  expect(await apiDeployment('waiting')).toBeUndefined();

  const deleted = performance.now();
  await kubectl(suite.kube.kubeconfig, ['delete', 'domain', 'holder', '-n', NS, '--wait=false']);
  await eventually(async () => expect(await apiDeployment('waiting')).toBeDefined(), 15_000);
  expect(performance.now() - deleted).toBeLessThan(15_000); // its retry was 60 s away
  await eventually(async () => expect((await ready('waiting'))?.reason).not.toBe('StorageConflict'));
});
