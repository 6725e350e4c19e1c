/**
 * OPENPDS_PGLITE_INITDB_CACHE: a first start on PGlite keeps initdb's output in the cache, and later first
 * starts copy it instead of running initdb (api-server/src/db/pglite.db.ts). Each data directory is still a
 * database of its own with its own instance_id, and a cache that cannot be used only means initdb runs.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../../api-server/src/main';
import { ADMIN_PASSWORD, createApiClient } from '../support/test-server';

describe('the PGlite initdb cache', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'openpds-initdb-cache-'));
  const running: RunningServer[] = [];
  afterAll(async () => {
    await Promise.all(running.map((s) => s.close()));
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * A first start (an empty data directory, as `npm start` or `openpds up` makes one), with the cache given.
   * Each server answers a login and a query: opened as a short-lived command opens PGlite (Liftoff), the
   * first open in this process compiled PostgreSQL's WebAssembly in a fraction of the seconds TurboFan alone
   * (as `serve` opens it) took. The data directory is made in a child process all the same (initDataDir).
   */
  const firstStart = async (name: string, cache: string) => {
    const server = await startServer({
      OPENPDS_PORT: '0',
      OPENPDS_HOST: '127.0.0.1',
      OPENPDS_DATA_DIR: path.join(work, name),
      OPENPDS_ADMIN_PASSWORD: ADMIN_PASSWORD,
      OPENPDS_LOG_LEVEL: 'silent',
      OPENPDS_GC_INTERVAL_SECONDS: '0',
      OPENPDS_PASSWORD_HASH_MEMORY_KIB: '1024',
      OPENPDS_PASSWORD_HASH_ITERATIONS: '1',
      OPENPDS_PGLITE_INITDB_CACHE: cache,
    }, { shortLived: true });
    running.push(server);
    await createApiClient(server.url).login('admin', ADMIN_PASSWORD);
    const [{ value }] = (await server.deps.db.query<{ value: string }>(`SELECT value FROM instance_settings WHERE name = 'instance_id'`)) as [{ value: string }];
    return value;
  };

  // The fallback starts below run initdb in a child process each, as the first start of the next test does
  // into the cache: started with it, they use the second core while it runs (one WebAssembly thread each)
  // instead of waiting for it. Each has a directory of its own and no cache it could share.
  let fallbackStarts: Promise<[string, string]>;
  beforeAll(() => {
    const notADirectory = path.join(work, 'a-file');
    writeFileSync(notADirectory, 'not a directory');
    fallbackStarts = Promise.all([firstStart('d', notADirectory), firstStart('e', 'off')]);
    fallbackStarts.catch(() => undefined); // reported by its own test
  });

  it('keeps initdb\'s output once, and later data directories are databases of their own', async () => {
    const cache = path.join(work, 'cache');
    const first = await firstStart('a', cache);
    const kept = readdirSync(cache);
    expect(kept).toEqual([expect.stringMatching(/^pglite-initdb-\d+\.\d+\.\d+$/)]);
    expect(existsSync(path.join(cache, kept[0]!, 'PG_VERSION'))).toBe(true);
    // Never a migrated database: no schema of ours, no instance id in the cache.
    expect(existsSync(path.join(cache, kept[0]!, 'base'))).toBe(true);
    // Two at once (as two Domains of one `openpds up` start): each copies the cache for itself.
    const [second, third] = await Promise.all([firstStart('b', cache), firstStart('c', cache)]);
    expect(new Set([first, second, third]).size).toBe(3);
    expect(readdirSync(cache)).toEqual(kept); // nothing half-made left beside it
  }, 120_000); // three first starts' worth of initdb on the two cores (with the fallback starts), then two

  it('starts all the same when the cache cannot be used, and keeps none when off', async () => {
    const [unusable, off] = await fallbackStarts;
    expect(unusable).toMatch(/^[0-9a-f-]{36}$/);
    expect(off).toMatch(/^[0-9a-f-]{36}$/);
  });
});
