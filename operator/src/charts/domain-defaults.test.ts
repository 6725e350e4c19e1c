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
  ['s3', minimal({ s3: { bucket: 'b-1', credentialsSecretRef: { name: 'c' } } })],
  ['volume', minimal({ volume: {} }, { apiServer: { replicas: 1 } })],
  ['hosting', minimal({ mode: 'hosting', hosting: { bucket: 'b-1', credentialsSecretRef: { name: 'c' } } })],
])('resolveDomainSpec agrees with the CRD defaults (%s)', (_name, domain) => {
  const defaulted = structuredClone(domain);
  expect(validateWithDefaults('Domain', defaulted)).toEqual([]);
  const { domainId, ...resolved } = resolveDomainSpec(domain);
  expect(domainId).toBe('d');
  expect(resolved).toEqual(defaulted.spec);
});
