/**
 * list-100k: file/list of a folder holding 100,000 files. Targets: p99 of ≥ 200 first-page calls ≤ 20 ms,
 * and a deep page (marker at ~90,000) ≤ 1.5× the first page (medians; the first page is the baseline).
 *
 *   npx tsx bench/list-100k.ts [--files 100000] [--calls 200] [--db pg,pglite] [--limit 100]
 *
 * Setup speed: the folder is made through the API but its files are inserted with one INSERT … SELECT
 * generate_series through the server's own Db (the API would take minutes for 100k creates and the
 * listing does not care how rows got there); then ANALYZE. The deep-page marker is built from the row at
 * position 90,000 with the server's marker encoding (markers are opaque to clients, who would get the
 * same string by paging). The server runs in this process (startServer) because PGlite lives in-process;
 * calls are sequential over HTTP on loopback, so the client shares the event loop but never overlaps.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { startServer, type RunningServer } from '../api-server/src/main';
import { encodeMarker } from '../api-server/src/modules/files/marker';
import { testServerEnv } from '../test/support/test-server';
import type { DbKind } from '../test/support/test-db';
import { flag, intFlag } from './lib/args';
import { loginAdmin, type Session } from './lib/api';
import { fmt, info, median, percentile, reportAbsolute, reportRatio, runBench, timed } from './lib/report';
import { ensureServices, stopServices } from './lib/services';

const fileCount = intFlag('files', 100_000);
const calls = Math.max(200, intFlag('calls', 200));
const limit = intFlag('limit', 100);
const dbs = (flag('db') ?? 'pg,pglite').split(',').map((d) => d.trim()) as DbKind[];
const cleanups: (() => Promise<void>)[] = [];

async function seedFolder(running: RunningServer, s: Session): Promise<string> {
  const folder = await s.api.ok('/v2/file/create', { drive_id: s.driveId, parent_file_id: 'root', name: 'big', type: 'folder' }, s.token);
  const tag = randomBytes(3).toString('hex');
  await running.deps.db.query(
    `INSERT INTO files (file_id, drive_id, parent_file_id, name, type, status, size, content_type, category, file_extension, content_hash, created_by)
     SELECT 'bench${tag}' || lpad(i::text, 7, '0'), $1, $2, 'IMG_' || lpad(i::text, 7, '0') || '.jpg', 'file', 'available',
            1000 + i, 'image/jpeg', 'image', 'jpg', md5(i::text) || '00000000', 'admin'
     FROM generate_series(1, $3::int) AS i`,
    [s.driveId, folder.file_id, fileCount],
  );
  await running.deps.db.exec('ANALYZE files');
  return folder.file_id as string;
}

async function sample(s: Session, body: Record<string, unknown>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await timed(() => s.api.ok('/v2/file/list', body, s.token));
    if (r.value.items.length !== limit) throw new Error(`page of ${r.value.items.length} items, expected ${limit}`);
    out.push(r.ms);
  }
  return out;
}

async function benchOn(db: DbKind) {
  const { env, dataDir } = await testServerEnv(db, 'local');
  const running = await startServer(env);
  cleanups.push(async () => {
    await running.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const s = await loginAdmin(running.url);
  const seeded = await timed(() => seedFolder(running, s));
  const folder = seeded.value;
  info(`[${db}] inserted ${fileCount} rows by SQL in ${fmt(seeded.ms / 1000)} s; ${calls} calls per page, limit ${limit}`);

  const deepAt = Math.floor(fileCount * 0.9);
  const [row] = await running.deps.db.query<{ name: string; file_id: string }>(
    `SELECT name, file_id FROM files WHERE drive_id = $1 AND parent_file_id = $2 ORDER BY name, file_id OFFSET $3 LIMIT 1`,
    [s.driveId, folder, deepAt - 1],
  );
  const marker = encodeMarker(`files:${s.driveId}:${folder}:name:ASC`, [row!.name, row!.file_id]);
  const first = { drive_id: s.driveId, parent_file_id: folder, limit };
  const deep = { ...first, marker };
  const check = await s.api.ok('/v2/file/list', deep, s.token);
  if (check.items[0]?.name !== `IMG_${String(deepAt + 1).padStart(7, '0')}.jpg`) throw new Error(`deep page starts at ${check.items[0]?.name}`);

  await sample(s, first, 30); // warm-up: JIT, plan cache, buffer cache
  await sample(s, deep, 30);
  const firstMs = await sample(s, first, calls);
  const deepMs = await sample(s, deep, calls);
  info(`[${db}] first page: p50 ${fmt(median(firstMs))} ms, p90 ${fmt(percentile(firstMs, 90))} ms, p99 ${fmt(percentile(firstMs, 99))} ms, max ${fmt(Math.max(...firstMs))} ms`);
  info(`[${db}] deep page (after ${deepAt}): p50 ${fmt(median(deepMs))} ms, p90 ${fmt(percentile(deepMs, 90))} ms, p99 ${fmt(percentile(deepMs, 99))} ms`);
  reportAbsolute({ name: `list-100k [${db}] first-page p99`, figure: percentile(firstMs, 99), unit: 'ms', op: '<=', target: 20, detail: `${calls} calls` });
  reportRatio({ name: `list-100k [${db}] deep page vs first page (p50)`, figure: median(deepMs), baseline: median(firstMs), baselineLabel: 'first page', unit: 'ms', op: '<=', target: 1.5 });
}

runBench('list-100k', async () => {
  await ensureServices({ pg: dbs.includes('pg') });
  for (const db of dbs) await benchOn(db);
}, async () => {
  for (const c of cleanups.splice(0)) await c().catch(() => undefined);
  await stopServices();
});
