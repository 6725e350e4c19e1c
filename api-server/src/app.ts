/**
 * The express app of one domain's data plane, wired from named dependencies (no listen: main.ts and the
 * tests do that). Routes → services → repositories/storage, one way.
 */
import express, { type Request, type Response } from 'express';
import type { Deps } from './shared/deps';
import { createErrorMiddleware } from './shared/error-middleware';
import { createJsonBodyParser } from './shared/json-body';
import { buildOpenApi } from './shared/openapi';
import { createReadiness } from './shared/readiness';
import { acceptRequestId } from './shared/request-id';
import { createRequestLog } from './shared/request-log';
import { createRpcRegistry } from './shared/rpc';
import { createAuthRouter } from './modules/auth/auth.routes';
import { createAuthService } from './modules/auth/auth.service';
import { createPasswordCheckSlots } from './modules/auth/password-check-slots';
import { createDomainRouter } from './modules/domain/domain.routes';
import { createDomainService } from './modules/domain/domain.service';
import { createDownloadsRouter } from './modules/downloads/downloads.routes';
import { createDrivesRouter } from './modules/drives/drives.routes';
import { createDrivesService } from './modules/drives/drives.service';
import { createFilesRouter } from './modules/files/files.routes';
import { createFilesService } from './modules/files/files.service';
import { createBlobGc } from './modules/gc/blob-gc.service';
import { createRecyclebinRouter } from './modules/recyclebin/recyclebin.routes';
import { createRecyclebinService } from './modules/recyclebin/recyclebin.service';
import { createRevisionsRouter } from './modules/revisions/revisions.routes';
import { createRevisionsService } from './modules/revisions/revisions.service';
import { createJobHandlers } from './modules/jobs/job-handlers';
import { createJobRunner, DEFAULT_JOB_RUNNER_OPTIONS } from './modules/jobs/job-runner';
import { createUploadsService } from './modules/uploads/uploads.service';
import { createUsersRouter } from './modules/users/users.routes';
import { createUsersService } from './modules/users/users.service';
import { MAX_PART_SIZE } from './storage/blob-store';
import type { StorageClaimProblem } from './storage/storage-claim.guard';
import { createLocalBlobRouter } from './storage/local-blob.routes';
import { VERSION } from './version';

/** Jobs in `serve` wait for this long without an upload call before they run (see OPENPDS_SERVE_JOBS_MAX_HOLD_SECONDS). */
const SERVE_JOBS_QUIET_MS = 500;

export function createServices(deps: Deps) {
  const domain = createDomainService(deps);
  // One set of slots for every argon2 call of the process: a password change or reset hashed outside them,
  // and a storm of those starved the process as logins did before the slots (red team).
  const passwordChecks = deps.passwordChecks ?? createPasswordCheckSlots();
  const auth = createAuthService(deps, undefined, passwordChecks);
  const drives = createDrivesService(deps);
  const users = createUsersService(deps, drives, passwordChecks);
  const files = createFilesService(deps, drives);
  const { hashing, handlers } = createJobHandlers(deps);
  const jobs = createJobRunner(
    { db: deps.db, logger: deps.logger, registry: deps.metrics.registry },
    handlers,
    {
      ...DEFAULT_JOB_RUNNER_OPTIONS,
      concurrency: deps.config.jobConcurrency,
      holdBack: { quietMs: SERVE_JOBS_QUIET_MS, maxSeconds: deps.config.serveJobsMaxHoldSeconds },
    },
  );
  const uploads = createUploadsService(deps, drives, files, { hashing, wake: () => jobs.wake(), noteUpload: () => jobs.noteForeground() });
  const revisions = createRevisionsService(deps, files);
  const recyclebin = createRecyclebinService(deps, drives, files, domain);
  const gc = createBlobGc(deps, recyclebin);
  return { domain, auth, drives, users, files, uploads, revisions, recyclebin, gc, jobs };
}
export type Services = ReturnType<typeof createServices>;

