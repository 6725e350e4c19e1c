import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, CONFIG_KEYS, configTable, editDistance, loadConfig, startupNotices, unknownEnvNotices } from './config';

describe('config', () => {
  it('has embedded defaults: PGlite, local disk, port 8080, domain "default"', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, domainId: 'default', databaseUrl: '', storage: 'local', publicUrl: 'http://localhost:8080' });
    expect(config.dataDir).toMatch(/\.openpds$/);
  });

  it.each([
    [{ OPENPDS_PORT: 'eighty' }, 'OPENPDS_PORT must be an integer'],
    [{ OPENPDS_PORT: '70000' }, 'OPENPDS_PORT must be between 0 and 65535'],
    [{ OPENPDS_STORAGE: 'ftp' }, 'OPENPDS_STORAGE must be one of local, s3'],
    [{ OPENPDS_STORAGE: 's3' }, 'OPENPDS_S3_BUCKET is required'],
    [{ OPENPDS_DATABASE_URL: 'mysql://x' }, 'OPENPDS_DATABASE_URL must start with postgres://'],
    [{ OPENPDS_SECRET_KEY: 'short' }, 'at least 32 characters'],
    [{ OPENPDS_DOMAIN_ID: 'Bad_Domain' }, 'OPENPDS_DOMAIN_ID must be 1-63 lowercase'],
    [{ OPENPDS_S3_FORCE_PATH_STYLE: 'maybe' }, 'must be true or false'],
    [{ OPENPDS_PUBLIC_URL: 'not a url' }, 'OPENPDS_PUBLIC_URL must be an http:// or https:// URL such as https://drive.example.com, got "not a url"'],
    [{ OPENPDS_MAX_USERS: '-1' }, 'OPENPDS_MAX_USERS must be between 0 and'],
    [{ OPENPDS_MAX_USERS: 'ten' }, 'OPENPDS_MAX_USERS must be an integer'],
    [{ OPENPDS_IMAGE_ANALYSIS: 'sometimes' }, 'OPENPDS_IMAGE_ANALYSIS must be true or false'],
    [{ OPENPDS_TRUST_PROXY: 'loopback, everyone' }, 'OPENPDS_TRUST_PROXY must list loopback, linklocal, uniquelocal or IP addresses / CIDR ranges, got "everyone"'],
    [{ OPENPDS_TRUST_PROXY: '10.0.0.0/33' }, 'got "10.0.0.0/33"'],
    [{ OPENPDS_TRUST_PROXY: '10.0.0.0/8/1' }, 'got "10.0.0.0/8/1"'],
    // A grace shorter than an upload's part URLs work lets the GC take an upload in flight.
    [{ OPENPDS_GC_GRACE_SECONDS: '0' }, 'OPENPDS_GC_GRACE_SECONDS must be at least OPENPDS_UPLOAD_URL_TTL + 3600 = 7200, got 0'],
    [{ OPENPDS_GC_GRACE_SECONDS: '-1' }, 'OPENPDS_GC_GRACE_SECONDS must be between 0 and'],
    [{ OPENPDS_GC_GRACE_SECONDS: '7199' }, 'OPENPDS_GC_GRACE_SECONDS must be at least OPENPDS_UPLOAD_URL_TTL + 3600 = 7200, got 7199'],
    [{ OPENPDS_UPLOAD_URL_TTL: '86400', OPENPDS_GC_GRACE_SECONDS: '86400' }, 'OPENPDS_GC_GRACE_SECONDS must be at least OPENPDS_UPLOAD_URL_TTL + 3600 = 90000, got 86400'],
    // Past setInterval's 2^31 - 1 ms, Node ran the GC every millisecond.
    [{ OPENPDS_GC_INTERVAL_SECONDS: '2147484' }, 'OPENPDS_GC_INTERVAL_SECONDS must be between 0 and 2147483'],
    // Past what a Date or a timestamptz holds, every login (refresh token expiry), GC run (grace cut-off) or
    // get_upload_url (now() minus the max age) failed.
    [{ OPENPDS_REFRESH_TOKEN_TTL: '9000000000000' }, 'OPENPDS_REFRESH_TOKEN_TTL must be between 300 and 315360000'],
    [{ OPENPDS_GC_GRACE_SECONDS: '9000000000000' }, 'OPENPDS_GC_GRACE_SECONDS must be between 0 and 315360000'],
    [{ OPENPDS_UPLOAD_MAX_AGE: '9000000000000' }, 'OPENPDS_UPLOAD_MAX_AGE must be between 1 and 315360000'],
  ])('refuses %j with a message naming the key', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  // `new URL` took `localhost:18141` as a URL of scheme `localhost:`: the server started and every signed
  // upload or download URL it handed out was `localhost:18141/v2/blob/...`, which no client can use.
  it.each(['localhost:18141', 'drive.example.com', 'ftp://drive.example.com', 'file:///srv/pds', 'http:drive.example.com', 'http://', 'https://drive.example.com/?a=1', 'https://drive.example.com/#top', 'https://admin:secret@drive.example.com'])(
    'refuses OPENPDS_PUBLIC_URL=%j at start, naming the key',
    (value) => {
      expect(() => loadConfig({ OPENPDS_PUBLIC_URL: value })).toThrow(ConfigError);
      expect(() => loadConfig({ OPENPDS_PUBLIC_URL: value })).toThrow(/^OPENPDS_PUBLIC_URL must /);
    },
  );

  it('takes an http(s) OPENPDS_PUBLIC_URL, a path prefix included, without trailing slashes', () => {
    expect(loadConfig({ OPENPDS_PUBLIC_URL: 'https://drive.example.com/' }).publicUrl).toBe('https://drive.example.com');
    expect(loadConfig({ OPENPDS_PUBLIC_URL: 'http://127.0.0.1:18141' }).publicUrl).toBe('http://127.0.0.1:18141');
    expect(loadConfig({ OPENPDS_PUBLIC_URL: 'HTTPS://Drive.Example.com:443/pds//' }).publicUrl).toBe('https://drive.example.com/pds');
    expect(loadConfig({ OPENPDS_PUBLIC_URL: 'http://[::1]:8080' }).publicUrl).toBe('http://[::1]:8080');
  });

  // The message reaches the log and the container's termination message, which a Domain's condition quotes.
  it.each([
    'https://AKIDEXAMPLE:wJalrXUtnFEMI@s3.example.com/?x=1',
    'ftp://AKIDEXAMPLE:wJalrXUtnFEMI@s3.example.com',
    'https://AKIDEXAMPLE:wJalrXUtnFEMI@s3.example.com',
    'https://AKIDEXAMPLE:wJalrXUtnFEMI@',
    // A secret key with '/', '#', '?' or '@' in it (AWS secret keys are base64): the parser fails on some.
    'https://AKIDEXAMPLE:wJalr/XUtnFEMI@s3.example.com',
    'https://AKIDEXAMPLE:wJalr#XUtnFEMI@s3.example.com',
    'https://AKIDEXAMPLE:wJalr?XUtnFEMI@s3.example.com',
    'https://AKIDEXAMPLE:wJalr@XUtnFEMI@s3.example.com',
    'AKIDEXAMPLE:wJalrXUtnFEMI@s3.example.com',
  ])(
    'never echoes the user info of OPENPDS_S3_ENDPOINT=%j (it may be a key pair)',
    (value) => {
      const env = { OPENPDS_STORAGE: 's3', OPENPDS_S3_BUCKET: 'b', OPENPDS_S3_ENDPOINT: value };
      const error = (() => {
        try {
          loadConfig(env);
        } catch (e) {
          return e as Error;
        }
        throw new Error('accepted');
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/^OPENPDS_S3_ENDPOINT must /);
      expect(error.message).not.toMatch(/wJalr|XUtnFEMI|AKIDEXAMPLE/);
    },
  );

  // Unchecked, `not a url` or `minio:9000` reached the S3 client only at the storage claim, which retried
  // it forever as if the store were down: the API answered 503 everywhere and the log said little.
  it.each(['not a url', 'minio:9000', 's3.example.com', 'ftp://minio:9000', 'http://', 'http://minio:9000?x=1'])('refuses OPENPDS_S3_ENDPOINT=%j at start, naming the key', (value) => {
    const env = { OPENPDS_STORAGE: 's3', OPENPDS_S3_BUCKET: 'b', OPENPDS_S3_ENDPOINT: value };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(/^OPENPDS_S3_ENDPOINT must /);
  });

  it('takes an http(s) OPENPDS_S3_ENDPOINT, or none (the AWS default)', () => {
    expect(loadConfig({}).s3Endpoint).toBe('');
    expect(loadConfig({ OPENPDS_S3_ENDPOINT: '' }).s3Endpoint).toBe('');
    expect(loadConfig({ OPENPDS_S3_ENDPOINT: 'http://minio:9000' }).s3Endpoint).toBe('http://minio:9000');
    expect(loadConfig({ OPENPDS_S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com/' }).s3Endpoint).toBe('https://s3.eu-west-1.amazonaws.com');
  });

  it('gives each /readyz check 2 s unless told, within the kubelet\'s probe timeout', () => {
    expect(loadConfig({}).readinessTimeoutSeconds).toBe(2);
    expect(loadConfig({ OPENPDS_READINESS_TIMEOUT_SECONDS: '1' }).readinessTimeoutSeconds).toBe(1);
    expect(() => loadConfig({ OPENPDS_READINESS_TIMEOUT_SECONDS: '0' })).toThrow('OPENPDS_READINESS_TIMEOUT_SECONDS must be between 1 and 60, got 0');
  });

  it('serves /metrics on the API port unless OPENPDS_METRICS_PORT names another', () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ OPENPDS_METRICS_PORT: '' }).metricsPort).toBeUndefined();
    expect(loadConfig({ OPENPDS_METRICS_PORT: '9090' }).metricsPort).toBe(9090);
    expect(() => loadConfig({ OPENPDS_METRICS_PORT: 'metrics' })).toThrow('OPENPDS_METRICS_PORT must be an integer');
    expect(() => loadConfig({ OPENPDS_METRICS_PORT: '8080' })).toThrow('OPENPDS_METRICS_PORT must differ from OPENPDS_PORT (8080)');
  });

  it('waits 60 s for an unreachable PostgreSQL at start unless told', () => {
    expect(loadConfig({}).dbStartTimeoutSeconds).toBe(60);
    expect(loadConfig({ OPENPDS_DB_START_TIMEOUT_SECONDS: '0' }).dbStartTimeoutSeconds).toBe(0);
    expect(() => loadConfig({ OPENPDS_DB_START_TIMEOUT_SECONDS: '3601' })).toThrow('OPENPDS_DB_START_TIMEOUT_SECONDS must be between 0 and 3600, got 3601');
  });

  it('trusts X-Forwarded-For from loopback only, unless told which proxies to trust', () => {
    expect(loadConfig({}).trustProxy).toEqual(['loopback']);
    expect(loadConfig({ OPENPDS_TRUST_PROXY: '' }).trustProxy).toEqual([]);
    expect(loadConfig({ OPENPDS_TRUST_PROXY: 'loopback, 10.0.0.0/8, fd00::/8, 192.168.1.7' }).trustProxy).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8', '192.168.1.7']);
  });

  it('reads the keys the Domain chart writes for quotas and image analysis (0 users: unlimited)', () => {
    expect(loadConfig({})).toMatchObject({ maxUsers: 0, imageAnalysis: false });
    expect(loadConfig({ OPENPDS_MAX_USERS: '500', OPENPDS_IMAGE_ANALYSIS: 'true' })).toMatchObject({ maxUsers: 500, imageAnalysis: true });
  });

  it('says at start that image analysis is not implemented when it is asked for, and nothing otherwise', () => {
    expect(startupNotices(loadConfig({ OPENPDS_IMAGE_ANALYSIS: 'true' }))).toEqual(['image analysis requested but not implemented in this version']);
    expect(startupNotices(loadConfig({ OPENPDS_IMAGE_ANALYSIS: 'false' }))).toEqual([]);
  });

  it('hashes passwords with argon2id at 64 MiB and 3 iterations unless told, and warns below OWASP\'s minimum', () => {
    expect(loadConfig({})).toMatchObject({ passwordHashMemoryKib: 65_536, passwordHashIterations: 3 });
    expect(startupNotices(loadConfig({ OPENPDS_PASSWORD_HASH_MEMORY_KIB: '19456', OPENPDS_PASSWORD_HASH_ITERATIONS: '2' }))).toEqual([]);
    expect(startupNotices(loadConfig({ OPENPDS_PASSWORD_HASH_MEMORY_KIB: '1024', OPENPDS_PASSWORD_HASH_ITERATIONS: '1' }))).toEqual([
      "password hashing is set below OWASP's minimum for argon2id (19456 KiB, 2 iterations): 1024 KiB, 1 iteration(s); stolen password hashes would be cheap to crack",
    ]);
    // A test suite says the low cost is meant (test/operator/support/up-harness.ts): then nothing is said.
    const testCost = { OPENPDS_PASSWORD_HASH_MEMORY_KIB: '1024', OPENPDS_PASSWORD_HASH_ITERATIONS: '1' };
    expect(startupNotices(loadConfig({ ...testCost, OPENPDS_PASSWORD_HASH_LOW_COST_ACKNOWLEDGED: 'true' }))).toEqual([]);
    expect(startupNotices(loadConfig({ ...testCost, OPENPDS_PASSWORD_HASH_LOW_COST_ACKNOWLEDGED: 'false' }))).toHaveLength(1);
    expect(() => loadConfig({ OPENPDS_PASSWORD_HASH_MEMORY_KIB: '512' })).toThrow('OPENPDS_PASSWORD_HASH_MEMORY_KIB must be between 1024 and 4194304, got 512');
    expect(() => loadConfig({ OPENPDS_PASSWORD_HASH_ITERATIONS: '0' })).toThrow('OPENPDS_PASSWORD_HASH_ITERATIONS must be between 1 and 100, got 0');
  });

  it('takes a GC grace from OPENPDS_UPLOAD_URL_TTL + 3600 up, and says so in the table', () => {
    expect(loadConfig({}).gcGraceSeconds).toBe(86_400);
    expect(loadConfig({ OPENPDS_GC_GRACE_SECONDS: '7200' }).gcGraceSeconds).toBe(7200);
    // Unset, the grace follows a long upload URL lifetime (such a TTL started before the minimum existed).
    expect(loadConfig({}).gcGraceSeconds).toBe(86400);
    expect(loadConfig({ OPENPDS_UPLOAD_URL_TTL: '86400' }).gcGraceSeconds).toBe(90000);
    expect(loadConfig({ OPENPDS_UPLOAD_URL_TTL: '604800' }).gcGraceSeconds).toBe(608400);
    expect(loadConfig({ OPENPDS_GC_GRACE_SECONDS: '3660', OPENPDS_UPLOAD_URL_TTL: '60' }).gcGraceSeconds).toBe(3660);
    expect(() => loadConfig({ OPENPDS_GC_GRACE_SECONDS: '3659', OPENPDS_UPLOAD_URL_TTL: '60' })).toThrow(ConfigError);
    expect(configTable()).toContain('At least OPENPDS_UPLOAD_URL_TTL + 3600 (7200 by default)');
  });

  it('takes the longest durations a timer and a Date hold', () => {
    expect(loadConfig({ OPENPDS_GC_INTERVAL_SECONDS: '2147483', OPENPDS_REFRESH_TOKEN_TTL: '315360000', OPENPDS_GC_GRACE_SECONDS: '315360000' })).toMatchObject({
      gcIntervalSeconds: 2_147_483,
      refreshTokenTtl: 315_360_000,
      gcGraceSeconds: 315_360_000,
    });
  });

  it('documents every key in the docs/configuration.md table, each row as `openpds config-docs` prints it', () => {
    const table = configTable();
    for (const spec of Object.values(CONFIG_KEYS)) expect(table).toContain(`\`${spec.env}\``);
    // The page says the table is printed from the code: a description edited on one side only drifted.
    const page = fs.readFileSync(path.join(__dirname, '../../../docs/configuration.md'), 'utf8');
    const rows = table.split('\n').filter((line) => line.startsWith('| `OPENPDS_'));
    expect(rows.length).toBe(Object.keys(CONFIG_KEYS).length);
    expect(rows.filter((row) => !page.includes(row))).toEqual([]);
  });

  it('warns about each OPENPDS_* variable nothing reads, naming the nearest key when it looks like a typo, never its value', () => {
    expect(unknownEnvNotices({ OPENPDS_PROT: '9000', OPENPDS_PORT: '1', PATH: '/bin' })).toEqual([
      'OPENPDS_PROT is set but is no OpenPDS setting: it is ignored; did you mean OPENPDS_PORT? (`openpds config-docs` lists them)',
    ]);
    expect(unknownEnvNotices({ OPENPDS_DATADIR: 'x', OPENPDS_SECRET_KY: 'hunter2hunter2' })).toEqual([
      expect.stringContaining('OPENPDS_DATADIR is set but is no OpenPDS setting: it is ignored; did you mean OPENPDS_DATA_DIR?'),
      expect.stringContaining('OPENPDS_SECRET_KY is set but is no OpenPDS setting: it is ignored; did you mean OPENPDS_SECRET_KEY?'),
    ]);
    expect(unknownEnvNotices({ OPENPDS_SECRET_KY: 'hunter2hunter2' }).join()).not.toContain('hunter2');
    expect(unknownEnvNotices({ OPENPDS_SOMETHING_ELSE_ENTIRELY: '1' })).toEqual([
      'OPENPDS_SOMETHING_ELSE_ENTIRELY is set but is no OpenPDS setting: it is ignored (`openpds config-docs` lists them)',
    ]);
    // Every key, what the chart writes for later, and the test suites' and benchmarks' own variables.
    const quiet = Object.fromEntries(Object.values(CONFIG_KEYS).map((spec) => [spec.env, '1']));
    expect(unknownEnvNotices({ ...quiet, OPENPDS_HOSTING_SCAN_INTERVAL_SECONDS: '300', OPENPDS_TEST_DATABASE_URL: 'x', OPENPDS_BENCH_FILES: '1', OPENPDS_KUBE_E2E_KUBECONFIG: 'x' })).toEqual([]);
  });

  it('counts a swap of two letters as one edit', () => {
    expect(editDistance('PROT', 'PORT')).toBe(1);
    expect(editDistance('', 'ABC')).toBe(3);
    expect(editDistance('DATADIR', 'DATA_DIR')).toBe(1);
  });
});
