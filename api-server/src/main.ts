/**
 * The composition root of the data plane: the only place that reads the environment and wires real
 * implementations. `openpds serve` and `openpds migrate` land here.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { homedir } from 'node:os';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { createApp, createServices, type Services } from './app';
import { ConfigError, loadConfig, startupNotices, unknownEnvNotices, type Config } from './config/config';
import { newPasswordProblem } from './config/password-rule';
import type { Db } from './db/db';
import { migrate } from './db/migrate';
import { createSchemaCheck, type SchemaCheck } from './db/migrate-schema-check';
import { VERSION as OPENPDS_VERSION } from './version';
import { createPasswordHasher } from './modules/auth/password-hash';
import { createTokenSigner } from './modules/auth/tokens';
import { startGcSchedule } from './modules/gc/gc-schedule';
import { createUsersRepository } from './modules/users/users.repository';
import { systemClock } from './shared/clock';
import type { Deps } from './shared/deps';
import { createIdGenerator } from './shared/ids';
import { waitForDatabase } from './shared/database-start';
import { createMetrics } from './shared/metrics';
import { createPasswordCheckSlots } from './modules/auth/password-check-slots';
import { registryMetricsHandler, startMetricsServer, type MetricsServer } from './shared/metrics-server';
import { answerClientErrors } from './shared/client-errors';
import { applyServerTimeouts, HTTP_SERVER_OPTIONS, limitConnections, maxConnectionsFor } from './shared/server-timeouts';
import { routeProcessWarnings } from './shared/process-warnings';
import { ensureDataDir, explainListenError } from './shared/start-errors';
import { createUrlSigner } from './shared/url-signer';
import { createBlobStore, describeBlobStore } from './storage/create-blob-store';
import { StorageClaimError } from './storage/storage-claim';
import { createStorageClaimGuard } from './storage/storage-claim.guard';

const SHUTDOWN_GRACE_MS = 10_000;
const DB_CLOSE_AFTER_FAILED_START_MS = 2_000;

/**
 * Only the configured database's driver is loaded, as only the configured store's SDK is: pg's modules
 * idled in a PGlite server's heap (measured: V8 heap pages −1.8 MB idle RSS) and PGlite's 0.5 MB module
 * in a PostgreSQL one (−1 MB).
 */
export async function openDb(config: Config, logger?: Pick<Logger, 'info'>, options: { shortLived?: boolean } = {}): Promise<Db> {
  /* eslint-disable @typescript-eslint/no-require-imports -- lazy on purpose, see above */
  if (config.databaseUrl) return (require('./db/pg.db') as typeof import('./db/pg.db')).createPgDb(config.databaseUrl, { statementTimeoutMs: config.dbStatementTimeoutSeconds * 1000 });
  ensureDataDir(config.dataDir);
  const dir = path.join(config.dataDir, 'db');
  // A first start creates the database (initdb and the schema: ~10 s, longer on a slow machine) and said
  // nothing meanwhile, so it looked hung. Said before and after, with the time it took.
  const creating = logger && !existsSync(path.join(dir, 'PG_VERSION'));
  if (creating) logger.info({ data_dir: dir }, `creating the embedded database in ${dir} (first start)`);
  const started = Date.now();
  const db = await (require('./db/pglite.db') as typeof import('./db/pglite.db')).createPgliteDb(dir, { initdbCache: initdbCacheDir(config.pgliteInitdbCache), shortLived: options.shortLived });
  /* eslint-enable @typescript-eslint/no-require-imports */
  const ms = Date.now() - started;
  if (creating) logger.info({ data_dir: dir, duration_ms: ms }, `created the embedded database in ${(ms / 1000).toFixed(1)} s`);
  return db;
}

/**
 * The database of a command that opens it for one run and exits (`migrate`, `jobs`, `admin`): PGlite keeps
 * Liftoff (PgliteOptions.shortLived), where `serve` turns it off. cli/short-lived.test.ts checks who passes it.
 */
export function openCommandDb(config: Config, logger?: Pick<Logger, 'info'>): Promise<Db> {
  return openDb(config, logger, { shortLived: true });
}

/**
 * OPENPDS_PGLITE_INITDB_CACHE as a directory, or undefined (off, or `auto` with no home to put it in).
 * os.homedir() throws when HOME is unset and the uid has no passwd entry (an arbitrary uid in a
 * container): that is no home, so no cache, not a server that cannot start. `env` and `home` are for tests.
 */
export function initdbCacheDir(setting: string, env: Record<string, string | undefined> = process.env, home: () => string = homedir): string | undefined {
  if (setting === 'off' || setting === '') return undefined;
  if (setting !== 'auto') return path.resolve(setting);
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'openpds');
  let dir: string;
  try {
    dir = home();
  } catch {
    return undefined;
  }
  return dir && dir !== '/' ? path.join(dir, '.cache', 'openpds') : undefined;
}

