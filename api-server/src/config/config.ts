/**
 * The one typed configuration of the data plane. Every key has an environment name, a doc line and a
 * default; `loadConfig` validates all of them at boot and throws a ConfigError naming the first bad key.
 * `openpds config-docs` (cli/main.ts; `node bin/openpds.js config-docs` in a checkout) prints the
 * docs/configuration.md table from CONFIG_KEYS, and config.test.ts checks the table names every key.
 */
import { isIP } from 'node:net';
import path from 'node:path';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Parser<T> = (raw: string, env: string) => T;

interface KeySpec<T> {
  env: string;
  doc: string;
  default: string | undefined;
  parse: Parser<T>;
}

const str: Parser<string> = (raw) => raw;
const int =
  (min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> =>
  (raw, env) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${env} must be an integer, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max) throw new ConfigError(`${env} must be between ${min} and ${max}, got ${value}`);
    return value;
  };
const bool: Parser<boolean> = (raw, env) => {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${env} must be true or false, got "${raw}"`);
};
const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw, env) => {
    if (!values.includes(raw as T)) throw new ConfigError(`${env} must be one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };
/**
 * Express's `trust proxy` list: the peers whose X-Forwarded-For names the client (req.ip, which keys the
 * login throttle). Names Express knows (loopback, linklocal, uniquelocal) or IP addresses / CIDR ranges,
 * comma-separated; empty: no proxy is trusted, req.ip is the peer.
 */
const proxyList: Parser<string[]> = (raw, env) => {
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    const [address, bits, extra] = item.split('/');
    const named = ['loopback', 'linklocal', 'uniquelocal'].includes(item);
    const family = isIP(address ?? '');
    const prefixOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (!named && (!family || !prefixOk || extra !== undefined)) {
      throw new ConfigError(`${env} must list loopback, linklocal, uniquelocal or IP addresses / CIDR ranges, got "${item}"`);
    }
  }
  return items;
};
/** A TCP port, or nothing when empty. */
const optionalPort: Parser<number | undefined> = (raw, env) => (raw.trim() === '' ? undefined : int(0, 65535)(raw, env));
/**
 * An http:// or https:// URL with a host, returned as origin + path without trailing slashes. `new URL`
 * alone took `localhost:8080` (scheme `localhost:`) and `minio:9000`, so every signed URL, or every S3
 * call, failed later instead of the start (red team F1, F2). A path is kept: signed URLs are the base plus
 * `/v2/...` and are checked on the path the server receives, so a base under a prefix works behind a proxy
 * that strips it. A query or fragment would land in the middle of every signed URL, and user info in a URL
 * is refused by fetch, so neither is taken.
 */
const httpUrl =
  (example: string): Parser<string> =>
  (raw, env) => {
    const expected = `${env} must be an http:// or https:// URL such as ${example}`;
    // Never the user info in a message: it may be credentials (an S3 key pair, whose secret half may hold
    // '/', '?', '#' or '@'), and the message goes to the log and the container's termination message, which
    // the Domain's Ready condition can quote. Everything up to the last '@' goes, the scheme stays.
    const at = raw.lastIndexOf('@');
    const shown = at === -1 ? raw : `${/^[a-z][a-z0-9+.-]*:\/\//i.exec(raw)?.[0] ?? ''}…@${raw.slice(at + 1)}`;
    let parsed: URL;
    try {
      parsed = new URL(raw.trim());
    } catch {
      throw new ConfigError(`${expected}, got "${shown}"`);
    }
    if (parsed.username || parsed.password) throw new ConfigError(`${env} must hold no user name or password`);
    // `http:host` parses too (the WHATWG parser adds the slashes); other clients do not, so ask for them.
    if (!['http:', 'https:'].includes(parsed.protocol) || !/^https?:\/\//i.test(raw.trim()) || !parsed.hostname) throw new ConfigError(`${expected}, got "${shown}"`);
    if (parsed.search || parsed.hash || raw.includes('?') || raw.includes('#')) throw new ConfigError(`${env} must have no query (?) or fragment (#), got "${shown}"`);
    return parsed.origin + parsed.pathname.replace(/\/+$/, '');
  };
/** httpUrl, or nothing when empty. */
const optionalHttpUrl =
  (example: string): Parser<string> =>
  (raw, env) =>
    raw.trim() === '' ? '' : httpUrl(example)(raw, env);
const domainId: Parser<string> = (raw, env) => {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(raw)) throw new ConfigError(`${env} must be 1-63 lowercase letters, digits or '-', got "${raw}"`);
  return raw;
};

