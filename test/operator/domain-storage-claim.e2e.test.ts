/**
 * The openpds.io/storage-claim annotation end to end on the Kubernetes API test server, with kubectl: the
 * way an O&M engineer lets a Domain's data plane take over a blob store it refuses (charts/storage-claim.ts).
 * A bad value blocks the Domain with a reason and nothing applied; takeover reaches the ConfigMap and rolls
 * the pods (a new ConfigMap, named by its content); once they serve, the operator records the takeover in status, says so in an
 * Event, and the ConfigMap and pods go back to check while the annotation stays (no later start takes the
 * store over again, and a GitOps tool that keeps the annotation meets no fight); removing the annotation
 * clears the record.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Condition, Domain } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { acmeSecretsYaml, domainYaml, eventsOf } from './support/acme-domain';
import { domainConfigMaps, markDeploymentAvailable, podConfigMap } from './support/deployments';
import { withDomainSuite } from './support/domain-suite';
import { eventually } from './support/kube';
import { kubectl } from './support/kubectl';

const NS = 'claims';
// The data plane's /readyz once its pods serve (the takeover done): Ready through the operator's endpoint.
const suite = withDomainSuite({ namespace: NS, startOperator: false });

const domain = () => suite.kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name: 'acme' });
const condition = (d: Domain, type: string) => d.status?.conditions?.find((c: Condition) => c.type === type);
/** The ConfigMap the API server's pods read; undefined before anything is applied. */
const configMap = async () => ((await suite.kube.client.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'acme-api' })) ? podConfigMap(suite.kube.client, NS, 'acme-api') : undefined);
/** Its name, which moves with its content: a new one rolls the pods. */
const podConfigHash = async () => (await configMap())?.metadata?.name;
const annotate = (value: string) => kubectl(suite.kube.kubeconfig, ['annotate', '--overwrite', 'domain/acme', '-n', NS, value]);

