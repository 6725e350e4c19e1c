/**
 * Which running domain a Drive of `openpds plan/apply` talks to: the endpoints given on the command line
 * (`--endpoint NAME=URL`, matched against the Drive's domainRef), or the domains an `openpds up` state dir
 * records.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createAdminClient, type AdminClient } from '../admin-client/admin-client';
import type { DomainAccess } from '../reconcilers/drive';
import { loginOnceFetch } from './login-once-fetch';
import { ADMIN_USERNAME, domainDir, readDomainRecord } from './state-dir';

/** endpoints: by `namespace/name` or by name alone (any namespace). */
export type TargetOptions = { endpoints: Record<string, string>; username: string; password: string } | { stateDir: string };

export interface DomainTargets {
  access(namespace: string, domainName: string): DomainAccess;
}

export function createDomainTargets(options: TargetOptions): DomainTargets {
  // One client per domain, so each logs in once however many Drives it holds.
  const clients = new Map<string, AdminClient>();
  const cached = (key: string, make: () => AdminClient): DomainAccess => {
    let client = clients.get(key);
    if (!client) clients.set(key, (client = make()));
    return { state: 'Ready', client };
  };
  if ('endpoints' in options) {
    const { endpoints, username, password } = options;
    return {
      access(namespace, domainName) {
        const url = endpoints[`${namespace}/${domainName}`] ?? endpoints[domainName];
        if (!url) return { state: 'NotFound', message: `no --endpoint for Domain ${namespace}/${domainName} (give --endpoint ${domainName}=URL)` };
        return cached(url, () => createAdminClient({ baseUrl: url, credentials: { username, password }, fetch: loginOnceFetch() }));
      },
    };
  }
  return {
    access(namespace, domainName) {
      const k = `${namespace}/${domainName}`;
      const hit = clients.get(k);
      if (hit) return { state: 'Ready', client: hit };
      const record = readDomainRecord(options.stateDir, namespace, domainName);
      const passwordFile = path.join(domainDir(options.stateDir, namespace, domainName), 'admin-password');
      if (!record || !fs.existsSync(passwordFile)) return { state: 'NotFound', message: `Domain ${k} has never run under ${path.resolve(options.stateDir)} (start it with openpds up)` };
      return cached(k, () => createAdminClient({ baseUrl: record.url, credentials: { username: ADMIN_USERNAME, password: fs.readFileSync(passwordFile, 'utf8').trim() }, fetch: loginOnceFetch() }));
    },
  };
}

/**
 * `--endpoint` values: `NAME=URL` or `NAMESPACE/NAME=URL` pairs, or one bare URL. A bare URL stands for
 * the one Domain the folder's Drives reference (see bareEndpointTarget); anything else is an error.
 */
export function parseEndpoints(values: string[]): { named: Record<string, string>; bare?: string } | string {
  const named: Record<string, string> = {};
  const bare: string[] = [];
  for (const value of values) {
    const pair = /^((?:[a-z0-9][-a-z0-9.]*\/)?[a-z0-9][-a-z0-9.]*)=(.*)$/.exec(value);
    const url = pair ? pair[2]! : value;
    if (!/^https?:\/\/[^/]/.test(url)) return `--endpoint ${value}: expected URL or NAME=URL with an http(s) URL`;
    if (!pair) bare.push(url);
    else if (named[pair[1]!] !== undefined) return `--endpoint ${pair[1]} is given twice`;
    else named[pair[1]!] = url;
  }
  if (bare.length > 0 && (bare.length > 1 || Object.keys(named).length > 0)) return 'give one --endpoint URL, or one --endpoint NAME=URL per Domain';
  return bare.length ? { named, bare: bare[0] } : { named };
}

/**
 * The Domains `--endpoint NAME=URL` pairs name, for the prune scope of `--set`: `NAMESPACE/NAME` as
 * given, a `NAME` alone in namespace default, as a manifest naming no namespace is read. (A `NAME` alone
 * also reaches Drives of that Domain in other namespaces; their drives are pruned only when the folder
 * still has a Drive or Domain there, or when `NAMESPACE/NAME=URL` names it: never a guess.)
 */
export function namedDomains(endpoints: Record<string, string>): { namespace: string; domain: string }[] {
  return Object.keys(endpoints).map((key) => {
    const [namespace, domain] = key.includes('/') ? key.split('/') : ['default', key];
    return { namespace: namespace!, domain: domain! };
  });
}

/**
 * A bare URL is only unambiguous when every Drive of the folder references one Domain (or, with no Drive
 * left, the folder declares one): sending Drives of two domains to one data plane was a silent mistake.
 * When the folder declares Domains, the URL stands for one of them, and a Drive referencing a Domain the
 * folder does not declare gets no endpoint (see onlyDeclaredDomains). A folder of Drives only (the Domain
 * runs elsewhere) sends them to the URL: there is nothing it could be confused with.
 */
export function bareEndpointTarget(url: string, drives: { namespace: string; domain: string }[], domains: { namespace: string; domain: string }[]): Record<string, string> | string {
  const unique = (list: { namespace: string; domain: string }[]) => [...new Set(list.map((d) => `${d.namespace}/${d.domain}`))];
  const declared = unique(domains);
  // A Domain the folder does not declare is no candidate when it declares some: its Drives are errors.
  const referenced = unique(drives).filter((k) => declared.length === 0 || declared.includes(k));
  if (referenced.length > 1) return `--endpoint ${url} is ambiguous: the Drives reference Domains ${referenced.join(', ')}; give --endpoint NAME=URL for each`;
  if (referenced.length === 1) return { [referenced[0]!]: url };
  if (declared.length > 1) return `--endpoint ${url} is ambiguous: the folder declares Domains ${declared.join(', ')}; give --endpoint NAME=URL for each`;
  return declared.length === 1 ? { [declared[0]!]: url } : {};
}

/**
 * With a bare URL and Domains in the folder, a Drive whose domainRef is none of them (a typo, most often)
 * is a DomainNotFound error naming the Domains the folder has, not a Drive sent to the URL's data plane.
 */
export function onlyDeclaredDomains(targets: DomainTargets, url: string, domains: { namespace: string; domain: string }[]): DomainTargets {
  const declared = new Set(domains.map((d) => `${d.namespace}/${d.domain}`));
  if (declared.size === 0) return targets;
  return {
    access(namespace, domainName) {
      if (declared.has(`${namespace}/${domainName}`)) return targets.access(namespace, domainName);
      return { state: 'NotFound', message: `Domain ${namespace}/${domainName} is not declared in the folder (it declares ${[...declared].join(', ')}), and --endpoint ${url} stands for a Domain of the folder; fix the domainRef, or give --endpoint ${domainName}=URL` };
    },
  };
}
