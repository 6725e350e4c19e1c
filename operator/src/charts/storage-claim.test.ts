// The openpds.io/storage-claim annotation reaches the data plane as OPENPDS_STORAGE_CLAIM, in a cluster (the
// ConfigMap, named by its content: a new one rolls the pods) and under `openpds up`; check, the data plane's default, and no
// annotation add nothing, so annotating a Domain with check does not roll it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../api-server/src/config/config';
import type { Domain } from '../domain-types';
import { domainEnv as localDomainEnv } from '../local/domain-runner';
import { loadManifests } from '../local/manifests';
import { domainEnv } from './config.chart';
import { buildDomainChart } from './domain.chart';
import { createDomainContext } from './domain-context';
import { STORAGE_CLAIM_ANNOTATION, storageClaimProblem } from './storage-claim';

const SECRET = { OPENPDS_SECRET_KEY: 'k'.repeat(32) };

function domain(claim?: string): Domain {
  return {
    apiVersion: 'openpds.io/v1alpha1',
    kind: 'Domain',
    metadata: { name: 'acme', namespace: 'ns', uid: 'u-1', ...(claim === undefined ? {} : { annotations: { [STORAGE_CLAIM_ANNOTATION]: claim } }) },
    spec: { storage: { volume: {} } },
  };
}
const chartEnv = (d: Domain) => domainEnv(createDomainContext(d));
const localEnv = (d: Domain) => localDomainEnv(d, { stateDir: '/tmp/openpds-state', logLevel: 'info' });
/** The ConfigMap the API server's pods read (named by its content): a new one rolls them. */
const podConfigMap = (d: Domain) => {
  const api = buildDomainChart(d, { bootstrap: { adminPassword: 'p', secretKey: 's'.repeat(32) } }).find((m) => m.kind === 'Deployment');
  return (api as unknown as { spec: { template: { spec: { containers: { envFrom: { configMapRef: { name: string } }[] }[] } } } }).spec.template.spec.containers[0]!.envFrom[0]!.configMapRef.name;
};

test('takeover reaches the data plane, whose config reads it, in the ConfigMap and under openpds up', () => {
  expect(chartEnv(domain('takeover')).OPENPDS_STORAGE_CLAIM).toBe('takeover');
  expect(loadConfig({ ...chartEnv(domain('takeover')), ...SECRET }).storageClaim).toBe('takeover');
  expect(localEnv(domain('takeover')).OPENPDS_STORAGE_CLAIM).toBe('takeover');
  expect(loadConfig({ ...localEnv(domain('takeover')), ...SECRET }).storageClaim).toBe('takeover');
});

test('once the takeover is recorded in status, check again: the pods roll back while the annotation stays', () => {
  const done = { ...domain('takeover'), status: { storageClaim: { takenOverAt: '2026-12-07T09:00:00.000Z' } } };
  expect(chartEnv(done)).toEqual(chartEnv(domain()));
  expect(podConfigMap(done)).toBe(podConfigMap(domain()));
  // `openpds up` has no status: the annotation counts while it is in the manifest.
  expect(localEnv(domain('takeover')).OPENPDS_STORAGE_CLAIM).toBe('takeover');
});

test('annotating rolls the pods (their ConfigMap changes); removing the annotation or setting check rolls them back to the same ConfigMap', () => {
  expect(podConfigMap(domain('takeover'))).not.toBe(podConfigMap(domain()));
  expect(podConfigMap(domain('check'))).toBe(podConfigMap(domain()));
  expect(chartEnv(domain('check'))).toEqual(chartEnv(domain()));
  expect(localEnv(domain('check'))).toEqual(localEnv(domain()));
});

test('each Deployment carries the claim mode while a takeover is pending (the rollout budget reads it), on its metadata, not its pods', () => {
  const deployments = (d: Domain) => buildDomainChart(d, { bootstrap: { adminPassword: 'p', secretKey: 's'.repeat(32) } }).filter((m) => m.kind === 'Deployment') as unknown as { metadata: { annotations: Record<string, string> }; spec: { template: { metadata: { annotations: Record<string, string> } } } }[];
  const pending = deployments(domain('takeover'));
  expect(pending.length).toBeGreaterThan(0);
  for (const m of pending) {
    expect(m.metadata.annotations[STORAGE_CLAIM_ANNOTATION]).toBe('takeover');
    expect(m.spec.template.metadata.annotations ?? {}).not.toHaveProperty(STORAGE_CLAIM_ANNOTATION);
  }
  const done = { ...domain('takeover'), status: { storageClaim: { takenOverAt: '2026-12-07T09:00:00.000Z' } } };
  for (const d of [domain(), domain('check'), done]) for (const m of deployments(d)) expect(m.metadata.annotations).not.toHaveProperty(STORAGE_CLAIM_ANNOTATION);
  expect(deployments(done)).toEqual(deployments(domain()));
});

test('any other value is refused in kubectl\'s words and sets nothing', () => {
  for (const bad of ['Takeover', 'true', '']) {
    expect(storageClaimProblem(domain(bad))).toBe(`metadata.annotations[openpds.io/storage-claim]: Unsupported value: ${JSON.stringify(bad)}: supported values: "check", "takeover"`);
    expect(chartEnv(domain(bad))).toEqual(chartEnv(domain()));
  }
  expect(storageClaimProblem(domain())).toBeUndefined();
  expect(storageClaimProblem(domain('takeover'))).toBeUndefined();
  expect(storageClaimProblem(domain('check'))).toBeUndefined();
});

test('local mode refuses a Domain with a bad value as a manifest problem, and runs one with takeover', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-claim-'));
  const write = (claim: string) => fs.writeFileSync(path.join(dir, 'domain.yaml'), `apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: acme, annotations: {${STORAGE_CLAIM_ANNOTATION}: "${claim}"}}\nspec: {storage: {volume: {}}}\n`);
  write('yes');
  expect(loadManifests(dir)).toMatchObject({ domains: [], invalid: [{ where: 'domain.yaml', kind: 'Domain', name: 'default/acme', message: 'metadata.annotations[openpds.io/storage-claim]: Unsupported value: "yes": supported values: "check", "takeover"' }] });
  write('takeover');
  expect(loadManifests(dir)).toMatchObject({ invalid: [], domains: [{ metadata: { name: 'acme' } }] });
});
