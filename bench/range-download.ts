/**
 * range-download: a byte range of a stored file fetched (a) through file/get_download_url (presigned S3
 * URL; the API call is timed too) and (b) through GET /v2/file/download (a 302 to a presigned URL on S3,
 * followed), vs (c) a raw GetObject of the same range from radosgw with @aws-sdk/client-s3. The GETs of
 * (a) and (b) use node:http, as the SDK does. Target: ≥ 0.9× raw each.
 * Then the API server's memory: idle RSS ≤ 150 MB right after `openpds serve` starts, and RSS growth
 * ≤ +50 MB during a 5 GiB streaming upload through the local-disk signed part URLs (RSS sampled every
 * 100 ms from /proc/PID/status, through file/complete and the content hashing after it).
 *
 *   npx tsx bench/range-download.ts [--file-size 256MiB] [--range 64MiB] [--runs 15]
 *                                   [--stream-size 5GiB] [--stream-part 1GiB] [--skip-rss] [--skip-range]
 *                                   [--restarts N]
 *
 * --restarts N also starts `openpds serve` N more times on one PGlite data dir and reports the median idle
 * RSS of those restarts (a first start creates and migrates the database; a restart only opens it).
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { get as httpGet, request, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { hasFlag, intFlag, sizeFlag } from './lib/args';
import { apiUpload, fileParts, loginAdmin, waitJobsDone, type Session } from './lib/api';
import { ensureDataFile, seededStream } from './lib/data';
import { fmt, fmtBytes, GiB, info, median, mibPerSecond, MiB, reportAbsolute, reportRatio, runBench, timed } from './lib/report';
import { deletePrefix, rawS3, reclaimS3 } from './lib/s3';
import { ensureServices, readRss, readTreeRss, restartServe, spawnServe, stopServices, type SpawnedServer } from './lib/services';

const fileSize = sizeFlag('file-size', 256 * MiB);
const rangeSize = sizeFlag('range', 64 * MiB);
const runs = Math.max(1, intFlag('runs', 15));
const restarts = intFlag('restarts', 0);
const streamSize = sizeFlag('stream-size', 5 * GiB);
const streamPart = sizeFlag('stream-part', GiB);
const prefix = `bench-range-${randomBytes(4).toString('hex')}/`;
const servers: SpawnedServer[] = [];
const MB = 1e6;

async function drain(body: ReadableStream<Uint8Array> | Readable | null | undefined): Promise<number> {
  let n = 0;
  for await (const chunk of (body ?? []) as AsyncIterable<Uint8Array>) n += chunk.length;
  return n;
}

/**
 * A ranged GET with node:http, the client the raw baseline's SDK uses too (fetch's web streams cost ~10 ms
 * more per 64 MiB on this box: that is the client, not the service). Follows one redirect the way HTTP
 * clients do: the bearer token is dropped when the redirect leaves the origin, the Range is kept.
 */
async function fetchRange(url: string, start: number, end: number, headers: Record<string, string> = {}, redirects = 1): Promise<number> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    httpGet(url, { headers: { ...headers, range: `bytes=${start}-${end}` } }, resolve).on('error', reject);
  });
  if (res.statusCode === 302 && res.headers.location && redirects > 0) {
    res.resume();
    const next = new URL(res.headers.location, url);
    const sameOrigin = next.origin === new URL(url).origin;
    const { authorization: _dropped, ...rest } = headers;
    return fetchRange(next.toString(), start, end, sameOrigin ? headers : rest, redirects - 1);
  }
  if (res.statusCode !== 206) throw new Error(`range GET answered ${res.statusCode}`);
  return drain(res);
}

