/**
 * small-files: 2,000 files through the API (create → PUT to the presigned S3 URL → complete per file,
 * several files in flight) vs raw PutObject of the same files to the same radosgw with the same
 * concurrency. Sizes are seeded: 84% under 1 MiB, 12.5% 1–10 MiB, 3.5% 10–30 MiB (~3.6 GB in all).
 * Target: API throughput ≥ 0.5× raw. The API client declares no content_hash (raw PUTs compute none), so
 * the server hashes each file in the background after complete; that tail is printed beside the figure.
 *
 *   npx tsx bench/small-files.ts [--files 2000] [--concurrency 8] [--seed 42] [--round 768MiB]
 *
 * The files go in rounds of about --round bytes, generated in memory before each round (untimed); each
 * round is uploaded raw, deleted, then through the API, deleted, with radosgw's GC run in between, so the
 * memstore OSD never holds more than one round. Figures are total bytes over the summed round times.
 */
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { intFlag, sizeFlag } from './lib/args';
import { apiUpload, bufferParts, loginAdmin, waitJobsDone } from './lib/api';
import { seededBytes, seededRandom } from './lib/data';
import { fmt, fmtBytes, info, KiB, mibPerSecond, MiB, reportRatio, runBench, timed } from './lib/report';
import { deletePrefix, rawS3, reclaimS3 } from './lib/s3';
import { ensureServices, mapLimit, spawnServe, stopServices, type SpawnedServer } from './lib/services';

const fileCount = intFlag('files', 2000);
const concurrency = Math.max(1, intFlag('concurrency', 8));
const seed = intFlag('seed', 42);
const roundBytes = sizeFlag('round', 768 * MiB);
// Parts as a PDS client cuts them; only the 10–30 MiB files have more than one.
const PART_SIZE = 16 * MiB;
const prefix = `bench-small-${randomBytes(4).toString('hex')}/`;
let server: SpawnedServer | undefined;

/** The seeded size mix of the issue. */
export function fileSizes(count: number, seed: number): number[] {
  const random = seededRandom(seed);
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo));
  return Array.from({ length: count }, () => {
    const bucket = random();
    if (bucket < 0.84) return between(KiB, MiB);
    if (bucket < 0.965) return between(MiB, 10 * MiB);
    return between(10 * MiB, 30 * MiB);
  });
}

function rounds(sizes: number[]): number[][] {
  const out: number[][] = [[]];
  let bytes = 0;
  sizes.forEach((size, i) => {
    if (bytes + size > roundBytes && out[out.length - 1]!.length) {
      out.push([]);
      bytes = 0;
    }
    out[out.length - 1]!.push(i);
    bytes += size;
  });
  return out;
}

runBench('small-files', async () => {
  await ensureServices({ pg: true, s3: true });
  const sizes = fileSizes(fileCount, seed);
  const total = sizes.reduce((a, b) => a + b, 0);
  const mix = [sizes.filter((s) => s < MiB).length, sizes.filter((s) => s >= MiB && s < 10 * MiB).length, sizes.filter((s) => s >= 10 * MiB).length];
  info(`${fileCount} files, ${fmtBytes(total)} (<1 MiB: ${mix[0]}, 1–10 MiB: ${mix[1]}, ≥10 MiB: ${mix[2]}), ${concurrency} in flight`);
  server = await spawnServe('pg', 's3', { OPENPDS_S3_PREFIX: `${prefix}api/` });
  const session = await loginAdmin(server.url);
  const { client, bucket } = rawS3();
  const clean = async (p: string) => {
    await deletePrefix(client, bucket, p);
    await reclaimS3();
  };

  let rawMs = 0;
  let apiMs = 0;
  let hashTailMs = 0;
  // Summed over files (they overlap, so the sum exceeds wall time): where the API's per-file time goes.
  const phases = { create: 0, parts: 0, complete: 0 };
  const started = Date.now();
  const plan = rounds(sizes);
  for (const [r, indices] of plan.entries()) {
    const files = indices.map((i) => ({ i, body: seededBytes(`small-${seed}-${i}`, sizes[i]!) }));
    const raw = await timed(() =>
      mapLimit(files, concurrency, ({ i, body }) => client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}raw/${i}`, Body: body, ContentLength: body.length }))),
    );
    await clean(`${prefix}raw/`);
    const api = await timed(() =>
      mapLimit(files, concurrency, async ({ i, body }) => {
        const up = await apiUpload(session, { name: `f-${i}.bin`, size: body.length, partSize: PART_SIZE, concurrency: 1, read: bufferParts(body) });
        phases.create += up.phases.create;
        phases.parts += up.phases.parts;
        phases.complete += up.phases.complete;
      }),
    );
    // The server hashes uploads without a declared content_hash in the background; wait for it before
    // deleting what it reads, and report the tail.
    const tail = await waitJobsDone(session);
    hashTailMs += tail;
    await clean(`${prefix}api/`);
    rawMs += raw.ms;
    apiMs += api.ms;
    const bytes = files.reduce((a, f) => a + f.body.length, 0);
    info(`round ${r + 1}/${plan.length}: ${files.length} files, ${fmtBytes(bytes)}: raw ${fmt(raw.ms / 1000)} s, API ${fmt(api.ms / 1000)} s, background hashing done ${fmt(tail / 1000)} s after the last complete`);
  }
  const busy = phases.create + phases.parts + phases.complete;
  info(`API time per file by phase: create ${fmt((100 * phases.create) / busy, 0)}%, PUT parts ${fmt((100 * phases.parts) / busy, 0)}%, complete ${fmt((100 * phases.complete) / busy, 0)}% (mean ${fmt(busy / fileCount, 1)} ms per file)`);
  info(`files/s: API ${fmt(fileCount / (apiMs / 1000), 1)}, raw ${fmt(fileCount / (rawMs / 1000), 1)}; wall time with setup and clean-up ${fmt((Date.now() - started) / 1000, 0)} s`);
  info(`including the background hashing tail: API ${fmt(mibPerSecond(total, apiMs + hashTailMs), 1)} MiB/s = ${fmt(rawMs / (apiMs + hashTailMs), 3)}× raw (not the target's figure: the files are available before it)`);
  reportRatio({
    name: `small-files (${fileCount}) API vs raw PUT`,
    figure: mibPerSecond(total, apiMs),
    baseline: mibPerSecond(total, rawMs),
    baselineLabel: 'raw',
    unit: 'MiB/s',
    op: '>=',
    target: 0.5,
  });
}, async () => {
  await server?.stop();
  await stopServices();
});
