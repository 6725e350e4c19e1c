/**
 * How the operator reaches a Domain's admin API: the endpoint (the Service, or the operator's own
 * --domain-endpoint override, never the Domain object), one logged-in admin client per Domain shared by
 * every caller, and the access Drives (and later the other admin-API kinds) get: a client once the Domain
 * is Ready, or why not.
 */
import { createAdminClient, type AdminClient, type FetchFn as AdminFetch } from '../admin-client/admin-client';
import { createDomainContext, type DomainContext } from '../charts/domain-context';
import type { Domain } from '../domain-types';
import { findCondition } from '../kube/conditions';
import { createHttpFetch } from '../kube/http-fetch';
import type { KubeClient, KubeObject } from '../kube/kube-client';
import type { DomainAccess } from './drive-context';

/**
 * The URL the operator probes and logs in to: the `--domain-endpoint` override, else the Domain's Service.
 * Only the operator's own flags may redirect it, never the Domain object: whoever can edit a Domain could
 * otherwise send the operator's admin login (password from the Secret) to a URL of their choosing.
 */
export function adminEndpoint(domain: Domain, ctx: DomainContext, overrides: Record<string, string> = {}): string {
  return overrides[`${ctx.namespace}/${domain.metadata.name}`] ?? ctx.endpoint;
}

/** One admin client per Domain, kept so its login token is reused by every caller. */
export interface DomainAdminClients {
  /** The client of `ctx`'s Domain at `endpoint` (a new one when the endpoint changed). */
  get(ctx: DomainContext, endpoint: string): AdminClient;
  /** Drops the client of a deleted Domain. */
  forget(namespace: string, name: string): void;
}

/**
 * Admin clients per Domain, shared by the Domain reconciler (usage) and createDomainAccessResolver
 * (Drives and the other kinds applied through the admin API): one login per domain serves them all, and
 * the password is read from the `<domain>-admin` Secret at each login only, never per call.
 */
export function createDomainAdminClients(deps: { client: KubeClient; fetch?: AdminFetch }): DomainAdminClients {
  const clients = new Map<string, { endpoint: string; admin: AdminClient }>();
  // One connection pool for every Domain's client (node:http, lighter than global fetch; see http-fetch.ts).
  const fetchFn: AdminFetch = deps.fetch ?? createHttpFetch();
  return {
    get(ctx, endpoint) {
      const key = `${ctx.namespace}/${ctx.domain.metadata.name}`;
      let entry = clients.get(key);
      if (!entry || entry.endpoint !== endpoint) {
        const credentials = async () => {
          const secret = await deps.client.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace: ctx.namespace, name: ctx.names.adminSecret });
          const read = (k: string) => Buffer.from(secret.data?.[k] ?? '', 'base64').toString('utf8');
          return { username: read('username') || 'admin', password: read('password') };
        };
        entry = { endpoint, admin: createAdminClient({ baseUrl: endpoint, credentials, fetch: fetchFn }) };
        clients.set(key, entry);
      }
      return entry.admin;
    },
    forget: (namespace, name) => void clients.delete(`${namespace}/${name}`),
  };
}

/**
 * What the Drive reconciler (and any other kind applied through a domain's admin API) needs of its Domain:
 * an admin client when the Domain is Ready, or why there is none. The clients are those of
 * createDomainAdminClients (pass the reconciler's, so both share one login per domain).
 */
export function createDomainAccessResolver(deps: { client: KubeClient; domainEndpoints?: Record<string, string>; getDomain: (namespace: string, name: string) => Domain | undefined; fetch?: AdminFetch; adminClients?: DomainAdminClients }) {
  const adminClients = deps.adminClients ?? createDomainAdminClients({ client: deps.client, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  return async function domainAccess(namespace: string, name: string): Promise<DomainAccess> {
    const domain = deps.getDomain(namespace, name);
    if (!domain) return { state: 'NotFound', message: `Domain ${namespace}/${name} does not exist` };
    const ready = findCondition(domain.status?.conditions, 'Ready');
    // A Domain being deleted waits (WaitingForDrives) for its reclaimPolicy Delete Drives before it tears
    // its data plane down, so the data plane still runs then: refusing those Drives the admin API, as for
    // any Domain that is not Ready, would leave each waiting for the other for ever.
    const waitingForDrives = Boolean((domain.metadata as { deletionTimestamp?: string }).deletionTimestamp) && ready?.reason === 'WaitingForDrives';
    if (ready?.status !== 'True' && !waitingForDrives) return { state: 'NotReady', message: `Domain ${namespace}/${name} is not ready${ready ? ` (${ready.reason})` : ''}` };
    const ctx = createDomainContext(domain);
    return { state: 'Ready', client: adminClients.get(ctx, adminEndpoint(domain, ctx, deps.domainEndpoints)), ...(waitingForDrives ? { deleting: true } : {}) };
  };
}