async function rangeBench() {
  const server = await spawnServe('pg', 's3', { OPENPDS_S3_PREFIX: prefix });
  servers.push(server);
  const s = await loginAdmin(server.url);
  const parts = await fileParts(await ensureDataFile('range', fileSize));
  const stored = await apiUpload(s, { name: 'range.bin', size: fileSize, partSize: 16 * MiB, concurrency: 4, read: parts.read }).finally(() => parts.close());
  const { client, bucket } = rawS3();
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  // Beside the data plane's claim on its store (openpds-claim.json), the file's one object.
  const objects = (listed.Contents ?? []).filter((o) => !o.Key!.endsWith('/openpds-claim.json'));
  const key = objects[0]?.Key;
  if (!key || objects.length !== 1) throw new Error(`expected the one stored object under ${prefix}`);
  const start = Math.floor(fileSize / 3);
  const end = Math.min(fileSize, start + rangeSize) - 1;
  const length = end - start + 1;
  info(`file ${fmtBytes(fileSize)}, range bytes=${start}-${end} (${fmtBytes(length)}), ${runs} run(s) each, alternating`);

  const fileRef = { drive_id: s.driveId, file_id: stored.file.file_id };
  // The same presigned URL fetched again without the API call: splits the presigned figure into the
  // get_download_url round trip and the GET itself.
  const signedOnce = (await s.api.ok('/v2/file/get_download_url', { ...fileRef, expire_sec: 3600 }, s.token)).url as string;
  const methods: Record<'raw' | 'presigned' | 'presignedGetOnly' | 'streamed', () => Promise<number>> = {
    raw: async () => drain((await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end}` }))).Body as Readable),
    presigned: async () => fetchRange((await s.api.ok('/v2/file/get_download_url', fileRef, s.token)).url, start, end),
    presignedGetOnly: () => fetchRange(signedOnce, start, end),
    streamed: () => fetchRange(`${server.url}/v2/file/download?${new URLSearchParams(fileRef)}`, start, end, { authorization: `Bearer ${s.token}` }),
  };
  const ms: Record<keyof typeof methods, number[]> = { raw: [], presigned: [], presignedGetOnly: [], streamed: [] };
  for (const m of Object.keys(methods) as (keyof typeof methods)[]) await methods[m](); // warm-up
  for (let r = 0; r < runs; r++) {
    for (const m of Object.keys(methods) as (keyof typeof methods)[]) {
      const t = await timed(methods[m]);
      if (t.value !== length) throw new Error(`${m}: got ${t.value} bytes, expected ${length}`);
      ms[m].push(t.ms);
    }
  }
  const rate = (m: keyof typeof methods) => mibPerSecond(length, median(ms[m]));
  info(`medians: raw ${fmt(median(ms.raw))} ms, presigned ${fmt(median(ms.presigned))} ms (of which the GET alone ${fmt(median(ms.presignedGetOnly))} ms), streamed ${fmt(median(ms.streamed))} ms`);
  reportRatio({ name: 'range-download presigned (get_download_url) vs raw GET', figure: rate('presigned'), baseline: rate('raw'), baselineLabel: 'raw', unit: 'MiB/s', op: '>=', target: 0.9 });
  reportRatio({ name: 'range-download streamed (/v2/file/download) vs raw GET', figure: rate('streamed'), baseline: rate('raw'), baselineLabel: 'raw', unit: 'MiB/s', op: '>=', target: 0.9 });
}

/** PUTs `size` seeded bytes to a signed URL as one streamed request body. */
function streamPut(url: string, seed: string, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': String(size), 'content-type': 'application/octet-stream' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => (res.statusCode && res.statusCode < 300 ? resolve() : reject(new Error(`PUT part: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    seededStream(seed, size).pipe(req);
  });
}

async function streamUpload(s: Session) {
  const count = Math.ceil(streamSize / streamPart);
  const created = await s.api.ok('/v2/file/create', {
    drive_id: s.driveId, parent_file_id: 'root', name: 'stream.bin', type: 'file', size: streamSize,
    part_info_list: Array.from({ length: count }, (_, i) => ({ part_number: i + 1 })),
  }, s.token);
  for (const p of created.part_info_list as { part_number: number; upload_url: string }[]) {
    const offset = (p.part_number - 1) * streamPart;
    await streamPut(p.upload_url, `stream-${p.part_number}`, Math.min(streamPart, streamSize - offset));
  }
  return s.api.ok('/v2/file/complete', { drive_id: s.driveId, file_id: created.file_id, upload_id: created.upload_id }, s.token);
}