const key = <T>(env: string, doc: string, def: string | undefined, parse: Parser<T>): KeySpec<T> => ({ env, doc, default: def, parse });

/**
 * The longest duration a key that lands in a Date, or in a PostgreSQL interval, takes: far beyond any real
 * setting, and far below where `new Date(now + seconds * 1000)` turns invalid (a login, or every GC run,
 * then threw).
 */
const MAX_DURATION_SECONDS = 315_360_000; // 10 years
/** setInterval's longest delay (2^31 - 1 ms): Node runs a timer asked for longer every millisecond. */
const MAX_TIMER_SECONDS = 2_147_483;
/**
 * What the GC's grace must add to OPENPDS_UPLOAD_URL_TTL. Part PUTs go to the store (or the local blob
 * routes) without touching the upload session, so a session stays untouched for as long as its part URLs
 * work, plus the last part's transfer (a URL is checked when a request starts), plus file/complete. A
 * shorter grace lets the GC take an upload in flight: its parts, or the object file/complete is about to
 * link. An hour is a 5 GiB part at ~1.5 MB/s.
 */
export const GC_GRACE_HEADROOM_SECONDS = 3600;
/** The least OPENPDS_GC_GRACE_SECONDS this upload URL lifetime allows (loadConfig refuses less). */
export const minGcGraceSeconds = (uploadUrlTtl: number) => uploadUrlTtl + GC_GRACE_HEADROOM_SECONDS;
/** OPENPDS_GC_GRACE_SECONDS when unset: a day, or the least this upload URL lifetime allows when that is longer. */
export const gcGraceSecondsWhenUnset = (uploadUrlTtl: number) => Math.max(Number(CONFIG_KEYS.gcGraceSeconds.default), minGcGraceSeconds(uploadUrlTtl));
/**
 * The most OPENPDS_MAX_FOLDER_DEPTH may be, and how many levels a walk up the folder tree follows
 * (files.repository pathTo, folder-depth.repository): a walk that goes further met corrupted data (parents
 * that loop) or a tree nested deeper than this before the limit existed, and stops there.
 */
export const MAX_FOLDER_DEPTH_CEILING = 10_000;
const UPLOAD_URL_TTL_DEFAULT = 3600;

/** Where Kubernetes reads a container's termination message unless its terminationMessagePath says otherwise. */
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

