/**
 * Domain `acme` as the Drive e2e suites use it: on S3 (a prefix of its own), with the Secrets its pods read,
 * brought to Ready with a real data plane on loopback standing in for its pods (started with the
 * credentials the operator generated, reached through the operator's --domain-endpoint), and a user alice;
 * and the Events of an object as `kubectl describe` shows them, which every operator suite reads.
 */
import { createAdminClient, type AdminClient, type AdminDrive } from '../../../operator/src/admin-client/admin-client';
import path from 'node:path';
import type { KubeObject } from '../../../operator/src/kube/kube-client';
import { runOperator, type OperatorOptions, type RunningOperator } from '../../../operator/src/main';
import { defaultReconcilers } from '../../../operator/src/reconcilers/drive.registration';
import { markDeploymentAvailable } from './deployments';
import type { DbKind } from '../../support/test-db';
import { STAND_IN_DB, startStandInDataPlane, type StandInDataPlane } from './stand-in-data-plane';
import { eventually, startTestKube, type TestKube } from './kube';
import { kubectl } from './kubectl';

/**
 * Domain `name` (default acme) on S3 under the prefix `<name>/`, reading acme's Secrets; `apiReplicas`
 * (default 1) and `extra` spec lines (indented two spaces, each ending in a newline) for the suites that
 * need more.
 */
export const domainYaml = (namespace: string, name = 'acme', options: { apiReplicas?: number; extra?: string } = {}) => `
apiVersion: openpds.io/v1alpha1
kind: Domain
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  storage:
    mode: standard
    s3: { endpoint: "http://rgw.storage.svc:7480", bucket: openpds, prefix: ${name}/, credentialsSecretRef: { name: acme-s3 } }
  database: { urlSecretRef: { name: acme-db } }
  apiServer: { replicas: ${options.apiReplicas ?? 1} }
  workers: { replicas: 1 }
${options.extra ?? ''}`;

/** The Secrets acme's pods read: its S3 credentials (acme-s3) and its database URL (acme-db). */
export const acmeSecretsYaml = (namespace: string) =>
  `apiVersion: v1\nkind: Secret\nmetadata: { name: acme-s3, namespace: ${namespace} }\nstringData: { AWS_ACCESS_KEY_ID: a, AWS_SECRET_ACCESS_KEY: b }\n---\n` +
  `apiVersion: v1\nkind: Secret\nmetadata: { name: acme-db, namespace: ${namespace} }\nstringData: { url: "postgres://openpds@db:5432/acme" }\n`;

/** Marks Domain `name`'s Deployments rolled out and waits for it to be Ready. */
export async function rollOutDomain(kube: TestKube, namespace: string, name = 'acme'): Promise<void> {
  for (const deployment of [`${name}-api`, `${name}-worker`]) await eventually(() => markDeploymentAvailable(kube.client, namespace, deployment));
  await kubectl(kube.kubeconfig, ['wait', '--for=condition=Ready', `domain/${name}`, '-n', namespace, '--timeout=20s']);
}

/**
 * Applies acme's Secrets and the Domain, starts its data plane on `port` once the operator (already running,
 * mapping acme to that port) has generated the admin Secret, rolls it out and creates user alice.
 */
export async function startAcmeDomain(kube: TestKube, namespace: string, port: number, db: DbKind = STAND_IN_DB): Promise<{ dataPlane: StandInDataPlane; admin: AdminClient }> {
  const apply = (yaml: string) => kubectl(kube.kubeconfig, ['apply', '-f', '-'], yaml);
  await apply(acmeSecretsYaml(namespace));
  await apply(domainYaml(namespace));
  const secret = await eventually(() => kube.client.get<KubeObject & { data: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace, name: 'acme-admin' }));
  const read = (key: string) => Buffer.from(secret.data[key]!, 'base64').toString('utf8');
  const dataPlane = await startStandInDataPlane({ OPENPDS_ADMIN_PASSWORD: read('password'), OPENPDS_SECRET_KEY: read('secretKey'), OPENPDS_PORT: String(port) }, db);
  const admin = createAdminClient({ baseUrl: dataPlane.url, credentials: { username: 'admin', password: read('password') } });
  await rollOutDomain(kube, namespace);
  const token = (await dataPlane.api.login('admin', read('password'))).access_token;
  await dataPlane.api.ok('/v2/user/create', { user_name: 'alice', password: 'alice-password' }, token);
  return { dataPlane, admin };
}

/** The drives of user `owner` named `name`, as the data plane lists them. */
export async function drivesNamed(admin: AdminClient, owner: string, name: string): Promise<AdminDrive[]> {
  const found: AdminDrive[] = [];
  for await (const d of admin.listAllDrives({ owner: (await admin.findUser(owner))!.user_id })) if (d.drive_name === name) found.push(d);
  return found;
}

