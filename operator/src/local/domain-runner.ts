/**
 * One Domain of `openpds up` as an in-process data plane with the embedded defaults (PGlite and local disk
 * under the state dir, whatever storage the spec names: local mode never touches a customer's bucket). The
 * settings a Domain spec carries that a single process honours are passed through as OPENPDS_* variables.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startServer, type RunningServer } from '../../../api-server/src/main';
import { dataPlaneSettings, resolveDomainSpec } from '../charts/domain-defaults';
import { storageClaimEnv } from '../charts/storage-claim';
import { quantityToBytes } from '../charts/quantity';
import type { Domain } from '../domain-types';
import { adminPassword, adminPasswordFile, domainDir, readDomainRecord, writeDomainRecord } from './state-dir';

export interface RunningDomain {
  domain: Domain;
  url: string;
  password: string;
  /** Where the password is kept, in the state dir's terms: what `up` prints beside the URL (never the password). */
  passwordFile: string;
  /** Changes when the env changes: then the data plane is restarted with the new one. */
  envKey: string;
  /** The port it had last time, when that one is outside the --base-port range asked for now. */
  movedFrom?: number;
  /** The port it had last time, when that one was in the range but in use: it moved to another. */
  busyFrom?: number;
  /**
   * Its data dir and the inode it had when the data plane started: gone or another inode, its files were
   * deleted or moved under it (an empty folder made again at the path by hand is not the data either).
   */
  dataDir: { path: string; ino: number };
  close(): Promise<void>;
}

export interface DomainRunnerOptions {
  stateDir: string;
  /** First port to try; 0 lets the kernel pick one. */
  basePort: number;
  logLevel: string;
  /** Ports already taken by this run's other domains. */
  usedPorts: Set<number>;
  /**
   * Settings every data plane gets besides its Domain's (the Domain's win where both set one): `openpds up`
   * passes the OPENPDS_PASSWORD_HASH_* of its own environment (as `openpds serve` reads them); tests lower
   * argon2's cost with them, as their own data planes do.
   */
  dataPlaneEnv?: Record<string, string>;
  /** `plan`/`apply` start their data planes for one run (StartOptions.shortLived); `up` keeps them. */
  shortLived?: boolean;
}

/**
 * The data plane's settings from the Domain's spec: what `up` compares each pass to restart a Domain
 * whose spec changed. Nothing read from the state dir: the admin password is read when it starts
 * (startDomain), else a password file deleted under a running `up` restarted its Domain with a new one.
 */
export function domainEnv(domain: Domain, options: Pick<DomainRunnerOptions, 'stateDir' | 'logLevel' | 'dataPlaneEnv'>): Record<string, string> {
  const spec = resolveDomainSpec(domain);
  return {
    ...options.dataPlaneEnv,
    OPENPDS_HOST: '127.0.0.1',
    OPENPDS_DOMAIN_ID: spec.domainId,
    OPENPDS_DATA_DIR: domainDataDir(options.stateDir, domain),
    OPENPDS_STORAGE: 'local',
    OPENPDS_DEFAULT_DRIVE_SIZE: String(quantityToBytes(spec.quotas.defaultDriveSize)),
    OPENPDS_MAX_USERS: String(spec.quotas.maxUsers),
    // The S3 and database ones too: local mode uses neither, but the data plane still checks them, as in a cluster.
    ...Object.fromEntries(dataPlaneSettings(spec).map(({ env, value }) => [env, String(value)])),
    OPENPDS_TRASH_RETENTION_DAYS: String(spec.trash.retentionDays),
    OPENPDS_LOG_LEVEL: options.logLevel,
    // A changed annotation changes this env, so `up` restarts the Domain with it, as for a spec change.
    ...storageClaimEnv(domain),
  };
}

export function domainDataDir(stateDir: string, domain: Domain): string {
  return path.join(domainDir(stateDir, domain.metadata.namespace ?? 'default', domain.metadata.name), 'data');
}

const MAX_PORT = 65535;

/** How many ports from --base-port a Domain may take: its range. */
export const PORT_ATTEMPTS = 50;

/**
 * Starts the data plane on the port it had last time (its URL stays what the user knows), else the first
 * free one from basePort. The last port is taken only inside the range asked for now (basePort and the
 * PORT_ATTEMPTS after it; any port with basePort 0): `--base-port` moves a Domain that ran elsewhere, it
 * is not ignored for it, and the caller says it moved (`movedFrom`).
 */
export async function startDomain(domain: Domain, options: DomainRunnerOptions): Promise<RunningDomain> {
  const ns = domain.metadata.namespace ?? 'default';
  const env = domainEnv(domain, options);
  const password = adminPassword(options.stateDir, ns, domain.metadata.name, env.OPENPDS_DOMAIN_ID);
  const previous = readDomainRecord(options.stateDir, ns, domain.metadata.name)?.port;
  const inRange = (port: number) => options.basePort === 0 || (port >= options.basePort && port < options.basePort + PORT_ATTEMPTS);
  // Never past the last port: --base-port 65535 tried 65536 and failed on every pass with a config error.
  const range = Array.from({ length: PORT_ATTEMPTS }, (_, i) => options.basePort + i).filter((port) => port <= MAX_PORT);
  const candidates = options.basePort === 0 ? [previous ?? 0, 0] : [...(previous && inRange(previous) ? [previous] : []), ...range];
  let running: RunningServer | undefined;
  let lastError: unknown;
  for (const port of candidates) {
    if (port !== 0 && options.usedPorts.has(port)) continue;
    try {
      running = await startServer({ ...env, OPENPDS_ADMIN_PASSWORD: password, OPENPDS_PORT: String(port) }, { shortLived: options.shortLived });
      break;
    } catch (error) {
      // startServer names the setting in a ConfigError (start-errors.ts) and keeps the errno as its cause.
      const errno = (error as NodeJS.ErrnoException).code ?? ((error as { cause?: NodeJS.ErrnoException }).cause)?.code;
      if (errno !== 'EADDRINUSE') throw error;
      lastError = error;
    }
  }
  if (!running) {
    if (options.basePort === 0) throw lastError ?? new Error('no free port');
    const last = range[range.length - 1] ?? options.basePort;
    throw new Error(`no free port for its data plane: ${options.basePort}..${last} are all in use (by other programs or this run's other Domains); give another --base-port (0: any free port)`);
  }
  const port = running.deps.config.port;
  options.usedPorts.add(port);
  const ran = { apiVersion: domain.apiVersion, kind: domain.kind, metadata: { name: domain.metadata.name, namespace: ns }, spec: domain.spec } as Domain;
  writeDomainRecord(options.stateDir, ns, domain.metadata.name, { url: running.url, port, domain: ran });
  const server = running;
  const dataDir = { path: env.OPENPDS_DATA_DIR!, ino: fs.statSync(env.OPENPDS_DATA_DIR!).ino };
  return {
    dataDir,
    domain,
    url: running.url,
    password,
    passwordFile: adminPasswordFile(options.stateDir, ns, domain.metadata.name),
    envKey: JSON.stringify(env),
    ...(previous && !inRange(previous) ? { movedFrom: previous } : {}),
    ...(previous && inRange(previous) && port !== previous ? { busyFrom: previous } : {}),
    async close() {
      options.usedPorts.delete(port);
      await server.close();
    },
  };
}
