// The charts fill in defaults themselves (a Domain from `openpds up` or a test has none); they must be the
// CRD's defaults, or a Domain would deploy differently with and without a cluster.
import { validateWithDefaults } from '../../../crds/testing/crd-schema';
import type { Domain } from '../domain-types';
import { resolveDomainSpec } from './domain-defaults';

const minimal = (storage: Domain['spec']['storage'], extra: Partial<Domain['spec']> = {}): Domain => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Domain',
  metadata: { name: 'd' },
  spec: { storage, database: { urlSecretRef: { name: 'db' } }, alerts: { webhooks: [{ name: 'w', urlSecretRef: { name: 's' } }] }, ...extra },
});

test.each([
  ['s3', minimal({ s3: { bucket: 'b-1', credentialsSecretRef: { name: 'c' } } }), 2],
  ['volume', minimal({ volume: {} }), 1],
  ['hosting', minimal({ mode: 'hosting', hosting: { bucket: 'b-1', credentialsSecretRef: { name: 'c' } } }), 2],
])('resolveDomainSpec agrees with the CRD defaults (%s)', (_name, domain, apiReplicas) => {
  const defaulted = structuredClone(domain);
  expect(validateWithDefaults('Domain', defaulted)).toEqual([]);
  const { domainId, ...resolved } = resolveDomainSpec(domain);
  expect(domainId).toBe('d');
  // apiServer.replicas has no CRD default (it depends on the storage): the chart's is checked apart.
  expect(defaulted.spec.apiServer).not.toHaveProperty('replicas');
  expect(resolved.apiServer.replicas).toBe(apiReplicas);
  expect({ ...resolved, apiServer: { ...resolved.apiServer, replicas: undefined } }).toEqual({ ...defaulted.spec, apiServer: { ...defaulted.spec.apiServer, replicas: undefined } });
});

test('a set apiServer.replicas wins over the storage-dependent default', () => {
  expect(resolveDomainSpec(minimal({ volume: {} }, { apiServer: { replicas: 0 } })).apiServer.replicas).toBe(0);
  expect(resolveDomainSpec(minimal({ s3: { bucket: 'b-1' } }, { apiServer: { replicas: 5 } })).apiServer.replicas).toBe(5);
});
