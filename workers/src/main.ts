/**
 * `openpds worker`: the process the Domain chart runs as its worker Deployment. It connects to the
 * domain's PostgreSQL and blob store and serves /healthz, /readyz (database and store reachable) and
 * /metrics on OPENPDS_PORT, so pods, probes and rollouts behave; /metrics on OPENPDS_METRICS_PORT instead
 * when that is set, as `openpds serve` does (the chart sets it on every pod and scrapes that port).
 *
 * It runs the domain's jobs from the shared `jobs` table (today: `blob.hash`, hashing and deduplicating
 * uploads completed without a declared content_hash), as many at once as OPENPDS_JOB_CONCURRENCY. The image
 * handlers (thumbnails, EXIF, faces, …) are their own issue; the README says so.
 */
import { createServer, type Server } from 'node:http';
import pino from 'pino';
import client from 'prom-client';
import { ConfigError, loadConfig, startupNotices, unknownEnvNotices } from '../../api-server/src/config/config';
import { createPgDb } from '../../api-server/src/db/pg.db';
import { createJobHandlers } from '../../api-server/src/modules/jobs/job-handlers';
import { createJobRunner, DEFAULT_JOB_RUNNER_OPTIONS } from '../../api-server/src/modules/jobs/job-runner';
import { createIdGenerator } from '../../api-server/src/shared/ids';
import { createSchemaCheck } from '../../api-server/src/db/migrate-schema-check';
import { createSchemaUnknownMigrationsGauge, createStorageErrorsCounter } from '../../api-server/src/shared/metrics';
import { registryMetricsHandler, startMetricsServer, type MetricsServer } from '../../api-server/src/shared/metrics-server';
import { routeProcessWarnings } from '../../api-server/src/shared/process-warnings';
import { createReadiness } from '../../api-server/src/shared/readiness';
import { explainListenError } from '../../api-server/src/shared/start-errors';
import { createUrlSigner } from '../../api-server/src/shared/url-signer';
import { VERSION } from '../../api-server/src/version';
import { createBlobStore } from '../../api-server/src/storage/create-blob-store';

export interface RunningWorker {
  server: Server;
  url: string;
  /** Where /metrics is served when OPENPDS_METRICS_PORT is set (the main server then answers it 404). */
  metricsUrl?: string;
  close(): Promise<void>;
}

/** routeProcessWarnings: as StartOptions' of `openpds serve` (api-server/src/main.ts). */
export async function startWorker(env: Record<string, string | undefined> = process.env, options: { routeProcessWarnings?: boolean } = {}): Promise<RunningWorker> {
  const config = loadConfig(env);
  // The embedded PGlite database lives inside `openpds serve` (which runs jobs in-process); a separate
  // worker process needs the shared PostgreSQL.
  if (!config.databaseUrl) throw new ConfigError('openpds worker needs OPENPDS_DATABASE_URL: the embedded database belongs to `openpds serve`');
  const logger = pino({ level: config.logLevel, base: { domain: config.domainId, component: 'worker' } });
  // Before the S3 client is made (its SDK warns on Node 20).
  if (options.routeProcessWarnings) routeProcessWarnings((fields, msg) => logger.warn(fields, msg));
  const db = createPgDb(config.databaseUrl, { max: config.jobConcurrency + 2, statementTimeoutMs: config.dbStatementTimeoutSeconds * 1000 });
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'openpds_worker_' });
  // Workers read and delete objects; they never sign URLs.
  const signer = createUrlSigner({ secret: 'unused-by-workers-unused-by-workers', baseUrl: config.publicUrl });
  const store = createBlobStore(config, signer, createStorageErrorsCounter(registry));
  // A database a newer OpenPDS migrated: no jobs and not ready, unless OPENPDS_ALLOW_NEWER_SCHEMA
  // (migrate-schema-check.ts). The worker starts without waiting for its database, so the schema is read
  // in the background, retried until it can be; jobs start once it is known to be servable.
  const schema = createSchemaCheck({ db, allowNewer: config.allowNewerSchema, logger, version: VERSION, gauge: createSchemaUnknownMigrationsGauge(registry) });
  const jobs = createJobRunner({ db, logger, registry }, createJobHandlers({ db, store, logger, config, newId: createIdGenerator() }).handlers, { ...DEFAULT_JOB_RUNNER_OPTIONS, concurrency: config.jobConcurrency });

  // As the API server's /readyz (app.ts): each check answers within OPENPDS_READINESS_TIMEOUT_SECONDS, so a
  // frozen database or a hung S3 shows as `timeout` inside the kubelet's probe timeout, instead of holding
  // the probe for as long as the driver waits (70 s and more); a check still running is joined, not
  // started again; the error goes to the log, not the body.
  const readiness = createReadiness({
    checks: { database: () => db.query('SELECT 1'), storage: () => store.ping() },
    timeoutMs: config.readinessTimeoutSeconds * 1000,
    logger,
  });
  const metrics = registryMetricsHandler(registry);
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (req.url === '/healthz') return send(200, { status: 'ok' });
    if (req.url === '/metrics' && config.metricsPort === undefined) return metrics(req, res);
    if (req.url === '/readyz') {
      return void readiness.check({ schema: schema.readiness() }).then(({ ready, results }) => send(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...results, jobs: jobs.kinds }));
    }
    send(404, { code: 'NotFound.Route', message: `no route ${req.method} ${req.url}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(explainListenError(err, { port: config.port, host: config.host, portSetting: 'OPENPDS_PORT', hostSetting: 'OPENPDS_HOST' })));
    server.listen(config.port, config.host, () => resolve());
  });
  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== undefined) {
    metricsServer = await startMetricsServer({ port: config.metricsPort, host: config.host, handler: metrics }).catch(async (err: unknown) => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw explainListenError(err, { port: config.metricsPort!, host: config.host, portSetting: 'OPENPDS_METRICS_PORT', hostSetting: 'OPENPDS_HOST' });
    });
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const startJobsOnceDecided = (delayMs: number): void => {
    schema.decide().then(
      () => void (!closed && schema.servable() && jobs.start()),
      (err: unknown) => {
        if (closed) return;
        logger.warn({ err, retry_ms: delayMs }, 'could not read the database schema; jobs wait');
        retry = setTimeout(() => startJobsOnceDecided(Math.min(delayMs * 2, 5_000)), delayMs);
      },
    );
  };
  startJobsOnceDecided(1000);
  // Its first /readyz should not say `not checked yet` for a database that answers: one read, bounded as a check.
  await Promise.race([schema.decide().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, config.readinessTimeoutSeconds * 1000).unref())]);
  logger.info({ port, jobs: jobs.kinds, concurrency: config.jobConcurrency }, 'openpds worker listening and running jobs');
  for (const notice of startupNotices(config)) logger.warn(notice);
  for (const notice of unknownEnvNotices(env)) logger.warn(notice);
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    ...(metricsServer ? { metricsUrl: `http://127.0.0.1:${metricsServer.port}/metrics` } : {}),
    async close() {
      closed = true;
      clearTimeout(retry);
      await jobs.close();
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), metricsServer?.close()]);
      await db.close();
    },
  };
}