/** OPENPDS_SECRET_KEY, or one generated on first start and kept (mode 600) in the data dir. */
function loadSecret(config: Config): string {
  if (config.secretKey) return config.secretKey;
  const file = path.join(config.dataDir, 'secret.key');
  ensureDataDir(config.dataDir);
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return readFileSync(file, 'utf8').trim();
}

export interface RunningServer {
  server: Server;
  deps: Deps;
  services: Services;
  url: string;
  /** The metrics server's URL when OPENPDS_METRICS_PORT is set (/metrics is then only there). */
  metricsUrl: string | undefined;
  close(): Promise<void>;
}

/** Starts the data plane: migrate, bootstrap the domain and its superadmin, listen, run the GC loop. */
export interface StartOptions {
  /** Where the log lines go (stdout by default); tests read what a start said. */
  logDestination?: pino.DestinationStream;
  /** How long close() lets requests in flight finish before it cuts them (default 10 s; tests shorten it). */
  shutdownGraceMs?: number;
  /** A server a short-lived command starts and stops (`plan`/`apply`): see PgliteOptions.shortLived. */
  shortLived?: boolean;
  /**
   * Log Node's process warnings as this logger's lines, not as Node's text on stderr (process-warnings.ts),
   * for the life of the process: the `openpds` command sets it, not a process running servers beside
   * others (`openpds up`, tests).
   */
  routeProcessWarnings?: boolean;
}

