import { createDomainContext } from '../charts/domain-context';
import type { Domain } from '../domain-types';
import { adminEndpoint } from './domain';

const domain = (annotations: Record<string, string> = {}): Domain => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Domain',
  metadata: { name: 'acme', namespace: 'prod', annotations },
  spec: { storage: { mode: 'standard', volume: { size: '1Gi' } } },
});

describe('adminEndpoint: where the operator sends its admin login', () => {
  it('is the Domain Service by default', () => {
    expect(adminEndpoint(domain(), createDomainContext(domain()))).toBe('http://acme-api.prod.svc:8080');
  });

  it('is the --domain-endpoint override of that Domain when the operator has one', () => {
    expect(adminEndpoint(domain(), createDomainContext(domain()), { 'prod/acme': 'http://127.0.0.1:9000', 'prod/other': 'http://x' })).toBe('http://127.0.0.1:9000');
  });

  it('is never taken from the Domain object: whoever edits a Domain must not receive the admin password', () => {
    const annotated = domain({ 'openpds.io/admin-endpoint': 'https://attacker.example' });
    expect(adminEndpoint(annotated, createDomainContext(annotated))).toBe('http://acme-api.prod.svc:8080');
  });
});