export const CONFIG_KEYS = {
  port: key('OPENPDS_PORT', 'HTTP port of the API server', '8080', int(0, 65535)),
  host: key('OPENPDS_HOST', 'Address the API server listens on', '0.0.0.0', str),
  maxConnections: key(
    'OPENPDS_MAX_CONNECTIONS',
    'Most connections the API server holds open at once; one more is closed as soon as it is accepted, so a client opening thousands cannot use up the process\'s open files (then even /readyz fails). `auto`: 80% of the open-file limit (soft RLIMIT_NOFILE from /proc/self/limits, less 256; 4096 where it cannot be read), the rest left to the database, blob files and the server\'s own sockets. 0: no limit',
    'auto',
    (raw, env) => (raw.trim() === 'auto' ? undefined : int(0, 10_000_000)(raw, env)),
  ),
  metricsPort: key(
    'OPENPDS_METRICS_PORT',
    'Port of a second HTTP server, on OPENPDS_HOST, that serves only /metrics; the API port then answers /metrics with 404. Empty: /metrics is on the API port (the embedded quick start). Set it wherever the API port is public (the operator\'s chart sets 9090 and scrapes that): the metrics tell about the domain\'s traffic and content. `openpds worker` follows it too',
    undefined,
    optionalPort,
  ),
  publicUrl: key(
    'OPENPDS_PUBLIC_URL',
    'Base URL clients reach the server at (signed upload/download URLs point here): `http://` or `https://`, a host, and optionally a path prefix a reverse proxy strips; no query or fragment. Unset: http://localhost:<port>',
    undefined,
    httpUrl('https://drive.example.com'),
  ),
  domainId: key('OPENPDS_DOMAIN_ID', 'Id of the one domain this data plane serves', 'default', domainId),
  dataDir: key('OPENPDS_DATA_DIR', 'Directory for the embedded database, local blobs and the generated secret', './.openpds', str),
  pgliteInitdbCache: key(
    'OPENPDS_PGLITE_INITDB_CACHE',
    'Where the embedded PGlite keeps a copy of initdb\'s output (one per PGlite version, ~30 MB), so that a new data directory on a machine that made one before is created without initdb: ~5 s instead of ~8 s with `off` on a 2-core machine (the rest is PGlite\'s compile and the migrations; `openpds up` makes one per Domain). `auto`: $XDG_CACHE_HOME/openpds, else ~/.cache/openpds; `off`: run initdb every time; or a directory. Never a migrated database: each keeps its own instance id. A cache it cannot write only means initdb runs',
    'auto',
    (raw) => raw.trim(),
  ),
  databaseUrl: key('OPENPDS_DATABASE_URL', 'PostgreSQL URL; empty means embedded PGlite under the data dir', '', str),
  dbStatementTimeoutSeconds: key(
    'OPENPDS_DB_STATEMENT_TIMEOUT_SECONDS',
    'PostgreSQL only: a database statement running longer fails (the request answers an error) instead of holding its connection (0: no limit). Migrations and the statements that grow with a folder\'s size (copy, trash, delete, purging trash) are not limited',
    '30',
    int(0, 86_400),
  ),
  readinessTimeoutSeconds: key(
    'OPENPDS_READINESS_TIMEOUT_SECONDS',
    '/readyz (of `serve` and of `worker`) gives its database check and its blob store check this long each; one that takes longer is reported as `timeout` (503). Keep it below the readiness probe\'s timeout (3 s in the operator\'s chart), or a hung dependency shows as a probe timeout that names nothing',
    '2',
    int(1, 60),
  ),
  dbStartTimeoutSeconds: key(
    'OPENPDS_DB_START_TIMEOUT_SECONDS',
    'PostgreSQL only: how long `serve` and `migrate` wait at start for a database they cannot connect to (refused, unresolvable, not answering), retrying with backoff up to 5 s apart and logging each attempt, before it exits 1. Other errors (a password refused, a database that does not exist, a failing migration) fail at once. 0: fail at the first refusal. Keep it under the startup probe\'s budget (300 s in the operator\'s chart)',
    '60',
    int(0, 3600),
  ),
  adminPassword: key('OPENPDS_ADMIN_PASSWORD', 'Password of the superadmin `admin` created on first start, 8 to 256 characters as the API requires (a first start with another ends with InvalidConfiguration); once the superadmin exists it changes nothing, and a start only warns when it no longer matches (`openpds admin reset-password` changes it); empty means a random one, printed once', '', str),
  secretKey: key('OPENPDS_SECRET_KEY', 'Key (≥ 32 chars) signing tokens and URLs; empty means generated once and kept in the data dir', '', str),
  storage: key('OPENPDS_STORAGE', 'Blob store: `local` (files under the data dir) or `s3`', 'local', oneOf('local', 's3')),
  s3Endpoint: key('OPENPDS_S3_ENDPOINT', 'S3 endpoint URL, `http://` or `https://` with a host (`http://minio:9000`; empty: AWS default for the region)', '', optionalHttpUrl('http://minio:9000')),
  s3Region: key('OPENPDS_S3_REGION', 'S3 region', 'us-east-1', str),
  s3Bucket: key('OPENPDS_S3_BUCKET', 'S3 bucket (required when OPENPDS_STORAGE=s3)', '', str),
  s3Prefix: key('OPENPDS_S3_PREFIX', 'Key prefix inside the bucket', '', str),
  s3ForcePathStyle: key('OPENPDS_S3_FORCE_PATH_STYLE', 'Path-style S3 URLs (needed by radosgw and MinIO)', 'true', bool),
  s3AccessKeyId: key('OPENPDS_S3_ACCESS_KEY_ID', 'S3 access key id (empty: the SDK default chain)', '', str),
  s3SecretAccessKey: key('OPENPDS_S3_SECRET_ACCESS_KEY', 'S3 secret access key', '', str),
  s3ConnectTimeoutSeconds: key('OPENPDS_S3_CONNECT_TIMEOUT_SECONDS', 'Longest wait to open a connection to S3 (TCP and TLS handshake; time queued for a free connection in the pool of 256 is not counted: such a request waits its turn); an attempt that takes longer fails and is retried (3 attempts)', '5', int(1, 300)),
  s3IdleTimeoutSeconds: key(
    'OPENPDS_S3_IDLE_TIMEOUT_SECONDS',
    'Longest an S3 request may go without a byte moving either way, from sending it to the end of the answer (streamed bodies included; a large transfer that keeps moving is never cut). An attempt idle this long fails and is retried (3 attempts); the request then answers 503 `ServiceUnavailable`, a job retries later',
    '30',
    int(1, 3600),
  ),
  storageClaim: key(
    'OPENPDS_STORAGE_CLAIM',
    'The data plane claims its blob store (`openpds-claim.json` at the store root, naming this database\'s instance id and the domain) before it serves or runs the GC, which deletes whatever its own database does not know. `check`: refuse to start (exit 1, the log says why) on a store another instance claims, on an unclaimed store whose blobs this database knows none of (an empty database pointed at a store in use), or on an empty, unclaimed store while this database records stored blobs (a bucket, prefix or data dir changed: the files\' blobs are elsewhere); `takeover`: claim the store anyway, for one start when this database really is its owner now (the other instance is gone for good, the blobs are garbage, or lost for good), then set it back',
    'check',
    oneOf('check', 'takeover'),
  ),
  // Read from the environment by cli/main.ts, not from here: a start also fails before a config loads.
  terminationMessagePath: key(
    'OPENPDS_TERMINATION_MESSAGE_PATH',
    '`serve`, `worker` and `migrate` write why they could not start (the code and message of their last log line) to this file when it exists, and never create it: Kubernetes creates it in every container and shows it in `kubectl describe pod` (Last State: Terminated, Message). Set it only if the pod\'s terminationMessagePath is not the default',
    DEFAULT_TERMINATION_MESSAGE_PATH,
    str,
  ),
  allowNewerSchema: key(
    'OPENPDS_ALLOW_NEWER_SCHEMA',
    'Whether `serve` and `worker` may run on a database a newer OpenPDS migrated (migrations this version does not know: an image rolled back; migrations are forward-only). `false`: such a process stays not ready (/readyz 503 `schema: newer than this version: <migrations>`), answers the API with 503 `ServiceUnavailable.SchemaNewer` and runs no jobs or GC; in a rolling rollback the newer pods keep serving and the rollout stalls. `true` only when the newer version\'s release notes say those migrations are backward compatible. Decided at each process\'s start: pods already running when a newer one migrates keep serving, as mid-upgrade. `openpds_schema_unknown_migrations` counts them',
    'false',
    bool,
  ),
  accessTokenTtl: key('OPENPDS_ACCESS_TOKEN_TTL', 'Access token lifetime, seconds', '7200', int(60, 86_400)),
  refreshTokenTtl: key('OPENPDS_REFRESH_TOKEN_TTL', 'Refresh token lifetime, seconds', '2592000', int(300, MAX_DURATION_SECONDS)),
  uploadUrlTtl: key('OPENPDS_UPLOAD_URL_TTL', 'Lifetime of signed part upload URLs, seconds', String(UPLOAD_URL_TTL_DEFAULT), int(60, 604_800)),
  uploadMaxAge: key(
    'OPENPDS_UPLOAD_MAX_AGE',
    'Hard lifetime of an upload session from its file/create, seconds: `file/get_upload_url` keeps a session from the GC (which collects uploads untouched for OPENPDS_GC_GRACE_SECONDS) only until then, and answers 410 `UploadExpired` after it. `file/complete` still works until the GC collects the session',
    '604800',
    int(1, MAX_DURATION_SECONDS),
  ),
  downloadUrlTtl: key('OPENPDS_DOWNLOAD_URL_TTL', 'Lifetime of signed download URLs, seconds', '900', int(10, 604_800)),
  downloadRedirect: key('OPENPDS_DOWNLOAD_REDIRECT', 'With S3, `/v2/file/download` answers 302 to a presigned URL instead of streaming through the server', 'true', bool),
  defaultDriveSize: key('OPENPDS_DEFAULT_DRIVE_SIZE', 'Quota in bytes of the default drive given to each new user (0: unlimited)', '10737418240', int(0)),
  maxUsers: key(
    'OPENPDS_MAX_USERS',
    'Most users the domain may have, the superadmin included (0: unlimited); creating one more answers 403 `Forbidden.UserLimitExceeded`. Lowering it below the current count removes nobody',
    '0',
    int(0),
  ),
  maxFolderItems: key(
    'OPENPDS_MAX_FOLDER_ITEMS',
    'Most files and folders (the folder itself included) one `file/copy`, `recyclebin/trash` or `file/delete` of a folder may take; a bigger folder answers 400 `LimitExceeded.FolderItems` before any work is done, and can be handled a subfolder at a time. Each such call is one transaction, and on the embedded PGlite every other request waits for it (0: unlimited)',
    '100000',
    int(0),
  ),
  maxFolderDepth: key(
    'OPENPDS_MAX_FOLDER_DEPTH',
    `Most levels folders may nest (a folder at the top of a drive is level 1; Google Drive allows 100). A \`file/create\`, \`file/move\` or \`file/copy\` that would nest deeper answers 400 \`LimitExceeded.FolderDepth\`. Trees nested deeper before it was lowered still list, read and move out of the deep part. At most ${MAX_FOLDER_DEPTH_CEILING}`,
    '1000',
    int(1, MAX_FOLDER_DEPTH_CEILING),
  ),
  imageAnalysis: key(
    'OPENPDS_IMAGE_ANALYSIS',
    'Image analysis of photos (thumbnails, EXIF, faces, tags). Not implemented in this version: `true` only logs a notice at start',
    'false',
    bool,
  ),
  trashRetentionDays: key('OPENPDS_TRASH_RETENTION_DAYS', 'Default days trashed files are kept before purge (per-domain setting overrides)', '30', int(0, 3650)),
  gcGraceSeconds: key(
    'OPENPDS_GC_GRACE_SECONDS',
    `Unreferenced blobs, and uploads untouched for this long, are collected after it: keep it above your longest upload. At least OPENPDS_UPLOAD_URL_TTL + ${GC_GRACE_HEADROOM_SECONDS} (${UPLOAD_URL_TTL_DEFAULT + GC_GRACE_HEADROOM_SECONDS} by default): an upload's part URLs work that long without touching its session, and a shorter grace would let the GC take an upload in flight. Unset, it is the larger of 86400 and that minimum. Copies a hash job or file/complete is still writing are kept whatever the value`,
    '86400',
    int(0, MAX_DURATION_SECONDS),
  ),
  gcIntervalSeconds: key('OPENPDS_GC_INTERVAL_SECONDS', 'How often the blob GC runs in `serve` (0: never; at most 2147483, about 24 days)', '3600', int(0, MAX_TIMER_SECONDS)),
  uploadHashing: key(
    'OPENPDS_UPLOAD_HASHING',
    '`background`: an upload without a declared content_hash completes once its parts are assembled, and a job hashes and deduplicates it moments later; `complete`: file/complete reads the object back and hashes it before answering. A declared content_hash is always verified before complete answers',
    'background',
    oneOf('background', 'complete'),
  ),
  rapidUploadProofV2: key(
    'OPENPDS_RAPID_UPLOAD_PROOF_V2',
    'Rapid upload of content stored in other users\' drives, for a proof v2 answer (an HMAC over every byte with a server nonce; docs/api.md "Rapid upload"). Off by default: a challenge tells the caller that someone in the domain holds that whole file, so a file that differs from a known one only in a secret can be confirmed guess by guess. Turn it on where users may know what each other store (a family, a team). Own content is rapid-uploaded either way',
    'false',
    bool,
  ),
  rapidUploadChallengesPerHour: key(
    'OPENPDS_RAPID_UPLOAD_CHALLENGES_PER_HOUR',
    'Proof v2 challenges one user gets per hour (counted in the database: all API replicas together); beyond them file/create opens a normal upload. Bounds the guesses above and the stored copies a server reads to check answers',
    '60',
    int(1, 1_000_000),
  ),
  jobConcurrency: key('OPENPDS_JOB_CONCURRENCY', 'Jobs one process runs at once (`serve` and each `worker`)', '1', int(1, 64)),
  serveJobsMaxHoldSeconds: key(
    'OPENPDS_SERVE_JOBS_MAX_HOLD_SECONDS',
    'While upload calls keep arriving, `serve` runs its in-process jobs only after 0.5 s without one, or once a job has waited this long (0: never hold back). Worker processes never hold back',
    '60',
    int(0, 86_400),
  ),
  serveRunsJobs: key('OPENPDS_SERVE_RUNS_JOBS', 'Whether `serve` runs jobs itself (the embedded default); set false when worker Deployments run them', 'true', bool),
  logLevel: key('OPENPDS_LOG_LEVEL', 'pino log level', 'info', oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent')),
  passwordHashMemoryKib: key(
    'OPENPDS_PASSWORD_HASH_MEMORY_KIB',
    'Memory one password hash (argon2id) takes, KiB. With OPENPDS_PASSWORD_HASH_ITERATIONS it sets what a login or password change costs the server and what a stolen hash costs to crack: the default takes ~160 ms of one core per check. Stored hashes keep the cost they were made with and still verify; a login with a hash of another cost stores it again with this one. Below OWASP\'s minimum (19456 KiB and 2 iterations) the server warns at start (unless OPENPDS_PASSWORD_HASH_LOW_COST_ACKNOWLEDGED): meant for test suites only',
    '65536',
    int(1024, 4_194_304),
  ),
  passwordHashIterations: key('OPENPDS_PASSWORD_HASH_ITERATIONS', 'Passes over that memory one password hash makes (argon2id time cost); see OPENPDS_PASSWORD_HASH_MEMORY_KIB', '3', int(1, 100)),
  passwordHashLowCostAcknowledged: key(
    'OPENPDS_PASSWORD_HASH_LOW_COST_ACKNOWLEDGED',
    'Set `true` where a password hash cost below OWASP\'s minimum is meant (a test suite): the start then does not warn about it. Never on a server that holds real passwords: the warning is the one sign that their hashes are cheap to crack',
    'false',
    bool,
  ),
  trustProxy: key(
    'OPENPDS_TRUST_PROXY',
    'Proxies whose X-Forwarded-For names the client address (which keys the login throttle, with the user): `loopback`, `linklocal`, `uniquelocal` or IP addresses / CIDR ranges, comma-separated; empty: none. Trust only what sits in front of the server: a peer trusted here can claim any address, so it gets 10 fresh password guesses per address it names, and can use up the guesses of the address another client logs in from. The operator sets `loopback, linklocal, uniquelocal` (an in-cluster ingress controller)',
    'loopback',
    proxyList,
  ),
} as const;

type Keys = typeof CONFIG_KEYS;
export type Config = { [K in keyof Keys]: Keys[K] extends KeySpec<infer T> ? T : never } & { publicUrl: string };

/** Reads and validates every key; throws ConfigError on the first invalid one. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CONFIG_KEYS) as [string, KeySpec<unknown>][]) {
    const raw = env[spec.env] ?? spec.default;
    out[name] = raw === undefined ? undefined : spec.parse(raw, spec.env);
  }
  out.publicUrl ??= `http://localhost:${out.port}`;
  out.dataDir = path.resolve(out.dataDir as string);
  const config = out as Config;
  if (config.storage === 's3' && !config.s3Bucket) throw new ConfigError('OPENPDS_S3_BUCKET is required when OPENPDS_STORAGE=s3');
  const minGrace = minGcGraceSeconds(config.uploadUrlTtl);
  // Unset, the grace follows a long upload URL lifetime instead of refusing to start with it (a TTL over
  // 82800 s was valid before the minimum existed); set, it is checked.
  if (env[CONFIG_KEYS.gcGraceSeconds.env] === undefined) out.gcGraceSeconds = gcGraceSecondsWhenUnset(config.uploadUrlTtl);
  if (config.gcGraceSeconds < minGrace)
    throw new ConfigError(`OPENPDS_GC_GRACE_SECONDS must be at least OPENPDS_UPLOAD_URL_TTL + ${GC_GRACE_HEADROOM_SECONDS} = ${minGrace}, got ${config.gcGraceSeconds}`);
  if (config.metricsPort !== undefined && config.metricsPort !== 0 && config.metricsPort === config.port)
    throw new ConfigError(`OPENPDS_METRICS_PORT must differ from OPENPDS_PORT (${config.port}): leave it empty to serve /metrics on the API port`);
  if (config.secretKey && config.secretKey.length < 32) throw new ConfigError('OPENPDS_SECRET_KEY must be at least 32 characters');
  if (config.databaseUrl && !/^postgres(ql)?:\/\//.test(config.databaseUrl))
    throw new ConfigError(`OPENPDS_DATABASE_URL must start with postgres:// or postgresql://`);
  return config;
}

/**
 * What the process should say once at start about settings it accepts but does not act on, so a Domain
 * that asks for them learns it from the logs instead of from silence.
 */
export function startupNotices(config: Pick<Config, 'imageAnalysis' | 'passwordHashMemoryKib' | 'passwordHashIterations' | 'passwordHashLowCostAcknowledged'>): string[] {
  // Quiet only when asked (test suites: `openpds up`'s data planes log to the test runner's own stdout).
  const weakHashing = config.passwordHashLowCostAcknowledged ? undefined : passwordHashNotice(config);
  return [...(config.imageAnalysis ? ['image analysis requested but not implemented in this version'] : []), ...(weakHashing ? [weakHashing] : [])];
}

/** OWASP's minimum for argon2id (Password Storage Cheat Sheet): 19 MiB of memory and 2 iterations. */
export const OWASP_ARGON2_MIN = { memoryKib: 19_456, iterations: 2 } as const;

/** What to say at start about a password hash cost below OWASP's minimum (fine for tests, weak for real passwords). */
function passwordHashNotice(config: Pick<Config, 'passwordHashMemoryKib' | 'passwordHashIterations'>): string | undefined {
  const min = OWASP_ARGON2_MIN;
  if (config.passwordHashMemoryKib >= min.memoryKib && config.passwordHashIterations >= min.iterations) return undefined;
  return `password hashing is set below OWASP's minimum for argon2id (${min.memoryKib} KiB, ${min.iterations} iterations): ${config.passwordHashMemoryKib} KiB, ${config.passwordHashIterations} iteration(s); stolen password hashes would be cheap to crack`;
}

/**
 * OPENPDS_* variables read outside CONFIG_KEYS, so not mistypes: the Domain chart writes
 * OPENPDS_HOSTING_SCAN_INTERVAL_SECONDS into every pod for the hosting scanner (not in this version), and
 * `openpds plan`/`apply` read OPENPDS_ADMIN_PASSWORD (a key here too). Prefixes of the test suites' and
 * benchmarks' own variables, which a developer's shell carries.
 */
const KNOWN_ELSEWHERE = ['OPENPDS_HOSTING_SCAN_INTERVAL_SECONDS'];
const NOT_SETTINGS = ['OPENPDS_TEST_', 'OPENPDS_BENCH_', 'OPENPDS_KUBE_E2E_'];

/**
 * One warning per OPENPDS_* variable in `env` that nothing reads: a mistyped name (`OPENPDS_PROT=9000`)
 * was silently ignored and the default used. Names the nearest known key when it is close. Never the
 * value (it may be a secret), and never an error: an old or future variable must not stop a start.
 */
export function unknownEnvNotices(env: Record<string, string | undefined>): string[] {
  const known = [...Object.values(CONFIG_KEYS).map((s) => s.env), ...KNOWN_ELSEWHERE];
  const notices: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('OPENPDS_') || known.includes(name) || NOT_SETTINGS.some((prefix) => name.startsWith(prefix))) continue;
    const nearest = nearestName(name, known);
    notices.push(`${name} is set but is no OpenPDS setting: it is ignored${nearest ? `; did you mean ${nearest}?` : ''} (\`openpds config-docs\` lists them)`);
  }
  return notices;
}

/** The closest of `names` to `name` by edit distance (a swap of two letters counts one), if close enough to be a typo. */
function nearestName(name: string, names: string[]): string | undefined {
  const bare = (n: string) => n.slice('OPENPDS_'.length);
  let best: { name: string; distance: number } | undefined;
  for (const candidate of names) {
    const distance = editDistance(bare(name), bare(candidate));
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(bare(name).length / 4)) ? best.name : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** Markdown table of every key, for docs/configuration.md. */
export function configTable(): string {
  const rows = Object.values(CONFIG_KEYS).map((s) => `| \`${s.env}\` | ${s.default === undefined ? '' : `\`${s.default}\``} | ${s.doc} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