/**
 * What an unauthenticated caller learns about the store's claim: a claim held by another instance as is
 * (it names the instance and domain, which the operator shows), a failed check without the store's or
 * database's error text (storage-claim.guard.ts logs that).
 */
function publicClaimProblem(problem: StorageClaimProblem | undefined): string | undefined {
  if (!problem || problem.code !== 'ServiceUnavailable.StorageClaimUnchecked') return problem?.message;
  const prefix = 'the blob store claim could not be checked';
  return problem.message.startsWith(`${prefix}:`) ? `${prefix}: the store or the database is unreachable (see the log)` : problem.message;
}

/**
 * The request's path whichever middleware it is in: inside one mounted at `/v2` (the JSON body parser)
 * req.path lacks the prefix, and a request whose client hangs up there is logged from there.
 */
const fullPath = (req: Request) => req.baseUrl + req.path;

/** A path as Express's default routing compares it: case-insensitive, trailing slashes ignored. */
const looseSpelling = (path: string) => path.toLowerCase().replace(/\/+$/, '');

export function createApp(deps: Deps, services: Services = createServices(deps)) {
  const registry = createRpcRegistry({ validateResponses: deps.validateResponses });
  const app = express();
  app.disable('x-powered-by');
  // X-Forwarded-For is believed only from the proxies OPENPDS_TRUST_PROXY names (default: loopback; the
  // operator's chart adds the private ranges an in-cluster ingress controller has), so a client cannot
  // pick the address the login throttle counts it under. Trusting every private peer by default let any
  // pod in a cluster, or any host on a LAN, claim addresses: fresh guesses per address, or another
  // client's address used up (review, session 13).
  app.set('trust proxy', deps.config.trustProxy.length ? deps.config.trustProxy : false);

  let rpcPaths: Set<string> | undefined; // built at the first request, when every route is registered
  app.use((req, res, next) => {
    const requestId = acceptRequestId(req.headers['x-request-id']);
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    next();
  });
  app.use(
    createRequestLog({
      logger: deps.logger,
      httpDuration: deps.metrics.httpDuration,
      // Labels come from the routes, never from the request: a label per path a client makes up was a new
      // series per request (20k unauthenticated POSTs to random paths made /metrics 98 MB). A call refused
      // before its route ran (401, 413, a bad JSON body) is labelled with its path only if a route has it.
      routeOf: (req) => {
        rpcPaths ??= new Set(registry.routes.map((r) => r.path));
        return (req.route?.path as string | undefined) ?? (rpcPaths.has(fullPath(req)) ? fullPath(req) : 'unmatched');
      },
    }),
  );

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  // Unauthenticated: says which dependency is down and how (`timeout`, `unreachable`, `credentials
  // rejected`), not why. The error (addresses, ports, driver text) goes to the log only, when readiness
  // changes (readiness.ts). Each check answers within OPENPDS_READINESS_TIMEOUT_SECONDS, inside the
  // kubelet's 3 s. The operator names the failing check from this body (operator/src/kube/readiness.ts).
  const readiness = createReadiness({
    checks: { database: () => deps.db.query('SELECT 1'), storage: () => deps.store.ping() },
    timeoutMs: deps.config.readinessTimeoutSeconds * 1000,
    logger: deps.logger,
  });
  app.get('/readyz', async (_req, res) => {
    const { ready, results } = await readiness.check({ storage_claim: publicClaimProblem(deps.storageClaim?.problem()) ?? 'ok', schema: deps.schema?.readiness() ?? 'ok' });
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', ...results });
  });
  // With OPENPDS_METRICS_PORT set, /metrics is served on that port only (main.ts, metrics-server.ts) and
  // is an unknown route here: this port is the public one.
  if (deps.config.metricsPort === undefined) {
    app.get('/metrics', async (_req, res) => {
      res.setHeader('Content-Type', deps.metrics.registry.contentType);
      res.send(await deps.metrics.registry.metrics());
    });
  }
  // Nothing below reads or writes the store until its claim is known to be this instance's (main.ts).
  app.use((_req, res, next) => {
    const problem = deps.storageClaim?.problem();
    if (!problem) return next();
    res.status(503).json({ code: problem.code, message: publicClaimProblem(problem), request_id: res.locals.requestId });
  });
  // A database a newer OpenPDS migrated is not served by this older code unless O&M allowed it (main.ts).
  app.use((_req, res, next) => {
    if (!deps.schema || deps.schema.servable()) return next();
    res.status(503).json({ code: 'ServiceUnavailable.SchemaNewer', message: `the database schema is ${deps.schema.readiness()} (see OPENPDS_ALLOW_NEWER_SCHEMA)`, request_id: res.locals.requestId });
  });
  app.get('/v2/openapi.json', (_req, res) => void res.json(buildOpenApi(registry, { version: VERSION })));

  if (deps.store.kind === 'local')
    app.use(createLocalBlobRouter({ store: deps.store, signer: deps.urlSigner, maxPartSize: MAX_PART_SIZE, objectUploadOpen: (key) => services.uploads.isObjectUploadOpen(key), whileObjectUploadOpen: (key, replace) => services.uploads.whileObjectUploadOpen(key, replace) }));

  // Express matches a route case-insensitively and with or without a trailing slash (the routers are made
  // in the modules with Router()'s defaults), but the public-path check below is exact: `/V2/ACCOUNT/LOGIN`
  // reached login's handler yet was asked for a token (401), and a check made as loose as the routing
  // would be one more place to keep in step. Only the registered spelling of a route is served; any other
  // spelling of one is a 404, as PDS answers. Built at the first request, when every route is registered.
  let routeSpellings: Map<string, string> | undefined;
  app.use((req, res, next) => {
    routeSpellings ??= new Map(registry.routes.map((r) => [looseSpelling(r.path), r.path]));
    const registered = routeSpellings.get(looseSpelling(req.path));
    if (registered === undefined || registered === req.path) return next();
    res.status(404).json({ code: 'NotFound.Route', message: `no route ${req.method} ${req.path.slice(0, 200)} (did you mean ${registered}?)`, request_id: res.locals.requestId });
  });

  app.use('/v2', ...createJsonBodyParser());
  // Routes are all registered before the first request; the set is built once, at that request.
  let publicPaths: Set<string> | undefined;
  // Every authenticated call: the token's signature, then the caller confirmed against the database
  // (deleted or disabled → 401, the current role), before any handler sees res.locals.auth.
  // Express 5 hands a rejected promise to the error middleware.
  app.use('/v2', async (req: Request, res: Response, next) => {
    publicPaths ??= new Set(registry.routes.filter((r) => !r.auth).map((r) => r.path));
    if (!publicPaths.has(req.originalUrl.split('?')[0]!)) res.locals.auth = await services.auth.confirm(services.auth.authenticate(req.headers.authorization));
    next();
  });

  app.use(createAuthRouter(registry, services.auth));
  app.use(createDomainRouter(registry, services.domain));
  app.use(createUsersRouter(registry, services.users));
  app.use(createDrivesRouter(registry, services.drives));
  app.use(createFilesRouter(registry, services.files, services.uploads));
  app.use(createRevisionsRouter(registry, services.revisions));
  app.use(createRecyclebinRouter(registry, services.recyclebin));
  app.use(createDownloadsRouter(registry, deps, services.revisions));

  app.use((req, res) => {
    res.status(404).json({ code: 'NotFound.Route', message: `no route ${req.method} ${req.path}`, request_id: res.locals.requestId });
  });
  app.use(createErrorMiddleware(deps.logger, deps.metrics.busyAnswers));
  return { app, registry, services };
}