test('a bad value blocks the Domain, nothing applied; takeover reaches the ConfigMap and rolls the pods; once they serve it is recorded and both go back to check', async () => {
  await suite.startOperator();
  const withBadValue = domainYaml(NS).replace('metadata: { name: acme, namespace: claims }', "metadata: { name: acme, namespace: claims, annotations: { openpds.io/storage-claim: 'yes' } }");
  expect(withBadValue).toContain("openpds.io/storage-claim: 'yes'");
  await kubectl(suite.kube.kubeconfig, ['apply', '-f', '-'], `${acmeSecretsYaml(NS)}---\n${withBadValue}`);

  await eventually(async () => expect(condition(await domain(), 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidAnnotation', observedGeneration: 1 }), 15_000);
  const blocked = await domain();
  expect(condition(blocked, 'Ready')?.message).toBe('metadata.annotations[openpds.io/storage-claim]: Unsupported value: "yes": supported values: "check", "takeover"');
  expect(condition(blocked, 'Degraded')).toMatchObject({ status: 'True', reason: 'InvalidAnnotation' });
  expect(await configMap()).toBeUndefined(); // nothing applied
  expect((await eventsOf(suite.kube, NS, 'acme')).filter((e) => e.reason === 'InvalidAnnotation').map((e) => [e.type, e.count])).toEqual([['Warning', 1]]);

  // check is the data plane's default: applied as if there were no annotation.
  await annotate('openpds.io/storage-claim=check');
  await eventually(async () => expect(condition(await domain(), 'Ready')).toMatchObject({ reason: 'WaitingForReplicas' }), 15_000);
  expect((await configMap())!.data).not.toHaveProperty('OPENPDS_STORAGE_CLAIM');
  const before = await podConfigHash();

  await annotate('openpds.io/storage-claim=takeover');
  await eventually(async () => expect((await configMap())!.data.OPENPDS_STORAGE_CLAIM).toBe('takeover'), 15_000);
  await eventually(async () => expect(await podConfigHash()).not.toBe(before)); // the pods roll to read it
  expect((await domain()).metadata.annotations).toHaveProperty(['openpds.io/storage-claim'], 'takeover'); // kept while they have not served

  // The new pods claim the store and serve: recorded, and they roll back to check, the annotation kept.
  for (const name of ['acme-api', 'acme-worker']) await markDeploymentAvailable(suite.kube.client, NS, name);
  await eventually(async () => expect((await domain()).status?.storageClaim?.takenOverAt).toMatch(/^\d{4}-\d\d-\d\dT/), 20_000);
  const message = 'The data plane holds its blob store now (openpds.io/storage-claim=takeover): its pods roll back to check, so that no later start takes the store over again; the annotation can go (kubectl annotate domain acme openpds.io/storage-claim-)';
  expect((await eventsOf(suite.kube, NS, 'acme')).filter((e) => e.reason === 'StorageClaimTakenOver').map((e) => [e.type, e.count, e.message])).toEqual([['Normal', 1, message]]);
  await eventually(async () => expect((await configMap())!.data).not.toHaveProperty('OPENPDS_STORAGE_CLAIM'), 15_000);
  await eventually(async () => expect(await podConfigHash()).toBe(before));
  expect((await domain()).metadata.annotations).toHaveProperty(['openpds.io/storage-claim'], 'takeover'); // never removed by the operator
  const takenOverAt = (await domain()).status!.storageClaim!.takenOverAt;

  // Rolled back to check and serving: Ready, saying the annotation can go; nothing rolls again, no second Event.
  for (const name of ['acme-api', 'acme-worker']) await markDeploymentAvailable(suite.kube.client, NS, name);
  await eventually(async () => expect(condition(await domain(), 'Ready')).toMatchObject({ status: 'True', message: expect.stringContaining(`(openpds.io/storage-claim=takeover was done at ${takenOverAt}; later starts check: the annotation can go)`) }), 20_000);
  expect((await configMap())!.data).not.toHaveProperty('OPENPDS_STORAGE_CLAIM');
  expect((await eventsOf(suite.kube, NS, 'acme')).filter((e) => e.reason === 'StorageClaimTakenOver')).toHaveLength(1);
  // The takeover's ConfigMap is deleted once no pod can read it; the one before it was never deleted.
  await eventually(async () => expect((await domainConfigMaps(suite.kube.client, NS, 'acme')).map((cm) => cm.metadata?.name)).toEqual([before]));

  // The annotation removed: the record goes with it, so a later takeover is asked for the same way.
  await kubectl(suite.kube.kubeconfig, ['annotate', 'domain/acme', '-n', NS, 'openpds.io/storage-claim-']);
  await eventually(async () => expect((await domain()).status?.storageClaim).toBeUndefined(), 15_000);
  expect(await podConfigHash()).toBe(before);
}, 90_000);

// An operator upgraded before the CRDs: the API server prunes status.storageClaim, which it does not know.
test('a cluster whose Domain CRD predates status.storageClaim: Degraded CRDOutdated, one Event, no loop', async () => {
  const crd = fs.readFileSync(path.join(__dirname, '../../crds/openpds.io_domains.yaml'), 'utf8');
  const older = crd.replace(/\n {16}storageClaim:\n(?: {18,}.*\n)+/, '\n');
  expect(older).not.toContain('storageClaim:');
  await kubectl(suite.kube.kubeconfig, ['apply', '-f', '-'], older);
  const name = 'old-crd';
  const yaml = domainYaml(NS, name).replace(`metadata: { name: ${name}, namespace: ${NS} }`, `metadata: { name: ${name}, namespace: ${NS}, annotations: { openpds.io/storage-claim: takeover } }`);
  expect(yaml).toContain('openpds.io/storage-claim: takeover');
  await suite.stopOperator();
  await suite.startOperator({ baseBackoffMs: 200, maxBackoffMs: 2000, domainEndpoints: { [`${NS}/${name}`]: suite.endpoint } });
  await kubectl(suite.kube.kubeconfig, ['apply', '-f', '-'], yaml);
  const get = () => suite.kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name });
  for (const d of [`${name}-api`, `${name}-worker`]) await eventually(() => markDeploymentAvailable(suite.kube.client, NS, d), 15_000);
  await eventually(async () => expect(condition(await get(), 'Ready')).toMatchObject({ status: 'False', reason: 'CRDOutdated' }), 20_000);
  expect(condition(await get(), 'Degraded')).toMatchObject({ status: 'True', reason: 'CRDOutdated' });
  expect(condition(await get(), 'Ready')?.message).toContain('kubectl apply -k crds/');
  const statusWrites = () => suite.kube.server.hooks.requests().filter((r) => r.method === 'PATCH' && r.path === `/apis/openpds.io/v1alpha1/namespaces/${NS}/domains/${name}/status`).length;
  const before = statusWrites();
  await new Promise((r) => setTimeout(r, 3000));
  expect(statusWrites() - before).toBeLessThanOrEqual(1); // backoff, not a loop at 0 ms
  expect((await eventsOf(suite.kube, NS, name)).filter((e) => e.reason === 'StorageClaimTakenOver').map((e) => e.count)).toEqual([1]);
  await kubectl(suite.kube.kubeconfig, ['apply', '-k', path.join(__dirname, '../../crds')]); // leave the suite's CRDs as they were
}, 60_000);
