/**
 * Which running domain a Drive of `openpds plan/apply` talks to: one endpoint given on the command line
 * (every Drive goes there, whatever its domainRef), or the domains an `openpds up` state dir records.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createAdminClient, type AdminClient } from '../admin-client/admin-client';
import type { DomainAccess } from '../reconcilers/drive';
import { ADMIN_USERNAME, domainDir, readDomainRecord } from './state-dir';

export type TargetOptions = { endpoint: string; username: string; password: string } | { stateDir: string };

export interface DomainTargets {
  access(namespace: string, domainName: string): DomainAccess;
}

export function createDomainTargets(options: TargetOptions): DomainTargets {
  if ('endpoint' in options) {
    const client = createAdminClient({ baseUrl: options.endpoint, credentials: { username: options.username, password: options.password } });
    return { access: () => ({ state: 'Ready', client }) };
  }
  // One client per domain, so each logs in once however many Drives it holds.
  const clients = new Map<string, AdminClient>();
  return {
    access(namespace, domainName) {
      const k = `${namespace}/${domainName}`;
      const cached = clients.get(k);
      if (cached) return { state: 'Ready', client: cached };
      const record = readDomainRecord(options.stateDir, namespace, domainName);
      const passwordFile = path.join(domainDir(options.stateDir, namespace, domainName), 'admin-password');
      if (!record || !fs.existsSync(passwordFile)) return { state: 'NotFound', message: `Domain ${k} has never run under ${path.resolve(options.stateDir)} (start it with openpds up)` };
      const client = createAdminClient({ baseUrl: record.url, credentials: { username: ADMIN_USERNAME, password: fs.readFileSync(passwordFile, 'utf8').trim() } });
      clients.set(k, client);
      return { state: 'Ready', client };
    },
  };
}