export async function startServer(env: Record<string, string | undefined> = process.env, options: StartOptions = {}): Promise<RunningServer> {
  const loaded = loadConfig(env);
  // A data dir that cannot be made fails the start before a port is taken, naming OPENPDS_DATA_DIR.
  if (!loaded.databaseUrl || loaded.storage === 'local' || !loaded.secretKey) ensureDataDir(loaded.dataDir);
  const logger = pino({ level: loaded.logLevel, base: { domain: loaded.domainId } }, options.logDestination);
  // Now, before anything can warn (the S3 client below): a warning is emitted on the next tick.
  if (options.routeProcessWarnings) routeProcessWarnings((fields, msg) => logger.warn(fields, msg));
  // Listen first: with OPENPDS_PORT=0 the signed URLs must carry the port the kernel picked.
  const server = createServer(HTTP_SERVER_OPTIONS);
  // Idle limits only, never the duration: a big part uploaded to a local URL is slow (server-timeouts.ts).
  applyServerTimeouts(server);
  // What Node's parser refuses (431, 400, 408) answers {code, message} like everything else (client-errors.ts).
  answerClientErrors(server);
  const metrics = createMetrics();
  // From the start: a flood of connections during migrations must not use up the open files either.
  limitConnections(server, maxConnectionsFor(loaded.maxConnections), logger, { dropped: metrics.connectionsDropped });
  // Until the app is attached (migrations can take a while on a first start) every request gets a 503.
  const starting = (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
    res.end(JSON.stringify({ code: 'ServiceUnavailable.Starting', message: 'the server is starting; retry shortly' }));
  };
  server.on('request', starting);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(explainListenError(err, { port: loaded.port, host: loaded.host, portSetting: 'OPENPDS_PORT', hostSetting: 'OPENPDS_HOST' })));
    server.listen(loaded.port, loaded.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : loaded.port;
  const config: Config = { ...loaded, port, publicUrl: env.OPENPDS_PUBLIC_URL ? loaded.publicUrl : `http://localhost:${port}` };
  // /metrics on a port of its own when one is set (metrics-server.ts), from the start on: a port taken
  // fails the start like the API port does.
  let metricsServer: MetricsServer | undefined;
  const closeServer = async () => {
    server.closeAllConnections();
    await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), metricsServer?.close()]);
  };
  if (config.metricsPort !== undefined) {
    try {
      metricsServer = await startMetricsServer({ port: config.metricsPort, host: config.host, handler: registryMetricsHandler(metrics.registry) });
    } catch (error) {
      await closeServer();
      throw explainListenError(error, { port: config.metricsPort, host: config.host, portSetting: 'OPENPDS_METRICS_PORT', hostSetting: 'OPENPDS_HOST' });
    }
  }
  // A database that cannot be opened (in use by another process, unreachable) or migrated: nothing is
  // left listening behind the error.
  let db: Db;
  let schema: SchemaCheck;
  try {
    db = await openDb(config, logger, { shortLived: options.shortLived });
    schema = createSchemaCheck({ db, allowNewer: config.allowNewerSchema, logger, version: OPENPDS_VERSION, gauge: metrics.schemaUnknownMigrations });
  } catch (error) {
    await closeServer();
    throw error;
  }
  try {
    // A PostgreSQL not reachable yet is waited for (database-start.ts), as a store is; PGlite is a file.
    if (db.dialect === 'pg') await waitForDatabase(db, { timeoutMs: config.dbStartTimeoutSeconds * 1000, logger });
    await migrate(db);
    // Migrations this version does not know (an image rolled back): not ready, no API, jobs or GC unless
    // OPENPDS_ALLOW_NEWER_SCHEMA (migrate-schema-check.ts). Decided now, once: old pods mid-roll keep serving.
    await schema.decide();
  } catch (error) {
    await closeServer();
    // An attempt at a database that never answered may still be pending: the pool's end waits for it.
    await Promise.race([db.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, DB_CLOSE_AFTER_FAILED_START_MS).unref())]);
    throw error;
  }
  const secret = loadSecret(config);
  const urlSigner = createUrlSigner({ secret: `url:${secret}`, baseUrl: config.publicUrl });
  const store = createBlobStore(config, urlSigner, metrics.storageErrors);
  // Before anything can serve, run a job or GC: a store another instance owns is left alone, and so is
  // one whose blobs this database does not know (storage-claim.ts). Refused, `serve` exits 1 like on a bad
  // setting, its log saying which instance holds the store. A store that cannot be reached yet is no
  // refusal: the API answers 503, /readyz fails, jobs wait, and the check is retried.
  const storageClaim = createStorageClaimGuard({ db, store, clock: systemClock, domainId: config.domainId, storeName: describeBlobStore(config), logger });
  const claimed = await storageClaim.acquire(config.storageClaim).then(
    () => true,
    async (error: unknown) => {
      if (!(error instanceof StorageClaimError)) return false;
      await closeServer();
      await db.close();
      throw error;
    },
  );
  const deps: Deps = {
    config,
    db,
    store,
    storageClaim,
    schema,
    clock: systemClock,
    newId: createIdGenerator(),
    metrics,
    logger,
    urlSigner,
    tokens: createTokenSigner(secret),
    passwordChecks: createPasswordCheckSlots(),
    // A property of the process, not an operator's setting: jest sets NODE_ENV=test in its workers and the
    // processes they spawn inherit it; the image sets production.
    validateResponses: process.env.NODE_ENV === 'test',
  };
  const services = createServices(deps);
  // Old code's writes on a newer schema may fail or damage it: a domain is bootstrapped only when servable.
  try {
    if (schema.servable()) await bootstrap(deps, services);
  } catch (error) {
    // A refused OPENPDS_ADMIN_PASSWORD, a database that fails mid-bootstrap: nothing left listening or
    // holding the data dir's lock (`openpds up` and tests start servers in process, and start again).
    await closeServer();
    await db.close();
    throw error;
  }
  // PGlite runs no autovacuum, so nothing ever gathers planner statistics there: every table looks a few
  // rows long, and the folder walks over a big tree chose a whole-table scan per level (session 12's red
  // team: a 16k-folder copy took 54 s). ANALYZE at start and after each GC run keeps the plans honest; it
  // samples, so it stays well under a second at 100k files, and on PostgreSQL autovacuum does it.
  const analyze = () =>
    db.dialect === 'pglite' ? db.exec('ANALYZE').catch((err: unknown) => logger.warn({ err }, 'ANALYZE of the embedded database failed')) : Promise.resolve();
  await analyze();
  const { app } = createApp(deps, services);
  server.off('request', starting);
  server.on('request', app);
  logger.info({ port, metrics_port: metricsServer?.port, storage: deps.store.kind, database: db.dialect }, 'openpds data plane listening');
  for (const notice of startupNotices(config)) logger.warn(notice);
  for (const notice of unknownEnvNotices(env)) logger.warn(notice);

  const startJobs = () => void (config.serveRunsJobs && schema.servable() && services.jobs.start());
  const claimRetry = claimed ? undefined : storageClaim.retryUntilDecided(config.storageClaim, startJobs);
  if (claimed) startJobs();

  // One run at a time, abortable at close (gc-schedule.ts).
  const gcSchedule = config.gcIntervalSeconds > 0 && schema.servable() ? startGcSchedule((signal) => services.gc.run({ signal }), { intervalMs: config.gcIntervalSeconds * 1000, logger, afterRun: analyze }) : undefined;

  return {
    server,
    deps,
    services,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: metricsServer ? `http://127.0.0.1:${metricsServer.port}` : undefined,
    async close() {
      const grace = options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS;
      // Aborted now and waited for alongside the HTTP connections, within the same grace (SHUTDOWN_GRACE_MS): the
      // jobs' closeGraceMs (15 s) then still fits in the pod's 30 s.
      const gcStopped = gcSchedule?.stop(grace);
      await claimRetry?.stop();
      // close() resolves only once every connection has ended: drop idle keep-alives now, and cut the
      // rest (a stalled upload) after a grace period so SIGTERM always finishes.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // A request answered during the grace leaves its keep-alive connection idle: closed as it goes idle,
      // not held until the cut (close() waited the whole 10 s, and the cut's warning named it busy).
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      const cut = setTimeout(() => {
        // A download or upload cut here fails on the client's side only: say so in the log too.
        server.getConnections((_error, count) => logger.warn({ connections: count, grace_ms: grace }, `shutting down: closing ${count} connection(s) still busy after ${grace / 1000} s`));
        server.closeAllConnections();
      }, grace);
      await Promise.all([closed, metricsServer?.close()]);
      clearTimeout(cut);
      clearInterval(idle);
      await gcStopped;
      await services.jobs.close();
      await db.close();
    },
  };
}