/** A core/v1 Event as the operator's recorder writes it (kube/events.ts). */
export type RecordedEvent = KubeObject & { type: string; reason: string; message: string; count: number; involvedObject: { kind: string; name: string; uid?: string } };

/** The Events of object `name` in `namespace` (every object of that name, each lifetime of it). */
export async function eventsOf(kube: TestKube, namespace: string, name: string): Promise<RecordedEvent[]> {
  const list = await kube.client.list<RecordedEvent>({ apiVersion: 'v1', kind: 'Event', namespace });
  return list.items.filter((e) => e.involvedObject.name === name);
}

/** Which of an object's Events to look at: these reasons only, of this lifetime (uid) only. */
export interface EventFilter {
  reasons?: string[];
  uid?: string;
}

/**
 * The Events of object `name` as `kubectl describe` lists them, one `Type Reason xCount` line per Event,
 * sorted. The recorder folds a repeat of the same message into `count` ("x2" there); the same reason with
 * another message, from another operator process (its recorder starts afresh) or for another lifetime of
 * the object (deleted and re-created under the name) is a line of its own.
 */
export async function describedEvents(kube: TestKube, namespace: string, name: string, filter: EventFilter = {}): Promise<string[]> {
  return (await eventsOf(kube, namespace, name))
    .filter((e) => (!filter.reasons || filter.reasons.includes(e.reason)) && (!filter.uid || e.involvedObject.uid === filter.uid))
    .map((e) => `${e.type} ${e.reason} x${e.count}`)
    .sort();
}

/**
 * Waits until `name`'s Events read `expected` (describedEvents lines, in any order), then checks they still
 * do `settleMs` later: a transition said twice is said by the reconcile the operator's own write woke,
 * right after the first, so a first match alone would pass before the repeat is written.
 */
export async function expectEvents(kube: TestKube, namespace: string, name: string, expected: string[], filter: EventFilter = {}, settleMs = 500): Promise<void> {
  const wanted = [...expected].sort();
  await eventually(async () => expect(await describedEvents(kube, namespace, name, filter)).toEqual(wanted));
  await new Promise((r) => setTimeout(r, settleMs));
  expect(await describedEvents(kube, namespace, name, filter)).toEqual(wanted);
}

/** The Kubernetes API test server with the real CRDs applied by kubectl, and `namespace`. */
export async function startKubeWithCrds(namespace: string): Promise<TestKube> {
  const kube = await startTestKube();
  await kubectl(kube.kubeconfig, ['apply', '-k', path.resolve(__dirname, '../../../crds')]);
  await kube.createNamespace(namespace);
  return kube;
}

/**
 * The operator as the Drive suites run it, acme's admin API on loopback `port`: quick backoff, the resync a
 * minute away (every wake-up in these tests is an event), Drives too unless `drives` is false; `extra`
 * options over these.
 */
export function driveSuiteOperator(kube: TestKube, namespace: string, port: number, logs: string[], drives = true, extra: Partial<OperatorOptions> = {}): Promise<RunningOperator> {
  return runOperator({
    kubeconfig: kube.kubeconfig,
    metricsPort: 0,
    monitoring: false,
    baseBackoffMs: 100,
    maxBackoffMs: 1000,
    resyncIntervalMs: 60_000,
    domainEndpoints: { [`${namespace}/acme`]: `http://127.0.0.1:${port}` },
    reconcilers: drives ? defaultReconcilers() : [],
    log: (level, msg, fields) => void logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`),
    ...extra,
  });
}

/**
 * A fresh data plane for acme on `port` (a new database and store: the Domain's storage replaced), started
 * with the credentials of its admin Secret (which outlives the Domain), with a user alice.
 */
export async function startFreshAcmeDataPlane(kube: TestKube, namespace: string, port: number): Promise<{ dataPlane: StandInDataPlane; admin: AdminClient }> {
  const secret = await kube.client.get<KubeObject & { data: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace, name: 'acme-admin' });
  const read = (key: string) => Buffer.from(secret.data[key]!, 'base64').toString('utf8');
  const dataPlane = await startStandInDataPlane({ OPENPDS_ADMIN_PASSWORD: read('password'), OPENPDS_SECRET_KEY: read('secretKey'), OPENPDS_PORT: String(port) });
  const admin = createAdminClient({ baseUrl: dataPlane.url, credentials: { username: 'admin', password: read('password') } });
  const token = (await dataPlane.api.login('admin', read('password'))).access_token;
  await dataPlane.api.ok('/v2/user/create', { user_name: 'alice', password: 'alice-password' }, token);
  return { dataPlane, admin };
}
