/**
 * upload-1gib: a 1 GiB multipart upload through the API (file/create → parallel PUT of the parts to the
 * presigned S3 URLs → file/complete) vs a raw multipart upload of the same bytes to the same radosgw with
 * @aws-sdk/client-s3, same part size and concurrency. Target: API throughput ≥ 0.90× raw.
 *
 *   npx tsx bench/upload-1gib.ts [--size 1GiB] [--part-size 16MiB] [--concurrency 4] [--runs 1]
 *
 * The API client declares no content_hash (the raw upload computes none either), so file/complete answers
 * once the parts are assembled; the server's job hashes the object afterwards. The time until that hash is
 * done is printed beside each run.
 *
 * Runs alternate raw and API; each run's objects are deleted and radosgw's GC run before the next, so the
 * memstore OSD (RAM) never holds more than one copy plus the previous run's leftovers.
 */
import { randomBytes } from 'node:crypto';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { intFlag, sizeFlag } from './lib/args';
import { apiUpload, fileParts, loginAdmin, waitJobsDone, type PartSource } from './lib/api';
import { ensureDataFile } from './lib/data';
import { fmtBytes, GiB, info, median, mibPerSecond, MiB, fmt, reportRatio, runBench, timed } from './lib/report';
import { deletePrefix, memstoreBytes, rawS3, reclaimS3 } from './lib/s3';
import { ensureServices, mapLimit, spawnServe, stopServices, type SpawnedServer } from './lib/services';

const size = sizeFlag('size', GiB);
const partSize = sizeFlag('part-size', 16 * MiB);
const concurrency = intFlag('concurrency', 4);
const runs = Math.max(1, intFlag('runs', 1));
let server: SpawnedServer | undefined;

async function rawMultipart(key: string, read: PartSource): Promise<void> {
  const { client, bucket } = rawS3();
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const count = Math.max(1, Math.ceil(size / partSize));
  const parts = await mapLimit(Array.from({ length: count }, (_, i) => i + 1), concurrency, async (PartNumber) => {
    const offset = (PartNumber - 1) * partSize;
    const Body = await read(offset, Math.min(partSize, size - offset));
    const out = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body, ContentLength: Body.length }));
    return { PartNumber, ETag: out.ETag };
  });
  await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
}

async function cleanUp(prefix: string) {
  const { client, bucket } = rawS3();
  await deletePrefix(client, bucket, prefix);
  await reclaimS3();
}

runBench('upload-1gib', async () => {
  await ensureServices({ pg: true, s3: true });
  const capacity = memstoreBytes();
  info(`data ${fmtBytes(size)}, parts of ${fmtBytes(partSize)}, ${concurrency} in flight, ${runs} run(s); memstore OSD ${capacity ? fmtBytes(capacity) : 'unknown (external radosgw)'}`);
  if (capacity !== undefined && capacity < 2.2 * size) info(`WARNING: the memstore holds ${fmtBytes(capacity)}; runs delete and GC between uploads to fit`);
  const file = await ensureDataFile('upload', size);
  const parts = await fileParts(file);
  const prefix = `bench-upload-${randomBytes(4).toString('hex')}/`;
  server = await spawnServe('pg', 's3', { OPENPDS_S3_PREFIX: `${prefix}api/` });
  const session = await loginAdmin(server.url);
  const rawMs: number[] = [];
  const apiMs: number[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      rawMs.push((await timed(() => rawMultipart(`${prefix}raw/${r}`, parts.read))).ms);
      await cleanUp(`${prefix}raw/`);
      const api = await timed(() => apiUpload(session, { name: `big-${r}.bin`, size, partSize, concurrency, read: parts.read }));
      apiMs.push(api.ms);
      const ph = api.value.phases;
      // No content_hash declared (a raw multipart upload has none either): the server hashes in the
      // background; reported, not counted, and waited for before the objects are deleted.
      const hashMs = await waitJobsDone(session);
      const hashed = await session.api.ok('/v2/file/get', { drive_id: session.driveId, file_id: api.value.file.file_id }, session.token);
      info(`run ${r + 1}: raw ${fmt(rawMs[r]! / 1000)} s; API ${fmt(api.ms / 1000)} s = create ${fmt(ph.create / 1000)} + parts ${fmt(ph.parts / 1000)} + complete ${fmt(ph.complete / 1000)} s; background hash done ${fmt(hashMs / 1000)} s after complete (sha1 ${hashed.content_hash})`);
      await cleanUp(`${prefix}api/`);
    }
  } finally {
    await parts.close();
  }
  reportRatio({
    name: 'upload-1gib API vs raw S3 multipart',
    figure: mibPerSecond(size, median(apiMs)),
    baseline: mibPerSecond(size, median(rawMs)),
    baselineLabel: 'raw',
    unit: 'MiB/s',
    op: '>=',
    target: 0.9,
  });
}, async () => {
  await server?.stop();
  await stopServices();
});
