import type { Domain } from '../domain-types';
import { domainEnv } from './domain-runner';

const domain = { apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', metadata: { name: 'd' }, spec: { storage: { volume: { size: '1Gi' } } } } as unknown as Domain;

test("up's data planes get its dataPlaneEnv settings; the Domain's own settings win over them", () => {
  const env = domainEnv(domain, { stateDir: '/tmp/openpds-state', logLevel: 'warn', dataPlaneEnv: { OPENPDS_PASSWORD_HASH_ITERATIONS: '1', OPENPDS_STORAGE: 's3', OPENPDS_LOG_LEVEL: 'debug' } });
  expect(env).toMatchObject({ OPENPDS_PASSWORD_HASH_ITERATIONS: '1', OPENPDS_STORAGE: 'local', OPENPDS_LOG_LEVEL: 'warn' });
  expect(domainEnv(domain, { stateDir: '/tmp/openpds-state', logLevel: 'warn' })).not.toHaveProperty('OPENPDS_PASSWORD_HASH_ITERATIONS');
});
