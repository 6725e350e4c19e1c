/**
 * The HPA replica handover's requests before an apply (domain-replicas.ts): a fresh GET for an HPA-scaled
 * Deployment the operator may still own spec.replicas of, none for one the watch shows another manager
 * scales (review 16: every periodic re-apply of an HPA Domain cost 2 GETs).
 */
import { createDomainContext } from '../charts/domain-context';
import { HPA_HANDOVER_FIELD_MANAGER, type LiveDeployment } from '../charts/replica-handover';
import type { Domain } from '../domain-types';
import { FIELD_MANAGER } from '../kube/apply';
import type { KubeClient, KubeObject } from '../kube/kube-client';
import { handOverReplicasBeforeApply } from './domain-replicas';

const domain: Domain = {
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Domain',
  metadata: { name: 'h', namespace: 'ns1', uid: 'u', generation: 2 },
  spec: { storage: { mode: 'standard', s3: { bucket: 'b', credentialsSecretRef: { name: 's3' } } }, apiServer: { autoscaling: { enabled: true } }, workers: { autoscaling: { enabled: true } } },
} as Domain;
const ctx = createDomainContext(domain);
const owned = (manager: string, replicas = 3): KubeObject & LiveDeployment => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { managedFields: [{ manager, fieldsV1: { 'f:spec': { 'f:replicas': {} } } }] }, spec: { replicas } }) as KubeObject & LiveDeployment;

function fakeClient(live: Record<string, KubeObject>) {
  const calls: string[] = [];
  const client = {
    async find(ref: { name: string }) {
      calls.push(`GET ${ref.name}`);
      return live[ref.name];
    },
    async patch(ref: { name: string }) {
      calls.push(`APPLY ${ref.name}`);
      return live[ref.name];
    },
  } as unknown as KubeClient;
  return { client, calls };
}

it('the fixture: an HPA on both Deployments (S3, not a volume)', () => {
  expect([ctx.singlePod, ctx.spec.apiServer.autoscaling.enabled, ctx.spec.workers.autoscaling.enabled]).toEqual([false, true, true]);
});

it('reads neither Deployment when the watch shows the HPA (or the handover manager) scales both', async () => {
  const live = { [ctx.names.api]: owned('horizontal-pod-autoscaler'), [ctx.names.worker]: owned(HPA_HANDOVER_FIELD_MANAGER) };
  const { client, calls } = fakeClient(live);
  await handOverReplicasBeforeApply(client, ctx, (name) => live[name]);
  expect(calls).toEqual([]);
});

it('reads fresh, and hands over, a Deployment the watch shows the operator still scales; one not in the watch is read too', async () => {
  const live = { [ctx.names.api]: owned(FIELD_MANAGER, 5), [ctx.names.worker]: owned('horizontal-pod-autoscaler') };
  const { client, calls } = fakeClient(live);
  await handOverReplicasBeforeApply(client, ctx, (name) => (name === ctx.names.api ? live[name] : undefined));
  expect(calls.sort()).toEqual([`APPLY ${ctx.names.api}`, `GET ${ctx.names.api}`, `GET ${ctx.names.worker}`].sort());
});
