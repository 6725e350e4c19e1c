// spec.upgrade.allowNewerSchema reaches the data plane as OPENPDS_ALLOW_NEWER_SCHEMA, a setting the data
// plane's config knows (an older image on a newer schema stays not ready without it), and only when set:
// a new key in every Domain's ConfigMap would change its config hash and roll every data plane.
import { loadConfig } from '../../../api-server/src/config/config';
import type { Domain } from '../domain-types';
import { domainEnv } from './config.chart';
import { createDomainContext } from './domain-context';

const domain = (upgrade?: Domain['spec']['upgrade']): Domain => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Domain',
  metadata: { name: 'd', namespace: 'ns' },
  spec: { storage: { volume: {} }, ...(upgrade ? { upgrade } : {}) },
});

test('allowNewerSchema: true sets OPENPDS_ALLOW_NEWER_SCHEMA, which the data plane reads', () => {
  const env = domainEnv(createDomainContext(domain({ allowNewerSchema: true })));
  expect(env.OPENPDS_ALLOW_NEWER_SCHEMA).toBe('true');
  expect(loadConfig({ ...env, OPENPDS_SECRET_KEY: 'k'.repeat(32) }).allowNewerSchema).toBe(true);
});

test('unset or false adds nothing to the ConfigMap', () => {
  expect(domainEnv(createDomainContext(domain()))).not.toHaveProperty('OPENPDS_ALLOW_NEWER_SCHEMA');
  expect(domainEnv(createDomainContext(domain({ allowNewerSchema: false })))).toEqual(domainEnv(createDomainContext(domain())));
});