const IDLE_SETTLE_MS = 2000;

/** RSS of a started `openpds serve` and its child processes, 2 s after it answers /healthz (start-up garbage settled). */
async function settledRss(server: SpawnedServer): Promise<number> {
  await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
  return readTreeRss(server.pid);
}

/** Idle RSS of a freshly started `openpds serve` on a new database. */
async function idleRss(db: 'pg' | 'pglite'): Promise<SpawnedServer> {
  const server = await spawnServe(db, 'local');
  servers.push(server);
  const idle = await settledRss(server);
  reportAbsolute({ name: `API server idle RSS [${db}]`, figure: idle / MB, unit: 'MB', op: '<=', target: 150, detail: `openpds serve and its child processes, ${db === 'pg' ? 'PostgreSQL' : 'embedded PGlite'} + local disk, 2 s after ready` });
  return server;
}

/** Idle RSS of `openpds serve` restarted `restarts` times on one PGlite data dir (median). */
async function restartRss() {
  let server = await spawnServe('pglite', 'local', {}, { keepDataDir: true });
  servers.push(server);
  const first = await settledRss(server);
  await server.stop();
  const samples: number[] = [];
  for (let i = 0; i < restarts; i++) {
    server = await restartServe(server, { keepDataDir: i < restarts - 1 });
    servers.push(server);
    samples.push(await settledRss(server));
    await server.stop();
  }
  info(`PGlite idle RSS: first start ${fmt(first / MB, 1)} MB, restarts ${samples.map((b) => fmt(b / MB, 1)).join(', ')} MB`);
  reportAbsolute({ name: `API server idle RSS [pglite restart]`, figure: median(samples) / MB, unit: 'MB', op: '<=', target: 150, detail: `median of ${restarts} restarts on one data dir, 2 s after ready` });
}

async function rssBench() {
  await (await idleRss('pg')).stop();
  if (restarts > 0) await restartRss();
  // The streaming upload runs on the embedded default (PGlite + local disk), where parts stream to disk.
  const server = await idleRss('pglite');

  const s = await loginAdmin(server.url);
  const before = readRss(server.pid);
  const samples: number[] = [before];
  const timer = setInterval(() => samples.push(readRss(server.pid)), 100);
  const t = await timed(() => streamUpload(s));
  // The content hashing that follows the upload reads all of it back: sampled too.
  const hashMs = await waitJobsDone(s).finally(() => clearInterval(timer));
  samples.push(readRss(server.pid));
  const peak = Math.max(...samples);
  info(`streamed ${fmtBytes(streamSize)} in ${Math.ceil(streamSize / streamPart)} part(s) of ≤ ${fmtBytes(streamPart)} in ${fmt(t.ms / 1000)} s (${fmt(mibPerSecond(streamSize, t.ms), 0)} MiB/s incl. complete), hashed ${fmt(hashMs / 1000)} s later; ${samples.length} RSS samples`);
  info(`RSS before ${fmt(before / MB, 1)} MB, peak ${fmt(peak / MB, 1)} MB, after ${fmt(samples[samples.length - 1]! / MB, 1)} MB`);
  reportAbsolute({ name: `RSS growth during ${fmtBytes(streamSize)} streaming upload and its hashing`, figure: (peak - before) / MB, unit: 'MB', op: '<=', target: 50, detail: `peak ${fmt(peak / MB, 1)} MB over ${fmt(before / MB, 1)} MB before` });
}

runBench('range-download', async () => {
  await ensureServices({ pg: true, s3: !hasFlag('skip-range') });
  if (!hasFlag('skip-range')) await rangeBench();
  if (!hasFlag('skip-rss')) await rssBench();
}, async () => {
  for (const s of servers.splice(0)) await s.stop().catch(() => undefined);
  if (!hasFlag('skip-range')) {
    const { client, bucket } = rawS3();
    await deletePrefix(client, bucket, prefix).catch(() => undefined);
    await reclaimS3().catch(() => undefined);
  }
  await stopServices();
});
