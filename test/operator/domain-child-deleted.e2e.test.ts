/**
 * A Ready Domain's child deleted by hand is applied again at once, not at the next resync: the operator
 * watches its own Services, Ingresses, NetworkPolicies, PDBs and HPAs (by label) for deletions. Before,
 * a Domain whose API Service was deleted stayed Ready with no Service in front of its pods until the
 * resync (10 minutes by default; an hour here). Session 25 review.
 */
import type { Condition, Domain } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { acmeSecretsYaml, domainYaml } from './support/acme-domain';
import { markDeploymentAvailable } from './support/deployments';
import { withDomainSuite } from './support/domain-suite';
import { eventually } from './support/kube';

const NS = 'child-deleted';
const suite = withDomainSuite({ namespace: NS, operator: { resyncIntervalMs: 3_600_000 } });
const ready = (d: { status?: { conditions?: Condition[] } }) => d.status?.conditions?.find((c) => c.type === 'Ready');

test('a Service and a NetworkPolicy deleted by hand are back within seconds, not at the resync', async () => {
  await suite.apply(acmeSecretsYaml(NS));
  await suite.apply(domainYaml(NS, 'acme', { apiReplicas: 1 }));
  await eventually(() => suite.kube.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'acme-worker' }));
  for (const name of ['acme-api', 'acme-worker']) await markDeploymentAvailable(suite.kube.client, NS, name);
  await eventually(async () => expect(ready(await suite.kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name: 'acme' }))).toMatchObject({ status: 'True' }), 15_000);

  const service = { apiVersion: 'v1', kind: 'Service', namespace: NS, name: 'acme-api' };
  const before = (await suite.kube.client.get(service)).metadata?.uid;
  await suite.kube.client.delete(service);
  await eventually(async () => expect((await suite.kube.client.find(service))?.metadata?.uid).toEqual(expect.not.stringMatching(`^${before}$`)), 10_000);

  const policies = await suite.kube.client.list({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: NS }, { labelSelector: 'openpds.io/domain=acme' });
  const policy = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: NS, name: policies.items[0]!.metadata!.name! };
  await suite.kube.client.delete(policy);
  await eventually(async () => expect(await suite.kube.client.find(policy)).toBeDefined(), 10_000);
});