async function bootstrap(deps: Deps, services: ReturnType<typeof createServices>) {
  await services.domain.ensure();
  const users = createUsersRepository();
  if ((await users.countByRole(deps.db, deps.config.domainId, 'superadmin')) > 0) {
    await warnIfAdminPasswordIgnored(deps, users);
    return;
  }
  // The API's password rule for the one this start sets (config/password-rule.ts); a superadmin that exists
  // is never checked, so a data dir made with a shorter OPENPDS_ADMIN_PASSWORD, still set, keeps starting.
  const refused = deps.config.adminPassword ? newPasswordProblem(deps.config.adminPassword, 'OPENPDS_ADMIN_PASSWORD') : undefined;
  if (refused) throw new ConfigError(`${refused} (it becomes the superadmin's password on this first start)`);
  const password = deps.config.adminPassword || randomBytes(12).toString('base64url');
  await services.users.create(null, { user_name: 'admin', password, role: 'superadmin', nick_name: 'Administrator' });
  if (!deps.config.adminPassword) {
    // Printed once, on the first start only: the operator keeps it in a Secret, people copy it from here.
    process.stdout.write(`\nOpenPDS: created superadmin "admin" with password: ${password}\n\n`);
  }
  deps.logger.info('created superadmin admin');
}

/**
 * OPENPDS_ADMIN_PASSWORD set, but not the superadmin's password: it is read only when the superadmin is
 * created, and people set it later expecting a reset (README walkthrough). Said once at start, without the
 * password; one argon2 verification, and only when the variable is set.
 */
async function warnIfAdminPasswordIgnored(deps: Deps, users: ReturnType<typeof createUsersRepository>) {
  if (!deps.config.adminPassword) return;
  const admin = await users.getByName(deps.db, deps.config.domainId, 'admin');
  if (admin?.password_hash && (await createPasswordHasher(deps.config).verify(admin.password_hash, deps.config.adminPassword))) return;
  deps.logger.warn(
    'OPENPDS_ADMIN_PASSWORD is set but is not the password of the superadmin "admin": it is read only when the superadmin is first created. ' +
      'To change that password, stop the server and run `openpds admin reset-password` (or change it through the API)',
  );
}

/**
 * `openpds migrate`. A PostgreSQL not reachable yet is waited for as `serve` waits for it
 * (OPENPDS_DB_START_TIMEOUT_SECONDS, database-start.ts): a migration Job started with its database failed
 * at once and went into Kubernetes' back-off.
 */
export async function runMigrations(env: Record<string, string | undefined> = process.env, options: StartOptions = {}): Promise<string[]> {
  const config = loadConfig(env);
  const logger = pino({ level: config.logLevel, base: { domain: config.domainId } }, options.logDestination);
  if (options.routeProcessWarnings) routeProcessWarnings((fields, msg) => logger.warn(fields, msg));
  for (const notice of unknownEnvNotices(env)) logger.warn(notice);
  const db = await openCommandDb(config, logger);
  try {
    if (db.dialect === 'pg') await waitForDatabase(db, { timeoutMs: config.dbStartTimeoutSeconds * 1000, logger });
    const applied = await migrate(db);
    // Its output is an init container's log (the worker pods run it first): JSON lines, as serve's.
    logger.info({ applied }, applied.length ? `applied ${applied.length} migration${applied.length === 1 ? '' : 's'}: ${applied.join(', ')}` : 'database is up to date');
    return applied;
  } finally {
    // An attempt at a database that never answered may still be pending: the pool's end waits for it.
    await Promise.race([db.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, DB_CLOSE_AFTER_FAILED_START_MS).unref())]);
  }
}
